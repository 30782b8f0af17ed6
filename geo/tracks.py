"""Patrol tracks and the households they reach (DESIGN.md, Figures: visited and coverage).

Tracks are built per worker and calendar day in Asia/Shanghai; fixes with accuracy worse than
100 m are dropped first; consecutive fixes at most 5 minutes apart are joined, a longer gap starts
a new line.  A household is visited when it lies within 50 m of a track line.  A line needs two
fixes: a lone fix is no line.  Coordinates are in a metric CRS (metres), times are UTC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

LOCAL_TZ = "Asia/Shanghai"
MAX_ACCURACY_M = 100.0
MAX_GAP = pd.Timedelta(minutes=5)
VISIT_RADIUS_M = 50.0


def drop_inaccurate(fixes: pd.DataFrame, max_accuracy_m: float = MAX_ACCURACY_M) -> pd.DataFrame:
    return fixes[fixes["accuracy_m"] <= max_accuracy_m]


def build_segments(fixes: pd.DataFrame, max_gap: pd.Timedelta = MAX_GAP) -> pd.DataFrame:
    """Track segments between consecutive fixes of one worker on one local day.

    `fixes` has columns worker_id, ts (tz-aware), x, y (metres).  Returns one row per segment:
    worker_id, day (local date), start_ts, end_ts, x0, y0, x1, y1.
    """
    ordered = fixes.sort_values(["worker_id", "ts"], kind="stable")
    worker = ordered["worker_id"].to_numpy()
    ts = ordered["ts"]
    day = ts.dt.tz_convert(LOCAL_TZ).dt.date.to_numpy()
    x, y = ordered["x"].to_numpy(), ordered["y"].to_numpy()
    gap = ts.diff().to_numpy()[1:]
    joined = (worker[1:] == worker[:-1]) & (day[1:] == day[:-1]) & (gap <= max_gap.to_timedelta64())
    start = np.flatnonzero(joined)
    end = start + 1
    ts_values = ts.to_numpy()
    return pd.DataFrame(
        {
            "worker_id": worker[start],
            "day": day[start],
            "start_ts": pd.to_datetime(ts_values[start], utc=True),
            "end_ts": pd.to_datetime(ts_values[end], utc=True),
            "x0": x[start],
            "y0": y[start],
            "x1": x[end],
            "y1": y[end],
        }
    )


def find_visits(segments: pd.DataFrame, household_xy: np.ndarray, radius_m: float = VISIT_RADIUS_M) -> pd.DataFrame:
    """Households within `radius_m` of a segment, per household, worker and day.

    `household_xy` is an ``(n, 2)`` array in the segments' metric CRS.  Returns household_idx,
    worker_id, day and the start/end of the first and the last segment near the household
    (first_start, first_end, last_start, last_end): enough to decide exactly whether any near
    segment lies inside a period of one day or longer.
    """
    columns = ["household_idx", "worker_id", "day", "first_start", "first_end", "last_start", "last_end"]
    if segments.empty or len(household_xy) == 0:
        return pd.DataFrame(columns=columns)
    coords = segments[["x0", "y0", "x1", "y1"]].to_numpy().reshape(-1, 2, 2)
    lines = shapely.linestrings(coords)
    households = shapely.points(household_xy)
    hh_idx, seg_idx = shapely.STRtree(lines).query(households, predicate="dwithin", distance=radius_m)
    worker = pd.factorize(segments["worker_id"].to_numpy()[seg_idx])[0]
    day = pd.factorize(segments["day"].to_numpy()[seg_idx])[0]
    start = segments["start_ts"].astype("int64").to_numpy()[seg_idx]  # integers: sorting objects is slow
    order = np.lexsort((start, day, worker, hh_idx))
    keys = np.column_stack([hh_idx, worker, day])[order]
    new_group = np.r_[True, (keys[1:] != keys[:-1]).any(axis=1)]
    first = seg_idx[order[new_group]]
    last = seg_idx[order[np.r_[new_group[1:], True]]]

    def pick(column: str, rows: np.ndarray) -> np.ndarray:
        return segments[column].iloc[rows].reset_index(drop=True)

    return pd.DataFrame(
        {
            "household_idx": hh_idx[order[new_group]],
            "worker_id": pick("worker_id", first),
            "day": pick("day", first),
            "first_start": pick("start_ts", first),
            "first_end": pick("end_ts", first),
            "last_start": pick("start_ts", last),
            "last_end": pick("end_ts", last),
        }
    )
