"""Storage: SQLAlchemy models, engine set-up, migrations and bulk loading.  The store turns every
driver error into a `services.errors.StoreError`.

Imports: services
"""
