"""The 民情地图 page: its script (read → layers → panels), the reads it caches, and its side panels."""
