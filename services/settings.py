"""Settings from the environment, each with its help text (README's table is checked against this)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from services.basemaps import Basemap, make_basemap

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_DIR / "data"


@dataclasses.dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        "",
        "SQLAlchemy URL of the store; empty means the SQLite file `data/minqing.db`, "
        "e.g. `postgresql+psycopg://user:pw@host/db` for PostGIS.",
    ),
    Setting(
        "DATA_DIR",
        "",
        "Folder for the default database and uploaded photos; empty means `data/`.",
    ),
    Setting(
        "DEMO_SCALE",
        "small",
        "Scale of the demo county `make run` creates when the database is empty: `small` or `county`.",
    ),
    Setting(
        "DEMO_SEED",
        "7",
        "Random seed of that demo county (the same seed gives the same county).",
    ),
    Setting("COUNTY_CODE", "130532", "6-digit code of the county the dashboard shows."),
    Setting(
        "BASEMAPS",
        "none",
        "Basemaps the map offers, comma-separated, the first is the default: `none` (offline), `xyz`, "
        "`tianditu`, `amap` (高德, GCJ-02: overlays are shifted when drawn) or `local`.",
    ),
    Setting("BASEMAP_URL", "", "Tile URL of the `xyz` basemap, e.g. `https://tile.openstreetmap.org/{z}/{x}/{y}.png`."),
    Setting("TIANDITU_KEY", "", "Browser key (`tk`) for the `tianditu` basemap."),
    Setting("SCREEN_REFRESH_S", "15", "Seconds between refreshes of the 指挥大屏 page."),
    Setting("SESSION_IDLE_MIN", "30", "Minutes without any page run after which a signed-in session ends."),
    Setting(
        "SESSION_HOURS",
        "12",
        "Hours after sign-in at which a session ends however busy (a wall screen signs in again each shift).",
    ),
    Setting(
        "SIMULATE",
        "0",
        "`1`: `make run` also starts the simulator (`python -m services.cli simulate`), so the demo stays alive.",
    ),
    Setting(
        "INTAKE_GET_PER_MIN",
        "120",
        "Open311 GETs each client address may make per minute (a token bucket per server process); more get 429.",
    ),
    Setting(
        "LINK_KEY",
        "",
        "Secret that signs the map's links to its area outlines (any long random text); empty means a random key "
        "kept in `DATA_DIR/link.key`. Servers behind one address need the same one.",
    ),
    Setting(
        "FIXES_KEEP_DAYS",
        "400",
        "Days of GPS fixes `python -m services.cli maintain` keeps; older ones go once their worker-days are "
        "summarised (visits, patrol days and every figure stay).",
    ),
    Setting(
        "LOCAL_TILES_DIR",
        "",
        "Folder of `{z}/{x}/{y}.png` tiles for the `local` basemap; the app serves it at `/app/static/tiles/`.",
    ),
)


@dataclasses.dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    demo_scale: str
    demo_seed: int
    county_code: str
    basemaps: tuple[Basemap, ...]
    local_tiles_dir: Path | None
    screen_refresh_s: float
    simulate: bool
    session_idle_min: float
    session_hours: float
    intake_get_per_min: float
    link_key: str
    fixes_keep_days: int

    @property
    def photo_dir(self) -> Path:
        """Where the incidents' photos are kept (the database holds their paths relative to it)."""
        return self.data_dir / "photos"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        raw = {s.env: env.get(s.env, "") or s.default for s in SETTINGS}
        data_dir = Path(raw["DATA_DIR"]) if raw["DATA_DIR"] else DEFAULT_DATA_DIR
        url = raw["DATABASE_URL"] or f"sqlite:///{data_dir / 'minqing.db'}"
        if "local" in raw["BASEMAPS"] and not raw["LOCAL_TILES_DIR"]:
            raise ValueError("底图 local 需要设置 LOCAL_TILES_DIR（{z}/{x}/{y}.png 瓦片所在的文件夹）")
        if raw["DEMO_SCALE"] not in ("small", "county"):
            raise ValueError(f"DEMO_SCALE must be small or county, not {raw['DEMO_SCALE']!r}")
        return cls(
            database_url=url,
            data_dir=data_dir,
            demo_scale=raw["DEMO_SCALE"],
            demo_seed=int(raw["DEMO_SEED"]),
            county_code=raw["COUNTY_CODE"],
            basemaps=tuple(
                make_basemap(kind.strip(), xyz_url=raw["BASEMAP_URL"], tianditu_key=raw["TIANDITU_KEY"])
                for kind in raw["BASEMAPS"].split(",")
                if kind.strip()
            ),
            local_tiles_dir=Path(raw["LOCAL_TILES_DIR"]) if raw["LOCAL_TILES_DIR"] else None,
            screen_refresh_s=float(raw["SCREEN_REFRESH_S"]),
            simulate=raw["SIMULATE"] == "1",
            session_idle_min=float(raw["SESSION_IDLE_MIN"]),
            session_hours=float(raw["SESSION_HOURS"]),
            intake_get_per_min=float(raw["INTAKE_GET_PER_MIN"]),
            link_key=raw["LINK_KEY"],
            fixes_keep_days=int(raw["FIXES_KEEP_DAYS"]),
        )
