"""Keeps the demo county alive for the big screen: new reports arrive at a realistic rate, open
cases move through the workflow (through the same services a supervisor uses), and on-duty
workers' phones report positions.  `python -m services.cli simulate` runs it until stopped."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select

from geo.crs import WGS84, metric_crs_for, transform_xy
from services.access.actor import Actor
from services.cases.dispatch import suggest_workers
from services.cases.workflow import (
    CaseAction,
    Photo,
    accept_incident,
    dispatch_incident,
    handle_incident,
    reject_incident,
    report_incident,
    validate_incident,
    verify_incident,
)
from services.domain import CATEGORIES, OPEN_STATES
from services.errors import DomainError, PointOutsideGridsError, StoreError, StoreUnavailableError
from services.store.engine import SessionFactory
from services.store.frames import query_frame
from services.store.models import Household, Incident, PatrolFix, Worker, table_of
from services.store.positions import advance_last_positions

# The simulated people work county-wide, as the command centre's operators do.
PEOPLE = {
    "hotline": ("simulator", "模拟热线"),
    "supervisor": ("sim-supervisor", "模拟网格长"),
    "field": ("sim-worker", "模拟网格员"),
}
# A 1×1 PNG: the on-site photo a simulated handler attaches.
PHOTO = Photo(
    "现场.png",
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2213bc00000000049454e44ae426082"
    ),
)
DESCRIPTIONS = {
    "矛盾纠纷": "村民反映邻里因宅基地边界发生争执，需要调解。",
    "安全隐患": "群众反映路边电线杆倾斜，存在安全隐患。",
    "环境卫生": "村口垃圾堆放多日未清运，气味较大。",
    "民生服务": "独居老人反映家中自来水停水，需要帮助。",
    "治安": "村民反映夜间有可疑人员在村内徘徊。",
    "信访": "村民咨询土地流转补贴政策。",
}


@dataclasses.dataclass(frozen=True)
class Tick:
    reported: int
    advanced: int
    fixes: int


class Simulator:
    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        county_code: str,
        photo_dir: Path,
        seed: int = 1,
        reports_per_hour: float = 60.0,
    ) -> None:
        self.session_factory = session_factory
        self.county_code = county_code
        self.actors = {
            key: Actor(username, label, "county_operator", county_code, (county_code,))
            for key, (username, label) in PEOPLE.items()
        }
        self.photo_dir = photo_dir
        self.rng = np.random.default_rng(seed)
        self.reports_per_hour = reports_per_hour
        with session_factory() as session:
            self.homes = query_frame(
                session, select(Household.lon, Household.lat).where(Household.county_code == county_code)
            )

    def tick(self, now: dt.datetime, seconds: float) -> Tick:
        """One step of `seconds` of simulated time ending at `now`."""
        reported = self._report(now, self.rng.poisson(self.reports_per_hour * seconds / 3600))
        advanced = self._advance(now, max(1, int(self.reports_per_hour * seconds / 3600 * 4)))
        return Tick(reported, advanced, self._move_workers(now))

    def _report(self, now: dt.datetime, count: int) -> int:
        done = 0
        for _ in range(count):
            home = self.homes.iloc[int(self.rng.integers(len(self.homes)))]
            category = str(self.rng.choice(list(CATEGORIES)))
            try:
                report_incident(
                    self.session_factory,
                    actor=self.actors["hotline"],
                    now=now,
                    category=category,
                    subcategory=str(self.rng.choice(CATEGORIES[category])),
                    severity="urgent" if self.rng.random() < 0.1 else "normal",
                    lon=float(home["lon"]) + self.rng.normal(0, 0.0002),
                    lat=float(home["lat"]) + self.rng.normal(0, 0.0002),
                    description=DESCRIPTIONS[category],
                    channel=str(self.rng.choice(["hotline", "resident", "app", "patrol"])),
                )
                done += 1
            except PointOutsideGridsError:
                continue  # a point just outside every grid: the next caller is luckier
        return done

    def _advance(self, now: dt.datetime, count: int) -> int:
        with self.session_factory() as session:
            cases = query_frame(
                session,
                select(Incident.incident_id, Incident.state, Incident.version).where(
                    Incident.county_code == self.county_code, Incident.state.in_(OPEN_STATES)
                ),
            )
        if cases.empty:
            return 0
        picked = cases.iloc[self.rng.choice(len(cases), min(count, len(cases)), replace=False)]
        advanced = 0
        for case in picked.itertuples():
            step = self._next_step(case.state)
            try:
                step(now, case.incident_id, int(case.version))
                advanced += 1
            except StoreUnavailableError:
                raise
            except DomainError:
                continue  # someone (a real supervisor) acted first: leave it
        return advanced

    def _next_step(self, state: str) -> Callable[[dt.datetime, str, int], object]:
        """The next workflow step for a case in `state`, as a supervisor or worker would take it."""
        factory = self.session_factory

        def by(actor: Actor, now: dt.datetime, case: str, version: int) -> CaseAction:
            return CaseAction(actor, now, case, version)

        def validate(now: dt.datetime, case: str, version: int) -> object:
            if self.rng.random() < 0.05:
                return reject_incident(
                    factory, by(self.actors["supervisor"], now, case, version), reason="经核实不属实"
                )
            return validate_incident(factory, by(self.actors["supervisor"], now, case, version))

        def dispatch(now: dt.datetime, case: str, version: int) -> object:
            worker = suggest_workers(factory, actor=self.actors["supervisor"], incident_id=case, limit=1)[
                "worker_id"
            ].iloc[0]
            return dispatch_incident(factory, by(self.actors["supervisor"], now, case, version), worker_id=worker)

        def accept(now: dt.datetime, case: str, version: int) -> object:
            return accept_incident(factory, by(self.actors["field"], now, case, version))

        def handle(now: dt.datetime, case: str, version: int) -> object:
            return handle_incident(
                factory,
                by(self.actors["field"], now, case, version),
                note="已到现场处置完毕。",
                photos=[PHOTO],
                photo_dir=self.photo_dir,
            )

        def verify(now: dt.datetime, case: str, version: int) -> object:
            satisfaction = str(self.rng.choice(["满意", "满意", "基本满意", "不满意"]))
            return verify_incident(
                factory, by(self.actors["supervisor"], now, case, version), satisfaction=satisfaction
            )

        steps = {"reported": validate, "registered": dispatch, "dispatched": accept, "in_progress": handle}
        return {**steps, "handled": verify}[state]

    def _move_workers(self, now: dt.datetime) -> int:
        """A fix for every on-duty worker with a known position, a short walk from the last one."""
        with self.session_factory() as session:
            workers = query_frame(
                session,
                select(Worker.worker_id, Worker.last_lon, Worker.last_lat).where(
                    Worker.county_code == self.county_code, Worker.on_duty.is_(True), Worker.last_lon.is_not(None)
                ),
            )
        if workers.empty:
            return 0
        crs = metric_crs_for(float(workers["last_lon"].mean()))
        x, y = transform_xy(workers["last_lon"], workers["last_lat"], WGS84, crs)
        angle = self.rng.uniform(0, 2 * np.pi, len(workers))
        step = self.rng.uniform(0, 40, len(workers))
        lon, lat = transform_xy(x + step * np.cos(angle), y + step * np.sin(angle), crs, WGS84)
        fixes = pd.DataFrame(
            {
                "county_code": self.county_code,
                "worker_id": workers["worker_id"],
                "ts": now,
                "lon": np.round(lon, 6),
                "lat": np.round(lat, 6),
                "accuracy_m": 8.0,
            }
        )
        with self.session_factory.begin() as session:
            session.execute(table_of(PatrolFix).insert(), fixes.to_dict(orient="records"))
            advance_last_positions(session.connection(), fixes)
        return len(fixes)


def run_simulator(simulator: Simulator, *, interval_s: float, cycles: int | None, echo: Callable[[str], None]) -> None:
    """Tick every `interval_s` seconds of real time (forever when `cycles` is None); a tick that
    meets a database error (unreachable, busy, a conflict) is reported and cut short there (the
    log has the details)."""
    done = 0
    while cycles is None or done < cycles:
        started = time.monotonic()
        try:
            outcome = simulator.tick(dt.datetime.now(dt.UTC), interval_s)
            echo(f"新上报 {outcome.reported}，推进 {outcome.advanced}，定位 {outcome.fixes}")
        except StoreError as error:  # each write is whole or absent: carry on with the next tick
            echo(f"{error}；下个周期重试")
        done += 1
        time.sleep(max(0.0, interval_s - (time.monotonic() - started)))
