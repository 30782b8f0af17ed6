"""The Citus path (docs/scale-out.md): distributed by `county_code`, a province's store answers a
county's query from that county's shard only when the query filters every county-keyed table it
reads on `county_code`.  Every distinct statement the services sent to PostgreSQL during this run
(`tests/county_filters.py`) is EXPLAINed here, after all other tests: each scan of a county-keyed
table must carry a `county_code` condition (PostgreSQL copies a constant across the join
equalities, so a query that filters one table and joins the others on the county shows it on
every scan)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from services.figures.area_figures import compute_area_figures, compute_grid_figures
from services.store.models import Base
from tests.conftest import _postgis_store
from tests.county_filters import RECORDED
from tests.factories import COUNTY, OPERATOR

# Tables whose key starts with the county: distributed by it (users is a reference table).
COUNTY_KEYED = {
    t.name for t in Base.metadata.tables.values() if t.primary_key.columns.values()[0].name == "county_code"
}
CONDITIONS = ("Index Cond", "Filter", "Recheck Cond", "Join Filter")
EXPLAINED = ("SELECT", "WITH", "UPDATE", "DELETE", "INSERT")


def scans(plan: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(table, the conditions it is read under) of every scan in a plan."""
    relation = plan.get("Relation Name")
    if relation and "Scan" in plan["Node Type"]:
        text = " ".join(str(plan.get(key, "")) for key in CONDITIONS)
        text += " ".join(str(child.get("Index Cond", "")) for child in plan.get("Plans", ()))  # a bitmap's index
        table = "patrol_fixes" if relation.startswith("patrol_fixes_") else relation
        yield table, text
    for child in plan.get("Plans", ()):
        yield from scans(child)


def unfiltered_scans(connection: sa.Connection, statement: str, parameters: Any) -> list[str]:
    with connection.begin_nested():
        plan = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar_one()
    plan = plan if isinstance(plan, list) else json.loads(plan)
    return sorted(
        {table for table, text in scans(plan[0]["Plan"]) if table in COUNTY_KEYED and "county_code" not in text}
    )


@pytest.mark.postgis
@pytest.mark.after_all
def test_every_statement_the_services_sent_filters_each_county_table_on_its_county(
    postgis_server, small_demo_postgis, small_demo
) -> None:
    # The run's own statements, and when this test runs alone, those of the county's figures.
    for store in _postgis_store(postgis_server, small_demo_postgis):
        at = small_demo.now.replace(microsecond=0) + dt.timedelta(minutes=1)
        compute_area_figures(store.session_factory, actor=OPERATOR, area_code=COUNTY, at=at, days=7)
        compute_grid_figures(
            store.session_factory, actor=OPERATOR, area_code=COUNTY, at=at, days=7, special_tags=("低保户",)
        )
        recorded = dict(RECORDED)
        explained, violations = 0, []
        with store.engine.connect() as connection:
            for statement, (parameters, senders) in recorded.items():
                if not statement.lstrip().upper().startswith(EXPLAINED):
                    continue
                unfiltered = unfiltered_scans(connection, statement, parameters)
                explained += 1
                if unfiltered:
                    violations.append(f"{', '.join(unfiltered)} ← {' ← '.join(senders)}: {statement}")
    assert explained >= 5
    assert violations == [], "\n".join(violations)
