"""What browser tests and benchmarks read off the 民情地图 map (streamlit-folium's iframe).

The grids are drawn on one canvas (render.map_layers.GeoJsonLayer), so there is no DOM node per
grid to count or click: the map container says how many it has drawn (`data-grids-drawn`), the
grid layer (`window.gridLayer`) names them, and a grid is clicked or hovered with the mouse at a
point inside it where nothing else lies on top, as a user would."""

from __future__ import annotations

from playwright.sync_api import FrameLocator, Page, expect

MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
MAP = ".leaflet-container"
# The map's grids, as the page script of the top document sees them (0 until drawn).
GRIDS_DRAWN_IN_PAGE_JS = (
    "(() => { const f = document.querySelector('" + MAP_FRAME + "'); const m = f && f.contentDocument"
    " && f.contentDocument.querySelector('" + MAP + "'); return Number((m && m.dataset.gridsDrawn) || 0); })()"
)

_GRID_POINT_JS = """(map, code) => {
  const layer = window.gridLayer;
  if (!layer || !layer._map) { return null; }
  const leaflet = layer._map, size = leaflet.getSize(), box = map.getBoundingClientRect(), steps = 16;
  const grids = layer.getLayers().filter((l) => code === null || l.feature.properties.id === code);
  for (const grid of grids) {
    const b = grid.getBounds();
    for (let i = 1; i < steps; i++) {
      for (let j = 1; j < steps; j++) {
        const at = L.latLng(b.getSouth() + (b.getNorth() - b.getSouth()) * i / steps,
                            b.getWest() + (b.getEast() - b.getWest()) * j / steps);
        const p = leaflet.latLngToContainerPoint(at);
        if (p.x < 2 || p.y < 2 || p.x > size.x - 2 || p.y > size.y - 2) { continue; }
        if (!grid._containsPoint(leaflet.latLngToLayerPoint(at))) { continue; }
        const x = box.left + p.x, y = box.top + p.y;
        const hit = document.elementFromPoint(x, y);  // the grids' canvas, or (older maps) the grid's own path
        if (hit === grid._renderer._container || hit === grid._path) { return [x, y]; }
      }
    }
  }
  return null;
}"""


def map_in(page: Page) -> FrameLocator:
    return page.frame_locator(MAP_FRAME).first


def wait_for_grids(page: Page, count: int | None = None, *, timeout: float = 60_000) -> None:
    """Until the map has drawn its grids (exactly `count` of them, if given)."""
    drawn = map_in(page).locator(f"{MAP}[data-grids-drawn]")
    drawn.wait_for(state="attached", timeout=timeout)
    if count is not None:
        expect(drawn).to_have_attribute("data-grids-drawn", str(count), timeout=timeout)


def grid_codes(page: Page) -> list[str]:
    """The codes of the grids on the map."""
    return (
        map_in(page)
        .locator(MAP)
        .evaluate("() => window.gridLayer ? window.gridLayer.getLayers().map((l) => l.feature.properties.id) : []")
    )


def find_grid_point(page: Page, code: str | None = None) -> tuple[float, float] | None:
    """A point of the page inside grid `code` (any grid if None) where the grid itself takes the
    mouse, or None when no such point is in view."""
    inside = map_in(page).locator(MAP).evaluate(_GRID_POINT_JS, code)
    if inside is None:
        return None
    frame = page.locator(MAP_FRAME).first.bounding_box()
    assert frame is not None
    return frame["x"] + inside[0], frame["y"] + inside[1]


def grid_point(page: Page, code: str | None = None) -> tuple[float, float]:
    point = find_grid_point(page, code)
    assert point is not None, f"no free point of grid {code} on the map"
    return point


def click_grid(page: Page, code: str) -> None:
    page.mouse.click(*grid_point(page, code))


def hover_grid(page: Page, code: str | None = None) -> None:
    x, y = grid_point(page, code)
    page.mouse.move(x - 1, y - 1)
    page.mouse.move(x, y)
