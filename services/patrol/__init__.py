"""Patrols: what GPS fixes yield (visits, patrol days), coverage of households, one worker's day
and the monthly compliance table.

Imports: services, services.store, services.access, services.cases, geo
"""
