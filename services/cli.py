"""Command line of 民情地图: `python -m services.cli --help`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from services.bootstrap import county_is_empty, create_demo, open_store
from services.domain import LOCAL_TZ
from services.errors import DomainError
from services.figures import compute_area_figures
from services.imports.problems import ImportFileError
from services.imports.service import CRS_CHOICES, KINDS, import_file
from services.scope import Scope
from services.settings import Settings
from services.simulator import Simulator, run_simulator


def parse_time(text: str) -> dt.datetime:
    """ISO 8601; a time without an offset is Asia/Shanghai (DESIGN.md, Exchange formats)."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"不是 ISO 8601 时间: {text!r}") from error
    return value if value.tzinfo else value.replace(tzinfo=LOCAL_TZ)


def _now() -> dt.datetime:
    return dt.datetime.now(LOCAL_TZ).replace(microsecond=0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services.cli", description="民情地图 command line")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init-db", help="create or upgrade the schema of DATABASE_URL")

    demo = commands.add_parser("demo", help="generate the deterministic demo county into the database")
    demo.add_argument("--scale", choices=("small", "county"), default=None, help="default: DEMO_SCALE")
    demo.add_argument("--seed", type=int, default=None, help="default: DEMO_SEED")
    demo.add_argument("--now", type=parse_time, default=None, help="end of the demo history (default: now)")
    demo.add_argument("--if-empty", action="store_true", help="do nothing when the county already has data")

    load = commands.add_parser("import", help="import a file: grids, households, workers, incidents or fixes")
    load.add_argument("kind", choices=KINDS)
    load.add_argument("path", type=Path)
    load.add_argument("--crs", choices=CRS_CHOICES, default="wgs84", help="coordinates of the file (gcj02: 高德/腾讯)")

    kpi = commands.add_parser("kpi", help="DESIGN.md figures of one area")
    kpi.add_argument("--area", required=True, help="area code: county (6), township (9), village (12) or grid (15)")
    kpi.add_argument("--at", type=parse_time, default=None, help="moment T (default: now)")
    kpi.add_argument("--days", type=int, default=30, help="length of the period P = (T − days, T]")
    kpi.add_argument("--json", action="store_true", help="print JSON (default: a table)")

    simulate = commands.add_parser("simulate", help="keep the demo alive: new reports, cases moving, workers walking")
    simulate.add_argument("--interval", type=float, default=5.0, help="seconds between ticks")
    simulate.add_argument("--reports-per-hour", type=float, default=60.0, help="mean rate of new reports")
    simulate.add_argument("--cycles", type=int, default=None, help="stop after this many ticks (default: never)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    store = open_store(settings)
    try:
        if args.command == "init-db":
            print(json.dumps({"schema": "up to date", "database": store.engine.url.render_as_string()}))
        elif args.command == "demo":
            if args.if_empty and not county_is_empty(store, settings.county_code):
                print(json.dumps({"demo": "already present"}))
                return 0
            scale = args.scale or settings.demo_scale
            seed = settings.demo_seed if args.seed is None else args.seed
            written = create_demo(store, scale=scale, seed=seed, now=args.now or _now())
            print(json.dumps({"demo": scale, "seed": seed, "rows": written}, ensure_ascii=False))
        elif args.command == "import":
            summary = import_file(
                store.session_factory,
                kind=args.kind,
                path=args.path,
                filename=args.path.name,
                crs=args.crs,
                scope=Scope.whole_county(settings.county_code),
            )
            print(json.dumps(summary.as_dict(), ensure_ascii=False))
        elif args.command == "kpi":
            figures = compute_area_figures(
                store.session_factory,
                scope=Scope.whole_county(settings.county_code),
                area_code=args.area,
                at=args.at or _now(),
                days=args.days,
            )
            if args.json:
                print(json.dumps(figures.as_dict(), ensure_ascii=False))
            else:
                for key, value in figures.as_dict().items():
                    print(f"{key:24} {value}")
        elif args.command == "simulate":
            simulator = Simulator(
                store.session_factory,
                scope=Scope.whole_county(settings.county_code),
                photo_dir=settings.data_dir / "photos",
                reports_per_hour=args.reports_per_hour,
            )
            run_simulator(
                simulator, interval_s=args.interval, cycles=args.cycles, echo=lambda line: print(line, flush=True)
            )
    except KeyboardInterrupt:
        return 0
    except ImportFileError as error:
        print(error, file=sys.stderr)
        return 1
    except DomainError as error:
        print(f"错误: {error}", file=sys.stderr)
        return 2
    finally:
        store.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
