"""SQLAlchemy models of the DESIGN.md domain.

Every table carries ``county_code`` and, where it is distributed, starts its primary key with it:
Citus can then distribute the tables by county and co-locate their joins with no code change.
Point entities store ``lon``/``lat`` (WGS84) as the source of truth; on PostgreSQL the migration
adds a generated PostGIS ``geom`` point column with a GiST index beside them, for QGIS and
spatial SQL (see ``migrations/versions/0001_initial.py``).  Area polygons are real geometry columns.
Times are aware datetimes stored in UTC (`UtcDateTime`).
"""

from __future__ import annotations

import datetime as dt

import shapely
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.domain import LOCAL_TZ
from services.store.types import Geometry, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Tables that hold a point as lon/lat; on PostgreSQL each also gets a generated `geom` column.
POINT_TABLES = ("households", "incidents", "patrol_fixes")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """The model's table, for Core statements and the bulk writers.  SQLAlchemy types
    `Model.__table__` as any `FromClause` (a class may be mapped to a join or a subquery); every model
    here is declared on a table."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


def _county() -> Mapped[str]:
    return mapped_column(String(6), primary_key=True)


class Area(Base):
    """County, township, village or grid: a polygon with a hierarchical statistical code."""

    __tablename__ = "areas"
    county_code: Mapped[str] = _county()
    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    level: Mapped[str] = mapped_column(String(8))  # county | township | village | grid
    name: Mapped[str] = mapped_column(String(64))
    parent_code: Mapped[str | None] = mapped_column(String(15))
    geom: Mapped[shapely.Geometry] = mapped_column(Geometry("MultiPolygon"))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (
        Index(None, "county_code", "level"),
        Index(None, "county_code", "parent_code"),
    )


class Household(Base):
    __tablename__ = "households"
    county_code: Mapped[str] = _county()
    household_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(15))
    head_name: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(128))
    members: Mapped[int] = mapped_column(Integer)
    phone: Mapped[str | None] = mapped_column(String(20))
    id_number: Mapped[str | None] = mapped_column(String(18))  # the head's 居民身份证号
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    __table_args__ = (
        ForeignKeyConstraint(["county_code", "grid_code"], ["areas.county_code", "areas.code"]),
        Index(None, "county_code", "grid_code"),
        Index(None, "county_code", "lon"),  # households near a track: a longitude band, then latitude
        Index(None, "county_code", "address"),  # an address-only request or work order finds its point
    )


class HouseholdTag(Base):
    """One tag of a household, from `services.domain.HOUSEHOLD_TAGS`."""

    __tablename__ = "household_tags"
    county_code: Mapped[str] = _county()
    household_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tag: Mapped[str] = mapped_column(String(16), primary_key=True)
    __table_args__ = (
        ForeignKeyConstraint(
            ["county_code", "household_id"],
            ["households.county_code", "households.household_id"],
            ondelete="CASCADE",
        ),
        Index(None, "county_code", "tag"),
    )


class Worker(Base):
    __tablename__ = "workers"
    county_code: Mapped[str] = _county()
    worker_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    phone: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(16))  # services.domain.WORKER_ROLES
    role_title: Mapped[str | None] = mapped_column(String(16))  # the register's post, e.g. 楼栋长
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)
    # Last known position, kept by the fixes import: dispatch suggestions rank 1,500 workers by
    # distance in one read instead of a latest-fix lookup per worker.
    last_lon: Mapped[float | None] = mapped_column(Float)
    last_lat: Mapped[float | None] = mapped_column(Float)
    last_fix_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class WorkerGrid(Base):
    """A worker's responsibility for a grid (a worker may cover several)."""

    __tablename__ = "worker_grids"
    county_code: Mapped[str] = _county()
    worker_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    __table_args__ = (
        ForeignKeyConstraint(["county_code", "worker_id"], ["workers.county_code", "workers.worker_id"]),
        ForeignKeyConstraint(["county_code", "grid_code"], ["areas.county_code", "areas.code"]),
        Index(None, "county_code", "grid_code"),
    )


