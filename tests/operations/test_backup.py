"""Backup and restore: the small demo with hostile text and a photo goes SQLite → PostGIS → SQLite
and comes back row for row, figure for figure, photo for photo; a damaged, foreign or newer archive
and a filled store are refused with nothing written; a backup taken while 16 writers write is one
consistent snapshot; an archive of an older schema is upgraded after its rows are in."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import shapely
import sqlalchemy as sa
from alembic import command

from services.cli.bootstrap import Store
from services.figures.area_figures import compute_area_figures
from services.operations.backup import (
    DERIVED_TABLES,
    BackupError,
    BackupSummary,
    read_manifest,
    restore_backup,
    write_backup,
)
from services.store.engine import make_engine, make_session_factory
from services.store.migrate import alembic_config, head_revision, stored_revision
from services.store.models import Base, Household, HouseholdTag, IncidentEvent, IncidentPhoto
from services.store.versions import AREAS, HOUSEHOLDS
from tests.conftest import _sqlite_store
from tests.factories import COUNTY, OPERATOR, household
from tests.hostile import SHORT_PAYLOADS
from tests.threads import run_together

HOSTILE = SHORT_PAYLOADS[0]
PHOTO = b"\xff\xd8\xff\xe0 a JPEG's first bytes" + bytes(range(256))


def _value(value: Any) -> Any:
    if isinstance(value, shapely.Geometry):
        return shapely.to_wkb(shapely.normalize(value), hex=True)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def store_rows(store: Store) -> dict[str, list[tuple]]:
    """Every row of every kept table, engine-neutral and in key order."""
    rows = {}
    with store.session_factory() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in DERIVED_TABLES:
                continue
            found = [tuple(_value(v) for v in row) for row in session.execute(sa.select(table))]
            keys = [list(table.columns).index(c) for c in table.primary_key.columns]
            rows[table.name] = sorted(found, key=lambda row: tuple(str(row[i]) for i in keys))
    return rows


def county_figures(store: Store, at: dt.datetime) -> dict:
    return compute_area_figures(store.session_factory, actor=OPERATOR, area_code=COUNTY, at=at, days=30).as_dict()


def backup(store: Store, tmp_path: Path, name: str = "a.tar", photos: str = "source-photos") -> BackupSummary:
    return write_backup(
        store.session_factory, photo_dir=tmp_path / photos, out=tmp_path / name, now=dt.datetime.now(dt.UTC)
    )


def rewritten(archive: Path, out: Path, change: Callable[[str, bytes], bytes]) -> Path:
    """A copy of the archive with each member's body passed through `change(name, body)`."""
    with tarfile.open(archive) as tar, tarfile.open(out, "w") as copy:
        for member in tar:
            source = tar.extractfile(member)
            assert source is not None
            body = change(member.name, source.read())
            member.size = len(body)
            copy.addfile(member, io.BytesIO(body))
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def source(request, tmp_path, copy_small_demo) -> Store:
    """The small demo on SQLite, with a hostile household and a photo file."""
    engine = make_engine(copy_small_demo(tmp_path / "source.db"))
    request.addfinalizer(engine.dispose)
    store = Store(engine=engine, session_factory=make_session_factory(engine))
    with store.session_factory.begin() as session:
        hostile = session.scalars(sa.select(Household).limit(1)).one()
        hostile.head_name, hostile.address = HOSTILE[:32], HOSTILE + "=1+1"
        event = session.scalars(sa.select(IncidentEvent).limit(1)).one()
        path = f"{COUNTY}/{event.incident_id}/photo-1.jpg"
        session.add(
            IncidentPhoto(
                county_code=COUNTY,
                incident_id=event.incident_id,
                photo_id="photo-1",
                event_seq=event.seq,
                path=path,
                original_name=HOSTILE[:128],
            )
        )
    photo = tmp_path / "source-photos" / path
    photo.parent.mkdir(parents=True)
    photo.write_bytes(PHOTO)
    return store


