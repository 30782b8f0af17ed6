"""The demo county: a real outline, proper codes, exact tiling, clustered people, a believable
workflow, and it loads into both stores with the same figures."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import func, select

from services.access.actor import USER_ROLES
from services.access.passwords import verify_password
from services.cli.demo import DemoCounty, generate_demo
from services.cli.demo.load import load_demo
from services.cli.demo.people import DEMO_PASSWORD
from services.domain import HOUSEHOLD_TAGS
from services.figures.area_figures import compute_area_figures
from services.store.models import Base
from tests.demo import DEMO_SEED, SmallDemo
from tests.factories import OPERATOR
from tests.figures.test_figures import reference_figures
from tests.paths import README


@pytest.fixture
def demo(small_demo: SmallDemo) -> DemoCounty:
    """The run's small demo (conftest.py), generated for `small_demo.now`."""
    return small_demo.county


def areas(demo) -> pd.DataFrame:
    return demo.tables["areas"]


def test_the_same_seed_gives_the_same_county(demo, small_demo) -> None:
    again = generate_demo("small", seed=DEMO_SEED, now=small_demo.now)
    for name in ("households", "incidents", "patrol_fixes"):
        pd.testing.assert_frame_equal(demo.tables[name], again.tables[name])


def test_another_seed_gives_another_county(demo, small_demo) -> None:
    other = generate_demo("small", seed=DEMO_SEED + 1, now=small_demo.now)
    assert not other.tables["households"]["lon"].equals(demo.tables["households"]["lon"])


def test_codes_have_their_lengths_and_start_with_their_parent(demo) -> None:
    table = areas(demo)
    lengths = {"county": 6, "township": 9, "village": 12, "grid": 15}
    assert (table["code"].str.len() == table["level"].map(lengths)).all()
    assert table["code"].str.fullmatch(r"\d+").all()
    children = table[table["level"] != "county"]
    assert (children.apply(lambda row: row["code"].startswith(row["parent_code"]), axis=1)).all()


def test_small_scale_is_one_real_township_with_about_forty_grids(demo) -> None:
    table = areas(demo)
    assert table.loc[table["level"] == "township", ["code", "name"]].values.tolist() == [["130532101", "平乡镇"]]
    assert (table["level"] == "grid").sum() == 40


def test_grids_tile_their_township_without_gap_or_overlap(demo) -> None:
    table = areas(demo)
    grids = shapely.set_precision(table.loc[table["level"] == "grid", "geom"].to_numpy(), 0)
    township = table.loc[table["level"] == "township", "geom"].iloc[0]
    assert shapely.is_valid(grids).all()
    overlap = shapely.area(grids).sum() - shapely.union_all(grids).area
    assert overlap < 1e-9 * township.area
    assert shapely.union_all(grids).symmetric_difference(township).area < 1e-6 * township.area


def test_grids_lie_inside_the_real_county_outline(demo) -> None:
    table = areas(demo)
    county = table.loc[table["level"] == "county", "geom"].iloc[0]
    grids = shapely.union_all(table.loc[table["level"] == "grid", "geom"].to_numpy())
    assert grids.difference(county.buffer(1e-6)).area == pytest.approx(0, abs=1e-10)


def test_every_household_lies_in_its_own_grid(demo) -> None:
    hh = demo.tables["households"]
    table = areas(demo).set_index("code")
    polygons = table.loc[hh["grid_code"], "geom"].to_numpy()
    assert shapely.intersects_xy(polygons, hh["lon"].to_numpy(), hh["lat"].to_numpy()).all()
    assert abs(len(hh) - 8000) < 400


def test_households_cluster_in_villages_rather_than_spreading_evenly(demo) -> None:
    hh = demo.tables["households"]
    table = areas(demo)
    township = table.loc[table["level"] == "township", "geom"].iloc[0]
    hull_area = shapely.convex_hull(shapely.multipoints(hh[["lon", "lat"]].to_numpy())).area
    # Settlements cover a small part of the land, as on the North China Plain.
    cells = np.unique(np.floor(hh[["lon", "lat"]].to_numpy() / 0.002), axis=0)
    assert len(cells) * 0.002**2 < 0.35 * township.area
    assert hull_area > 0.5 * township.area