class Department(Base):
    __tablename__ = "departments"
    county_code: Mapped[str] = _county()
    department_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # 公安, 民政, 城管 …


class DepartmentCategory(Base):
    """An incident category a department accepts (吹哨报到 routes only to these)."""

    __tablename__ = "department_categories"
    county_code: Mapped[str] = _county()
    department_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    __table_args__ = (
        ForeignKeyConstraint(
            ["county_code", "department_id"],
            ["departments.county_code", "departments.department_id"],
            ondelete="CASCADE",
        ),
    )


class Incident(Base):
    """A reported case.  The stage timestamps are a projection of its append-only events,
    written in the same transaction; figures are computed from them."""

    __tablename__ = "incidents"
    county_code: Mapped[str] = _county()
    incident_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(15))
    category: Mapped[str] = mapped_column(String(16))
    subcategory: Mapped[str | None] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(8))  # normal | urgent
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(16))  # patrol | resident | hotline | app
    reporter: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(8), default="grid")  # grid | village | township | county
    limit_hours: Mapped[float] = mapped_column(Float)
    assignee_worker_id: Mapped[str | None] = mapped_column(String(32))
    assignee_department_id: Mapped[str | None] = mapped_column(String(32))
    reported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    validated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    rejected_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    handled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    close_reason: Mapped[str | None] = mapped_column(String(24))
    satisfaction: Mapped[str | None] = mapped_column(String(8))
    duplicate_of: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        ForeignKeyConstraint(["county_code", "grid_code"], ["areas.county_code", "areas.code"]),
        Index(None, "county_code", "grid_code"),
        Index(None, "county_code", "reported_at"),
        Index(None, "county_code", "closed_at"),
        Index(None, "county_code", "state"),
    )


class IncidentCounter(Base):
    """The last sequence number handed out for a county's reports of one local day (the NNNN of
    SJyyyymmddNNNN).  A report takes the next one with one atomic upsert, so simultaneous reports
    never read the same number (see `services.cases.workflow.report_incident`)."""

    __tablename__ = "incident_counters"
    county_code: Mapped[str] = _county()
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class IncidentEvent(Base):
    """Append-only record of one transition of an incident."""

    __tablename__ = "incident_events"
    county_code: Mapped[str] = _county()
    incident_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # 1, 2, 3 … per incident: the key makes a transition applied twice fail instead of doubling.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(Text)
    photo: Mapped[str | None] = mapped_column(String(256))
    __table_args__ = (
        ForeignKeyConstraint(
            ["county_code", "incident_id"],
            ["incidents.county_code", "incidents.incident_id"],
        ),
        Index(None, "county_code", "at"),
        Index(None, "county_code", "action", "at"),  # a period's reopenings
    )


class IncidentPhoto(Base):
    """A photo attached to an incident by one of its events (the file lives in the photo folder)."""

    __tablename__ = "incident_photos"

    county_code: Mapped[str] = _county()
    incident_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    photo_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_seq: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(256))  # relative to the photo folder
    original_name: Mapped[str] = mapped_column(String(128))
    __table_args__ = (
        ForeignKeyConstraint(
            ["county_code", "incident_id", "event_seq"],
            ["incident_events.county_code", "incident_events.incident_id", "incident_events.seq"],
        ),
    )


class HandlingLimit(Base):
    """A time limit of one stage (validation, handling) for a category and severity; the DESIGN.md
    defaults apply where a county has no row."""

    __tablename__ = "handling_limits"

    county_code: Mapped[str] = _county()
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    severity: Mapped[str] = mapped_column(String(8), primary_key=True)
    stage: Mapped[str] = mapped_column(String(16), primary_key=True)  # validation | handling
    hours: Mapped[float] = mapped_column(Float)