def test_the_demo_goes_to_postgis_and_back_row_for_row_figure_for_figure(
    source, postgis_store, tmp_path, small_demo
) -> None:
    first = backup(source, tmp_path)
    restore_backup(postgis_store.engine, photo_dir=tmp_path / "pg-photos", archive=first.path)
    second = backup(postgis_store, tmp_path, "b.tar", photos="pg-photos")
    final = next(_sqlite_store(str(tmp_path / "final.db")))
    try:
        restored = restore_backup(final.engine, photo_dir=tmp_path / "final-photos", archive=second.path)
        rows = [store_rows(s) for s in (source, postgis_store, final)]
        figures = [county_figures(s, small_demo.now) for s in (source, postgis_store, final)]
        data_versions = [
            s.session_factory().scalars(sa.text("SELECT topic FROM data_versions ORDER BY topic")).all()
            for s in (postgis_store, final)
        ]
        with postgis_store.engine.connect() as connection:  # the fixes went into partitions of their days
            waiting = connection.scalar(sa.text("SELECT count(*) FROM patrol_fixes_default"))
            in_days = connection.scalar(sa.text("SELECT count(*) FROM patrol_fixes"))
    finally:
        final.engine.dispose()
    assert rows[0] == rows[1] == rows[2]
    assert sum(map(len, rows[0].values())) > 10_000 and HOSTILE[:32] in json.dumps(rows[2]["households"])
    assert figures[0] == figures[1] == figures[2] and figures[0]["reported"] > 0
    assert first.rows == second.rows == restored.rows and first.photos == second.photos == 1
    photo = f"{COUNTY}/{rows[0]['incident_photos'][0][1]}/photo-1.jpg"
    assert sha256(tmp_path / "final-photos" / photo) == sha256(tmp_path / "source-photos" / photo)
    manifest = read_manifest(second.path)
    assert manifest["engine"] == "postgresql" and manifest["revision"] == head_revision()
    assert manifest["tables"]["households"]["rows"] == len(rows[0]["households"])
    assert (waiting, in_days) == (0, len(rows[0]["patrol_fixes"])) and in_days > 0
    assert (
        data_versions == [sorted([AREAS, HOUSEHOLDS])] * 2
    )  # the restore's writes moved the tokens: no cache outlives it


def test_a_filled_store_is_refused_unless_told_and_then_replaced_whole(source, demo_store, tmp_path) -> None:
    archive = backup(source, tmp_path)
    with demo_store.session_factory.begin() as session:
        session.add(
            HouseholdTag(
                county_code=COUNTY,
                household_id=session.scalars(sa.select(Household.household_id).limit(1)).one(),
                tag="党员户",
            )
        )
    before = store_rows(demo_store)
    with pytest.raises(BackupError, match="不是空的"):
        restore_backup(demo_store.engine, photo_dir=tmp_path / "photos", archive=archive.path)
    assert store_rows(demo_store) == before and not (tmp_path / "photos").exists()
    restore_backup(demo_store.engine, photo_dir=tmp_path / "photos", archive=archive.path, replace=True)
    assert store_rows(demo_store) == store_rows(source)


def test_a_damaged_archive_writes_nothing(source, store, tmp_path) -> None:
    def flip_a_bit(name: str, body: bytes) -> bytes:
        return body[:100] + bytes([body[100] ^ 1]) + body[101:] if name == "tables/households.parquet" else body

    damaged = rewritten(backup(source, tmp_path).path, tmp_path / "damaged.tar", flip_a_bit)
    with pytest.raises(BackupError, match="households.parquet 的校验和与清单不符"):
        restore_backup(store.engine, photo_dir=tmp_path / "photos", archive=damaged)
    assert all(rows == [] for rows in store_rows(store).values()) and not (tmp_path / "photos").exists()
    not_one = tmp_path / "notes.tar"
    not_one.write_bytes(b"not a tar file at all")
    with pytest.raises(BackupError, match="notes.tar 不是民情地图的备份文件"):
        restore_backup(store.engine, photo_dir=tmp_path / "photos", archive=not_one)


