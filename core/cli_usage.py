"""``python -m core usage`` and ``python -m core budgets``: the ledger's totals and the
caps on shared keys, from the same database as the dashboard."""

from __future__ import annotations

import argparse
import csv
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any, TextIO

from core.cli_audit import cli_actor
from core.cli_generate import CLI
from core.errors import ValidationError
from core.service import ModelDesk
from core.usage_report import GROUP_COLUMNS, UsageFilter

NO_CAP = -1.0  # "--daily none": remove that cap


def add_parsers(sub: Any) -> None:
    usage = sub.add_parser("usage", help="spend, calls and tokens from the usage ledger")
    usage.add_argument("--since", default="7d", help="7d (the last 7 days) or YYYY-MM-DD")
    usage.add_argument("--by", choices=list(GROUP_COLUMNS), default="provider")
    form = usage.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true")
    form.add_argument("--csv", action="store_true")

    budgets = sub.add_parser("budgets", help="caps on shared keys (list, or `set`)")
    bsub = budgets.add_subparsers(dest="budgets_action")
    setter = bsub.add_parser("set", help="set a provider's caps in USD ('none' removes one)")
    setter.add_argument("provider")
    setter.add_argument("--daily", type=_usd, help="daily cap on the shared key")
    setter.add_argument("--monthly", type=_usd, help="monthly cap on the shared key")
    setter.add_argument("--per-admin-daily", type=_usd, help="daily cap per admin (shared key)")
    setter.add_argument("--clear", action="store_true", help="remove every cap first")


def _usd(text: str) -> float:
    if text.strip().lower() in ("none", "off"):
        return NO_CAP
    try:
        value = float(text.strip().lstrip("$"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount in USD") from None
    if value < 0:
        raise argparse.ArgumentTypeError("a budget cannot be negative ('none' removes it)")
    return value


def since_day(text: str, today: date | None = None) -> date:
    """``7d`` → six days before today (7 days including today); ``YYYY-MM-DD`` as is."""
    today = today or datetime.now(UTC).date()
    match = re.fullmatch(r"(\d{1,4})d", text.strip())
    if match:
        return today - timedelta(days=max(int(match.group(1)), 1) - 1)
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(
            f"--since takes Nd (e.g. 7d) or a date YYYY-MM-DD, not {text!r}."
        ) from None


def cmd_usage(desk: ModelDesk, args: argparse.Namespace, out: TextIO) -> int:
    flt = UsageFilter(since_day(args.since), datetime.now(UTC).date())
    rows = [t.as_dict([args.by]) for t in desk.usage.totals(CLI, flt, [args.by])]
    dropped = desk.usage.dropped(flt)
    if args.json:
        data = {"since": flt.since.isoformat(), "until": flt.until.isoformat(), "by": args.by}
        json.dump({**data, "rows": rows, "dropped": dropped}, out, indent=2)
        out.write("\n")
        return 0
    columns = [args.by, "calls", "errors", "input_tokens", "output_tokens", "cost", "unpriced"]
    if args.csv:
        writer = csv.DictWriter(out, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return 0
    from core.cli import _table  # the CLI's one table printer (core.cli imports this module)

    _table(out, [{**r, "cost": f"${r['cost']:.4f}"} for r in rows], columns)
    total = sum(r["cost"] for r in rows)
    print(f"total ${total:.4f} since {flt.since} (UTC); dropped rows: {dropped}", file=out)
    return 0


def cmd_budgets(desk: ModelDesk, args: argparse.Namespace, out: TextIO) -> int:
    if args.budgets_action == "set":
        if not args.clear and (args.daily, args.monthly, args.per_admin_daily) == (None,) * 3:
            raise ValidationError(
                "budgets set needs --daily, --monthly, --per-admin-daily or --clear."
            )
        row = desk.usage.update_budgets(
            CLI,
            args.provider,
            daily=args.daily,
            monthly=args.monthly,
            per_admin_daily=args.per_admin_daily,
            clear=args.clear,
            actor=cli_actor(args),
        )
        budgets = row.provider_config().budgets
        shown = _caps_text(budgets.model_dump() if budgets else {})
        print(f"{row.display_name}: {shown}", file=out)
        return 0
    from core.cli import _table

    rows = []
    for row, statuses in desk.usage.all_budgets():
        for status in statuses:
            rows.append(
                {
                    "provider": row.slug,
                    "budget": status.label + (f" ({status.who})" if status.who else ""),
                    "cap": f"${status.limit:,.2f}",
                    "used": f"${status.used:,.4f}",
                    "share": f"{status.share:.0%}" + (" !" if status.warning else ""),
                    "resets": status.resets,
                }
            )
    _table(out, rows, ["provider", "budget", "cap", "used", "share", "resets"])
    return 0


def _caps_text(caps: dict[str, float | None]) -> str:
    shown = [f"{name.replace('_', ' ')} ${value:,.2f}" for name, value in caps.items() if value]
    shown += [f"{name.replace('_', ' ')} $0.00" for name, value in caps.items() if value == 0]
    return ", ".join(shown) or "no budgets"


COMMANDS = {"usage": cmd_usage, "budgets": cmd_budgets}
