"""geo/: grid assignment with the edge rule, GCJ-02, tracks and visits, tiling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geo.assign import NO_GRID, assign_grids
from geo.crs import metric_crs_for
from geo.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02
from geo.partition import as_multipolygons, voronoi_cells
from geo.tracks import build_segments, drop_inaccurate, find_visits
from services.domain import LOCAL_TZ

WEST = shapely.box(0, 0, 1, 1)
EAST = shapely.box(1, 0, 2, 1)


def test_a_point_inside_one_grid_gets_that_grid() -> None:
    hit = assign_grids(shapely.points([[0.5, 0.5], [1.5, 0.5]]), [WEST, EAST], ["130532101201002", "130532101201001"])
    assert hit.tolist() == [0, 1]


def test_a_point_on_a_shared_edge_goes_to_the_smaller_code_whatever_the_order() -> None:
    edge = shapely.points([[1.0, 0.5], [1.0, 1.0]])
    assert assign_grids(edge, [WEST, EAST], ["130532101201002", "130532101201001"]).tolist() == [1, 1]
    assert assign_grids(edge, [EAST, WEST], ["130532101201001", "130532101201002"]).tolist() == [0, 0]


def test_a_point_outside_every_grid_is_marked() -> None:
    assert assign_grids(shapely.points([[5.0, 5.0]]), [WEST, EAST], ["1", "2"]).tolist() == [NO_GRID]


def test_gcj02_round_trip_is_under_a_millimetre_around_pingxiang() -> None:
    lon, lat = np.meshgrid(np.linspace(114.8, 115.2, 20), np.linspace(36.9, 37.2, 20))
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon.ravel(), lat.ravel())
    back_lon, back_lat = gcj02_to_wgs84(gcj_lon, gcj_lat)
    error_m = np.hypot((back_lon - lon.ravel()) * 88_800, (back_lat - lat.ravel()) * 111_000)
    assert error_m.max() < 1e-3


def test_gcj02_shift_in_pingxiang_is_the_known_few_hundred_metres() -> None:
    gcj_lon, gcj_lat = wgs84_to_gcj02([115.0], [37.05])
    shift_m = np.hypot((gcj_lon[0] - 115.0) * 88_800, (gcj_lat[0] - 37.05) * 111_000)
    assert 450 < shift_m < 650


def test_metric_crs_is_the_gauss_kruger_zone_of_the_county() -> None:
    assert metric_crs_for(115.0) == "EPSG:4547"
    assert metric_crs_for(119.2) == "EPSG:4549"


def fixes(rows: list[tuple[str, str, float, float, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["worker_id", "ts", "x", "y", "accuracy_m"])
    frame["ts"] = pd.to_datetime(frame["ts"]).dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC")
    return frame


def test_segments_join_fixes_at_most_five_minutes_apart() -> None:
    track = fixes(
        [
            ("w1", "2026-11-20 09:00:00", 0, 0, 5),
            ("w1", "2026-11-20 09:05:00", 100, 0, 5),  # exactly 5 min: joined
            ("w1", "2026-11-20 09:10:01", 200, 0, 5),  # 5 min 1 s: a new line
            ("w1", "2026-11-20 09:10:31", 300, 0, 5),
        ]
    )
    segments = build_segments(track, tz=LOCAL_TZ)
    assert segments[["x0", "x1"]].values.tolist() == [[0, 100], [200, 300]]


def test_tracks_split_at_local_midnight_and_between_workers() -> None:
    track = fixes(
        [
            ("w1", "2026-11-20 23:58:00", 0, 0, 5),
            ("w1", "2026-11-21 00:01:00", 50, 0, 5),
            ("w2", "2026-11-21 00:02:00", 60, 0, 5),
        ]
    )
    assert build_segments(track, tz=LOCAL_TZ).empty


def test_fixes_worse_than_100_m_are_dropped() -> None:
    track = fixes([("w1", "2026-11-20 09:00:00", 0, 0, 100.0), ("w1", "2026-11-20 09:00:30", 0, 0, 100.1)])
    assert drop_inaccurate(track)["accuracy_m"].tolist() == [100.0]


def test_a_household_within_50_m_of_a_line_is_visited_and_one_at_51_m_is_not() -> None:
    track = fixes([("w1", "2026-11-20 09:00:00", 0, 0, 5), ("w1", "2026-11-20 09:01:00", 200, 0, 5)])
    # 50 m from the line's middle, 51 m from it, 50.5 m beyond its end, 42.4 m from its end.
    households = np.array([[100.0, 50.0], [100.0, -51.0], [250.5, 0.0], [230.0, 30.0]])
    visits = find_visits(build_segments(track, tz=LOCAL_TZ), households)
    assert sorted(visits["household_idx"].tolist()) == [0, 3]


def test_visits_keep_the_first_and_last_near_segment_of_the_day() -> None:
    track = fixes(
        [
            ("w1", "2026-11-20 09:00:00", 0, 0, 5),
            ("w1", "2026-11-20 09:01:00", 10, 0, 5),
            ("w1", "2026-11-20 09:02:00", 500, 0, 5),
            ("w1", "2026-11-20 15:00:00", 0, 5, 5),
            ("w1", "2026-11-20 15:01:00", 0, 10, 5),
        ]
    )
    visit = find_visits(build_segments(track, tz=LOCAL_TZ), np.array([[0.0, 0.0]])).iloc[0]
    assert visit["first_start"] == pd.Timestamp("2026-11-20 01:00:00", tz="UTC")
    assert visit["first_end"] == pd.Timestamp("2026-11-20 01:01:00", tz="UTC")
    assert visit["last_start"] == pd.Timestamp("2026-11-20 07:00:00", tz="UTC")
    assert visit["last_end"] == pd.Timestamp("2026-11-20 07:01:00", tz="UTC")


def test_voronoi_cells_tile_the_region_without_gap_or_overlap() -> None:
    region = shapely.Polygon([(0, 0), (100, 0), (120, 80), (30, 110), (-10, 60)])
    seeds = np.random.default_rng(1).uniform(0, 90, (25, 2))
    cells = as_multipolygons(voronoi_cells(seeds, region))
    assert np.isclose(shapely.area(cells).sum(), region.area)
    assert np.isclose(shapely.union_all(cells).area, region.area)
    assert all(
        shapely.contains_xy(cell, *seed)
        for cell, seed in zip(cells, seeds, strict=True)
        if region.contains(shapely.Point(seed))
    )
