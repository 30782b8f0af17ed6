"""Command line of 民情地图: `python -m services.cli --help`."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import sys
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from services.access.actor import USER_ROLES, Actor
from services.access.screens import SCREEN_DAYS, SCREEN_PATH, issue_screen_session, list_screens, revoke_screen_session
from services.access.users import add_user, list_users, set_disabled, set_password
from services.cli.assess import add_assess_parser, run_assess_command
from services.cli.bootstrap import Store, county_is_empty, create_demo, give_demo_users_passwords, open_store
from services.cli.intake_keys import add_intake_key_parser, run_intake_key_command
from services.cli.simulator import Simulator, run_simulator
from services.domain import LOCAL_TZ
from services.errors import DomainError, InvalidArgumentError, StoreError
from services.exchange.imports.problems import ImportFileError
from services.exchange.imports.service import CRS_CHOICES, KINDS, import_file
from services.figures.area_figures import compute_area_figures
from services.figures.periods import parse_month, parse_week
from services.figures.report_build import build_report, report_json
from services.figures.report_sheets import complete_report
from services.figures.statistics import compute_statistics
from services.operations.backup import restore_backup, write_backup
from services.operations.logs import configure_logging
from services.operations.maintain import maintain_store
from services.settings import Settings

LOG_NAME = "cli.log"
STORE_ERROR_EXIT = 3  # the database failed or cannot be reached: worth retrying later


def parse_time(text: str) -> dt.datetime:
    """ISO 8601; a time without an offset is Asia/Shanghai (DESIGN.md, Exchange formats)."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"不是 ISO 8601 时间: {text!r}") from error
    return value if value.tzinfo else value.replace(tzinfo=LOCAL_TZ)


def _now() -> dt.datetime:
    return dt.datetime.now(LOCAL_TZ).replace(microsecond=0)


def command_line_actor(county_code: str) -> Actor:
    """Whoever has a shell on the server acts as a county admin; the audit log names their login."""
    return Actor(f"cli:{getpass.getuser()}"[:32], "命令行", "county_admin", county_code, (county_code,))


def read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("新密码: ")
    if getpass.getpass("再输一次: ") != first:
        raise InvalidArgumentError("两次输入的密码不一致")
    return first


def run_user_command(store: Store, args: argparse.Namespace, actor: Actor) -> None:
    factory, now = store.session_factory, _now()
    if args.user_command == "add":
        add_user(
            factory,
            actor=actor,
            now=now,
            username=args.username,
            display_name=args.name,
            role=args.role,
            area_codes=tuple(args.area),
            password=read_password(),
        )
    elif args.user_command == "passwd":
        set_password(factory, actor=actor, now=now, username=args.username, password=read_password())
    elif args.user_command in ("disable", "enable"):
        set_disabled(factory, actor=actor, now=now, username=args.username, disabled=args.user_command == "disable")
    else:
        print(list_users(factory, actor=actor, now=now).to_string(index=False))
        return
    print(json.dumps({"user": args.username, "done": args.user_command}, ensure_ascii=False))


def run_screen_command(store: Store, args: argparse.Namespace, actor: Actor) -> None:
    factory, now = store.session_factory, _now()
    if args.screen_command == "add":
        issued = issue_screen_session(
            factory, actor=actor, name=args.name, area_code=args.area, days=args.days, now=now
        )
        page = SCREEN_PATH + ("&scale=2" if args.scale == 2 else "")
        query = urllib.parse.urlencode({"token": issued.handover, "next": page})
        print(
            json.dumps(
                {
                    "screen": issued.name,
                    "area": issued.area_code,
                    "url": f"{args.url.rstrip('/')}/auth/session?{query}",
                    "link_valid_until": issued.link_until.astimezone(LOCAL_TZ).isoformat(timespec="seconds"),
                    "valid_until": issued.expires_at.astimezone(LOCAL_TZ).isoformat(timespec="seconds"),
                }
            )
        )
    elif args.screen_command == "revoke":
        ended = revoke_screen_session(factory, actor=actor, name=args.name, now=now)
        print(json.dumps({"screen": args.name, "sessions_ended": ended}))
    else:
        print(list_screens(factory, actor=actor, now=now).to_string(index=False))


