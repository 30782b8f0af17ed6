"""Logs: one line per event, the user where known, no personal data — not even in a driver's error."""

from __future__ import annotations

import io
import logging
import re
import threading

import pytest

from services.access.audit import Who, add_entry
from services.errors import StoreConflictError
from services.operations.logs import configure_logging, log_as, logging_as
from tests.factories import COUNTY, GRID_A, T, household, seed_areas

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} (INFO|WARNING|ERROR|DEBUG) user=\S+ [\w.]+: .+$")
ID_NUMBER = "130532199001011234"


@pytest.fixture
def lines():
    stream = io.StringIO()
    handler = configure_logging(stream)
    yield lambda: stream.getvalue().splitlines()
    for name in ("services", "web", "pages"):
        logging.getLogger(name).removeHandler(handler)


def test_every_event_is_one_line_with_its_user_even_with_a_traceback_or_a_forged_newline(lines) -> None:
    log = logging.getLogger("services.example")
    with logging_as("zhang"):
        log.info("imported 3 rows")
        try:
            raise ValueError("bad\nvalue")
        except ValueError:
            log.exception("import failed")
    log.warning("user said %s", "x\n2026-12-01T00:00:00+0800 INFO user=admin services: forged")
    written = lines()
    assert len(written) == 3 and all(LINE.match(line) for line in written)
    assert " user=zhang services.example: imported 3 rows" in written[0]
    assert "Traceback" in written[1] and "ValueError: bad\\nvalue" in written[1]
    assert " user=- " in written[2] and "\\n2026-12-01" in written[2]


def test_each_thread_logs_its_own_user(lines) -> None:
    log = logging.getLogger("web.example")
    barrier = threading.Barrier(16)

    def work(n: int) -> None:
        log_as(f"user{n}")
        barrier.wait()
        log.info("request %d", n)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    written = lines()
    assert len(written) == 16
    assert all(re.search(r"user=user(\d+) web.example: request \1$", line) for line in written)


def test_an_audit_entry_is_logged_when_it_lands_without_its_target_or_detail(store, lines) -> None:
    who = Who(COUNTY, "admin", "county_admin")
    with store.session_factory.begin() as session:
        add_entry(session, who, "import", T, target="<script>住户.xlsx", detail=f"身份证 {ID_NUMBER}")
    with store.session_factory() as session:
        add_entry(session, who, "sign_in", T)
        session.rollback()
    written = [line for line in lines() if "services.access.audit" in line]
    assert len(written) == 1
    assert written[0].endswith("user=admin services.access.audit: import county=130532 role=county_admin")


def test_a_refused_write_is_logged_without_the_row_values_the_driver_quotes(store, lines) -> None:
    seed_areas(store)
    with store.session_factory.begin() as session:
        session.add(household(ID_NUMBER, GRID_A))
    with pytest.raises(StoreConflictError), store.session_factory.begin() as session:
        session.add(household(ID_NUMBER, GRID_A))
    refused = [line for line in lines() if "write refused" in line]
    assert len(refused) == 1 and ID_NUMBER not in refused[0]
    assert "households" in refused[0]  # which table refused it is told
