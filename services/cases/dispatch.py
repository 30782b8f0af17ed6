"""Who could take a case: suggested workers (its grid's own first, then on-duty workers nearest by
straight-line distance from their last position), departments that accept its category, and
open cases nearby that may be the same problem (就近指派, 重复件合并)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from geo.crs import WGS84, metric_crs_for, transform_xy
from services.access.actor import Actor
from services.access.scope import Scope
from services.cases.frames import query_incidents, select_incidents
from services.domain import OPEN_STATES
from services.errors import UnknownItemError
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import Department, DepartmentCategory, Incident, Worker, WorkerGrid

DEFAULT_DUPLICATE_RADIUS_M = 100.0
# Problems that cover ground (smoke from burning straw, dumped rubbish) are reported from further apart.
DUPLICATE_RADIUS_M = {"环境卫生": 200.0}
DUPLICATE_WINDOW = dt.timedelta(days=7)


def _incident(session: Session, scope: Scope, incident_id: str) -> Incident:
    incident = session.get(Incident, (scope.county_code, incident_id))
    if incident is None or not scope.allows(incident.grid_code):
        raise UnknownItemError("事件", incident_id)
    return incident


def _metres_between(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    crs = metric_crs_for(lon0)
    x, y = transform_xy(lon, lat, WGS84, crs)
    x0, y0 = transform_xy([lon0], [lat0], WGS84, crs)
    return np.hypot(x - x0[0], y - y0[0])


def suggest_workers(session_factory: SessionFactory, *, actor: Actor, incident_id: str, limit: int = 8) -> pd.DataFrame:
    """worker_id, name, role, on_duty, responsible, distance_m, last_fix_at: the workers
    responsible for the case's grid first, then on-duty workers by distance (at most `limit`),
    all of them holding a grid inside the actor's scope."""
    scope = actor.scope
    with session_factory() as session:
        incident = _incident(session, scope, incident_id)
        grid, lon0, lat0 = incident.grid_code, incident.lon, incident.lat
        workers = query_frame(
            session,
            select(
                Worker.worker_id,
                Worker.name,
                Worker.role,
                Worker.on_duty,
                Worker.last_lon,
                Worker.last_lat,
                Worker.last_fix_at,
                WorkerGrid.grid_code.label("own_grid"),
            )
            .outerjoin(
                WorkerGrid,
                and_(
                    WorkerGrid.county_code == Worker.county_code,
                    WorkerGrid.worker_id == Worker.worker_id,
                    WorkerGrid.grid_code == grid,
                ),
            )
            .where(
                Worker.county_code == scope.county_code,
                scope.holds_worker(Worker.worker_id),
            ),
        )
    workers["responsible"] = workers["own_grid"].notna()
    workers["on_duty"] = workers["on_duty"].astype(bool)
    located = workers["last_lon"].notna()
    distance = np.full(len(workers), np.nan)
    if located.any():
        distance[located.to_numpy()] = _metres_between(
            workers.loc[located, "last_lon"].to_numpy(float),
            workers.loc[located, "last_lat"].to_numpy(float),
            lon0,
            lat0,
        )
    workers["distance_m"] = np.round(distance)
    candidates = workers[workers["responsible"] | (workers["on_duty"] & located)]
    ranked = candidates.sort_values(["responsible", "distance_m"], ascending=[False, True], na_position="last")
    columns = ["worker_id", "name", "role", "on_duty", "responsible", "distance_m", "last_fix_at"]
    return ranked.head(limit)[columns].reset_index(drop=True)


def suggest_departments(session_factory: SessionFactory, *, actor: Actor, category: str) -> pd.DataFrame:
    """department_id, name, kind of the departments that accept `category`."""
    scope = actor.scope
    with session_factory() as session:
        return query_frame(
            session,
            select(Department.department_id, Department.name, Department.kind)
            .join(
                DepartmentCategory,
                and_(
                    DepartmentCategory.county_code == Department.county_code,
                    DepartmentCategory.department_id == Department.department_id,
                ),
            )
            .where(Department.county_code == scope.county_code, DepartmentCategory.category == category)
            .order_by(Department.department_id),
        )


def find_possible_duplicates(
    session_factory: SessionFactory, *, actor: Actor, incident_id: str, at: dt.datetime
) -> pd.DataFrame:
    """Open cases of the same category reported in the 7 days before `at` within the category's
    radius (default 100 m): incident_id, state, reported_at, distance_m, lon, lat; nearest first."""
    scope = actor.scope
    with session_factory() as session:
        incident = _incident(session, scope, incident_id)
        radius = DUPLICATE_RADIUS_M.get(incident.category, DEFAULT_DUPLICATE_RADIUS_M)
        degrees = radius / 80_000 + 1e-4  # a box a little larger than the circle (1° lon ≥ 80 km here)
        others = query_incidents(
            session,
            select_incidents(("incident_id", "state", "reported_at", "lon", "lat")).where(
                Incident.county_code == scope.county_code,
                scope.filter(Incident.grid_code),
                Incident.category == incident.category,
                Incident.incident_id != incident_id,
                Incident.state.in_(OPEN_STATES),
                Incident.reported_at > at - DUPLICATE_WINDOW,
                Incident.reported_at <= at,
                Incident.lon.between(incident.lon - degrees, incident.lon + degrees),
                Incident.lat.between(incident.lat - degrees, incident.lat + degrees),
            ),
        )
        lon0, lat0 = incident.lon, incident.lat
    if others.empty:
        return others.assign(distance_m=pd.Series(dtype=float))
    others["distance_m"] = np.round(
        _metres_between(others["lon"].to_numpy(float), others["lat"].to_numpy(float), lon0, lat0)
    )
    return others[others["distance_m"] <= radius].sort_values("distance_m").reset_index(drop=True)
