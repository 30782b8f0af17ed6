"""The DESIGN.md exchange formats as DataFrames: what `import` reads is what these write."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
from sqlalchemy import func, select

from geo.crs import WGS84
from services.access.actor import Actor
from services.access.audit import Who, record, require_permission
from services.access.scope import Scope
from services.cases.frames import query_incidents, select_incidents
from services.domain import INCIDENT_TIMES, LOCAL_TZ
from services.exchange.formats import (
    FIX_FIELDS,
    GRID_FIELDS,
    HOUSEHOLD_FIELDS,
    HOUSEHOLD_OPTIONAL,
    INCIDENT_FIELDS,
    WORKER_FIELDS,
)
from services.store.engine import SessionFactory
from services.store.models import Area, Household, HouseholdTag, Incident, PatrolFix, Worker, WorkerGrid


def _exporting(session_factory: SessionFactory, actor: Actor, now: dt.datetime, what: str) -> Scope:
    """Exports carry personal data in full: only roles that exchange data may take them, and
    every export is on the record."""
    require_permission(session_factory, actor, "import_data", now, what)
    record(session_factory, Who.of(actor), "export", now, what, "、".join(actor.area_codes))
    return actor.scope


def _local_iso(series: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(series, utc=True).dt.tz_convert(LOCAL_TZ)
    return stamps.dt.strftime("%Y-%m-%dT%H:%M:%S%z").str.replace(r"(\d{2})(\d{2})$", r"\1:\2", regex=True).fillna("")


def export_grids(session_factory: SessionFactory, *, actor: Actor, now: dt.datetime) -> gpd.GeoDataFrame:
    scope = _exporting(session_factory, actor, now, "export_grids")
    with session_factory() as session:
        rows = session.execute(
            select(Area.code, Area.level, Area.name, Area.geom).where(
                Area.county_code == scope.county_code, scope.filter(Area.code)
            )
        ).all()
    areas = pd.DataFrame(rows, columns=["code", "level", "name", "geom"])
    names = areas.set_index("code")["name"]
    grids = areas[areas["level"] == "grid"]
    return gpd.GeoDataFrame(
        {
            "grid_code": grids["code"].to_numpy(),
            "grid_name": grids["name"].to_numpy(),
            "village_code": grids["code"].str[:12].to_numpy(),
            "village_name": names.reindex(grids["code"].str[:12]).to_numpy(),
            "township_code": grids["code"].str[:9].to_numpy(),
            "township_name": names.reindex(grids["code"].str[:9]).to_numpy(),
        },
        geometry=list(grids["geom"]),
        crs=WGS84,
    )[[*GRID_FIELDS, "geometry"]]


def export_households(session_factory: SessionFactory, *, actor: Actor, now: dt.datetime) -> pd.DataFrame:
    scope = _exporting(session_factory, actor, now, "export_households")
    with session_factory() as session:
        households = pd.DataFrame(
            session.execute(
                select(
                    Household.household_id,
                    Household.head_name,
                    Household.address,
                    Household.members,
                    Household.phone,
                    Household.id_number,
                    Household.lon,
                    Household.lat,
                    Household.grid_code,
                )
                .where(Household.county_code == scope.county_code, scope.filter(Household.grid_code))
                .order_by(Household.household_id)
            ).all(),
            columns=[
                "household_id",
                "head_name",
                "address",
                "members",
                "phone",
                "id_number",
                "lon",
                "lat",
                "grid_code",
            ],
        )
        tags = pd.DataFrame(
            session.execute(
                select(HouseholdTag.household_id, HouseholdTag.tag).where(HouseholdTag.county_code == scope.county_code)
            ).all(),
            columns=["household_id", "tag"],
        )
    joined = tags.sort_values(["household_id", "tag"]).groupby("household_id")["tag"].agg("|".join)
    households["tags"] = [joined.get(h, "") for h in households["household_id"]]
    return households[[*HOUSEHOLD_FIELDS, *HOUSEHOLD_OPTIONAL]]


def export_workers(session_factory: SessionFactory, *, actor: Actor, now: dt.datetime) -> pd.DataFrame:
    scope = _exporting(session_factory, actor, now, "export_workers")
    with session_factory() as session:
        workers = pd.DataFrame(
            session.execute(
                select(
                    Worker.worker_id, Worker.name, Worker.phone, func.coalesce(Worker.role_title, Worker.role)
                ).where(Worker.county_code == scope.county_code)
            ).all(),
            columns=["worker_id", "name", "phone", "role"],  # the register's post where it gave one
        )
        grids = pd.DataFrame(
            session.execute(
                select(WorkerGrid.worker_id, WorkerGrid.grid_code).where(
                    WorkerGrid.county_code == scope.county_code, scope.filter(WorkerGrid.grid_code)
                )
            ).all(),
            columns=["worker_id", "grid_code"],
        )
    codes = grids.sort_values("grid_code").groupby("worker_id")["grid_code"].agg("|".join)
    workers["grid_codes"] = workers["worker_id"].map(codes)
    return workers.dropna(subset=["grid_codes"]).sort_values("worker_id").reset_index(drop=True)[list(WORKER_FIELDS)]


def export_incidents(session_factory: SessionFactory, *, actor: Actor, now: dt.datetime) -> pd.DataFrame:
    scope = _exporting(session_factory, actor, now, "export_incidents")
    columns = list(INCIDENT_FIELDS)
    with session_factory() as session:
        incidents = query_incidents(
            session,
            select_incidents(columns)
            .where(Incident.county_code == scope.county_code, scope.filter(Incident.grid_code))
            .order_by(Incident.incident_id),
        )
    for column in columns:
        if column in INCIDENT_TIMES:
            incidents[column] = _local_iso(incidents[column])
    return incidents.fillna("")[list(INCIDENT_FIELDS)]


def export_fixes(session_factory: SessionFactory, *, actor: Actor, now: dt.datetime) -> pd.DataFrame:
    scope = _exporting(session_factory, actor, now, "export_fixes")
    with session_factory() as session:
        fixes = pd.DataFrame(
            session.execute(
                select(PatrolFix.worker_id, PatrolFix.ts, PatrolFix.lon, PatrolFix.lat, PatrolFix.accuracy_m)
                .where(PatrolFix.county_code == scope.county_code, scope.holds_worker(PatrolFix.worker_id))
                .order_by(PatrolFix.worker_id, PatrolFix.ts)
            ).all(),
            columns=["worker_id", "ts", "lon", "lat", "accuracy_m"],
        )
    fixes["ts"] = _local_iso(fixes["ts"])
    return fixes[list(FIX_FIELDS)]