def run_report_command(store: Store, args: argparse.Namespace, actor: Actor) -> None:
    period = parse_month(args.period) if args.report_kind == "monthly" else parse_week(args.period)
    stats = compute_statistics(
        store.session_factory, actor=actor, area_code=args.area, period=period, now=args.at or _now()
    )
    report = complete_report(store.session_factory, actor=actor, report=build_report(stats, args.report_kind))
    if args.json:
        print(json.dumps(report_json(report), ensure_ascii=False))
        return
    from services.exchange.report_files import write_report  # the XLSX/PDF writers load fonts and openpyxl

    written = write_report(report, args.out)
    print(json.dumps({"report": report.title, "file": str(written)}, ensure_ascii=False))


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
    load.add_argument(
        "--remove-missing",
        action="store_true",
        help="grids: remove the stored grids of the file's townships that the file no longer holds, "
        "even while households, workers or cases refer to them (they move to the grid holding their point)",
    )

    kpi = commands.add_parser("kpi", help="DESIGN.md figures of one area")
    kpi.add_argument("--area", required=True, help="area code: county (6), township (9), village (12) or grid (15)")
    kpi.add_argument("--at", type=parse_time, default=None, help="moment T (default: now)")
    kpi.add_argument("--days", type=int, default=30, help="length of the period P = (T − days, T]")
    kpi.add_argument("--json", action="store_true", help="print JSON (default: a table)")

    report = commands.add_parser("report", help="月报 / 周报 of one area: figures as JSON, or an XLSX/PDF file")
    kinds = report.add_subparsers(dest="report_kind", required=True)
    for kind, option, example in (("monthly", "--month", "YYYY-MM"), ("weekly", "--week", "YYYY-Www")):
        one = kinds.add_parser(kind, help=f"the {kind} report of a calendar {option[2:]} ({example}, Asia/Shanghai)")
        one.add_argument("--area", required=True, help="area code: county (6), township (9), village (12) or grid (15)")
        one.add_argument(option, dest="period", required=True, help=example)
        one.add_argument("--at", type=parse_time, default=None, help="data cut-off (default: now)")
        output = one.add_mutually_exclusive_group(required=True)
        output.add_argument("--json", action="store_true", help="print the report's figures as JSON")
        output.add_argument("--out", type=Path, help="write FILE.xlsx or FILE.pdf")

    add_assess_parser(commands)
    add_intake_key_parser(commands)

    user = commands.add_parser("user", help="manage who may sign in (acts as the county admin, on the audit log)")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    add = user_commands.add_parser("add", help="add a user; the password is read from the terminal or stdin")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="display name, e.g. 王建国")
    add.add_argument("--role", required=True, choices=USER_ROLES)
    add.add_argument("--area", action="append", required=True, help="area code the user holds (repeatable)")
    passwd = user_commands.add_parser("passwd", help="set a new password (read from the terminal or stdin)")
    passwd.add_argument("username")
    for name, text in (("disable", "stop a user signing in (ends their sessions)"), ("enable", "let a user in again")):
        user_commands.add_parser(name, help=text).add_argument("username")
    user_commands.add_parser("list", help="list the county's users")

    screen = commands.add_parser("screen-session", help="long-lived sessions of wall screens (as the county admin)")
    screen_commands = screen.add_subparsers(dest="screen_command", required=True)
    issue = screen_commands.add_parser("add", help="issue a screen session; prints its one-time URL (valid one day)")
    issue.add_argument("name", help="the screen's name, e.g. wall-1 (its account: role wall_screen)")
    issue.add_argument("--area", required=True, help="the area code whose wall screen it shows")
    issue.add_argument("--days", type=int, default=SCREEN_DAYS, help="how long the session lasts")
    issue.add_argument("--url", default="http://127.0.0.1:8501", help="the dashboard's address as the screen sees it")
    issue.add_argument("--scale", type=int, choices=(1, 2), default=1, help="2 for a 3840×2160 wall")
    screen_commands.add_parser("revoke", help="end a screen's sessions").add_argument("name")
    screen_commands.add_parser("list", help="the county's screens and their sessions")

    backup = commands.add_parser(
        "backup", help="write one archive of the whole store and its photos (while the app runs)"
    )
    backup.add_argument(
        "--out", type=Path, required=True, help="the archive to write, e.g. /backup/minqing-$(date +%%F).tar"
    )
    restore = commands.add_parser("restore", help="restore an archive of `backup` into an empty store (either engine)")
    restore.add_argument("archive", type=Path)
    restore.add_argument("--replace", action="store_true", help="replace every row of a store that is not empty")

    maintain = commands.add_parser(
        "maintain", help="daily upkeep: GPS fixes past FIXES_KEEP_DAYS go, next days' partitions made"
    )
    maintain.add_argument(
        "--keep-days", type=int, default=None, help="days of fixes to keep (default: FIXES_KEEP_DAYS)"
    )

    simulate = commands.add_parser("simulate", help="keep the demo alive: new reports, cases moving, workers walking")
    simulate.add_argument("--interval", type=float, default=5.0, help="seconds between ticks")
    simulate.add_argument("--reports-per-hour", type=float, default=60.0, help="mean rate of new reports")
    simulate.add_argument("--cycles", type=int, default=None, help="stop after this many ticks (default: never)")
    return parser


