"""Rendering: text from the data never runs as code in the map, the wall screen or the exports (render/, web/)."""
