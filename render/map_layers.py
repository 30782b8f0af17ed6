"""Folium maps and layers of the 民情地图 page, built without Streamlit so that tests and the
benchmark can inspect their HTML.

The map is split the way streamlit-folium redraws it (MAP-NOTES.md): the *base map* (grid
choropleth, township and county boundaries, legend) stays identical between reruns, so clicks
and panning never remount it; the *overlays* (selection, labels of the children, incidents,
households, workers) are feature groups that the component swaps in place.

Every layer is one `L.geoJson` whose styles and tooltips are computed in the browser from a few
short properties, and whose features carry `kind` and `id`: a click is read back from
`last_active_drawing.properties`, never by comparing coordinates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from jinja2 import Template
from markupsafe import Markup

from geo.display import AreaShapes
from render.assets import use_local_assets
from render.geojson import points_json, shapes_json
from render.markup import html_column, html_text, script_json
from services.basemaps import Basemap
from services.mapping.choropleth import MapLegend

MAP_CSS = """
<style>
.leaflet-container { background: #f1f5f9; font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; }
.area-label span { position: absolute; transform: translate(-50%, -50%); white-space: nowrap; font-weight: 600;
  color: #0f172a; text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff; pointer-events: none; }
.area-label.township span { font-size: 15px; }
.area-label.child span { font-size: 11px; color: #1e3a8a; }
.map-legend { background: rgba(255,255,255,.92); padding: 6px 8px; border-radius: 4px; line-height: 18px;
  font-size: 12px; box-shadow: 0 1px 4px rgba(0,0,0,.3); }
.map-legend i { display: inline-block; width: 14px; height: 12px; margin-right: 6px; vertical-align: -1px;
  border: 1px solid #94a3b8; }
.map-legend .dot { border-radius: 50%; }
@keyframes alarm-pulse { 0%, 100% { stroke-width: 3px; stroke-opacity: 1; } 50% { stroke-width: 11px; stroke-opacity: 0.35; } }
path.alarm-overdue { animation: alarm-pulse 1.6s ease-in-out infinite; }
@keyframes fresh-ring { 0% { stroke: #facc15; stroke-width: 16px; } 100% { stroke-width: 1.2px; } }
path.fresh { animation: fresh-ring 2.5s ease-out 4; }
.track-arrow { width: 0; height: 0; border-left: 5px solid transparent; border-right: 5px solid transparent;
  border-bottom: 11px solid #1d4ed8; }
.area-label.time span { font-size: 11px; font-weight: 500; color: #1e3a8a; }
</style>
"""

DARK_MAP_CSS = """
<style>
.leaflet-container { background: #0b1220; }
path.area-township, path.area-county { stroke: #e2e8f0; }
.area-label span { color: #f8fafc; text-shadow: 0 0 4px #000, 0 0 4px #000; }
.map-legend { display: none; }
</style>
"""
GRID_STYLE_JS = """function (p, v) {
  var x = v[p.id];
  return {color: '#475569', weight: 0.5, fillColor: x ? x[0] : '#e5e7eb', fillOpacity: 0.72};
}"""
# Every string the browser inserts as HTML is a `tip` property or a value text, both escaped in
# Python by render.markup (the one place); the JavaScript only joins them.
GRID_TIP_JS = "function (p, v) { var x = v[p.id]; return p.tip + (x ? '<br>' + x[1] : ''); }"
TOWNSHIP_STYLE_JS = "function () { return {color: '#1e3a8a', weight: 2.2, fill: false, className: 'area-township'}; }"
COUNTY_STYLE_JS = (
    "function () { return {color: '#111827', weight: 3, fill: false, dashArray: '6 4', className: 'area-county'}; }"
)
SELECTED_STYLE_JS = "function () { return {color: '#f59e0b', weight: 4, fill: false, className: 'area-selected'}; }"
CHILD_STYLE_JS = "function () { return {color: '#1e40af', weight: 1.6, fill: false, className: 'area-child'}; }"
TIP_JS = "function (p) { return p.tip; }"

# State colours follow the workflow from new (red-orange) to done (green); overdue cases get a
# thick red ring, at-risk ones an amber ring, urgent ones a larger dot.
STATE_COLOURS = {
    "reported": "#f97316",
    "registered": "#eab308",
    "dispatched": "#3b82f6",
    "in_progress": "#6366f1",
    "handled": "#14b8a6",
}
INCIDENT_STYLE_JS = """function (p) {
  var c = STATE_COLOURS[p.s] || '#64748b';
  return {radius: p.u ? 8 : 6, color: p.a == 2 ? '#b91c1c' : (p.a == 1 ? '#f59e0b' : '#ffffff'),
          weight: p.a ? 3 : 1.2, fillColor: c, fillOpacity: 0.95,
          className: 'incident incident-' + p.id + (p.a == 2 ? ' alarm-overdue' : '') + (p.n ? ' fresh' : '')};
}""".replace("STATE_COLOURS", json.dumps(STATE_COLOURS))
# Household tag families: 0 none, 1 service (special groups), 2 key persons.
HOUSEHOLD_STYLE_JS = """function (p) {
  if (p.t == 2) return {radius: 5.5, color: '#7f1d1d', weight: 1.5, fillColor: '#dc2626', fillOpacity: 1, className: 'household'};
  if (p.t == 1) return {radius: 5, color: '#9a3412', weight: 1, fillColor: '#fb923c', fillOpacity: 1, className: 'household'};
  return {radius: 3, color: '#475569', weight: 0.5, fillColor: '#94a3b8', fillOpacity: 0.9, className: 'household'};
}"""
WORKER_STYLE_JS = """function (p) {
  return p.d ? {radius: 6, color: '#064e3b', weight: 2, fillColor: '#10b981', fillOpacity: 1, className: 'worker'}
             : {radius: 5, color: '#4b5563', weight: 1.5, fillColor: '#e5e7eb', fillOpacity: 1, className: 'worker'};
}"""
INCIDENT_LEGEND = (
    ("待核实", STATE_COLOURS["reported"]),
    ("待派遣", STATE_COLOURS["registered"]),
    ("已派遣", STATE_COLOURS["dispatched"]),
    ("处置中", STATE_COLOURS["in_progress"]),
    ("待核查", STATE_COLOURS["handled"]),
)


class GeoJsonLayer(folium.map.Layer):
    """A GeoJSON layer styled in the browser: `style_js(properties, values)` and
    `tip_js(properties, values)` are JavaScript functions; `values` is an optional mapping sent
    beside the geometry (so a new choropleth sends colours, not polygons), kept as the layer's
    `v`.  The features are `data`, or the `part` of the area document the map fetched."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.geoJson(null, {
  interactive: {{ this.interactive|tojson }},
  {%- if this.part %}
  pane: {{ this.areas_pane|tojson }},
  {%- endif %}
  {%- if this.canvas %}
  renderer: L.canvas({pane: {{ (this.areas_pane if this.part else 'overlayPane')|tojson }}}),
  {%- endif %}
  style: function (f) { return ({{ this.style_js }})(f.properties, {{ this.get_name() }}.v); },
  pointToLayer: function (f, latlng) {
    {%- if this.label_class %}
    var text = ({{ this.tip_js }})(f.properties, {{ this.get_name() }}.v);
    return L.marker(latlng, {interactive: false, keyboard: false, icon: L.divIcon(
      {className: 'area-label {{ this.label_class }}', html: '<span>' + text + '</span>', iconSize: null})});
    {%- else %}
    return L.circleMarker(latlng, {pane: {{ this.points_pane|tojson }}});
    {%- endif %}
  },
  onEachFeature: function (f, layer) {
    {%- if not this.label_class %}
    var tip = ({{ this.tip_js }})(f.properties, {{ this.get_name() }}.v);
    if (tip) { layer.bindTooltip(tip, {sticky: true}); }
    {%- endif %}
  }
});
{{ this.get_name() }}.v = {{ this.values_json }};
{%- if this.part %}
window.areaShapes.then(function (d) {
  if (d && d[{{ this.part|tojson }}]) { {{ this.get_name() }}.addData(d[{{ this.part|tojson }}]); }
  // After the renderer's own frame: the map says how many of this part it has drawn (data-grids-drawn, …).
  L.Util.requestAnimFrame(function () {
    {{ this._parent.get_name() }}.getContainer().dataset[{{ (this.part ~ 'Drawn')|tojson }}] = {{ this.get_name() }}.getLayers().length;
  });
}).catch(function () {});  // AreaShapesSource says that the outlines failed
{%- else %}
{{ this.get_name() }}.addData({{ this.data }});
{%- endif %}
{%- if this.label_class %}
{{ this.get_name() }}.on('add', function () {
  var layer = this;
  setTimeout(function () { if (layer._map && window.declutterLabels) { window.declutterLabels(layer._map); } }, 0);
});
{%- endif %}
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
{%- if this.global_name %}
window[{{ this.global_name|tojson }}] = {{ this.get_name() }};
{%- endif %}
{% endmacro %}
"""
    )

    def __init__(
        self,
        data: str = "",
        *,
        part: str | None = None,
        name: str,
        style_js: str,
        tip_js: str = "function () { return null; }",
        values: Mapping[str, object] | None = None,
        interactive: bool = True,
        label_class: str | None = None,
        control: bool = True,
        global_name: str | None = None,
        canvas: bool = False,
    ) -> None:
        super().__init__(name=name, overlay=True, control=control, show=True)
        self._name = "GeoJsonLayer"
        self.data = data
        self.part = part  # instead of `data`: this part of the area document (AreaShapesSource)
        self.style_js = style_js
        self.tip_js = tip_js
        self.values_json = script_json(values or {})
        self.interactive = interactive
        self.label_class = label_class  # points drawn as text labels (names of areas), not dots
        self.global_name = global_name  # also reachable as window[global_name], to restyle in place
        # Drawn on one <canvas> instead of an SVG path per feature: for a county's 2,000 grids the
        # browser builds, styles and lays out no 2,000 DOM nodes (bench/browser_views.py).  Clicks,
        # tooltips and setStyle work the same; CSS classes do not apply to its features.
        self.canvas = canvas
        self.points_pane = POINTS_PANE
        self.areas_pane = AREAS_PANE


GRID_LAYER = "gridLayer"
# The fetched outlines arrive after the overlays are drawn; in a pane of their own below Leaflet's
# overlay pane (400) they never cover the selection, a track or the focus ring.
AREAS_PANE = "areas"
# Case, household and worker dots are drawn in their own pane above the area names (Leaflet's
# marker pane is 600, tooltips 650), so a name never hides a case.
POINTS_PANE = "points"
LEAFLET_CREDIT = '<a href="https://leafletjs.com" target="_blank" rel="noopener">Leaflet</a>'


# What streamlit-folium returns of a click, in the order it puts them (its updateComponentValue).
CLICK_KEYS = (
    "last_clicked",
    "last_object_clicked",
    "last_object_clicked_count",
    "last_object_clicked_tooltip",
    "last_object_clicked_popup",
    "all_drawings",
    "last_active_drawing",
)
DOUBLE_CLICK_MS = 400  # a second click this soon after a sent one, on the same feature, is the rest of a double click


class MapChrome(MacroElement):
    """What the map shows besides the data: a metric scale bar, a plain attribution (Leaflet's
    default prefix carries a national flag, out of place on a government wall screen; the
    basemap's own credit stays), the points pane, and names that give way to each other.

    `declutterLabels` hides any area name that would overlap one already placed: start and end
    times of a track first, then the names of the children of the selection (a township's
    villages), then township names; within a layer the features come largest area first.  It
    runs when a layer of names is added and after every zoom."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
(function (map) {
  L.control.scale({metric: true, imperial: false}).addTo(map);
  map.attributionControl.setPrefix({{ this.prefix|tojson }});
  map.createPane({{ this.points_pane|tojson }}).style.zIndex = 620;
  map.createPane({{ this.areas_pane|tojson }}).style.zIndex = 350;
  window.declutterLabels = function (m) {
    var pane = m.getPane('markerPane'), kept = [];
    ['time', 'child', 'township'].forEach(function (kind) {
      pane.querySelectorAll('.area-label.' + kind + ' > span').forEach(function (span) {
        span.style.visibility = '';
        var r = span.getBoundingClientRect();
        var hit = kept.some(function (k) {
          return r.left < k.right + 4 && r.right > k.left - 4 && r.top < k.bottom + 2 && r.bottom > k.top - 2;
        });
        if (hit) { span.style.visibility = 'hidden'; } else { kept.push(r); }
      });
    });
  };
  map.on('zoomend', function () { window.declutterLabels(map); });
  // streamlit-folium tells Streamlit of a click 250 ms late (one debounce for clicks, pans and
  // zooms), and every drill-down waited for it.  Once its own click handlers have run, this sends
  // what it would send, at once; its debounced call then finds nothing new.  The second click of
  // a double click (on the same feature, soon after) only joins the first, as the debounce made
  // it; a quick click on another feature is sent.  Maps that return the view (bounds, zoom,
  // centre) are left to the debounce.
  var clickKeys = {{ this.click_keys|tojson }}, lastSentAt = -Infinity, lastSentFeature = null;
  map.on('click', function () {
    setTimeout(function sendClickAtOnce() {
      var g = window.__GLOBAL_DATA__, wanted = g && g.returned_objects;
      if (!window.Streamlit || !wanted || !wanted.length
          || wanted.some(function (k) { return clickKeys.indexOf(k) < 0; })) { return; }
      var wrap = function (v) { return v && g.wrap_longitude ? map.wrapLatLng(v) : v; };
      var all = {
        last_clicked: wrap(g.lat_lng_clicked), last_object_clicked: wrap(g.last_object_clicked),
        last_object_clicked_count: g.last_object_clicked_count,
        last_object_clicked_tooltip: g.last_object_clicked_tooltip,
        last_object_clicked_popup: g.last_object_clicked_popup,
        all_drawings: g.all_drawings, last_active_drawing: g.last_active_drawing
      };
      var value = {};
      clickKeys.forEach(function (k) { if (wanted.indexOf(k) >= 0) { value[k] = all[k]; } });
      if (JSON.stringify(value) === JSON.stringify(g.previous_data)) { return; }
      g.previous_data = value;
      var now = performance.now(), drawing = g.last_active_drawing;
      var feature = JSON.stringify(drawing ? drawing.properties : null);
      if (now - lastSentAt < {{ this.double_click_ms }} && feature === lastSentFeature) { return; }
      lastSentAt = now;
      lastSentFeature = feature;
      window.Streamlit.setComponentValue(value);
    }, 0);
  });
})({{ this._parent.get_name() }});
{% endmacro %}
"""
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MapChrome"
        self.prefix = LEAFLET_CREDIT
        self.points_pane = POINTS_PANE
        self.areas_pane = AREAS_PANE
        self.click_keys = CLICK_KEYS
        self.double_click_ms = DOUBLE_CLICK_MS


class RecolourGrids(MacroElement):
    """New choropleth colours for the grids already on the map (found as window.gridLayer): a
    live page sends ~50 KB of colours each refresh instead of 2,000 polygons, and the map is not
    rebuilt."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
(function () {
  var layer = window[{{ this.layer|tojson }}], v = {{ this.values_json }};
  if (!layer) { return; }
  layer.v = v;  // also for grids the area document has not delivered yet
  layer.eachLayer(function (l) {
    var p = l.feature.properties, x = v[p.id];
    l.setStyle({fillColor: x ? x[0] : '#e5e7eb'});
    l.setTooltipContent(p.tip + (x ? '<br>' + x[1] : ''));
  });
})();
{% endmacro %}
"""
    )

    def __init__(self, values: dict[str, tuple[str, str]], layer: str = GRID_LAYER) -> None:
        super().__init__()
        self._name = "RecolourGrids"
        self.layer = layer
        self.values_json = script_json(_grid_values(values))


def _grid_values(values: dict[str, tuple[str, str]]) -> dict[str, list[str]]:
    """code → [colour, tooltip text as HTML] for the browser."""
    return {code: [colour, str(html_text(text))] for code, (colour, text) in values.items()}


class ReleaseReplacedOverlays(MacroElement):
    """streamlit-folium removes the previous overlays from the map before adding new ones, but
    keeps pushing them onto `window.feature_group`, so a page refreshing every few seconds would
    hold every old layer forever.  Placed first in the first overlay, this empties that list once
    the old layers are off the map."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
window.feature_group = [];
{% endmacro %}
"""
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "ReleaseReplacedOverlays"


class AreaShapesSource(MacroElement):
    """Where the base map's area outlines come from: `window.areaShapes`, a promise of the area
    document (`area_shapes_document`), fetched once from `url` — a versioned, signed address the
    browser keeps in its cache, so the ~0.7 MB of a county's grids do not travel with every
    rerun (web/map_shapes.py) — or, without a url, written into the map itself.  If the fetch
    fails, the map says so instead of staying blank."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
{%- if this.url %}
window.areaShapes = (function load(attempt) {
  // A server restarting or a store briefly away answers 5xx or nothing: try again, then give up.
  return fetch({{ this.url|tojson }}, {credentials: 'same-origin'}).then(function (r) {
    if (r.status >= 500 && attempt < {{ this.attempts }}) { throw new Error('retry'); }
    if (!r.ok) { return Promise.reject(new Error('HTTP ' + r.status)); }
    return r.json();
  }).catch(function (error) {
    if (attempt >= {{ this.attempts }} || (error.message || '').indexOf('HTTP') === 0) { throw error; }
    return new Promise(function (resolve) { setTimeout(resolve, 1000 * Math.pow(2, attempt)); })
      .then(function () { return load(attempt + 1); });
  });
})(1);
{%- else %}
window.areaShapes = Promise.resolve({{ this.document }});
{%- endif %}
window.areaShapes.catch(function () {
  var notice = L.control({position: 'topright'});
  notice.onAdd = function () {
    var div = L.DomUtil.create('div', 'map-legend shapes-failed');
    div.textContent = {{ this.failure|tojson }};
    return div;
  };
  notice.addTo({{ this._parent.get_name() }});
});
{% endmacro %}
"""
    )

    def __init__(self, *, url: str | None, document: str | None) -> None:
        super().__init__()
        self._name = "AreaShapesSource"
        self.url = url
        self.document = document
        self.failure = SHAPES_FAILED
        self.attempts = SHAPES_ATTEMPTS


SHAPES_FAILED = "区域边界未能加载，请刷新页面；如仍不行请联系管理员。"
SHAPES_ATTEMPTS = 5  # 1 + 2 + 4 + 8 s between them: a server restart is over by then


def area_shapes_document(shapes: AreaShapes) -> str:
    """The outlines the base map draws, as one JSON text: `grids` (id, kind, tip: the escaped
    name and code), `townships` and `county` (outlines only).  The same text is written into a
    map or served at the map's shapes link, so the two cannot differ."""
    grids = shapes.grids
    grid_features = shapes_json(
        grids.geometry.values,
        pd.DataFrame(
            {
                "id": grids["code"].to_numpy(),
                "kind": "grid",
                "tip": html_column(grids["name"] + " " + grids["code"]).to_numpy(),
            }
        ),
    )
    parts = {"grids": grid_features, "townships": _areas_json(shapes.townships), "county": _areas_json(shapes.county)}
    return "{" + ",".join(f'"{name}":{text}' for name, text in parts.items()) + "}"


class Legend(MacroElement):
    """A static legend in the map's corner (branca's colormap legend would load d3 from a CDN)."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.control({position: 'bottomright'});
{{ this.get_name() }}.onAdd = function () {
  var div = L.DomUtil.create('div', 'map-legend');
  div.innerHTML = {{ this.html_json }};
  return div;
};
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
{% endmacro %}
"""
    )

    def __init__(self, html: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.html_json = script_json(html)


def legend_html(legend: MapLegend) -> Markup:
    swatch = Markup('<div><i style="background:{}"></i>{}</div>')
    dot = Markup('<div><i class="dot" style="background:{}"></i>{}</div>')
    rows = Markup("").join(swatch.format(e.colour, e.label) for e in legend.entries)
    dots = Markup("").join(dot.format(colour, label) for label, colour in INCIDENT_LEGEND)
    overdue = Markup('<div><i class="dot" style="background:#fff;border:3px solid #b91c1c"></i>超期（红圈）</div>')
    return Markup("<b>{}</b>{}<hr style='margin:4px 0'><b>在办事件</b>{}{}").format(legend.title, rows, dots, overdue)


def _labels_layer(frame: gpd.GeoDataFrame, *, name: str, label_class: str) -> GeoJsonLayer:
    """Area names as permanent labels on a point inside each area (a polygon's own tooltip sits
    at its bounding-box centre, which for a crescent-shaped township lies outside it), largest
    area first: where names collide, the browser keeps the first (MapChrome)."""
    frame = frame.iloc[np.argsort(-shapely.area(frame.geometry.values), kind="stable")].reset_index(drop=True)
    anchors = shapely.point_on_surface(frame.geometry.values)
    data = points_json(
        pd.Series(shapely.get_x(anchors)),
        pd.Series(shapely.get_y(anchors)),
        pd.DataFrame({"tip": html_column(frame["name"])}),
    )
    return GeoJsonLayer(
        data,
        name=name,
        style_js="function () { return {}; }",
        tip_js=TIP_JS,
        interactive=False,
        label_class=label_class,
        control=False,
    )


def _areas_json(frame: gpd.GeoDataFrame) -> str:
    """Outlines only: their names are drawn by `_labels_layer`."""
    return shapes_json(frame.geometry.values, frame[["code"]].rename(columns={"code": "id"}).assign(kind="area"))


# What the pages hand to st_folium as an overlay, named here so pages need not import folium.
Layer = folium.FeatureGroup


def build_layer_control() -> folium.LayerControl:
    """The layer switcher of the 民情地图 page, folded so it does not cover the grids."""
    return folium.LayerControl(collapsed=True)


def build_base_map(
    shapes: AreaShapes,
    *,
    grid_values: dict[str, tuple[str, str]],
    legend: MapLegend | None,
    basemap: Basemap,
    height: int = 640,
    dark: bool = False,
    shapes_url: str | None = None,
) -> folium.Map:
    """The part of the map that stays put: basemap tiles, the grids coloured by `grid_values`
    (code → (colour, plain text for the tooltip)), township and county boundaries with township
    names, and the legend (none on the wall screen).  The outlines are fetched from
    `shapes_url` (the pages' signed link to `area_shapes_document(shapes)`), or written into
    the map without one."""
    use_local_assets()
    minx, miny, maxx, maxy = shapes.county.total_bounds
    fmap = folium.Map(tiles=None, height=height, control_scale=False, zoom_control=True, max_zoom=18)
    MapChrome().add_to(fmap)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    page = fmap.get_root()
    assert isinstance(page, Figure), "folium.Map places itself in a page (Figure) when created"
    page.header.add_child(Element(MAP_CSS))
    if dark:  # the wall screen: grids glow on a dark ground, boundaries in light lines
        page.header.add_child(Element(DARK_MAP_CSS))
    for spec in basemap.tiles:
        folium.TileLayer(
            tiles=spec.url,
            attr=str(html_text(spec.attribution)),
            name=basemap.label,
            subdomains=spec.subdomains or "abc",
            max_zoom=spec.max_zoom,
            overlay=False,
            control=False,
        ).add_to(fmap)
    AreaShapesSource(url=shapes_url, document=None if shapes_url else area_shapes_document(shapes)).add_to(fmap)
    GeoJsonLayer(
        part="grids",
        name="网格",
        style_js=GRID_STYLE_JS,
        tip_js=GRID_TIP_JS,
        values=_grid_values(grid_values),
        global_name=GRID_LAYER,
        canvas=True,
    ).add_to(fmap)
    GeoJsonLayer(part="townships", name="乡镇(街道)", style_js=TOWNSHIP_STYLE_JS, interactive=False).add_to(fmap)
    _labels_layer(shapes.townships, name="乡镇名称", label_class="township").add_to(fmap)
    GeoJsonLayer(part="county", name="县界", style_js=COUNTY_STYLE_JS, interactive=False).add_to(fmap)
    if legend is not None:
        Legend(str(legend_html(legend))).add_to(fmap)
    return fmap


def _points_layer(
    frame: pd.DataFrame, *, name: str, kind: str, id_column: str, columns: dict[str, str], style_js: str
) -> GeoJsonLayer:
    """Clickable dots with the `label` column (plain text, lines split by LINE_BREAK) as tooltip."""
    properties = (
        frame[[id_column, *columns]]
        .rename(columns={id_column: "id", **columns})
        .assign(kind=kind, tip=html_column(frame["label"]))
    )
    data = points_json(frame["lon"], frame["lat"], properties)
    return GeoJsonLayer(data, name=name, style_js=style_js, tip_js=TIP_JS, control=False)


def build_overlays(
    shapes: AreaShapes,
    *,
    selected_code: str,
    selected_level: str,
    child_level: str | None,
    incidents: pd.DataFrame,
    households: pd.DataFrame | None,
    workers: pd.DataFrame | None,
) -> list[folium.FeatureGroup]:
    """What changes with the selection: its outline, its children's outlines and names, open
    incidents (columns incident_id, lon, lat, state, urgent, alarm, label), households (only
    for a village or grid: household_id, lon, lat, family, label) and workers (worker_id, lon,
    lat, on_duty, label)."""
    selection = folium.FeatureGroup(name="当前选择", control=True)
    ReleaseReplacedOverlays().add_to(selection)
    if child_level is not None:
        children = shapes.of_level(child_level)
        children = children[children["code"].str.startswith(selected_code)]
        GeoJsonLayer(
            _areas_json(children), name="下级区域", style_js=CHILD_STYLE_JS, interactive=False, control=False
        ).add_to(selection)
        _labels_layer(children, name="下级名称", label_class="child").add_to(selection)
    if selected_level != "county":
        chosen = shapes.of_level(selected_level)
        chosen = chosen[chosen["code"] == selected_code]
        GeoJsonLayer(
            _areas_json(chosen), name="选中区域", style_js=SELECTED_STYLE_JS, interactive=False, control=False
        ).add_to(selection)
    groups = [selection]
    if households is not None:
        group = folium.FeatureGroup(name="住户（橙：特殊人群，红：重点人员）", control=True)
        _points_layer(
            households,
            name="住户",
            kind="household",
            id_column="household_id",
            columns={"grid_code": "g", "family": "t"},
            style_js=HOUSEHOLD_STYLE_JS,
        ).add_to(group)
        groups.append(group)
    if workers is not None:
        worker_group = folium.FeatureGroup(name="网格员（绿：在岗）", control=True)
        _points_layer(
            workers.assign(on_duty=workers["on_duty"].astype(int)),
            name="网格员",
            kind="worker",
            id_column="worker_id",
            columns={"on_duty": "d"},
            style_js=WORKER_STYLE_JS,
        ).add_to(worker_group)
        groups.append(worker_group)
    incident_group = folium.FeatureGroup(name="在办事件", control=True)
    _points_layer(
        incidents.assign(urgent=incidents["urgent"].astype(int)),
        name="事件",
        kind="incident",
        id_column="incident_id",
        columns={"state": "s", "urgent": "u", "alarm": "a"},
        style_js=INCIDENT_STYLE_JS,
    ).add_to(incident_group)
    return [*groups, incident_group]


def build_focus_layer(
    *,
    incident: tuple[float, float] | None,
    assignee: tuple[float, float] | None,
    draft: tuple[float, float] | None,
    duplicates: Sequence[tuple[float, float]] = (),
) -> folium.FeatureGroup:
    """The selected case ringed, a dashed line to the worker it was sent to, its possible
    duplicates ringed in purple, and the point of a case being reported ((lon, lat) each, already
    in display coordinates)."""
    group = folium.FeatureGroup(name="当前事件", control=False)
    for lon, lat in duplicates:
        folium.CircleMarker(
            [lat, lon],
            radius=12,
            color="#7c3aed",
            weight=3,
            dash_array="4 3",
            fill=False,
            interactive=False,
            tooltip="可能重复",
            class_name="focus-duplicate",
        ).add_to(group)
    if incident is not None:
        folium.CircleMarker(
            [incident[1], incident[0]],
            radius=15,
            color="#f59e0b",
            weight=4,
            fill=False,
            interactive=False,
            class_name="focus-incident",
        ).add_to(group)
        if assignee is not None:
            folium.PolyLine(
                [[incident[1], incident[0]], [assignee[1], assignee[0]]],
                color="#047857",
                weight=2.5,
                dash_array="6 6",
                interactive=False,
            ).add_to(group)
            folium.CircleMarker(
                [assignee[1], assignee[0]],
                radius=10,
                color="#047857",
                weight=3,
                fill=True,
                fill_color="#34d399",
                fill_opacity=1,
                tooltip="承办网格员",
                class_name="focus-assignee",
            ).add_to(group)
    if draft is not None:
        folium.CircleMarker(
            [draft[1], draft[0]],
            radius=9,
            color="#dc2626",
            weight=3,
            fill=True,
            fill_color="#fecaca",
            fill_opacity=1,
            tooltip="新事件位置",
            class_name="draft-incident",
        ).add_to(group)
    return group


VISITED_STYLE_JS = (
    "function () { return {radius: 4, color: '#065f46', weight: 1, fillColor: '#34d399', fillOpacity: 1, "
    "className: 'visited'}; }"
)
WAITING_STYLE_JS = (
    "function () { return {radius: 6, color: '#7f1d1d', weight: 2, fillColor: '#f87171', fillOpacity: 1, "
    "className: 'waiting'}; }"
)


class ArrowLayer(MacroElement):
    """Small arrows along a track, pointing the way the worker walked, with the time on hover."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
{{ this.arrows_json }}.forEach(function (a) {
  L.marker([a[0], a[1]], {interactive: true, keyboard: false, icon: L.divIcon({className: '', iconSize: [10, 11],
    iconAnchor: [5, 5], html: '<div class="track-arrow" style="transform: rotate(' + a[2] + 'deg)"></div>'})})
   .bindTooltip(a[3]).addTo({{ this._parent.get_name() }});
});
{% endmacro %}
"""
    )

    def __init__(self, arrows: list[list[object]]) -> None:
        super().__init__()
        self._name = "ArrowLayer"
        self.arrows_json = script_json(arrows)


def bearings(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Degrees clockwise from north from each point to the next (the last repeats its predecessor)."""
    dx = np.diff(lon) * np.cos(np.radians(lat[:-1]))
    dy = np.diff(lat)
    heading = np.degrees(np.arctan2(dx, dy)) % 360
    return np.r_[heading, heading[-1:]] if len(heading) else np.zeros(len(lon))


def build_track_layer(
    track: pd.DataFrame, stops: pd.DataFrame, visited: pd.DataFrame, waiting: pd.DataFrame, *, arrow_every: int = 12
) -> folium.FeatureGroup:
    """One worker's day: the route (a line per stretch without a gap), arrows with times, start
    and end labels, stops, the households it reached (green) and the special-group households
    still waiting for a visit (red).  `track`: lon, lat, label (time), line; `stops`: lon, lat,
    label; `visited`/`waiting`: household_id, lon, lat, label (display coordinates)."""
    group = folium.FeatureGroup(name="巡查轨迹", control=True)
    if not track.empty:
        lines = [list(zip(part["lat"], part["lon"], strict=True)) for _, part in track.groupby("line", sort=True)]
        folium.PolyLine(lines, color="#1d4ed8", weight=3.5, opacity=0.85, interactive=False, class_name="track").add_to(
            group
        )
        heading = bearings(track["lon"].to_numpy(), track["lat"].to_numpy())
        picks = np.arange(0, len(track), arrow_every)
        ArrowLayer(
            [
                [
                    float(track["lat"].iat[i]),
                    float(track["lon"].iat[i]),
                    round(float(heading[i])),
                    str(html_text(track["label"].iat[i])),
                ]
                for i in picks
            ]
        ).add_to(group)
        ends = track.iloc[[0, -1]].assign(name=["起 " + track["label"].iat[0], "止 " + track["label"].iat[-1]])
        _labels_layer(
            gpd.GeoDataFrame(ends[["name"]], geometry=gpd.points_from_xy(ends["lon"], ends["lat"])),
            name="起止",
            label_class="time",
        ).add_to(group)
    for frame, kind, style in ((visited, "household", VISITED_STYLE_JS), (waiting, "household", WAITING_STYLE_JS)):
        if not frame.empty:
            _points_layer(
                frame.assign(grid_code=""),
                name="走访",
                kind=kind,
                id_column="household_id",
                columns={"grid_code": "g"},
                style_js=style,
            ).add_to(group)
    for row in stops.itertuples():
        folium.CircleMarker(
            [row.lat, row.lon],
            radius=9,
            color="#c2410c",
            weight=2,
            fill=True,
            fill_color="#fdba74",
            fill_opacity=0.9,
            tooltip=str(html_text(row.label)),
            class_name="stop",
        ).add_to(group)
    return group


def build_live_overlays(grid_values: dict[str, tuple[str, str]], incidents: pd.DataFrame) -> list[folium.FeatureGroup]:
    """What a live page refreshes: the grid colours (in place) and the open incidents, overdue
    ones pulsing and new ones (column `fresh`) ringed for a few seconds."""
    group = folium.FeatureGroup(name="在办事件", control=False)
    ReleaseReplacedOverlays().add_to(group)
    RecolourGrids(grid_values).add_to(group)
    _points_layer(
        incidents.assign(urgent=incidents["urgent"].astype(int), fresh=incidents["fresh"].astype(int)),
        name="事件",
        kind="incident",
        id_column="incident_id",
        columns={"state": "s", "urgent": "u", "alarm": "a", "fresh": "n"},
        style_js=INCIDENT_STYLE_JS,
    ).add_to(group)
    return [group]
