"""The DESIGN.md figures of an area over a period, the one source of every number the map, the
wall screen, the command line and the reports show.

Imports: services, services.store, services.access, services.cases, services.patrol
"""
