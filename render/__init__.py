"""The rendering edge: everything that turns plain data into folium elements, Leaflet JS/CSS, HTML
and Markdown (escaping included), and the offline map assets.  Fed plain columns by the pages;
never reads the store.

Imports: geo, services, services.figures, services.mapping, services.screen
"""