# SQLite: a fix's local day as whole days since 1970-01-01 of its `ts` (UTC microseconds).  Its
# index is ordered by day first, so a day's fixes, written worker by worker, go in at its end,
# where an index led by `ts` took each at a random place of the day (425,000 fixes: 1.9 → 0.8 s).
_LOCAL_OFFSET_US = int(LOCAL_TZ.utcoffset(None).total_seconds()) * 10**6
SQLITE_FIX_DAY = f"(ts + {_LOCAL_OFFSET_US}) / {86_400 * 10**6}"


class PatrolFix(Base):
    """One GPS fix from a worker's phone; a second fix of a worker at the same instant is a
    duplicate, hence the key."""

    __tablename__ = "patrol_fixes"
    county_code: Mapped[str] = _county()
    worker_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    ts: Mapped[dt.datetime] = mapped_column(UtcDateTime, primary_key=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float] = mapped_column(Float)
    # SQLite keeps the rows in the key's b-tree (migration 0020): one b-tree fewer to write per fix.
    # Retention reads SQLite's fixes by local day; PostgreSQL's are partitioned by it (0024).
    __table_args__ = (
        Index("ix_patrol_fixes_local_day", text(SQLITE_FIX_DAY)).ddl_if(dialect="sqlite"),
        {"sqlite_with_rowid": False},
    )


class PatrolLog(Base):
    """A worker's written patrol log (巡查日志)."""

    __tablename__ = "patrol_logs"
    county_code: Mapped[str] = _county()
    worker_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    logged_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(15))
    text: Mapped[str] = mapped_column(Text)
    households_visited: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (Index(None, "county_code", "grid_code"),)


class PatrolVisit(Base):
    """A household reached by one worker's track on one day (within 50 m, DESIGN.md "visited").

    A materialised result of `geo.tracks.find_visits`, kept so that coverage over many days does
    not rebuild every track.  The first and the last track segment near the household are kept:
    for a period of whole days that is enough to decide exactly whether a segment lay in it
    (see `services.figures.area_figures`)."""

    __tablename__ = "patrol_visits"
    # Keyed by worker-day (migration 0023): a day's visits go in next to each other, where a key
    # led by the household put each of a county day's 250,000 at a random place of an index
    # growing every day.  Read by household through the grids it was visited in (the rollup
    # patrol_visit_latest knows them) and the grid index.
    county_code: Mapped[str] = _county()
    worker_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    household_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(15))
    first_start: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    first_end: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_start: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_end: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    __table_args__ = (
        # No index on day alone: figures always narrow by area code first, and an index on day led
        # SQLite's planner to scan every visit of the period for a one-grid query.
        Index(None, "county_code", "grid_code", "day"),
        {"sqlite_with_rowid": False},  # the rows in the key's b-tree: one b-tree fewer to write
    )


class PatrolVisitMonth(Base):
    """The distinct (household, grid) pairs of patrol_visits per local calendar month (`month`: its
    first day): a rollup kept by every writer of patrol_visits (`services.patrol.coverage`), so a
    month's coverage reads one row per visited household instead of every worker-day's visit.

    The grid is part of the key because patrol_visits keeps the household's grid of the visit:
    a household moved to another grid within a month counts in both, as the raw rows do."""

    __tablename__ = "patrol_visit_months"
    county_code: Mapped[str] = _county()
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    household_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    __table_args__ = (Index(None, "county_code", "month", "grid_code"),)


LATEST_FILLFACTOR = 50  # room in each page for a new version of every row: a day's updates stay HOT


