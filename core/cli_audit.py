"""``python -m core audit``: the audit trail, newest first; and who the CLI acts as.

Every CLI change is recorded as the OS user (``getpass.getuser()``) from ``cli`` on this
host, or as the name given to the global ``--as NAME`` option.
"""

from __future__ import annotations

import argparse
import getpass
import json
import socket
from typing import Any, TextIO

from core.audit import MAX_EXPORT_ROWS, AuditFilter, event_row, parse_since
from core.audit_events import Actor, AuditAction, utcnow
from core.auth import Role
from core.errors import ValidationError
from core.service import ModelDesk

TABLE_COLUMNS = ("time", "who", "from", "action", "provider", "field", "change")


def cli_actor(args: argparse.Namespace) -> Actor:
    """The CLI's actor: ``--as NAME`` or the OS user, a super admin, from ``cli`` on this host."""
    name = (getattr(args, "acting_as", None) or "").strip() or _os_user()
    return Actor(name, Role.SUPER_ADMIN.value, "cli", socket.gethostname()[:64] or None)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return "unknown"


def add_audit_parser(sub: Any) -> None:
    """``audit [--since 1d] [--who NAME] [--action A] [--provider SLUG] [--json|--csv]``."""
    audit = sub.add_parser("audit", help="who changed what, newest first")
    audit.add_argument("--since", default="1d", help="how far back: 30m, 12h, 1d, 2w (default 1d)")
    audit.add_argument("--who", help="only this identity")
    audit.add_argument("--action", choices=[a.value for a in AuditAction])
    audit.add_argument("--provider", "-p", help="only this provider slug")
    audit.add_argument("--limit", type=int, default=1000, help="at most this many rows")
    shape = audit.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true")
    shape.add_argument("--csv", action="store_true")


def cmd_audit(desk: ModelDesk, args: argparse.Namespace, out: TextIO) -> int:
    if not 0 < args.limit <= MAX_EXPORT_ROWS:
        raise ValidationError(f"--limit takes 1 to {MAX_EXPORT_ROWS}.")
    where = AuditFilter(
        actor=args.who,
        action=args.action,
        provider=args.provider,
        since=utcnow() - parse_since(args.since),
    )
    if args.csv:
        desk.audit.write_csv(out, where, args.limit)
        return 0
    rows = [event_row(e) for e in desk.audit.iter_events(where, args.limit)]
    if args.json:
        json.dump(rows, out, indent=2)
        out.write("\n")
        return 0
    _print_table(out, rows)
    return 0


def _print_table(out: TextIO, rows: list[dict[str, Any]]) -> None:
    from core.cli import _table  # the CLI's one table printer (cli imports this module)

    if not rows:
        print("(no audit rows in that time)", file=out)
        return
    _table(out, [{**r, "change": _change(r)} for r in rows], list(TABLE_COLUMNS))


def _change(row: dict[str, Any]) -> str:
    before, after, detail = row["before"] or "—", row["after"] or "—", row["detail"]
    text = "" if before == after == "—" else f"{before} → {after}"
    return f"{text} ({detail})" if detail else text
