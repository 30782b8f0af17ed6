"""Which county the map shows: the synthetic demo, or a county's own data."""

from __future__ import annotations

import sqlalchemy as sa

from services.mapping.areas import county_is_synthetic
from services.store.models import Area
from tests.factories import COUNTY, GRID_B, seed_areas


def test_a_county_is_the_demo_until_one_of_its_grids_is_real(store) -> None:
    assert not county_is_synthetic(store.session_factory, COUNTY)  # no data at all: no demo either
    seed_areas(store)  # every area synthetic, as the demo's are
    assert county_is_synthetic(store.session_factory, COUNTY)
    with store.session_factory.begin() as session:  # one grid from the county's own file
        session.execute(sa.update(Area).where(Area.code == GRID_B).values(synthetic=False))
    assert not county_is_synthetic(store.session_factory, COUNTY)
