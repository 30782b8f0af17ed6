"""What a monitoring system asks every few seconds (`GET /healthz`): is the store reachable, is
its schema the one this code expects, and is data still arriving (the last fixes import, the
last issued report).  Times only: no name, no number, no user."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import func, select

from services.errors import StoreError
from services.exchange.imports.service import IMPORT_ACTION, import_detail_prefix
from services.store.engine import SessionFactory
from services.store.migrate import head_revision, stored_revision
from services.store.models import AuditEntry, IssuedReport


@dataclasses.dataclass(frozen=True)
class Health:
    checked_at: dt.datetime
    store_reachable: bool
    schema_revision: str | None = None
    last_fixes_import_at: dt.datetime | None = None
    last_report_at: dt.datetime | None = None
    expected_revision: str = dataclasses.field(default_factory=head_revision)

    @property
    def healthy(self) -> bool:
        return self.store_reachable and self.schema_revision == self.expected_revision

    def as_dict(self) -> dict[str, object]:
        def stamp(value: dt.datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "status": "ok" if self.healthy else "unavailable",
            "store": "reachable" if self.store_reachable else "down",
            "schema": {
                "revision": self.schema_revision,
                "expected": self.expected_revision,
                "current": self.schema_revision == self.expected_revision,
            },
            "last_fixes_import_at": stamp(self.last_fixes_import_at),
            "last_report_at": stamp(self.last_report_at),
            "checked_at": stamp(self.checked_at),
        }


def check_health(session_factory: SessionFactory, *, county_code: str, now: dt.datetime) -> Health:
    """The store's health as seen from here; a store that cannot be read is reported down, not raised."""
    try:
        with session_factory() as session:
            revision = stored_revision(session.connection())
            last_import = session.scalar(
                select(func.max(AuditEntry.at)).where(
                    AuditEntry.county_code == county_code,
                    AuditEntry.action == IMPORT_ACTION,
                    AuditEntry.detail.startswith(import_detail_prefix("fixes")),
                )
            )
            last_report = session.scalar(
                select(func.max(IssuedReport.issued_at)).where(IssuedReport.county_code == county_code)
            )
    except StoreError:
        return Health(checked_at=now, store_reachable=False)
    return Health(
        checked_at=now,
        store_reachable=True,
        schema_revision=revision,
        last_fixes_import_at=last_import,
        last_report_at=last_report,
    )
