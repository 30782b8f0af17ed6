"""Benchmark of backup and restore (issue 19) on the county demo: the archive of the store (time,
bytes), its restore into an empty SQLite file and into an empty PostGIS database, the archive of
that PostGIS copy, and what the biggest tables take on PostGIS (table + indexes, per row), the
figures docs/scale-out.md sizes a province with.  `python -m bench.backup [--database URL]`;
results in bench/results/backup-county.json."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bench.foundation import NOW, run_from_command_line
from devtools.pgcluster import throwaway_postgis
from services.cli.bootstrap import Store, open_store
from services.domain import LOCAL_TZ
from services.operations.backup import restore_backup, write_backup
from services.operations.maintain import index_finished_days
from services.settings import Settings

BIG_TABLES = ("patrol_fixes", "patrol_visits", "households", "incident_events", "incidents", "areas")


def _seconds_since(start: float) -> float:
    return round(time.perf_counter() - start, 1)


def _postgis_sizes(store: Store) -> dict[str, dict[str, float]]:
    sizes = {}
    with store.engine.connect() as connection:
        for table in BIG_TABLES:
            total = float(
                connection.scalar(
                    text(
                        "SELECT coalesce((SELECT sum(pg_total_relation_size(relid)) "
                        "FROM pg_partition_tree(CAST(:t AS regclass))), pg_total_relation_size(CAST(:t AS regclass)))"
                    ),
                    {"t": table},
                )
            )
            rows = connection.scalar(text(f"SELECT count(*) FROM {table}"))
            sizes[table] = {"rows": rows, "mb": round(total / 2**20, 1), "bytes_per_row": round(total / max(rows, 1))}
    return sizes


def measure(engine_name: str, store: Store) -> dict:
    result: dict[str, object] = {"engine": engine_name}
    with tempfile.TemporaryDirectory(prefix="minqing-backup-") as scratch:
        folder = Path(scratch)
        start = time.perf_counter()
        archive = write_backup(store.session_factory, photo_dir=folder / "photos", out=folder / "a.tar", now=NOW)
        result.update(backup_s=_seconds_since(start), archive_mb=round(archive.bytes / 2**20, 1))
        result["rows"] = sum(archive.rows.values())
        sqlite = open_store(Settings.from_env({"DATABASE_URL": f"sqlite:///{folder / 'copy.db'}"}))
        start = time.perf_counter()
        restore_backup(sqlite.engine, photo_dir=folder / "sqlite-photos", archive=archive.path)
        result["restore_into_sqlite_s"] = _seconds_since(start)
        sqlite.engine.dispose()
        with throwaway_postgis("restored") as url:
            postgis = open_store(Settings.from_env({"DATABASE_URL": url}))
            start = time.perf_counter()
            restore_backup(postgis.engine, photo_dir=folder / "pg-photos", archive=archive.path)
            result["restore_into_postgis_s"] = _seconds_since(start)
            start = time.perf_counter()
            again = write_backup(postgis.session_factory, photo_dir=folder / "pg-photos", out=folder / "b.tar", now=NOW)
            result.update(
                backup_of_postgis_s=_seconds_since(start), archive_of_postgis_mb=round(again.bytes / 2**20, 1)
            )
            # the finished days' point indexes, as the next `maintain` builds them: the sizes include them
            index_finished_days(postgis.session_factory, NOW.astimezone(LOCAL_TZ).date())
            with postgis.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
            result["postgis_sizes"] = _postgis_sizes(postgis)
            postgis.engine.dispose()
    return result


def main() -> None:
    run_from_command_line("backup-county", measure)


if __name__ == "__main__":
    main()