def test_an_archive_from_newer_code_is_refused(source, store, tmp_path) -> None:
    def from_the_future(name: str, body: bytes) -> bytes:
        return json.dumps({**json.loads(body), "revision": "9999"}).encode() if name == "manifest.json" else body

    newer = rewritten(backup(source, tmp_path).path, tmp_path / "newer.tar", from_the_future)
    with pytest.raises(BackupError, match="来自更新的版本"):
        restore_backup(store.engine, photo_dir=tmp_path / "photos", archive=newer)


def test_an_archive_of_an_older_schema_is_restored_and_then_upgraded(source, store, tmp_path) -> None:
    expected = store_rows(source)
    command.downgrade(alembic_config(source.engine), "0016")
    archive = backup(source, tmp_path, "old.tar")
    restored = restore_backup(store.engine, photo_dir=tmp_path / "photos", archive=archive.path)
    with store.engine.connect() as connection:
        revision = stored_revision(connection)
    assert (archive.revision, restored.revision, revision) == ("0016", "0016", head_revision())
    assert store_rows(store) == expected


def test_a_backup_taken_while_sixteen_writers_write_is_one_snapshot(demo_store, tmp_path) -> None:
    """Each writer adds a household and its tag in one transaction: the archive holds both or neither."""
    grid = demo_store.session_factory().scalar(sa.select(Household.grid_code).limit(1))
    archives = []

    def write(n: int) -> None:
        for round_ in range(5):
            household_id = f"NEW{n:02d}{round_}"
            with demo_store.session_factory.begin() as session:
                added = household(household_id, grid)
                added.address = HOSTILE
                session.add(added)
                session.flush()
                session.add(HouseholdTag(county_code=COUNTY, household_id=household_id, tag="低保户"))

    errors = run_together(write, also=lambda: archives.append(backup(demo_store, tmp_path, photos="p")))
    target = next(_sqlite_store(str(tmp_path / "t.db")))
    try:
        restore_backup(target.engine, photo_dir=tmp_path / "photos", archive=archives[0].path)
        with target.session_factory() as session:
            new = set(session.scalars(sa.select(Household.household_id).where(Household.household_id.like("NEW%"))))
            tagged = set(
                session.scalars(sa.select(HouseholdTag.household_id).where(HouseholdTag.household_id.like("NEW%")))
            )
    finally:
        target.engine.dispose()
    assert errors == []
    assert new == tagged
    with demo_store.session_factory() as session:
        assert session.scalar(sa.select(sa.func.count()).where(Household.household_id.like("NEW%"))) == 80


def test_the_command_line_backs_up_and_restores_and_says_so_in_one_line(source, tmp_path) -> None:
    url = source.engine.url.render_as_string(hide_password=False)
    env = {"PATH": "/usr/bin:/bin", "COUNTY_CODE": COUNTY}
    source_dir = tmp_path / "source-data"
    (source_dir / "photos").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "source-photos").rename(source_dir / "photos")
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "backup", "--out", str(tmp_path / "cli.tar")],
        env={**env, "DATABASE_URL": url, "DATA_DIR": str(source_dir)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    told = json.loads(done.stdout)
    assert told["photos"] == 1 and told["bytes"] == (tmp_path / "cli.tar").stat().st_size
    target_dir = tmp_path / "target-data"
    restore = [sys.executable, "-m", "services.cli", "restore", str(tmp_path / "cli.tar")]
    target_env = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'target.db'}", "DATA_DIR": str(target_dir)}
    first = subprocess.run(restore, env=target_env, capture_output=True, text=True)
    again = subprocess.run(restore, env=target_env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["rows"] == told["rows"]
    assert (again.returncode, again.stderr.strip()) == (
        2,
        "错误: 目标数据库不是空的；确认要用备份替换其中全部数据时请加 --replace",
    )
    assert list((target_dir / "photos").rglob("*.jpg"))[0].read_bytes() == PHOTO


def test_the_summary_lists_what_it_wrote(source, tmp_path) -> None:
    done = backup(source, tmp_path, photos="nowhere")
    assert dataclasses.asdict(done)["photos_missing"] == 1 and done.photos == 0  # the file is not where the row says
    assert set(done.rows) == {t.name for t in Base.metadata.sorted_tables} - set(DERIVED_TABLES)
