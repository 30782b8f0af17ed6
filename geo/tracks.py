"""Patrol tracks and the households they reach (DESIGN.md, Figures: visited and coverage).

Tracks are built per worker and local calendar day (the caller's time zone `tz`, Asia/Shanghai
for this project: `services.domain.LOCAL_TZ`); fixes with accuracy worse than
100 m are dropped first; consecutive fixes at most 5 minutes apart are joined, a longer gap starts
a new line.  A household is visited when it lies within 50 m of a track line.  A line needs two
fixes: a lone fix is no line.  Coordinates are in a metric CRS (metres), times are UTC.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import shapely

MAX_ACCURACY_M = 100.0
MAX_GAP = pd.Timedelta(minutes=5)
VISIT_RADIUS_M = 50.0


def drop_inaccurate(fixes: pd.DataFrame, max_accuracy_m: float = MAX_ACCURACY_M) -> pd.DataFrame:
    return fixes[fixes["accuracy_m"] <= max_accuracy_m]


def build_segments(fixes: pd.DataFrame, *, tz: dt.tzinfo, max_gap: pd.Timedelta = MAX_GAP) -> pd.DataFrame:
    """Track segments between consecutive fixes of one worker on one local day.

    `fixes` has columns worker_id, ts (tz-aware), x, y (metres).  Returns one row per segment:
    worker_id, day (local date), start_ts, end_ts, x0, y0, x1, y1.
    """
    ordered = fixes.sort_values(["worker_id", "ts"], kind="stable")
    worker = ordered["worker_id"].to_numpy()
    ts = ordered["ts"]
    day = ts.dt.tz_convert(tz).dt.date.to_numpy()
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
    if len(hh_idx) == 0:
        return pd.DataFrame(columns=columns)
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


EPOCH = pd.Timestamp("1970-01-01", tz="UTC")
MAX_SPEED_KMH = 120.0
STOP_RADIUS_M = 30.0
STOP_MINUTES = 3.0
STILL_RADIUS_M = 30.0  # 90% of a day's fixes this close to its median point: the phone never moved
REGULAR_SHARE = 0.9  # phones' fix intervals jitter by seconds; this share of identical intervals is a replay
MIN_FIXES_FOR_FLAGS = 20
OUTSIDE_SHARE_FLAG = 0.5


def find_jumps(fixes: pd.DataFrame, max_speed_kmh: float = MAX_SPEED_KMH) -> pd.Series:
    """True for fixes that imply a speed over `max_speed_kmh` (GPS spikes).

    `fixes`: worker_id, ts, x, y (metres).  Two passes: first the spikes (fast in *and* fast
    out: one bad fix between good ones), then, among the rest, fixes reached too fast from the
    previous kept fix (a jump that stays away).  Index-aligned with `fixes`.
    """
    limit = max_speed_kmh / 3.6
    dropped = pd.Series(False, index=fixes.index)
    ordered = fixes.sort_values(["worker_id", "ts"], kind="stable")
    for spike_pass in (True, False):
        kept = ordered[~dropped[ordered.index]]
        same = kept["worker_id"].to_numpy()
        step = np.hypot(np.diff(kept["x"].to_numpy()), np.diff(kept["y"].to_numpy()))
        # As datetime64: a zone-aware column would otherwise become Timestamp objects, one by one.
        seconds = np.diff(kept["ts"].to_numpy(dtype="datetime64[us]")).astype(float) / 1e6
        fast = (same[1:] == same[:-1]) & (step > limit * np.maximum(seconds, 1e-3))
        fast_in = np.r_[False, fast]
        fast_out = np.r_[fast, False]
        bad = fast_in & fast_out if spike_pass else fast_in
        dropped[kept.index[bad]] = True
    return dropped


def find_stops(
    fixes: pd.DataFrame, *, tz: dt.tzinfo, radius_m: float = STOP_RADIUS_M, minutes: float = STOP_MINUTES
) -> pd.DataFrame:
    """Stops: a worker staying within ~`radius_m` for at least `minutes`.

    A fix ends a stay when the fixes of the `minutes` before it (at least four, spanning two
    thirds of the window) fit in a box whose half-diagonal is within `radius_m`; a run of such
    fixes is one stop, from the start of its first window to its last fix.  Vectorised with
    time-based rolling windows per worker and day.  Returns worker_id, day, start_ts, end_ts,
    x, y, minutes.
    """
    columns = ["worker_id", "day", "start_ts", "end_ts", "x", "y", "minutes"]
    if fixes.empty:
        return pd.DataFrame(columns=columns)
    ordered = fixes.sort_values(["worker_id", "ts"], kind="stable").reset_index(drop=True)
    ordered["day"] = ordered["ts"].dt.tz_convert(tz).dt.date
    window = f"{int(minutes * 60)}s"
    seconds = (ordered["ts"] - EPOCH).dt.total_seconds()
    rolled = ordered.assign(t=seconds).groupby(["worker_id", "day"], sort=False).rolling(window, on="ts")
    low, high = rolled[["x", "y", "t"]].min(), rolled[["x", "y"]].max()
    stats = pd.DataFrame(
        {
            "xmin": low["x"].to_numpy(),
            "xmax": high["x"].to_numpy(),
            "ymin": low["y"].to_numpy(),
            "ymax": high["y"].to_numpy(),
            "n": rolled["x"].count().to_numpy(),
        }
    )
    first_s = low["t"].to_numpy()
    span_s = seconds.to_numpy() - first_s
    half_diagonal = np.hypot(stats["xmax"] - stats["xmin"], stats["ymax"] - stats["ymin"]).to_numpy() / 2
    staying = (half_diagonal <= radius_m) & (stats["n"].to_numpy() >= 4) & (span_s >= minutes * 60 * 2 / 3)
    group = (ordered["worker_id"] + "|" + ordered["day"].astype(str)).to_numpy()
    run_start = staying & ~np.r_[False, staying[:-1] & (group[1:] == group[:-1])]
    run_id = np.cumsum(run_start)
    flagged = ordered[staying].assign(
        run=run_id[staying], window_start=EPOCH + pd.to_timedelta(first_s[staying], unit="s")
    )
    if flagged.empty:
        return pd.DataFrame(columns=columns)
    stops = flagged.groupby("run").agg(
        worker_id=("worker_id", "first"),
        day=("day", "first"),
        start_ts=("window_start", "first"),
        end_ts=("ts", "last"),
        x=("x", "mean"),
        y=("y", "mean"),
    )
    stops["minutes"] = ((stops["end_ts"] - stops["start_ts"]).dt.total_seconds() / 60).round(1)
    return stops.reset_index(drop=True)[columns]


def summarise_days(
    fixes: pd.DataFrame, segments: pd.DataFrame, outside: np.ndarray, stops: pd.DataFrame, *, tz: dt.tzinfo
) -> pd.DataFrame:
    """One row per worker and local day: fixes, first_ts, last_ts, distance_m, patrol_s, stops,
    outside_share (of the distance, outside the worker's grids) and flags (`still`: the phone
    never moved; `outside`: more than half the distance outside the worker's grids; `regular`:
    perfectly regular fix intervals, as a replayed or simulated track has).

    `fixes`: worker_id, ts, x, y (cleaned); `segments`: from `build_segments`; `outside`: one
    bool per segment; `stops`: from `find_stops`.
    """
    ordered = fixes.sort_values(["worker_id", "ts"], kind="stable")
    ordered = ordered.assign(day=ordered["ts"].dt.tz_convert(tz).dt.date)
    keys = ["worker_id", "day"]
    interval = ordered.groupby(keys)["ts"].diff().dt.total_seconds()
    interval = interval.where(interval <= MAX_GAP.total_seconds())  # within a line: gaps between sessions say nothing
    per_fix = (
        ordered.assign(interval=interval)
        .groupby(keys)
        .agg(
            fixes=("ts", "size"),
            first_ts=("ts", "min"),
            last_ts=("ts", "max"),
        )
    )
    # Robust to the odd spike or dropped fix: the 90th percentile of the distance from the day's
    # median point, and the share of intervals equal to the day's most common one.
    centre = ordered.groupby(keys)[["x", "y"]].transform("median")
    spread = np.hypot(ordered["x"] - centre["x"], ordered["y"] - centre["y"])
    per_fix["spread_m"] = spread.groupby([ordered["worker_id"], ordered["day"]]).quantile(0.9)
    steps = pd.DataFrame({"worker_id": ordered["worker_id"], "day": ordered["day"], "step": interval.round(1)}).dropna()
    step_counts = steps.groupby([*keys, "step"]).size()
    per_fix["regular_share"] = step_counts.groupby(level=[0, 1]).max() / step_counts.groupby(level=[0, 1]).sum()
    length = np.hypot(segments["x1"] - segments["x0"], segments["y1"] - segments["y0"])
    seconds = (segments["end_ts"] - segments["start_ts"]).dt.total_seconds()
    per_segment = (
        pd.DataFrame(
            {
                "worker_id": segments["worker_id"],
                "day": segments["day"],
                "length": length,
                "seconds": seconds,
                "outside": np.where(outside, length, 0.0),
            }
        )
        .groupby(keys)
        .sum()
    )
    days = per_fix.join(per_segment, how="left").fillna({"length": 0.0, "seconds": 0.0, "outside": 0.0})
    days = days.join(stops.groupby(keys).size().rename("stops"), how="left").fillna({"stops": 0})
    outside_share = (days["outside"] / days["length"].where(days["length"] > 0)).fillna(0.0)
    enough = days["fixes"] >= MIN_FIXES_FOR_FLAGS
    flags = pd.DataFrame(
        {
            "still": enough & (days["spread_m"] <= STILL_RADIUS_M),
            "outside": enough & (outside_share > OUTSIDE_SHARE_FLAG),
            "regular": enough & (days["regular_share"].fillna(0) >= REGULAR_SHARE),
        }
    )
    flag_text = pd.Series("", index=days.index)
    for name in flags.columns:
        flag_text = flag_text + np.where(flags[name], name + "|", "")
    flag_text = flag_text.str.rstrip("|")
    return pd.DataFrame(
        {
            "fixes": days["fixes"].astype(int),
            "first_ts": days["first_ts"],
            "last_ts": days["last_ts"],
            "distance_m": days["length"].round(1),
            "patrol_s": days["seconds"].round().astype(int),
            "stops": days["stops"].astype(int),
            "outside_share": outside_share.round(3),
            "flags": flag_text,
        }
    ).reset_index()
