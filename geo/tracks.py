"""Patrol tracks and the households they reach (DESIGN.md, Figures: visited and coverage).

Tracks are built per worker and local calendar day (the caller's time zone `tz`, Asia/Shanghai
for this project: `services.domain.LOCAL_TZ`); fixes with accuracy worse than
100 m are dropped first; consecutive fixes at most 5 minutes apart are joined, a longer gap starts
a new line.  A household is visited when it lies within 50 m of a track line.  A line needs two
fixes: a lone fix is no line.  Coordinates are in a metric CRS (metres), times are UTC.
"""

from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import shapely

MAX_ACCURACY_M = 100.0
MAX_GAP = pd.Timedelta(minutes=5)
VISIT_RADIUS_M = 50.0


def local_days(ts: pd.Series, tz: dt.tzinfo) -> np.ndarray:
    """The local calendar date (`dt.date`) of each instant of a zone-aware column, as objects."""
    if ts.empty:
        return np.array([], dtype=object)
    local = ts.dt.tz_convert(tz).dt.tz_localize(None).to_numpy().astype("datetime64[D]")
    codes, days = pd.factorize(local)
    return np.array([day.date() for day in pd.DatetimeIndex(days)], dtype=object)[codes]


def by_worker_and_time(fixes: pd.DataFrame) -> pd.DataFrame:
    """`fixes` (worker_id, ts) ordered by worker, then time, as a stable sort orders them: the
    frame itself where it is in that order already, as fixes handed from one step of a patrol's
    computation to the next are (a sort of a county day's fixes costs 0.1–0.2 s, a check 0.02 s)."""
    worker = fixes["worker_id"].to_numpy()
    if len(worker) > 1:
        ts = fixes["ts"].to_numpy(dtype="datetime64[us]")
        same = worker[1:] == worker[:-1]
        if not ((worker[1:] > worker[:-1]) | (same & (ts[1:] >= ts[:-1]))).all():
            return fixes.sort_values(["worker_id", "ts"], kind="stable")
    return fixes


def drop_inaccurate(fixes: pd.DataFrame, max_accuracy_m: float = MAX_ACCURACY_M) -> pd.DataFrame:
    return fixes[fixes["accuracy_m"] <= max_accuracy_m]


def build_segments(fixes: pd.DataFrame, *, tz: dt.tzinfo, max_gap: pd.Timedelta = MAX_GAP) -> pd.DataFrame:
    """Track segments between consecutive fixes of one worker on one local day.

    `fixes` has columns worker_id, ts (tz-aware), x, y (metres).  Returns one row per segment:
    worker_id, day (local date), start_ts, end_ts, x0, y0, x1, y1.
    """
    ordered = by_worker_and_time(fixes)
    worker = ordered["worker_id"].to_numpy()
    ts = ordered["ts"]
    day = local_days(ts, tz)
    x, y = ordered["x"].to_numpy(), ordered["y"].to_numpy()
    gap = ts.diff().to_numpy()[1:]
    joined = (worker[1:] == worker[:-1]) & (day[1:] == day[:-1]) & (gap <= max_gap.to_timedelta64())
    start = np.flatnonzero(joined)
    end = start + 1
    # As datetime64 (UTC): a zone-aware column's own array would be Timestamp objects, one by one.
    ts_values = ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
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


