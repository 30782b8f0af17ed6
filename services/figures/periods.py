"""The periods a report or the statistics page covers: a calendar week (Monday to Sunday, ISO
8601 `YYYY-Www`), a calendar month (`YYYY-MM`) or the days from one date to another, all in local
time (Asia/Shanghai, `services.domain.LOCAL_TZ`).

A period is whole local days [first_day, last_day]; as instants it runs from local midnight of the
first day to local midnight after the last, in UTC.  The figures read it as DESIGN.md's P = (T − days,
T] with T = `end` and days = `days`, so a month's report and `kpi --at <end> --days <days>` count
the same cases.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Literal

from services.domain import LOCAL_TZ
from services.errors import InvalidArgumentError

PeriodKind = Literal["monthly", "weekly", "range"]
MAX_RANGE_DAYS = 366 * 3  # a longer span is a typo more often than a question

_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_WEEK = re.compile(r"(\d{4})-?W(\d{1,2})", re.IGNORECASE)
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")


@dataclasses.dataclass(frozen=True)
class Period:
    kind: PeriodKind
    first_day: dt.date  # local calendar days, both included
    last_day: dt.date

    @property
    def start(self) -> dt.datetime:
        """Local midnight of the first day, in UTC."""
        return _midnight_utc(self.first_day)

    @property
    def end(self) -> dt.datetime:
        """Local midnight after the last day, in UTC."""
        return _midnight_utc(self.last_day + dt.timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def code(self) -> str:
        """What the command line takes: 2026-11, 2026-W47, 2026-11-01..2026-11-30."""
        if self.kind == "monthly":
            return f"{self.first_day:%Y-%m}"
        if self.kind == "weekly":
            year, week, _ = self.first_day.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"

    @property
    def name(self) -> str:
        """Chinese: 2026年11月, 2026年第47周, 2026年11月3日至2026年11月9日."""
        if self.kind == "monthly":
            return f"{self.first_day.year}年{self.first_day.month}月"
        if self.kind == "weekly":
            year, week, _ = self.first_day.isocalendar()
            return f"{year}年第{week}周"
        return f"{_chinese_date(self.first_day)}至{_chinese_date(self.last_day)}"

    @property
    def label(self) -> str:
        """The name with its days: 2026年11月（11月1日—11月30日）."""
        if self.kind == "range":
            return f"{self.name}（{self.days}天）"
        return f"{self.name}（{_short_date(self.first_day)}—{_short_date(self.last_day)}）"

    @property
    def word(self) -> str:
        """How a summary sentence names it: 本月, 本周, 本期."""
        return {"monthly": "本月", "weekly": "本周", "range": "本期"}[self.kind]

    def previous(self) -> Period:
        """The period just before: the month before, the week before, or as many days before."""
        if self.kind == "monthly":
            return month_period(_add_months(self.first_day, -1))
        if self.kind == "weekly":
            return week_period(self.first_day - dt.timedelta(days=7))
        return range_period(self.first_day - dt.timedelta(days=self.days), self.first_day - dt.timedelta(days=1))

    def year_ago(self) -> Period:
        """The same period a year earlier: the same month, the same ISO week number (week 52 for a
        week 53 the earlier year lacks), or the same dates (28 February for a 29th)."""
        if self.kind == "monthly":
            return month_period(self.first_day.replace(year=self.first_day.year - 1))
        if self.kind == "weekly":
            year, week, _ = self.first_day.isocalendar()
            weeks = dt.date(year - 1, 12, 28).isocalendar()[1]  # 28 December is always in the last week
            return week_period(dt.date.fromisocalendar(year - 1, min(week, weeks), 1))
        return range_period(_year_before(self.first_day), _year_before(self.last_day))


def _midnight_utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), LOCAL_TZ).astimezone(dt.UTC)


def _chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _short_date(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def month_period(day: dt.date) -> Period:
    """The calendar month holding `day`."""
    first = day.replace(day=1)
    return Period("monthly", first, _add_months(first, 1) - dt.timedelta(days=1))


def week_period(day: dt.date) -> Period:
    """The calendar week (Monday to Sunday) holding `day`."""
    monday = day - dt.timedelta(days=day.weekday())
    return Period("weekly", monday, monday + dt.timedelta(days=6))


def range_period(first_day: dt.date, last_day: dt.date) -> Period:
    if last_day < first_day:
        raise InvalidArgumentError(f"统计期间的结束日期 {last_day.isoformat()} 早于开始日期 {first_day.isoformat()}")
    if (last_day - first_day).days + 1 > MAX_RANGE_DAYS:
        raise InvalidArgumentError(f"统计期间最长 {MAX_RANGE_DAYS} 天")
    return Period("range", first_day, last_day)


def parse_month(text: str) -> Period:
    """`YYYY-MM` (2026-11)."""
    match = _MONTH.fullmatch(text.strip())
    if match is None or not 1 <= int(match[2]) <= 12:
        raise InvalidArgumentError(f"月份 {text!r} 无法识别，请写成 YYYY-MM，例如 2026-11")
    return month_period(dt.date(int(match[1]), int(match[2]), 1))


def parse_week(text: str) -> Period:
    """ISO 8601 week `YYYY-Www` (2026-W47): Monday to Sunday, week 1 holds the year's first Thursday."""
    match = _WEEK.fullmatch(text.strip())
    if match is None:
        raise InvalidArgumentError(f"周次 {text!r} 无法识别，请写成 YYYY-Www（ISO 周），例如 2026-W47")
    year, week = int(match[1]), int(match[2])
    try:
        monday = dt.date.fromisocalendar(year, week, 1)
    except ValueError as error:
        weeks = dt.date(year, 12, 28).isocalendar()[1]
        raise InvalidArgumentError(f"周次 {text!r} 不存在：{year} 年共 {weeks} 周") from error
    return week_period(monday)


def parse_date(text: str, field: str = "日期") -> dt.date:
    """`YYYY-MM-DD`; `field` names it in the error (开始日期, 结束日期)."""
    if _DATE.fullmatch(text.strip()) is None:
        raise InvalidArgumentError(f"{field} {text!r} 无法识别，请写成 YYYY-MM-DD，例如 2026-11-03")
    year, month, day = (int(part) for part in text.strip().split("-"))
    try:
        return dt.date(year, month, day)
    except ValueError as error:
        raise InvalidArgumentError(f"{field} {text!r} 不存在") from error


def parse_range(first: str, last: str) -> Period:
    """From one date to another, both included."""
    return range_period(parse_date(first, "开始日期"), parse_date(last, "结束日期"))


def parse_period(text: str) -> Period:
    """Any of the three: 2026-11, 2026-W47, or 2026-11-03..2026-11-09."""
    value = text.strip()
    if ".." in value:
        first, last = value.split("..", 1)
        return parse_range(first, last)
    if "w" in value.lower():
        return parse_week(value)
    if _MONTH.fullmatch(value):
        return parse_month(value)
    raise InvalidArgumentError(
        f"统计期间 {text!r} 无法识别：月份写成 2026-11，周写成 2026-W47，日期区间写成 2026-11-03..2026-11-09"
    )
