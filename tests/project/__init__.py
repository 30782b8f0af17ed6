"""The project as a whole: the layering rules and the README's layout and settings tables."""