def log_to_file(settings: Settings) -> Path:
    """Details of failures (tracebacks) go to DATA_DIR/cli.log; the terminal gets one Chinese line."""
    path = settings.data_dir / LOG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    configure_logging(path=path)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    log_path = log_to_file(settings)
    actor = command_line_actor(settings.county_code)
    store: Store | None = None
    try:
        store = open_store(settings)
        if args.command == "init-db":
            print(json.dumps({"schema": "up to date", "database": store.engine.url.render_as_string()}))
        elif args.command == "demo":
            if args.if_empty and not county_is_empty(store, settings.county_code):
                passwords = give_demo_users_passwords(store, settings.county_code)
                print(json.dumps({"demo": "already present", "demo_passwords_set": passwords}))
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
                actor=actor,
                now=_now(),
                remove_missing=args.remove_missing,
            )
            print(json.dumps(summary.as_dict(), ensure_ascii=False))
        elif args.command == "kpi":
            figures = compute_area_figures(
                store.session_factory,
                actor=actor,
                area_code=args.area,
                at=args.at or _now(),
                days=args.days,
            )
            if args.json:
                print(json.dumps(figures.as_dict(), ensure_ascii=False))
            else:
                for key, value in figures.as_dict().items():
                    print(f"{key:24} {value}")
        elif args.command == "report":
            run_report_command(store, args, actor)
        elif args.command == "assess":
            run_assess_command(store, args, actor, _now())
        elif args.command == "intake-key":
            run_intake_key_command(store, args, actor, _now())
        elif args.command == "user":
            run_user_command(store, args, actor)
        elif args.command == "screen-session":
            run_screen_command(store, args, actor)
        elif args.command == "backup":
            started = time.perf_counter()
            done = write_backup(store.session_factory, photo_dir=settings.photo_dir, out=args.out, now=_now())
            print(
                json.dumps({**done.as_dict(), "seconds": round(time.perf_counter() - started, 1)}, ensure_ascii=False)
            )
        elif args.command == "restore":
            started = time.perf_counter()
            restored = restore_backup(
                store.engine, photo_dir=settings.photo_dir, archive=args.archive, replace=args.replace
            )
            print(json.dumps({**restored.as_dict(), "seconds": round(time.perf_counter() - started, 1)}))
        elif args.command == "maintain":
            kept = settings.fixes_keep_days if args.keep_days is None else args.keep_days
            upkeep = maintain_store(store.session_factory, now=_now(), keep_days=kept)
            print(json.dumps(upkeep.as_dict()))
        elif args.command == "simulate":
            simulator = Simulator(
                store.session_factory,
                county_code=settings.county_code,
                photo_dir=settings.photo_dir,
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
    except StoreError as error:  # the store layer has logged the details
        print(f"错误: {error}（详情见 {log_path}）", file=sys.stderr)
        return STORE_ERROR_EXIT
    except DomainError as error:
        print(f"错误: {error}", file=sys.stderr)
        return 2
    finally:
        if store is not None:
            store.engine.dispose()
    return 0
