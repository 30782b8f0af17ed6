"""Read models behind the 民情地图 page: area shapes and pickers, the selection and its links,
search, the side panels' contents, the point layers and the choropleth classes.  Labels are plain
text; `render` escapes them.

Imports: services, services.store, services.access, services.cases, services.patrol, services.figures, geo
"""
