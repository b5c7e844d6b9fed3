"""``python -m core sessions list|revoke-all``: the signed-in browsers, and ending them."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any, TextIO

from core.cli_audit import cli_actor
from core.cli_generate import CLI
from core.service import ModelDesk


def add_sessions_parser(sub: Any) -> None:
    sessions = sub.add_parser("sessions", help="list the signed-in browsers or end them all")
    actions = sessions.add_subparsers(dest="sessions_action", required=True)
    actions.add_parser("list", help="active sessions (a short id, never the token)")
    actions.add_parser("revoke-all", help="sign every browser out, on every server")


def cmd_sessions(desk: ModelDesk, args: argparse.Namespace, out: TextIO) -> int:
    if args.sessions_action == "revoke-all":
        count = desk.end_all_sessions(CLI, actor=cli_actor(args))
        print(f"ended {count} session(s)", file=out)
        return 0
    active = desk.sessions.active()
    for record in active:
        print(
            f"{record.short_id}  {record.user.role.value:<11}  {record.mode:<8}  "
            f"{record.user.email}  since {_when(record.created)}  "
            f"seen {_when(record.last_seen)}  ends {_when(record.expires)}",
            file=out,
        )
    print(f"{len(active)} active session(s)", file=out)
    return 0


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")
