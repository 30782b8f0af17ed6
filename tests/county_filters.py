"""What the Citus path needs, recorded while the tests run: every distinct statement the services
send to PostgreSQL, with its first parameters and the service modules that sent it, for
`tests/store/test_county_filters.py` to EXPLAIN after everything else ran.  Only statements sent
from under services/ count; the operations that are all-county by design (backup, maintenance,
migrations, the demo loader, the fixes' partitions) are left out, and so are statements a test
built and ran through a service's query runner."""

from __future__ import annotations

import sys
import threading
from typing import Any

from sqlalchemy import Engine, event

from tests.paths import ROOT

SERVICES = str(ROOT / "services") + "/"
ALL_COUNTY = tuple(
    str(ROOT / part)
    for part in (
        "services/operations/",
        "services/store/migrations/",
        "services/store/migrate.py",
        "services/store/fix_partitions.py",
        "services/cli/demo/",
        "services/cli/bootstrap.py",
    )
)
# Helpers that run the query their caller built: a statement sent through these alone was built
# by a test, not by a service.
RUNNERS = ("services/store/frames.py", "services/cases/frames.py", "services/store/engine.py")
RECORDED: dict[str, tuple[Any, tuple[str, ...]]] = {}  # statement → (parameters, sending modules)
_LOCK = threading.Lock()


@event.listens_for(Engine, "before_cursor_execute")
def _record(_connection, _cursor, statement, parameters, _context, executemany) -> None:  # type: ignore[no-untyped-def]
    if statement in RECORDED or executemany or _connection.dialect.name != "postgresql":
        return
    senders = []
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(SERVICES):
            senders.append(name.removeprefix(str(ROOT) + "/"))
            if name.startswith(ALL_COUNTY):
                return
        frame = frame.f_back
    if senders and not all(sender in RUNNERS for sender in senders):
        with _LOCK:
            RECORDED.setdefault(statement, (parameters, tuple(dict.fromkeys(senders))))
