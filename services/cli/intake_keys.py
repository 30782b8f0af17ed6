"""`python -m services.cli intake-key add NAME --channel app|hotline|department` (prints the new key,
once), `intake-key list`, `intake-key revoke NAME`: the keys other systems post Open311 requests with."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from services.access.actor import Actor
from services.cli.bootstrap import Store
from services.intake.keys import KEY_CHANNELS, add_intake_key, list_intake_keys, revoke_intake_key

LISTED = ("name", "channel", "active", "created_at", "created_by", "revoked_at", "requests", "last_request_at")


def add_intake_key_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("intake-key", help="keys of the Open311 intake API (as the county admin)")
    key_commands = keys.add_subparsers(dest="intake_key_command", required=True)
    add = key_commands.add_parser("add", help="make a key; it is printed once and only its hash is kept")
    add.add_argument("name", help="the system's name, e.g. cunqingtong or 12345")
    add.add_argument("--channel", required=True, choices=KEY_CHANNELS, help="the channel its cases carry")
    key_commands.add_parser("list", help="the county's keys and how many requests each sent")
    key_commands.add_parser("revoke", help="refuse the key from now on").add_argument("name")


def run_intake_key_command(store: Store, args: argparse.Namespace, actor: Actor, now: dt.datetime) -> None:
    factory = store.session_factory
    if args.intake_key_command == "add":
        key = add_intake_key(factory, actor=actor, now=now, name=args.name, channel=args.channel)
        print(json.dumps({"intake_key": args.name, "channel": args.channel, "api_key": key}, ensure_ascii=False))
    elif args.intake_key_command == "revoke":
        revoke_intake_key(factory, actor=actor, now=now, name=args.name)
        print(json.dumps({"intake_key": args.name, "done": "revoke"}, ensure_ascii=False))
    else:
        keys = list_intake_keys(factory, actor=actor, now=now)
        print(keys[list(LISTED)].to_string(index=False, na_rep="") if len(keys) else "（没有接入密钥）")
