"""The small demo county for tests: generated once per run (the `small_demo` fixture in
conftest.py) and handed out as copies, so that a test that writes changes only its own."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import sqlite3
from pathlib import Path

from services.cli.demo import DemoCounty

DEMO_SEED = 7


@dataclasses.dataclass(frozen=True)
class SmallDemo:
    """The demo's rows (read them, never change them: every test of the run shares them) and the
    moment they were generated for."""

    county: DemoCounty
    now: dt.datetime


def copy_sqlite(source: Path, target: Path) -> str:
    """Copies the SQLite database `source` to `target` and returns the copy's URL.  SQLite's backup
    API reads through the write-ahead log, which a plain file copy could miss."""
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    return f"sqlite:///{target}"
