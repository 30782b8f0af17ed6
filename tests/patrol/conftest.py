"""Fixtures of the patrol tests."""

from __future__ import annotations

import pytest

from services.cli.bootstrap import Store
from tests.patrol.october import build_october


@pytest.fixture
def october(store: Store) -> Store:
    """The hand-built October (tests/patrol/october.py) on each engine."""
    return build_october(store)
