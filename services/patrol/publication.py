"""Publishing a finished month's 网格员月度考核 (发布), and the published ranking the wall screen
shows: the county centre publishes a month once its awards and 问题回溯 decisions are in, and the
screen then reads a few stored rows per refresh instead of scoring 1,500 workers.  Publishing the
month again adds the next version (the newest counts); earlier versions stay as they were."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.access.actor import Actor
from services.access.audit import Who, add_entry, require_permission, require_whole_area
from services.access.scope import Scope
from services.errors import InvalidArgumentError
from services.patrol.assessment import compute_assessment, last_complete_month
from services.patrol.misses import month_bounds
from services.store.bulk import insert_frame
from services.store.engine import SessionFactory, write_next_number
from services.store.frames import query_frame
from services.store.models import AssessmentPublication, AssessmentScore, table_of

SCORE_COLUMNS = (
    "worker_id",
    "name",
    "township_code",
    "total",
    "grade",
    "valid_reports",
    "county_rank",
    "township_rank",
)


@dataclasses.dataclass(frozen=True)
class Publication:
    month: dt.date
    version: int
    workers: int
    published_at: dt.datetime
    publisher_name: str


def publish_assessment(
    session_factory: SessionFactory, *, actor: Actor, month: dt.date, now: dt.datetime
) -> Publication:
    """Scores the county's finished `month` at `now` and stores it as its next published version,
    on the record.  Refuses (audited) a role that may not publish or a scope short of the county;
    InvalidArgumentError for a month not yet over."""
    if now.tzinfo is None:
        raise InvalidArgumentError("时间必须带时区")
    require_permission(session_factory, actor, "publish_assessment", now, f"{month:%Y年%m月} 考核")
    require_whole_area(session_factory, actor, actor.county_code, now)
    _, end = month_bounds(month)
    if now < end:
        raise InvalidArgumentError(f"{month:%Y年%m月} 尚未结束，月末之后才能发布考核结果")
    assessment = compute_assessment(session_factory, actor=actor, area_code=actor.county_code, month=month, now=now)
    scores = assessment.scores[list(SCORE_COLUMNS)]
    rule_version = assessment.rule_version.version
    return write_next_number(
        lambda: _store_next_version(session_factory, actor, month, rule_version, assessment.cutoff, scores, now),
        "同一月份的考核正被多人同时发布，本次发布未生效，请稍后重试",
    )


def _store_next_version(
    session_factory: SessionFactory,
    actor: Actor,
    month: dt.date,
    rule_version: int,
    cutoff: dt.datetime,
    scores: pd.DataFrame,
    now: dt.datetime,
) -> Publication:
    county = actor.county_code
    with session_factory.begin() as session:
        latest = session.scalar(
            select(func.max(AssessmentPublication.version)).where(
                AssessmentPublication.county_code == county, AssessmentPublication.month == month
            )
        )
        version = (latest or 0) + 1
        session.add(
            AssessmentPublication(
                county_code=county,
                month=month,
                version=version,
                rule_version=rule_version,
                cutoff=cutoff,
                published_at=now,
                published_by=actor.username,
                publisher_name=actor.display_name,
            )
        )
        session.flush()  # the key is taken here: a simultaneous publisher of the same number retries
        rows = scores.assign(county_code=county, month=month, version=version)
        workers = insert_frame(session.connection(), table_of(AssessmentScore), rows)
        detail = f"第 {version} 版，网格员 {workers} 名"
        add_entry(session, Who.of(actor), "assessment_publish", now, f"{month:%Y-%m}", detail)
    return Publication(
        month=month, version=version, workers=workers, published_at=now, publisher_name=actor.display_name
    )


def latest_publication(session_factory: SessionFactory, *, county_code: str, month: dt.date) -> Publication | None:
    """The newest published version of `month`, or None while it is unpublished."""
    with session_factory() as session:
        row = session.execute(
            select(AssessmentPublication)
            .where(AssessmentPublication.county_code == county_code, AssessmentPublication.month == month)
            .order_by(AssessmentPublication.version.desc())
            .limit(1)
        ).scalar_one_or_none()
        if row is None:
            return None
        workers = session.scalar(
            select(func.count()).where(
                AssessmentScore.county_code == county_code,
                AssessmentScore.month == month,
                AssessmentScore.version == row.version,
            )
        )
        return Publication(
            month=row.month,
            version=row.version,
            workers=int(workers or 0),
            published_at=row.published_at,
            publisher_name=row.publisher_name,
        )


def published_ranking(
    session: Session, scope: Scope, at: dt.datetime, count: int
) -> tuple[dt.date, pd.DataFrame] | None:
    """The last complete month before `at`, when it is published: its newest version's best
    `count` workers of the scope (name, total, grade), by total, then valid reports, as 十佳 ties
    go.  None while that month is unpublished (an older month would rank stale work) or holds no
    worker of the scope."""
    month = last_complete_month(at)
    version = session.scalar(
        select(func.max(AssessmentPublication.version)).where(
            AssessmentPublication.county_code == scope.county_code, AssessmentPublication.month == month
        )
    )
    if version is None:
        return None
    best = query_frame(
        session,
        select(AssessmentScore.name, AssessmentScore.total, AssessmentScore.grade)
        .where(
            AssessmentScore.county_code == scope.county_code,
            AssessmentScore.month == month,
            AssessmentScore.version == version,
            scope.holds_worker(AssessmentScore.worker_id),
        )
        .order_by(AssessmentScore.total.desc(), AssessmentScore.valid_reports.desc(), AssessmentScore.name)
        .limit(count),
    )
    return (month, best) if len(best) else None  # none of the scope's workers in it: nothing to rank by
