"""Sign-in, user administration and the audit log pages."""
