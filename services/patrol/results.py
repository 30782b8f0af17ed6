"""What a batch of GPS fixes yields, for both the import and the demo: the households each
worker-day's track reached (patrol_visits) and the day's summary (patrol_days).  Pure: frames in,
frames out, in one metric CRS."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.assign import NO_GRID, assign_grids
from geo.tracks import (
    build_segments,
    by_worker_and_time,
    drop_inaccurate,
    find_jumps,
    find_stops,
    find_visits,
    summarise_days,
)
from services.domain import LOCAL_TZ


def clean_fixes(fixes: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Fixes fit for tracks (accuracy within 100 m, no impossible jumps) and how many each rule
    dropped.  `fixes`: worker_id, ts, x, y, accuracy_m."""
    accurate = drop_inaccurate(fixes)
    jumps = find_jumps(accurate)
    return accurate[~jumps], {"inaccurate": len(fixes) - len(accurate), "jumps": int(jumps.sum())}


@dataclasses.dataclass(frozen=True)
class PatrolResults:
    clean: pd.DataFrame  # the fixes the tracks are built from
    stops: pd.DataFrame  # from `find_stops`
    visits: pd.DataFrame
    days: pd.DataFrame


def compute_patrol_results(
    fixes: pd.DataFrame, households: pd.DataFrame, grids: gpd.GeoDataFrame, worker_grids: pd.DataFrame
) -> PatrolResults:
    """Visits and day summaries of the worker-days in `fixes` (worker_id, ts, x, y, accuracy_m).

    `households`: household_id, grid_code, x, y; `grids`: code and polygon in the same metric
    CRS; `worker_grids`: worker_id, grid_code (what counts as inside the worker's grids).
    visits: household_id, grid_code, worker_id, day, first/last segment times; days: worker_id,
    day, the `summarise_days` columns and `visited` (households reached that day).
    """
    clean, _ = clean_fixes(by_worker_and_time(fixes))  # in the order every step below reads them
    segments = build_segments(clean, tz=LOCAL_TZ)
    found = find_visits(segments, households[["x", "y"]].to_numpy())
    reached = households.iloc[found["household_idx"].to_numpy()]
    visits = found.drop(columns="household_idx").assign(
        household_id=reached["household_id"].to_numpy(), grid_code=reached["grid_code"].to_numpy()
    )
    midpoints = shapely.points((segments["x0"] + segments["x1"]) / 2, (segments["y0"] + segments["y1"]) / 2)
    hit = (
        assign_grids(midpoints, grids.geometry.to_numpy(), grids["code"].to_numpy())
        if len(segments)
        else np.array([], int)
    )
    segment_grid: np.ndarray | list[str] = (
        np.where(hit == NO_GRID, "", grids["code"].to_numpy()[np.maximum(hit, 0)]) if len(segments) else []
    )
    own = pd.MultiIndex.from_frame(worker_grids[["worker_id", "grid_code"]])
    inside = pd.MultiIndex.from_arrays([segments["worker_id"].to_numpy(), np.asarray(segment_grid, dtype=object)]).isin(
        own
    )
    stops = find_stops(clean, tz=LOCAL_TZ)
    days = summarise_days(clean, segments, ~inside, stops, tz=LOCAL_TZ)
    visited = visits.groupby(["worker_id", "day"]).size().rename("visited")
    days = days.merge(visited, left_on=["worker_id", "day"], right_index=True, how="left").fillna({"visited": 0})
    return PatrolResults(clean, stops, visits, days.astype({"visited": int}))
