"""Who may see and do what: the acting user (`actor.Actor`) and their scope, permission checks and
the audit log, sign-in and passwords, user administration, masking of personal data.

Imports: services, services.store
"""
