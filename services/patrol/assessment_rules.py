"""The county's rule table of the 网格员月度考核 (issue 16, 平乡 "平安e格"), versioned: a change
starts a new version from a given month, and every month is scored with the newest version that
started at or before it, so months already past keep the rules they were scored with.

The defaults are the issue's table: 巡查日志 30, 有效上报 30, 时效 20, 质量 10, 巡查覆盖 10,
−5 and one grade down per confirmed 应报未报, up to +10 awarded; grades 优秀 ≥ 90, 合格 ≥ 75,
基本合格 ≥ 60; the 应报清单 安全隐患, 矛盾纠纷, 环境卫生 traced back within 150 m from 72 h
before to 24 h after.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math

import pandas as pd
from sqlalchemy import func, select

from services.access.actor import Actor
from services.access.audit import Who, add_entry, require_permission
from services.domain import CATEGORIES, LOCAL_TZ
from services.errors import InvalidArgumentError
from services.patrol.supervision import LOG_TARGET, REPORT_TARGET
from services.store.engine import SessionFactory, write_next_number
from services.store.models import AssessmentRuleVersion

GRADES = ("优秀", "合格", "基本合格", "不合格")  # best first: one grade down is one step right


@dataclasses.dataclass(frozen=True)
class AssessmentRules:
    """One version of the rule table.  Points are points of the 100-point month; counts are per
    worker-month."""

    log_points: float = 30.0  # 巡查日志: log_points × min(logs, log_quota) / log_quota
    log_quota: int = LOG_TARGET
    report_points: float = 24.0  # 有效上报: report_points × min(valid, report_quota) / report_quota …
    report_quota: int = REPORT_TARGET
    extra_report_point: float = 1.0  # … + this per valid report beyond the quota …
    extra_report_cap: float = 6.0  # … at most this much
    invalid_penalty: float = 1.0  # − this per report judged invalid …
    invalid_cap: float = 6.0  # … at most this much
    timeliness_points: float = 20.0  # 时效: from this, floor 0 …
    late_case_penalty: float = 2.0  # … − this per case of theirs handled past its limit
    late_validation_penalty: float = 1.0  # … − this per report of theirs not judged within 24 h
    quality_points: float = 10.0  # 质量: from this, floor 0 …
    reopen_penalty: float = 2.0  # … − this per reopening of a case of theirs
    unsatisfied_penalty: float = 2.0  # … − this per 不满意 evaluation
    coverage_points: float = 10.0  # 巡查覆盖: coverage_points × coverage of their grids over the month
    miss_penalty: float = 5.0  # 应报未报: − this per confirmed miss …
    miss_grade_steps: int = 1  # … and the grade this many steps down (once a month)
    award_cap: float = 10.0  # 加分: at most this much awarded per worker-month
    excellent_from: float = 90.0
    pass_from: float = 75.0
    basic_from: float = 60.0  # below: 不合格; an item below this share of its maximum is 不合格 too
    miss_categories: tuple[str, ...] = ("安全隐患", "矛盾纠纷", "环境卫生")  # 应报清单
    miss_radius_m: float = 150.0
    miss_before_h: float = 72.0
    miss_after_h: float = 24.0
    top_count: int = 10  # 十佳

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, (int, float)) and (not math.isfinite(value) or value < 0):
                raise InvalidArgumentError(f"考核规则「{RULE_LABELS.get(field.name, field.name)}」须为非负数")
        if self.log_quota < 1 or self.report_quota < 1 or self.top_count < 1:
            raise InvalidArgumentError("考核规则的定额与十佳人数须至少为 1")
        if not self.excellent_from >= self.pass_from >= self.basic_from:
            raise InvalidArgumentError("考核等级的分数线须满足 优秀 ≥ 合格 ≥ 基本合格")
        unknown = [c for c in self.miss_categories if c not in CATEGORIES]
        if unknown:
            raise InvalidArgumentError(f"应报清单中有未知的事件类别：{'、'.join(unknown)}")

    @property
    def report_max(self) -> float:
        return self.report_points + self.extra_report_cap

    @property
    def item_max(self) -> dict[str, float]:
        """The maximum of each scored item (the items an 不合格 item is judged against)."""
        return {
            "logs": self.log_points,
            "reports": self.report_max,
            "timeliness": self.timeliness_points,
            "quality": self.quality_points,
            "coverage": self.coverage_points,
        }

    def grade_of(self, total: pd.Series, misses: pd.Series) -> pd.Series:
        """The grade of each total, then `miss_grade_steps` down where a miss was confirmed."""
        step = pd.Series(3, index=total.index)
        step = (
            step.mask(total >= self.basic_from, 2)
            .mask(total >= self.pass_from, 1)
            .mask(total >= self.excellent_from, 0)
        )
        step = (step + (misses > 0) * self.miss_grade_steps).clip(upper=len(GRADES) - 1)
        return step.map(dict(enumerate(GRADES)))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AssessmentRules:
        """A stored version; items added to the table since it was written take their defaults."""
        values = json.loads(text)
        known = {field.name for field in dataclasses.fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        if "miss_categories" in values:
            values["miss_categories"] = tuple(values["miss_categories"])
        return cls(**values)


RULE_LABELS = {
    "log_points": "巡查日志满分",
    "log_quota": "巡查日志定额（篇）",
    "report_points": "有效上报基础分",
    "report_quota": "有效上报定额（件）",
    "extra_report_point": "超额上报每件加分",
    "extra_report_cap": "超额上报加分上限",
    "invalid_penalty": "无效上报每件扣分",
    "invalid_cap": "无效上报扣分上限",
    "timeliness_points": "时效满分",
    "late_case_penalty": "超时办结每件扣分",
    "late_validation_penalty": "上报超 24 小时未判定每件扣分",
    "quality_points": "质量满分",
    "reopen_penalty": "核查后重新处置每次扣分",
    "unsatisfied_penalty": "不满意评价每件扣分",
    "coverage_points": "巡查覆盖满分",
    "miss_penalty": "应报未报每件扣分",
    "miss_grade_steps": "应报未报降档数",
    "award_cap": "加分上限",
    "excellent_from": "优秀分数线",
    "pass_from": "合格分数线",
    "basic_from": "基本合格分数线",
    "miss_categories": "应报清单（事件类别）",
    "miss_radius_m": "问题回溯距离（米）",
    "miss_before_h": "问题回溯：此前小时数",
    "miss_after_h": "问题回溯：此后小时数",
    "top_count": "十佳人数",
}


@dataclasses.dataclass(frozen=True)
class RuleVersion:
    version: int  # 0: the built-in defaults (the county has not written a version yet)
    from_month: dt.date | None
    rules: AssessmentRules
    created_at: dt.datetime | None = None
    created_by: str = ""


DEFAULT_VERSION = RuleVersion(0, None, AssessmentRules())


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def current_month(now: dt.datetime) -> dt.date:
    return month_start(now.astimezone(LOCAL_TZ).date())


def rules_for_month(session_factory: SessionFactory, *, county_code: str, month: dt.date) -> RuleVersion:
    """The version that scores `month`: the newest started at or before it, else the defaults."""
    with session_factory() as session:
        row = session.execute(
            select(AssessmentRuleVersion)
            .where(AssessmentRuleVersion.county_code == county_code, AssessmentRuleVersion.from_month <= month)
            .order_by(AssessmentRuleVersion.from_month.desc(), AssessmentRuleVersion.version.desc())
            .limit(1)
        ).scalar_one_or_none()
        if row is None:
            return DEFAULT_VERSION
        return RuleVersion(
            row.version, row.from_month, AssessmentRules.from_json(row.rules), row.created_at, row.created_by
        )


def list_rule_versions(session_factory: SessionFactory, *, county_code: str) -> pd.DataFrame:
    """Every stored version, newest first: version, from_month, created_at, created_by."""
    with session_factory() as session:
        rows = session.execute(
            select(
                AssessmentRuleVersion.version,
                AssessmentRuleVersion.from_month,
                AssessmentRuleVersion.created_at,
                AssessmentRuleVersion.created_by,
            )
            .where(AssessmentRuleVersion.county_code == county_code)
            .order_by(AssessmentRuleVersion.version.desc())
        ).all()
    return pd.DataFrame(rows, columns=["version", "from_month", "created_at", "created_by"])


def change_rules(
    session_factory: SessionFactory, *, actor: Actor, rules: AssessmentRules, from_month: dt.date, now: dt.datetime
) -> RuleVersion:
    """Starts a new version of the county's rules from `from_month` (the running month or a later
    one: a month already past keeps the rules it was scored with).  County admins only; audited
    with the items that changed.  Raises PermissionDeniedError (audited), InvalidArgumentError."""
    require_permission(session_factory, actor, "edit_assessment_rules", now, "考核规则")
    if from_month.day != 1:
        raise InvalidArgumentError("生效月份请给出当月 1 日")
    if from_month < current_month(now):
        raise InvalidArgumentError(f"不能修改已结束月份的考核规则：生效月份最早为 {current_month(now):%Y年%m月}")
    before = rules_for_month(session_factory, county_code=actor.county_code, month=from_month).rules
    changed = [
        f"{RULE_LABELS[f.name]} {_shown(getattr(before, f.name))} → {_shown(getattr(rules, f.name))}"
        for f in dataclasses.fields(AssessmentRules)
        if getattr(before, f.name) != getattr(rules, f.name)
    ]

    def store_next_version() -> int:
        with session_factory.begin() as session:
            version = (
                session.scalar(
                    select(func.max(AssessmentRuleVersion.version)).where(
                        AssessmentRuleVersion.county_code == actor.county_code
                    )
                )
                or 0
            ) + 1
            session.add(
                AssessmentRuleVersion(
                    county_code=actor.county_code,
                    version=version,
                    from_month=from_month,
                    rules=rules.to_json(),
                    created_at=now,
                    created_by=actor.username[:32],
                )
            )
            detail = f"第 {version} 版，自 {from_month:%Y年%m月} 起：" + ("；".join(changed) or "与上一版相同")
            add_entry(session, Who.of(actor), "assessment_rules", now, f"考核规则 第 {version} 版", detail)
        return version

    version = write_next_number(store_next_version, "考核规则正被多人同时修改，本次修改未生效，请稍后重试")
    return RuleVersion(version, from_month, rules, now, actor.username)


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return "、".join(value) or "（空）"
    return f"{value:g}" if isinstance(value, float) else str(value)