class PatrolVisitLatest(Base):
    """Each household's latest patrol visit in each grid it was visited in: the latest start and
    the latest end of a track segment near it, any worker, any day.  While no stored visit ends
    after T, a household was visited in (T − days, T] exactly when its latest segment started
    after T − days: the live map's 7-day coverage counts these rows instead of a week of
    worker-day visits (`services.patrol.coverage`).  Kept by every writer of patrol_visits
    (`services.store.visit_latest`)."""

    __tablename__ = "patrol_visit_latest"
    county_code: Mapped[str] = _county()
    household_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    last_start: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_end: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    __table_args__ = (
        # Counted per grid from a moment on: grid first lets SQLite count in index order (0.02 s
        # for the county, 0.06 s without the index).  Not on PostgreSQL: there no time of the row
        # is indexed, so the fixes import's ~180,000 updates a county day are HOT ones, written in
        # place with no index entry, in pages kept half empty for them (2.8 → 1.3 s); its
        # per-grid count reads the table instead (29 → 33 ms for the county).
        Index(None, "county_code", "grid_code", "last_start").ddl_if(dialect="sqlite"),
        {"postgresql_with": {"fillfactor": LATEST_FILLFACTOR}},
    )


class PatrolVisitLatestEnd(Base):
    """A moment no visit in patrol_visit_latest ends after (the newest end it has held, kept by
    its writers as it grows): while T is at or after it, the rollup decides the live 7 days
    (`services.patrol.coverage.latest_is_exact`).  Kept apart so that no index of the rollup holds
    a time (see PatrolVisitLatest).  Only raised, except when a county's rollup is rebuilt whole
    (the demo load): a writer that read an older newest end can never set it too early, and a
    visit taken away leaves it late, which only sends a T before it to the visits themselves."""

    __tablename__ = "patrol_visit_latest_ends"
    county_code: Mapped[str] = _county()
    last_end: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class PatrolVisitMonthGrid(Base):
    """patrol_visit_months counted per grid: a month's coverage of a whole county is 2,000 rows
    read, not 250,000 counted.  Rebuilt with the rollup rows of the same months × grids."""

    __tablename__ = "patrol_visit_month_grids"
    county_code: Mapped[str] = _county()
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    visited: Mapped[int] = mapped_column(Integer)


class DataVersion(Base):
    """A token that changes with every committed write to a topic's tables in a county, so a
    process may keep what it computed from them until the token moves (`services.store.versions`).
    Database triggers keep it (migration 0017), so every writer — imports, the demo, a psql session —
    moves it without knowing about it."""

    __tablename__ = "data_versions"
    county_code: Mapped[str] = _county()
    topic: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class PatrolDay(Base):
    """One worker's patrol on one local day, summarised from the day's track (see
    `geo.tracks.summarise_days`); `flags` lists still | outside | regular, '|'-separated."""

    __tablename__ = "patrol_days"

    county_code: Mapped[str] = _county()
    worker_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    fixes: Mapped[int] = mapped_column(Integer)
    first_ts: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_ts: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    distance_m: Mapped[float] = mapped_column(Float)
    patrol_s: Mapped[int] = mapped_column(Integer)
    stops: Mapped[int] = mapped_column(Integer)
    outside_share: Mapped[float] = mapped_column(Float)
    visited: Mapped[int] = mapped_column(Integer)
    flags: Mapped[str] = mapped_column(String(32))
    __table_args__ = (Index(None, "county_code", "day"),)


class User(Base):
    """A person who signs in.  Their areas (`user_areas`) bound what they may see; their role what
    they may do (`services.access.actor`).  `password_hash` is an argon2id hash; NULL: the user signs in
    only through single sign-on."""

    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(32), primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6))
    display_name: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(24))
    password_hash: Mapped[str | None] = mapped_column(String(128))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class UserArea(Base):
    """One area a user holds (a township leader one township, a grid supervisor some grids)."""

    __tablename__ = "user_areas"
    county_code: Mapped[str] = _county()
    username: Mapped[str] = mapped_column(String(32), primary_key=True)
    area_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    __table_args__ = (ForeignKeyConstraint(["username"], ["users.username"]),)


class AuditEntry(Base):
    """One entry of the append-only audit log: sign-ins, looks at unmasked personal data, refused
    attempts and every change outside the incident workflow (whose events are its own record)."""

    __tablename__ = "audit_log"
    county_code: Mapped[str] = _county()
    entry_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    username: Mapped[str] = mapped_column(String(32))
    role: Mapped[str | None] = mapped_column(String(24))
    action: Mapped[str] = mapped_column(String(24))
    target: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        Index(None, "county_code", "at"),
        Index(None, "county_code", "username", "at"),
        Index(None, "county_code", "action", "at"),  # the health check's last import among years of entries
    )


