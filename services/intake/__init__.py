"""Cases from other systems (issue 17): the Open311 GeoReport v2 services (the category taxonomy as
services), requests posted by residents' apps, the 12345 hotline or department systems under a
key, their status as Open311 reports it, and the keys themselves (only a hash stored).

Imports: services, services.store, services.access, services.cases
"""
