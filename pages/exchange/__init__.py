"""The data import page."""
