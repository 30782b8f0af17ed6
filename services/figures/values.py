"""How the numbers of a report read, in one place for the 统计分析 page, the XLSX, the PDF and the
summary sentences: a value of each kind (services.figures.report.ValueKind) as text, and its
change against an earlier period (环比/同比).  A share's change is a difference in percentage
points (81.2% → 83.3% is "+2.1 个百分点", not "+2.6%"), as Chinese reports state it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from services.domain import LOCAL_TZ

TIME_FORMAT = "%Y-%m-%d %H:%M"
BLANK_TEXT = "—"  # a blank figure in a sentence or a tile (its denominator is 0, or no earlier data)


def plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (a table's int64 cell as an int)."""
    return value.item() if isinstance(value, np.generic) else value


def is_blank(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def change_against(kind: str, current: object, earlier: object) -> tuple[float | None, str]:
    """The change of a value of `kind` against an earlier value of it and how it is shown: counts
    and hours as a share of the earlier value ("change"), shares as a difference in percentage
    points ("points", in points); None where there is nothing to compare (no earlier value, an
    earlier 0, a text or a change)."""
    if kind not in ("count", "hours", "share") or is_blank(current) or is_blank(earlier):
        return None, "change"
    value, before = float(plain(current)), float(plain(earlier))  # type: ignore[arg-type]  # a count, hours or share that is not blank is a number
    if kind == "share":
        return (value - before) * 100, "points"
    if before == 0:
        return None, "change"
    return value / before - 1, "change"


def shown_value(value: object, kind: str) -> str:
    """`value` as its kind shows it, the same way the XLSX number formats do ("" when blank)."""
    value = plain(value)
    if is_blank(value):
        return ""
    if isinstance(value, dt.datetime):
        return local_time(value)
    if kind == "text" or isinstance(value, str) or not isinstance(value, int | float):
        return str(value)
    number = float(value)
    if kind == "count":
        return f"{round(number):,}"
    if kind == "share":
        return f"{number:.1%}"
    if kind == "hours":
        return f"{number:.1f}"
    if kind == "change":
        return f"{number:+.1%}"
    if kind == "points":
        return f"{number:+.1f} 个百分点"
    return str(value)


def local_time(moment: dt.datetime) -> str:
    return (moment.astimezone(LOCAL_TZ) if moment.tzinfo else moment).strftime(TIME_FORMAT)


def shown_change(kind: str, current: object, earlier: object) -> str | None:
    """「+8.1%」 or 「+2.3 个百分点」; None when there is nothing to compare."""
    change, change_kind = change_against(kind, current, earlier)
    return None if change is None else shown_value(change, change_kind)


def sentence_value(value: object, kind: str) -> str:
    """A value as a sentence or a tile says it: 1,234 / 81.2% / 36.5 小时, or 「—」 when blank."""
    text = shown_value(value, kind)
    if not text:
        return BLANK_TEXT
    return f"{text} 小时" if kind == "hours" else text
