"""Version tokens kept by triggers (migrations 0017, 0021) and the values cached under them: every write to
households or their tags moves the county's token, so the per-grid counts the live map reuses are
never older than the rows, whoever wrote them."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.access.scope import Scope
from services.domain import LOCAL_TZ
from services.figures.area_figures import compute_grid_figures
from services.patrol.coverage import count_households, county_households_per_grid
from services.store.models import Area, Household, HouseholdTag
from services.store.versions import AREAS, HOUSEHOLDS, VersionedCache, read_version
from tests.factories import COUNTY, GRID_A, GRID_B, household, make_actor, seed_areas
from tests.threads import run_together

AT = dt.datetime(2026, 11, 23, 14, 0, tzinfo=LOCAL_TZ)


def _version(store) -> int:
    with store.session_factory() as session:
        return read_version(session, COUNTY, HOUSEHOLDS)


def test_every_write_to_households_or_their_tags_moves_the_token_of_its_county_only(store) -> None:
    seed_areas(store)
    tokens = [_version(store)]
    with store.session_factory.begin() as session:
        session.add(household("h1", GRID_A))
    tokens.append(_version(store))
    with store.session_factory.begin() as session:
        session.add(HouseholdTag(county_code=COUNTY, household_id="h1", tag="低保户"))
    tokens.append(_version(store))
    with store.session_factory.begin() as session:
        session.execute(sa.update(Household).where(Household.household_id == "h1").values(grid_code=GRID_B))
    tokens.append(_version(store))
    with store.session_factory.begin() as session:
        session.execute(sa.delete(HouseholdTag))
    tokens.append(_version(store))
    with store.session_factory.begin() as session:
        session.execute(sa.delete(Household))
    tokens.append(_version(store))
    assert tokens[0] == 0 and len(set(tokens)) == len(tokens)
    with store.session_factory() as session:
        assert read_version(session, "410526", HOUSEHOLDS) == 0


def test_a_rolled_back_write_leaves_no_token_a_later_write_could_repeat(store) -> None:
    seed_areas(store)
    before = _version(store)
    with store.session_factory() as session:
        session.add(household("h1", GRID_A))
        session.flush()
        inside = read_version(session, COUNTY, HOUSEHOLDS)
        session.rollback()
    with store.session_factory.begin() as session:
        session.add(household("h2", GRID_A))
    assert _version(store) not in (before, inside) and inside != before


def test_the_cache_recomputes_only_when_the_token_moves_and_never_mixes_databases(store, tmp_path) -> None:
    from tests.conftest import _sqlite_store

    seed_areas(store)
    cache: VersionedCache[int] = VersionedCache(HOUSEHOLDS, size=2)
    computed: list[str] = []

    def compute(label: str) -> int:
        computed.append(label)
        return len(computed)

    with store.session_factory() as session:
        first = cache.get(session, COUNTY, "k", lambda: compute("first"))
        again = cache.get(session, COUNTY, "k", lambda: compute("again"))
    with store.session_factory.begin() as session:
        session.add(household("h1", GRID_A))
    with store.session_factory() as session:
        moved = cache.get(session, COUNTY, "k", lambda: compute("moved"))
    other = next(_sqlite_store(str(tmp_path / "other.db")))
    try:
        with other.session_factory() as session:
            elsewhere = cache.get(session, COUNTY, "k", lambda: compute("elsewhere"))
    finally:
        other.engine.dispose()
    for key in ("a", "b", "c"):  # size 2: "k" goes first
        with store.session_factory() as session:
            cache.get(session, COUNTY, key, lambda: 0)
    with store.session_factory() as session:
        cache.get(session, COUNTY, "k", lambda: compute("evicted"))
    assert (first, again, moved, elsewhere) == (1, 1, 2, 3)
    assert computed == ["first", "moved", "elsewhere", "evicted"]


def test_grid_figures_count_households_written_after_a_first_reading(store) -> None:
    seed_areas(store)
    actor = make_actor()
    tags = ("低保户",)

    def figures():
        return compute_grid_figures(
            store.session_factory, actor=actor, area_code=COUNTY, at=AT, days=7, special_tags=tags
        )

    before = figures()
    with store.session_factory.begin() as session:
        session.add_all([household("h1", GRID_A), household("h2", GRID_B)])
        session.flush()
        session.add(HouseholdTag(county_code=COUNTY, household_id="h2", tag="低保户"))
    after = figures()
    with store.session_factory.begin() as session:
        session.execute(sa.update(Household).where(Household.household_id == "h1").values(grid_code=GRID_B))
    moved = figures()
    assert before[["households", "special_households"]].sum().tolist() == [0, 0]
    assert after.loc[[GRID_A, GRID_B], "households"].tolist() == [1, 1]
    assert after.loc[[GRID_A, GRID_B], "special_households"].tolist() == [0, 1]
    assert moved.loc[[GRID_A, GRID_B], "households"].tolist() == [0, 2]


def test_households_are_counted_within_the_scope_part_of_the_area(store) -> None:
    seed_areas(store)
    with store.session_factory.begin() as session:
        session.add_all([household("h1", GRID_A), household("h2", GRID_B), household("h3", GRID_B)])
    with store.session_factory() as session:
        whole = count_households(session, Scope.whole_county(COUNTY), COUNTY)
        one_grid = count_households(session, Scope(COUNTY, (GRID_B,)), COUNTY)
        per_grid = county_households_per_grid(session, COUNTY)
    assert (whole, one_grid, per_grid.to_dict()) == (3, 2, {GRID_A: 1, GRID_B: 2})


def test_sixteen_writers_at_once_each_move_the_token_and_the_counts_follow(store) -> None:
    seed_areas(store)
    with store.session_factory() as session:
        assert county_households_per_grid(session, COUNTY).sum() == 0

    def write(n: int) -> None:
        with store.session_factory.begin() as session:
            session.add(household(f"h{n}", GRID_A if n % 2 else GRID_B))
            session.flush()
            session.add(HouseholdTag(county_code=COUNTY, household_id=f"h{n}", tag="低保户"))

    errors = run_together(write)
    with store.session_factory() as session:
        counts = county_households_per_grid(session, COUNTY)
        special = county_households_per_grid(session, COUNTY, ("低保户",))
    assert errors == []
    assert counts.to_dict() == {GRID_A: 8, GRID_B: 8} and special.to_dict() == {GRID_A: 8, GRID_B: 8}


def _areas_version(store) -> int:
    with store.session_factory() as session:
        return read_version(session, COUNTY, AREAS)


def test_every_write_to_the_areas_moves_their_token_and_not_the_households_one(store) -> None:
    tokens = [_areas_version(store)]
    seed_areas(store)
    tokens.append(_areas_version(store))
    households = _version(store)
    with store.session_factory.begin() as session:
        session.execute(sa.update(Area).where(Area.code == GRID_A).values(name="改名后的网格"))
    tokens.append(_areas_version(store))
    with store.session_factory.begin() as session:
        session.execute(sa.delete(Area).where(Area.code == GRID_B))
    tokens.append(_areas_version(store))
    assert tokens[0] == 0 and len(set(tokens)) == len(tokens) and _version(store) == households
    with store.session_factory() as session:
        assert read_version(session, "410526", AREAS) == 0


def test_the_areas_token_migration_goes_down_and_up_on_a_filled_database(store) -> None:
    from alembic import command

    from services.store.migrate import alembic_config

    seed_areas(store)
    config = alembic_config(store.engine)
    command.downgrade(config, "0020")
    with store.session_factory.begin() as session:  # no trigger: nothing moves, and nothing is left of it
        session.execute(sa.update(Area).where(Area.code == GRID_A).values(name="降级时改名"))
    assert _areas_version(store) == 0
    command.upgrade(config, "head")
    with store.session_factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Area)) == 5
    with store.session_factory.begin() as session:
        session.execute(sa.update(Area).where(Area.code == GRID_A).values(name="升级后改名"))
    assert _areas_version(store) != 0
