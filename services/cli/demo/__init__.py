"""The demo county: a deterministic synthetic 平乡县 (real outline and township codes)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd

from geo.crs import WGS84, transform_xy
from geo.tracks import local_days
from services.cases.limits import default_limit_rows
from services.cli.demo.incidents import make_incidents
from services.cli.demo.layout import build_layout, read_county_source
from services.cli.demo.patrols import make_fixes
from services.cli.demo.people import make_departments, make_households, make_users, make_workers
from services.cli.demo.vocabulary import PATROL_NOTES
from services.domain import LOCAL_TZ
from services.patrol.results import compute_patrol_results


@dataclasses.dataclass(frozen=True)
class ScaleSpec:
    township_codes: tuple[str, ...] | None  # None: the whole county
    grids: int
    households: int
    workers: int
    villages_in_county: int = 230
    incidents_per_grid_day: float = 100_000 / 2_000 / 365  # DESIGN.md: 100k a year on 2,000 grids
    incident_days: int = 90
    patrol_days: int = 7


SCALES = {
    "small": ScaleSpec(township_codes=("130532101",), grids=40, households=8_000, workers=60),
    "county": ScaleSpec(township_codes=None, grids=2_000, households=300_000, workers=1_500),
}


@dataclasses.dataclass(frozen=True)
class DemoCounty:
    """Rows for every table, named as the table's columns."""

    county_code: str
    tables: dict[str, pd.DataFrame]


def generate_demo(scale: str, *, seed: int, now: dt.datetime) -> DemoCounty:
    spec = SCALES[scale]
    rng = np.random.default_rng(seed)
    source = read_county_source()
    code = source.code
    layout = build_layout(
        source,
        township_codes=spec.township_codes,
        villages_in_county=spec.villages_in_county,
        grids=spec.grids,
        households=spec.households,
        rng=rng,
    )
    areas = layout.areas.rename_geometry("geom").assign(county_code=code)
    households, tags = make_households(layout, code, rng)
    workers, worker_grids = make_workers(layout, code, spec.workers, rng)
    departments, department_categories = make_departments(code)
    incidents, events = make_incidents(
        households,
        worker_grids,
        department_categories,
        layout.villages.set_index("village_code")["village_name"],
        layout.areas[layout.areas["level"] == "grid"],
        county_code=code,
        grids=spec.grids,
        per_grid_day=spec.incidents_per_grid_day,
        days=spec.incident_days,
        now=now,
        rng=rng,
    )
    hh_xy = np.column_stack(transform_xy(households["lon"], households["lat"], WGS84, layout.crs_metric))
    fixes_xy = make_fixes(
        households.assign(x=hh_xy[:, 0], y=hh_xy[:, 1]),
        worker_grids,
        workers,
        county_code=code,
        days=spec.patrol_days,
        now=now,
        rng=rng,
    )
    lon, lat = transform_xy(fixes_xy["x"], fixes_xy["y"], layout.crs_metric, WGS84)
    fixes = fixes_xy.drop(columns=["x", "y"]).assign(lon=np.round(lon, 6), lat=np.round(lat, 6))
    grids_metric = areas[areas["level"] == "grid"].set_geometry("geom").to_crs(layout.crs_metric)
    # From the fixes as stored (rounded to 6 decimals), as an import of them computes: a household
    # a hair from 50 m is then visited alike by the demo and by a re-import of its exported fixes.
    stored_x, stored_y = transform_xy(fixes["lon"], fixes["lat"], WGS84, layout.crs_metric)
    patrol = compute_patrol_results(
        fixes_xy.assign(x=stored_x, y=stored_y),
        households.assign(x=hh_xy[:, 0], y=hh_xy[:, 1]),
        grids_metric[["code", "geom"]],
        worker_grids,
    )
    logs = pd.concat(
        [
            _earlier_logs(worker_grids, code, now, first_day=spec.patrol_days, last_day=spec.incident_days, rng=rng),
            _patrol_logs(fixes_xy, patrol.visits, worker_grids, code, rng),
        ],
        ignore_index=True,
    )
    users, user_areas = make_users(layout, code, areas.loc[areas["level"] == "grid", "code"])
    tables = {
        "areas": pd.DataFrame(areas.drop(columns="geom")).assign(geom=areas.geometry.values),
        "households": households,
        "household_tags": tags,
        "workers": workers,
        "worker_grids": worker_grids,
        "departments": departments,
        "department_categories": department_categories,
        "incidents": incidents,
        "incident_events": events,
        "patrol_fixes": fixes,
        "patrol_logs": logs,
        "patrol_visits": patrol.visits.assign(county_code=code),
        "patrol_days": patrol.days.assign(county_code=code),
        "users": users,
        "user_areas": user_areas,
        "handling_limits": default_limit_rows(code),
    }
    return DemoCounty(county_code=code, tables=tables)