def find_visits(
    segments: pd.DataFrame, household_xy: np.ndarray, radius_m: float = VISIT_RADIUS_M, *, threads: int | None = None
) -> pd.DataFrame:
    """Households within `radius_m` of a segment, per household, worker and day.

    `household_xy` is an ``(n, 2)`` array in the segments' metric CRS.  Returns household_idx,
    worker_id, day and the start/end of the first and the last segment near the household
    (first_start, first_end, last_start, last_end): enough to decide exactly whether any near
    segment lies inside a period of one day or longer.  Rows are ordered by household, then by
    worker and day.

    A county day is ~11 million (household, segment) pairs within reach.  The worker-days are
    ordered along a Z-order curve of their mean point and cut into parts of whole worker-days,
    each searched on its own thread (GEOS lets go of the GIL; `threads`: by default one a core, at
    most MAX_THREADS) against the households inside the part's reach (`_near_runs`).
    """
    columns = ["household_idx", "worker_id", "day", "first_start", "first_end", "last_start", "last_end"]
    if segments.empty or len(household_xy) == 0:
        return pd.DataFrame(columns=columns)
    worker_code = pd.factorize(segments["worker_id"].to_numpy(), sort=True)[0]
    day_code = pd.factorize(segments["day"].to_numpy(), sort=True)[0]
    worker_day = pd.factorize(worker_code * (day_code.max() + 1) + day_code)[0]
    start = segments["start_ts"].astype("int64").to_numpy()  # integers: sorting objects is slow
    # Worker-days near each other in the same part: each part's tree then meets few households.
    place = _z_order(segments["x0"].to_numpy(), segments["y0"].to_numpy(), worker_day)
    order = np.lexsort((start, worker_day, place[worker_day]))
    ordered = segments.iloc[order].reset_index(drop=True)
    worker_day = worker_day[order]
    coords = ordered[["x0", "y0", "x1", "y1"]].to_numpy()
    parts = _worker_day_parts(worker_day, PART_SEGMENTS)
    household_points = np.asarray(shapely.points(household_xy))  # once: the parts' reaches overlap
    workers = threads or min(len(parts), os.cpu_count() or 1, MAX_THREADS)

    def near_runs(part: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        first, last = part
        return _near_runs(coords[first:last], first, worker_day[first:last], household_xy, household_points, radius_m)

    with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
        found = list(pool.map(near_runs, parts))
    household = np.concatenate([f[0] for f in found])
    first_seg = np.concatenate([f[1] for f in found])
    last_seg = np.concatenate([f[2] for f in found])
    by_household = np.argsort(household, kind="stable")  # parts follow worker-day order already
    household, first_seg, last_seg = household[by_household], first_seg[by_household], last_seg[by_household]

    def pick(column: str, rows: np.ndarray) -> np.ndarray:
        return ordered[column].to_numpy()[rows]

    return pd.DataFrame(
        {
            "household_idx": household,
            "worker_id": pick("worker_id", first_seg),
            "day": pick("day", first_seg),
            "first_start": ordered["start_ts"].iloc[first_seg].reset_index(drop=True),
            "first_end": ordered["end_ts"].iloc[first_seg].reset_index(drop=True),
            "last_start": ordered["start_ts"].iloc[last_seg].reset_index(drop=True),
            "last_end": ordered["end_ts"].iloc[last_seg].reset_index(drop=True),
        },
        columns=columns,
    )


PART_SEGMENTS = 25_000  # ~0.2 M near pairs a part: memory stays bounded whatever the day's size
MAX_THREADS = 8
CHUNK_SEGMENTS = 4  # measured: 2.4 M single-segment pairs against 0.85 M of 4-segment chunks


def _z_order(x: np.ndarray, y: np.ndarray, group: np.ndarray) -> np.ndarray:
    """A Z-order (Morton) code of each group's mean point, on a 1024 × 1024 lattice over the extent."""
    count = np.bincount(group)
    mean_x, mean_y = np.bincount(group, weights=x) / count, np.bincount(group, weights=y) / count
    code = np.zeros(len(count), dtype=np.int64)
    for axis, values in enumerate((mean_x, mean_y)):
        span = max(float(values.max() - values.min()), 1.0)
        cell = ((values - values.min()) / span * 1023).astype(np.int64)
        for bit in range(10):
            code |= ((cell >> bit) & 1) << (2 * bit + axis)
    return code


def _worker_day_parts(worker_day: np.ndarray, size: int) -> list[tuple[int, int]]:
    """[first, last) ranges of about `size` segments that never split a worker-day."""
    starts = np.flatnonzero(np.r_[True, worker_day[1:] != worker_day[:-1]])
    at = np.searchsorted(starts, np.arange(size, len(worker_day), size))
    cuts = np.unique(starts[at[at < len(starts)]])
    edges = [0, *cuts[cuts > 0].tolist(), len(worker_day)]
    return list(zip(edges[:-1], edges[1:], strict=True))


def _near_runs(
    coords: np.ndarray,
    offset: int,
    worker_day: np.ndarray,
    household_xy: np.ndarray,
    household_points: np.ndarray,
    radius_m: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For one part (segments x0, y0, x1, y1 in time order within each worker-day): each
    (household, worker-day) within reach, as household index and the first and last near
    segment's position (offset into the whole).

    The tree holds chunks of CHUNK_SEGMENTS consecutive segments of a worker-day (a
    MultiLineString: exact, gaps and all), which makes a third of the pairs single segments
    would; only the first and last near chunk of each household's worker-day are then searched
    segment by segment."""
    low = np.minimum(coords[:, :2], coords[:, 2:]).min(axis=0) - radius_m
    high = np.maximum(coords[:, :2], coords[:, 2:]).max(axis=0) + radius_m
    reach = np.flatnonzero(((household_xy >= low) & (household_xy <= high)).all(axis=1))
    empty = np.array([], dtype=np.int64)
    if len(reach) == 0:
        return empty, empty, empty
    count = len(coords)
    lines = np.asarray(shapely.linestrings(coords.reshape(-1, 2, 2)))
    run_first = np.maximum.accumulate(np.where(np.r_[True, worker_day[1:] != worker_day[:-1]], np.arange(count), 0))
    opens_chunk = (np.arange(count) - run_first) % CHUNK_SEGMENTS == 0
    chunk_first = np.flatnonzero(opens_chunk)
    chunk_end = np.r_[chunk_first[1:], count]
    chunks = np.asarray(shapely.multilinestrings(lines, indices=np.cumsum(opens_chunk) - 1))
    points = household_points[reach]
    near_point, near_chunk = shapely.STRtree(chunks).query(points, predicate="dwithin", distance=radius_m)
    if len(near_point) == 0:
        return empty, empty, empty
    pair = np.sort(near_point.astype(np.int64) * len(chunks) + near_chunk)
    point, chunk = np.divmod(pair, len(chunks))
    chunk_day = worker_day[chunk_first]
    run = np.r_[True, (point[1:] != point[:-1]) | (chunk_day[chunk[1:]] != chunk_day[chunk[:-1]])]
    ends = np.r_[run[1:], True]
    first = _near_segment(points[point[run]], lines, chunk_first[chunk[run]], chunk_end[chunk[run]], radius_m, 0)
    last = _near_segment(points[point[ends]], lines, chunk_first[chunk[ends]], chunk_end[chunk[ends]], radius_m, -1)
    return reach[point[run]], first + offset, last + offset


def _near_segment(
    points: np.ndarray, lines: np.ndarray, first: np.ndarray, end: np.ndarray, radius_m: float, which: int
) -> np.ndarray:
    """Of each chunk [first, end) known to come within reach of its point, the position of the
    first (`which` 0) or last (-1) segment that does."""
    candidate = first[:, None] + np.arange(CHUNK_SEGMENTS)
    inside = candidate < end[:, None]
    near = inside & shapely.dwithin(points[:, None], lines[np.minimum(candidate, len(lines) - 1)], radius_m)
    step = np.argmax(near, axis=1) if which == 0 else CHUNK_SEGMENTS - 1 - np.argmax(near[:, ::-1], axis=1)
    return candidate[np.arange(len(candidate)), step]


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
    ordered = by_worker_and_time(fixes)
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

    A fix ends a stay when the fixes of the `minutes` before it (the window (t − minutes, t] of
    its worker and day: at least four fixes, spanning two thirds of the window) fit in a box whose
    half-diagonal is within `radius_m`; a run of such fixes is one stop, from the start of its
    first window to its last fix.  Returns worker_id, day, start_ts, end_ts, x, y, minutes.
    """
    columns = ["worker_id", "day", "start_ts", "end_ts", "x", "y", "minutes"]
    if fixes.empty:
        return pd.DataFrame(columns=columns)
    ordered = by_worker_and_time(fixes).reset_index(drop=True)
    ordered["day"] = local_days(ordered["ts"], tz)
    worker = ordered["worker_id"].to_numpy()
    day = ordered["day"].to_numpy()
    group = np.cumsum(np.r_[True, (worker[1:] != worker[:-1]) | (day[1:] != day[:-1])]) - 1
    seconds = (ordered["ts"] - EPOCH).dt.total_seconds().to_numpy()
    first = _window_firsts(
        group, ordered["ts"].to_numpy(dtype="datetime64[us]").astype(np.int64), round(minutes * 60e6)
    )
    x, y = ordered["x"].to_numpy(), ordered["y"].to_numpy()
    half_diagonal = np.hypot(_window_span(x, first), _window_span(y, first)) / 2
    first_s = seconds[first]
    count = np.arange(len(ordered)) - first + 1
    staying = (half_diagonal <= radius_m) & (count >= 4) & (seconds - first_s >= minutes * 60 * 2 / 3)
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


def _window_firsts(group: np.ndarray, micros: np.ndarray, window_us: int) -> np.ndarray:
    """For each fix (sorted by group, then time), the position of the first fix of its group
    in the window (t − window, t]: a pandas time-based rolling window, found by one binary search
    over the groups laid end to end with a window's room between them."""
    group_first = np.r_[0, np.flatnonzero(group[1:] != group[:-1]) + 1]
    since = micros - micros[group_first][group]
    stride = int(since.max()) + window_us + 1
    laid = group.astype(np.int64) * stride + since
    return np.searchsorted(laid, laid - window_us, side="right")


def _window_span(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """max − min of values[first[i] : i + 1] for each i, from a sparse table of the minima and
    maxima of power-of-two runs (log₂ of the longest window levels)."""
    length = np.arange(len(values)) - first + 1
    levels = int(length.max()).bit_length()
    low, high = [values], [values]
    for level in range(1, levels):
        half = 1 << (level - 1)
        low.append(np.r_[np.minimum(low[-1][:-half], low[-1][half:]), low[-1][-half:]])
        high.append(np.r_[np.maximum(high[-1][:-half], high[-1][half:]), high[-1][-half:]])
    level = np.frexp(length)[1] - 1  # ⌊log₂ length⌋, exactly
    last = np.arange(len(values)) - (1 << level) + 1
    low_runs, high_runs = np.stack(low), np.stack(high)
    return np.maximum(high_runs[level, first], high_runs[level, last]) - np.minimum(
        low_runs[level, first], low_runs[level, last]
    )


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
    ordered = by_worker_and_time(fixes)
    ordered = ordered.assign(day=local_days(ordered["ts"], tz))
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
