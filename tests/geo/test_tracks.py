"""Cleaning, stops and day summaries of patrol tracks on small hand-made tracks, in metres."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.tracks import build_segments, by_worker_and_time, find_jumps, find_stops, summarise_days
from services.domain import LOCAL_TZ

START = pd.Timestamp("2026-11-20 00:30", tz="UTC")  # 08:30 in Shanghai


def track(
    xy: list[tuple[float, float]], *, seconds: float = 30.0, worker: str = "w1", jitter: bool = True
) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    offsets = np.arange(len(xy)) * seconds + (rng.uniform(-3, 3, len(xy)) if jitter else 0)
    return pd.DataFrame(
        {
            "worker_id": worker,
            "ts": START + pd.to_timedelta(np.round(offsets), unit="s"),
            "x": [p[0] for p in xy],
            "y": [p[1] for p in xy],
        }
    )


def walk(n: int, *, step: float = 36.0, start: tuple[float, float] = (0.0, 0.0)) -> list[tuple[float, float]]:
    """n fixes 30 s apart at 1.2 m/s eastwards."""
    return [(start[0] + i * step, start[1]) for i in range(n)]


def test_a_spike_is_dropped_and_the_walk_around_it_is_kept() -> None:
    points = walk(10)
    points[5] = (points[5][0] + 5000, 0.0)  # 5 km away and back within a minute
    fixes = track(points)
    assert find_jumps(fixes).tolist() == [False] * 5 + [True] + [False] * 4


def test_a_jump_that_stays_away_drops_its_first_fix_only_once() -> None:
    fixes = track(walk(5) + walk(5, start=(9000.0, 0.0)))
    dropped = find_jumps(fixes)
    assert dropped.sum() == 1 and dropped.iloc[5]


def test_walking_at_any_human_speed_is_never_a_jump() -> None:
    fixes = track(walk(40, step=300.0))  # 36 km/h for 20 minutes: a worker on an e-bike
    assert not find_jumps(fixes).any()


def test_a_six_minute_stand_between_walks_is_one_stop_where_it_happened() -> None:
    rng = np.random.default_rng(2)
    standing = [(500 + rng.normal(0, 4), 20 + rng.normal(0, 4)) for _ in range(12)]  # 6 minutes
    fixes = track(walk(10) + standing + walk(10, start=(540.0, 20.0)))
    stops = find_stops(fixes, tz=LOCAL_TZ)
    assert len(stops) == 1
    stop = stops.iloc[0]
    assert (stop["x"], stop["y"]) == (pytest.approx(500, abs=8), pytest.approx(20, abs=8))
    assert 4.5 <= stop["minutes"] <= 7.5
    assert find_stops(track(walk(30)), tz=LOCAL_TZ).empty  # walking never stops


def test_a_day_is_summarised_with_its_distance_time_stops_and_flags() -> None:
    walked = track(walk(41))  # 40 segments of 36 m
    segments = build_segments(walked, tz=LOCAL_TZ)
    outside = np.arange(len(segments)) >= 10  # the last 30 segments outside the worker's grids
    days = summarise_days(walked, segments, outside, find_stops(walked, tz=LOCAL_TZ), tz=LOCAL_TZ)
    day = days.iloc[0]
    assert (day["worker_id"], day["fixes"], day["stops"]) == ("w1", 41, 0)
    assert day["distance_m"] == pytest.approx(40 * 36.0)
    assert day["patrol_s"] == pytest.approx(1200, abs=6)
    assert day["outside_share"] == pytest.approx(0.75) and day["flags"] == "outside"


def test_a_phone_left_on_a_table_and_a_replayed_track_are_flagged() -> None:
    rng = np.random.default_rng(3)
    still = track([(rng.normal(0, 5), rng.normal(0, 5)) for _ in range(60)], worker="w2")
    replay = track(walk(60), worker="w3", jitter=False)
    fixes = pd.concat([still, replay], ignore_index=True)
    segments = build_segments(fixes, tz=LOCAL_TZ)
    days = summarise_days(
        fixes, segments, np.zeros(len(segments), bool), find_stops(fixes, tz=LOCAL_TZ), tz=LOCAL_TZ
    ).set_index("worker_id")
    assert days.loc["w2", "flags"] == "still"
    assert days.loc["w3", "flags"] == "regular"


def _stops_by_definition(fixes: pd.DataFrame) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """find_stops' rule read literally, one fix and one window at a time: (worker, start, end)."""
    stops = []
    for (worker, _), day in fixes.groupby(["worker_id", fixes["ts"].dt.tz_convert(LOCAL_TZ).dt.date]):
        day = day.sort_values("ts").reset_index(drop=True)
        run: tuple[pd.Timestamp, pd.Timestamp] | None = None
        for _, fix in day.iterrows():
            window = day[(day["ts"] > fix["ts"] - pd.Timedelta(minutes=3)) & (day["ts"] <= fix["ts"])]
            width, height = np.ptp(window["x"]), np.ptp(window["y"])
            spans = (fix["ts"] - window["ts"].min()).total_seconds() >= 120
            if np.hypot(width, height) / 2 <= 30 and len(window) >= 4 and spans:
                run = (run[0] if run else window["ts"].min(), fix["ts"])
            elif run:
                stops.append((worker, *run))
                run = None
        if run:
            stops.append((worker, *run))
    return stops


@pytest.mark.parametrize("seed", range(12))
def test_stops_follow_their_definition_on_irregular_tracks_of_several_workers_and_days(seed: int) -> None:
    rng = np.random.default_rng(seed)
    tracks = []
    for worker in ("w1", "w2", "w3"):
        count = int(rng.integers(1, 120))
        # intervals from 1 s to over the window; exactly 180 s puts a fix on a window's open edge
        offsets = np.cumsum(rng.choice([1, 5, 30, 60, 90, 180, 400], count))
        drift = rng.choice([0.5, 4.0, 25.0])  # standing, strolling, walking (m per fix)
        tracks.append(
            pd.DataFrame(
                {
                    "worker_id": worker,
                    "ts": pd.Timestamp("2026-11-20 15:40", tz="UTC") + pd.to_timedelta(offsets, unit="s"),
                    "x": np.cumsum(rng.normal(0, drift, count)).round(int(rng.integers(0, 3))),
                    "y": np.cumsum(rng.normal(0, drift, count)),
                }
            )
        )
    fixes = pd.concat(tracks, ignore_index=True).sample(frac=1, random_state=seed)  # any order in
    stops = find_stops(fixes, tz=LOCAL_TZ)
    assert list(zip(stops["worker_id"], stops["start_ts"], stops["end_ts"], strict=True)) == _stops_by_definition(fixes)


@pytest.mark.parametrize("seed", range(6))
def test_fixes_in_worker_and_time_order_are_left_as_they_are_and_others_sorted_stably(seed: int) -> None:
    rng = np.random.default_rng(seed)
    count = 60
    fixes = pd.DataFrame(
        {
            "worker_id": rng.choice(["w1", "w2", "w10"], count),
            "ts": START + pd.to_timedelta(rng.integers(0, 20, count), unit="min"),  # ties included
            "x": np.arange(count, dtype=float),  # tells tied fixes apart
        }
    )
    stable = fixes.sort_values(["worker_id", "ts"], kind="stable")
    assert by_worker_and_time(fixes).equals(stable)
    assert by_worker_and_time(stable) is stable