class SignInSession(Base):
    """A signed-in browser (or a wall screen): the row behind the HttpOnly cookie.  The cookie's
    random value is stored only as its SHA-256 (`token_hash`, set when the browser exchanges the
    one-time `handover_hash` for it), so a copy of the table signs nobody in.  `session_key` names
    the row to its own tab and to the user's list of sessions; ended rows stay, for the record."""

    __tablename__ = "sign_in_sessions"
    county_code: Mapped[str] = _county()
    session_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))  # password | sso | screen
    token_hash: Mapped[str | None] = mapped_column(String(64))
    handover_hash: Mapped[str | None] = mapped_column(String(64))
    handover_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    user_agent: Mapped[str | None] = mapped_column(String(256))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(16))
    __table_args__ = (
        ForeignKeyConstraint(["username"], ["users.username"]),
        UniqueConstraint("county_code", "token_hash", name="uq_sign_in_sessions_token_hash"),
        UniqueConstraint("county_code", "handover_hash", name="uq_sign_in_sessions_handover_hash"),
        Index(None, "county_code", "username"),
    )


class IssuedReport(Base):
    """A 月报 / 周报 as it was issued (签发): its figures as JSON, with the data cut-off and the
    figure definitions' version they were computed with, so re-opening it shows exactly what was
    sent while a fresh run of the same period may differ (late reports, corrections).  Issuing the
    same area, kind and period again adds the next version (a correction), never overwrites one."""

    __tablename__ = "issued_reports"
    county_code: Mapped[str] = _county()
    report_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    area_code: Mapped[str] = mapped_column(String(15))
    kind: Mapped[str] = mapped_column(String(8))  # monthly | weekly | range
    period_start: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    period_end: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 … per area, kind and period
    title: Mapped[str] = mapped_column(Text)
    period_label: Mapped[str] = mapped_column(Text)
    cutoff: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    rule_version: Mapped[str] = mapped_column(String(32))
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    issued_by: Mapped[str] = mapped_column(String(32))  # username
    issuer_name: Mapped[str] = mapped_column(String(32))
    issuer_role: Mapped[str] = mapped_column(String(24))
    content: Mapped[str] = mapped_column(Text)  # the Report as JSON (services.figures.issued_reports)
    __table_args__ = (
        # The key that makes two simultaneous issues of one period take different versions.
        UniqueConstraint(
            "county_code",
            "area_code",
            "kind",
            "period_start",
            "period_end",
            "version",
            name="uq_issued_reports_version",
        ),
    )


class AssessmentRuleVersion(Base):
    """One version of a county's 网格员月度考核 rules (issue 16): the points of every item, the
    grades, the 应报清单 and the 问题回溯 window, as JSON (`services.patrol.assessment_rules`).  A
    version applies from `from_month` until a later version starts; a month is scored with the
    newest version started at or before it, so a change never rescores a month already past."""

    __tablename__ = "assessment_rule_versions"
    county_code: Mapped[str] = _county()
    version: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1, 2, 3 … per county
    from_month: Mapped[dt.date] = mapped_column(Date)  # the first day of the first month it scores
    rules: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(32))  # username


class AssessmentAward(Base):
    """Points a supervisor awarded a worker for a month (加分), with the reason; capped per
    worker-month by the rules."""

    __tablename__ = "assessment_awards"
    county_code: Mapped[str] = _county()
    award_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    worker_id: Mapped[str] = mapped_column(String(32))
    month: Mapped[dt.date] = mapped_column(Date)
    points: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    awarded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    awarded_by: Mapped[str] = mapped_column(String(32))  # username
    awarder_name: Mapped[str] = mapped_column(String(32))
    __table_args__ = (Index(None, "county_code", "month", "worker_id"),)


