"""`python -m services.cli assess --area CODE --month YYYY-MM [--json] [--publish]`: the 网格员月度考核
of an area's workers (issue 16), best first; `--publish` publishes the county's finished month (what
the wall screen ranks by), e.g. from a job on each month's first days."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math

from services.access.actor import Actor
from services.cli.bootstrap import Store
from services.domain import LOCAL_TZ
from services.errors import InvalidArgumentError
from services.figures.periods import parse_month
from services.patrol.assessment import ITEMS, SCORED_ITEMS, compute_assessment
from services.patrol.publication import publish_assessment

SHOWN = ("worker_id", "name", "township_name", "total", "grade", "county_rank", "township_rank")


def add_assess_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    assess = commands.add_parser("assess", help="网格员月度考核 of an area's workers for a calendar month")
    assess.add_argument("--area", required=True, help="area code: county (6), township (9), village (12) or grid (15)")
    assess.add_argument("--month", required=True, help="YYYY-MM (Asia/Shanghai)")
    assess.add_argument("--at", type=_local_time, default=None, help="data cut-off, ISO 8601 (default: now)")
    assess.add_argument("--json", action="store_true", help="print JSON (default: a table)")
    assess.add_argument(
        "--publish", action="store_true", help="publish the county's finished month (--area: the county code)"
    )


def _local_time(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"不是 ISO 8601 时间: {text!r}") from error
    return value if value.tzinfo else value.replace(tzinfo=LOCAL_TZ)


def _plain(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value) == "<NA>":
        return None
    return value.item() if hasattr(value, "item") else value


def run_assess_command(store: Store, args: argparse.Namespace, actor: Actor, now: dt.datetime) -> None:
    month = parse_month(args.month).first_day
    if args.publish:
        if args.area != actor.county_code:
            raise InvalidArgumentError(f"发布考核结果针对全县：--area 请给出县代码 {actor.county_code}")
        done = publish_assessment(store.session_factory, actor=actor, month=month, now=args.at or now)
        print(json.dumps({"month": args.month, "version": done.version, "workers": done.workers}, ensure_ascii=False))
        return
    result = compute_assessment(
        store.session_factory, actor=actor, area_code=args.area, month=month, now=args.at or now
    )
    scores = result.scores
    if not args.json:
        table = scores[list(SHOWN)].rename(columns={"total": "总分", "grade": "等级", "county_rank": "十佳(县)"})
        print(table.to_string(index=False))
        return
    items = (*SCORED_ITEMS, "misses", "awards")
    workers = [
        {
            **{key: _plain(row[key]) for key in SHOWN},
            "items": {item: _plain(row[f"{item}_points"]) for item in items},
            "counts": {
                key: _plain(row[key])
                for key in (
                    "logs",
                    "valid_reports",
                    "invalid_reports",
                    "late_cases",
                    "late_validations",
                    "reopened",
                    "unsatisfied",
                    "households",
                    "visited",
                    "misses",
                    "awarded",
                    "flagged_days",
                )
            },  # fmt: skip
            "coverage": _plain(row["coverage"]),
            "failed_items": row["failed_items"],
            "flags": row["flags"],
            "eligible": bool(row["eligible"]),
        }
        for _, row in scores.iterrows()
    ]
    print(
        json.dumps(
            {
                "area_code": args.area,
                "month": f"{month:%Y-%m}",
                "cutoff": result.cutoff.isoformat(),
                "running": result.running,
                "rule_version": result.rule_version.version,
                "quotas": {"logs": result.quotas[0], "valid_reports": result.quotas[1]},
                "item_names": {item: ITEMS[item] for item in items},
                "workers": workers,
            },
            ensure_ascii=False,
        )
    )
