"""Incidents (cases) through their workflow: the transitions, the time limits of each stage and
the rules that say when a case is overdue, dispatch suggestions, one case's detail and history,
the supervisors' queue, and incident rows as DataFrames for every read model.

Imports: services, services.store, services.access, geo
"""
