"""The command-centre wall screen (指挥大屏): its figures from a few reads per refresh.

Imports: services, services.store, services.access, services.cases, services.patrol, services.figures, services.mapping, geo
"""
