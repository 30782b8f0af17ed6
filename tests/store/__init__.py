"""Storage: the schema on both engines, many writers at once, and the database going away (services/store/)."""
