"""Access: actors and scopes, sign-in, sessions, users, privacy and the audit log (services/access/)."""