def _earlier_logs(
    worker_grids: pd.DataFrame,
    county_code: str,
    now: dt.datetime,
    *,
    first_day: int,
    last_day: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Written patrol logs of the days before the GPS window (the demo keeps fixes for a week
    only), so that monthly log counts look like a working county: most workers log on most days."""
    first_grid = worker_grids.groupby("worker_id")["grid_code"].first()
    today = pd.Timestamp(now.astimezone(LOCAL_TZ).date())
    back = np.arange(first_day, last_day)
    worker = np.repeat(first_grid.index.to_numpy(), len(back))
    days_back = np.tile(back, len(first_grid))
    logged = rng.random(len(worker)) < rng.beta(6, 2, len(first_grid)).repeat(len(back))
    minutes = rng.integers(16 * 60, 19 * 60, logged.sum())
    local = today - pd.to_timedelta(days_back[logged], unit="D") + pd.to_timedelta(minutes, unit="m")
    visited = rng.poisson(25, logged.sum())
    notes = np.array(PATROL_NOTES, dtype=object)[rng.integers(0, len(PATROL_NOTES), logged.sum())]
    return pd.DataFrame(
        {
            "county_code": county_code,
            "worker_id": worker[logged],
            "logged_at": local.tz_localize(LOCAL_TZ).tz_convert("UTC"),
            "grid_code": first_grid.reindex(worker[logged]).to_numpy(),
            "text": [note.format(n=int(k)) for note, k in zip(notes, visited, strict=True)],
            "households_visited": visited,
        }
    )


def _patrol_logs(
    fixes_xy: pd.DataFrame, visits: pd.DataFrame, worker_grids: pd.DataFrame, county_code: str, rng: np.random.Generator
) -> pd.DataFrame:
    """One written log per worker and patrol day, at the end of the day's last fix."""
    local_day = pd.Series(local_days(fixes_xy["ts"], LOCAL_TZ), index=fixes_xy.index)
    ends = fixes_xy.groupby([fixes_xy["worker_id"], local_day])["ts"].max().rename("logged_at").reset_index()
    ends.columns = ["worker_id", "day", "logged_at"]
    counts = visits.groupby(["worker_id", "day"]).size().rename("households_visited").reset_index()
    logs = ends.merge(counts, on=["worker_id", "day"], how="left").fillna({"households_visited": 0})
    first_grid = worker_grids.groupby("worker_id")["grid_code"].first()
    notes = np.array(PATROL_NOTES, dtype=object)[rng.integers(0, len(PATROL_NOTES), len(logs))]
    return pd.DataFrame(
        {
            "county_code": county_code,
            "worker_id": logs["worker_id"],
            "logged_at": logs["logged_at"] + pd.Timedelta(seconds=1),
            "grid_code": first_grid.reindex(logs["worker_id"]).to_numpy(),
            "text": [note.format(n=int(k)) for note, k in zip(notes, logs["households_visited"], strict=True)],
            "households_visited": logs["households_visited"].astype(int),
        }
    )
