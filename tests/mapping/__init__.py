"""The 民情地图 page's story: selection, read models, layers and rendering (services/mapping/, render/)."""