class AssessmentPublication(Base):
    """A finished month's 网格员月度考核 as the county published it (发布): the wall screen ranks
    workers by it instead of scoring the month on every refresh.  Publishing a month again (after
    late awards or 问题回溯 decisions) adds the next version; the newest one counts."""

    __tablename__ = "assessment_publications"
    county_code: Mapped[str] = _county()
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1, 2, 3 … per month
    rule_version: Mapped[int] = mapped_column(Integer)
    cutoff: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    published_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    published_by: Mapped[str] = mapped_column(String(32))  # username
    publisher_name: Mapped[str] = mapped_column(String(32))


class AssessmentScore(Base):
    """One worker's published month: what the screen and later reads need, not the evidence
    (that is recomputed from the event log on the 巡查考核 page)."""

    __tablename__ = "assessment_scores"
    county_code: Mapped[str] = _county()
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    township_code: Mapped[str] = mapped_column(String(9))
    total: Mapped[float] = mapped_column(Float)
    grade: Mapped[str] = mapped_column(String(8))
    valid_reports: Mapped[int] = mapped_column(Integer)
    county_rank: Mapped[int | None] = mapped_column(Integer)
    township_rank: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (
        ForeignKeyConstraint(
            ["county_code", "month", "version"],
            [
                "assessment_publications.county_code",
                "assessment_publications.month",
                "assessment_publications.version",
            ],
        ),
    )


class MissDecision(Base):
    """A supervisor's decision on one 问题回溯 candidate (a case that surfaced through another
    channel where the grid's workers reported nothing): confirmed as 应报未报, or dismissed.  One
    decision per case, hence the key: of two supervisors deciding at once, one wins."""

    __tablename__ = "miss_decisions"
    county_code: Mapped[str] = _county()
    incident_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(15))
    month: Mapped[dt.date] = mapped_column(Date)  # the month the case was reported in
    decision: Mapped[str] = mapped_column(String(12))  # confirmed | dismissed
    reason: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    decided_by: Mapped[str] = mapped_column(String(32))  # username
    decider_name: Mapped[str] = mapped_column(String(32))
    __table_args__ = (Index(None, "county_code", "month"),)


class IntakeKey(Base):
    """A key another system posts cases with (a residents' app, the 12345 hotline, a department's
    system).  Only a SHA-256 of the key is kept: keys are 32 random bytes, so a fast hash cannot be
    brute-forced and each request is checked in microseconds (argon2 is for guessable passwords)."""

    __tablename__ = "intake_keys"
    county_code: Mapped[str] = _county()
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # services.intake.keys.KEY_CHANNELS
    key_hash: Mapped[str] = mapped_column(String(64))  # hex SHA-256
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(32))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    __table_args__ = (UniqueConstraint("county_code", "key_hash", name="uq_intake_keys_key_hash"),)


class IntakeRequest(Base):
    """A case that came in from another system: which key (or work-order file) sent it, the
    sender's own id of it, and what Open311 carries beside the case.  The unique key on
    (county, source, external_id) makes the same request sent twice one case.  The sender's
    name, phone and e-mail are personal data, masked on screen like households' and never in any
    GET."""

    __tablename__ = "intake_requests"
    county_code: Mapped[str] = _county()
    incident_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(40))  # key:<name> | workorders
    external_id: Mapped[str | None] = mapped_column(String(64))
    service_code: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    address: Mapped[str | None] = mapped_column(String(256))
    media_url: Mapped[str | None] = mapped_column(String(512))
    first_name: Mapped[str | None] = mapped_column(String(32))
    last_name: Mapped[str | None] = mapped_column(String(32))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(128))
    __table_args__ = (
        ForeignKeyConstraint(["county_code", "incident_id"], ["incidents.county_code", "incidents.incident_id"]),
        UniqueConstraint("county_code", "source", "external_id", name="uq_intake_requests_external_id"),
        Index(None, "county_code", "received_at"),
    )
