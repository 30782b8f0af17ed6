"""`find_visits` against the definition checked pair by pair: random walks of several workers over
two local days (gaps that cut their lines, walks that come back past the same houses, a day
change at local midnight) and households scattered over and around them.  The search runs in
parts of whole worker-days on threads, its tree holds runs of segments: whatever the part size
and the thread count, it must find exactly the households, and the first and last near segment,
that every (household, segment) distance says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from geo import tracks
from geo.tracks import VISIT_RADIUS_M, build_segments, find_visits
from services.domain import LOCAL_TZ

MIDNIGHT = pd.Timestamp("2026-11-20 16:00", tz="UTC")  # 00:00 in Shanghai


def random_walks(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frames = []
    for worker in range(7):
        steps = 400
        seconds = np.cumsum(rng.choice([20, 30, 40, 400], size=steps, p=[0.3, 0.4, 0.27, 0.03]))
        heading = np.cumsum(rng.normal(0, 0.6, steps))  # wanders, turns back, crosses its path
        x = worker * 300 + np.cumsum(np.cos(heading) * rng.uniform(5, 40, steps))
        y = np.cumsum(np.sin(heading) * rng.uniform(5, 40, steps))
        start = MIDNIGHT - pd.Timedelta(hours=rng.uniform(0.5, 2))  # the walk passes local midnight
        ts = start + pd.to_timedelta(seconds, unit="s")
        frames.append(pd.DataFrame({"worker_id": f"W{worker:02d}", "ts": ts, "x": x, "y": y}))
    fixes = pd.concat(frames, ignore_index=True).sample(frac=1, random_state=seed)  # any order in
    low, high = fixes[["x", "y"]].min().to_numpy() - 100, fixes[["x", "y"]].max().to_numpy() + 100
    households = rng.uniform(low, high, size=(1500, 2))
    return fixes, households


def by_definition(segments: pd.DataFrame, household_xy: np.ndarray) -> pd.DataFrame:
    lines = shapely.linestrings(segments[["x0", "y0", "x1", "y1"]].to_numpy().reshape(-1, 2, 2))
    near = shapely.dwithin(shapely.points(household_xy)[:, None], lines[None, :], VISIT_RADIUS_M)
    household, segment = np.nonzero(near)
    pairs = segments.iloc[segment].reset_index(drop=True).assign(household_idx=household)
    keys = ["household_idx", "worker_id", "day"]
    ordered = pairs.sort_values([*keys, "start_ts"])
    first, last = ordered.groupby(keys).head(1), ordered.groupby(keys).tail(1)
    return pd.DataFrame(
        {
            **{k: first[k].to_numpy() for k in keys},
            "first_start": first["start_ts"].to_numpy(),
            "first_end": first["end_ts"].to_numpy(),
            "last_start": last["start_ts"].to_numpy(),
            "last_end": last["end_ts"].to_numpy(),
        }
    )


@pytest.mark.parametrize(("part_segments", "threads"), [(10**6, 1), (97, 1), (97, 3), (5, 4)])
@pytest.mark.parametrize("seed", [1, 2])
def test_visits_are_those_every_household_segment_distance_gives(monkeypatch, part_segments, threads, seed) -> None:
    monkeypatch.setattr(tracks, "PART_SEGMENTS", part_segments)
    fixes, households = random_walks(seed)
    segments = build_segments(fixes, tz=LOCAL_TZ)
    assert segments["day"].nunique() == 2 and len(segments) > 2000
    expected = by_definition(segments, households)
    found = find_visits(segments, households, threads=threads)
    keys = ["household_idx", "worker_id", "day"]
    assert len(expected) > 500 and found["household_idx"].is_monotonic_increasing
    pd.testing.assert_frame_equal(
        found.sort_values(keys).reset_index(drop=True),
        expected.sort_values(keys).reset_index(drop=True),
        check_dtype=False,
    )
