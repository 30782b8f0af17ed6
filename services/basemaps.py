"""Basemaps the map can draw under its layers.  The default is none: the map must draw on a
network without internet.  高德 tiles are GCJ-02, so overlays are shifted at display time when
it is chosen (`Basemap.crs`); 天地图 is CGCS2000, which equals WGS84 at map precision."""

from __future__ import annotations

import dataclasses
import urllib.parse

TIANDITU_URL = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}"
)
AMAP_URL = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
LOCAL_TILES_URL = "/app/static/tiles/{z}/{x}/{y}.png"
BASEMAP_KINDS = ("none", "xyz", "tianditu", "amap", "local")
BASEMAP_LABELS = {
    "none": "无底图（离线）",
    "xyz": "在线瓦片",
    "tianditu": "天地图",
    "amap": "高德地图",
    "local": "本地瓦片",
}


@dataclasses.dataclass(frozen=True)
class TileSpec:
    url: str
    attribution: str
    subdomains: str = "abc"
    max_zoom: int = 18


@dataclasses.dataclass(frozen=True)
class Basemap:
    kind: str
    label: str
    tiles: tuple[TileSpec, ...]
    crs: str  # "wgs84" or "gcj02": the coordinates the tiles are drawn in


def make_basemap(kind: str, *, xyz_url: str = "", tianditu_key: str = "") -> Basemap:
    """The basemap of `kind` (one of BASEMAP_KINDS); ValueError names the missing setting."""
    label = BASEMAP_LABELS.get(kind)
    if label is None:
        raise ValueError(f"底图 {kind!r} 不存在，可选：{', '.join(BASEMAP_KINDS)}")
    if kind == "none":
        return Basemap(kind, label, (), "wgs84")
    if kind == "xyz":
        if not xyz_url:
            raise ValueError("底图 xyz 需要设置 BASEMAP_URL（如 https://tile.openstreetmap.org/{z}/{x}/{y}.png）")
        return Basemap(kind, label, (TileSpec(xyz_url, "© OpenStreetMap contributors"),), "wgs84")
    if kind == "tianditu":
        if not tianditu_key:
            raise ValueError("底图 tianditu 需要设置 TIANDITU_KEY（天地图浏览器端密钥）")
        layers = tuple(
            TileSpec(
                TIANDITU_URL.format(s="{s}", layer=layer, z="{z}", x="{x}", y="{y}", key=tianditu_key),
                "© 天地图 国家地理信息公共服务平台",
                subdomains="01234567",
            )
            for layer in ("vec", "cva")
        )
        return Basemap(kind, label, layers, "wgs84")
    if kind == "amap":
        return Basemap(kind, label, (TileSpec(AMAP_URL, "© 高德地图", subdomains="1234"),), "gcj02")
    return Basemap(kind, label, (TileSpec(LOCAL_TILES_URL, "本地瓦片", subdomains=""),), "wgs84")


def tile_origins(basemap: Basemap) -> tuple[str, ...]:
    """The origins (`https://host`) the browser loads this basemap's tiles from, one per
    subdomain: what the page's Content-Security-Policy must let images come from.  Tiles the
    app serves itself (`local`) need none."""
    origins: list[str] = []
    for spec in basemap.tiles:
        parts = urllib.parse.urlsplit(spec.url)
        if not parts.netloc:
            continue
        hosts = [parts.netloc.replace("{s}", s) for s in spec.subdomains] if "{s}" in parts.netloc else [parts.netloc]
        origins += [f"{parts.scheme}://{host}" for host in hosts if f"{parts.scheme}://{host}" not in origins]
    return tuple(origins)
