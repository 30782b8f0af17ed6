"""Running the service for years: health, logs, backups and maintenance of the store.

Imports: services, services.store, services.access, services.exchange
"""