def test_names_addresses_and_tags_look_like_a_chinese_village(demo) -> None:
    hh = demo.tables["households"]
    assert hh["head_name"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()
    assert hh["address"].str.contains("平乡镇").all() and hh["address"].str.endswith("号").all()
    assert hh["phone"].str.fullmatch(r"1[3-9]\d{9}").all()
    tags = demo.tables["household_tags"]
    assert set(tags["tag"]) <= set(HOUSEHOLD_TAGS)
    share = tags.groupby("tag").size() / len(hh)
    assert 0.03 < share["独居老人"] < 0.08


def test_workers_cover_every_grid(demo) -> None:
    grids = set(areas(demo).query("level == 'grid'")["code"])
    assert set(demo.tables["worker_grids"]["grid_code"]) == grids
    assert 55 <= len(demo.tables["workers"]) <= 75


def test_incidents_follow_the_workflow_with_realistic_timings(demo, small_demo) -> None:
    inc = demo.tables["incidents"]
    assert 350 < len(inc) < 650  # DESIGN.md: 100,000 a year on 2,000 grids → ~490 in 90 days on 40
    stages = ["reported_at", "validated_at", "dispatched_at", "accepted_at", "handled_at", "closed_at"]
    fixed = inc[inc["close_reason"] == "fixed"]
    for earlier, later in zip(stages[:-1], stages[1:], strict=True):
        assert (fixed[earlier] <= fixed[later]).all(), (earlier, later)
    assert (inc[stages].max(axis=1) <= small_demo.now).all()
    closed = inc[inc["state"] == "closed"]
    assert closed["level"].value_counts(normalize=True)["grid"] == pytest.approx(0.8, abs=0.06)
    assert 0.02 < (inc["state"] == "invalid").mean() < 0.12
    assert (inc["state"] == "reported").any()  # some never validated yet


def test_event_log_replays_every_incident_state(demo) -> None:
    events = demo.tables["incident_events"]
    last = events.sort_values(["incident_id", "seq"]).groupby("incident_id").last()
    inc = demo.tables["incidents"].set_index("incident_id")
    assert (last["to_state"].reindex(inc.index) == inc["state"]).all()


def test_patrol_fixes_are_every_30_seconds_on_walking_routes(demo, small_demo) -> None:
    fixes = demo.tables["patrol_fixes"].sort_values(["worker_id", "ts"])
    gaps = fixes.groupby("worker_id")["ts"].diff().dt.total_seconds().dropna()
    assert gaps[gaps < 600].median() == pytest.approx(30, abs=2)
    assert fixes["ts"].max() <= small_demo.now
    assert fixes["ts"].min() >= small_demo.now - dt.timedelta(days=7)
    assert 0.005 < (fixes["accuracy_m"] > 100).mean() < 0.02


def test_demo_loads_into_the_store_and_kpi_equals_the_literal_definitions(demo, small_demo, store) -> None:
    written = load_demo(store.engine, demo)
    assert written == {name: len(frame) for name, frame in demo.tables.items() if name in written}
    with store.session_factory() as session:
        for name in written:
            assert session.scalar(select(func.count()).select_from(Base.metadata.tables[name])) == written[name]
    rows = demo.tables["incidents"].astype(object).where(demo.tables["incidents"].notna(), None).to_dict("records")
    for area in ("130532", "130532101", areas(demo).query("level == 'grid'")["code"].iloc[3]):
        got = compute_area_figures(store.session_factory, actor=OPERATOR, area_code=area, at=small_demo.now, days=30)
        expected = reference_figures(rows, area, small_demo.now, 30)
        assert got.open == expected["open"] and got.overdue == expected["overdue"]
        assert got.at_risk == expected["at_risk"] and got.validation_overdue == expected["validation_overdue"]
        assert got.closure_rate == pytest.approx(expected["closure_rate"])
        assert got.on_time_rate == pytest.approx(expected["on_time_rate"])


def test_cli_builds_the_demo_and_prints_kpi_json(tmp_path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PATH": "/usr/bin:/bin"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "services.cli", *args], env=env, capture_output=True, text=True)

    assert run("init-db").returncode == 0
    assert run("demo", "--scale", "small", "--seed", "3", "--now", "2026-11-23T14:00").returncode == 0
    assert json.loads(run("demo", "--if-empty").stdout) == {"demo": "already present", "demo_passwords_set": 0}
    out = run("kpi", "--area", "130532", "--at", "2026-11-23T14:00", "--days", "7", "--json")
    figures = json.loads(out.stdout)
    keys = {
        "households",
        "open",
        "overdue",
        "at_risk",
        "validation_overdue",
        "closure_rate",
        "on_time_rate",
        "level_share",
        "coverage",
    }
    assert keys <= figures.keys()
    assert figures["households"] > 7000 and 0 < figures["coverage"] <= 1
    bad = run("kpi", "--area", "130532999", "--json")
    assert bad.returncode == 2 and "130532999" in bad.stderr and "Traceback" not in bad.stderr


def test_every_incident_lies_in_its_own_grid(demo) -> None:
    inc = demo.tables["incidents"]
    table = areas(demo).set_index("code")
    polygons = table.loc[inc["grid_code"], "geom"].to_numpy()
    assert shapely.intersects_xy(polygons, inc["lon"].to_numpy(), inc["lat"].to_numpy()).all()


def test_the_demo_has_one_user_per_role_who_signs_in_with_the_readme_password(demo) -> None:
    users, held = demo.tables["users"], demo.tables["user_areas"]
    assert sorted(users["role"]) == sorted(USER_ROLES)
    assert all(verify_password(h, DEMO_PASSWORD) for h in users["password_hash"])
    assert not verify_password(users["password_hash"].iloc[0], DEMO_PASSWORD + "x")
    areas_of = held.groupby("username")["area_code"].apply(sorted)
    assert areas_of["leader"] == ["130532101"] and len(areas_of["supervisor"]) == 2
    assert all(len(code) == 15 for code in areas_of["supervisor"])
    assert DEMO_PASSWORD in README.read_text()


def test_demo_heads_have_well_formed_id_numbers_of_the_county(demo) -> None:
    numbers = demo.tables["households"]["id_number"]
    assert numbers.str.fullmatch(r"130532(19[3-9]\d|2000)\d{7}[\dX]").all()
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    sample = numbers.head(200)
    checks = [("10X98765432"[int(np.dot([int(c) for c in n[:17]], weights)) % 11]) for n in sample]
    assert [n[-1] for n in sample] == checks
