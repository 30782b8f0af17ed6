"""The case queue page."""
