"""``python -m core export`` / ``import``: the configuration as JSON, merged back in."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from core.cli_audit import cli_actor
from core.cli_generate import CLI
from core.config_io import read_import
from core.errors import ValidationError
from core.service import ModelDesk
from core.untrusted import clean_text

MAX_IMPORT_READ = 2 * 1024 * 1024  # read_import refuses anything over its own, smaller limit


def cmd_export(desk: ModelDesk, args: argparse.Namespace, out: TextIO) -> int:
    text = json.dumps(desk.transfer.export_config(), indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        out.write(text + "\n")
    return 0


def cmd_import(desk: ModelDesk, args: argparse.Namespace, out: TextIO) -> int:
    """Validate the whole file, show every change, apply only with --yes (merge, one
    transaction); removals of model choices also need --allow-removals."""
    try:
        with args.file.open("rb") as handle:
            raw = handle.read(MAX_IMPORT_READ)
    except OSError as exc:
        raise ValidationError(f"Cannot read {args.file}: {type(exc).__name__}.") from None
    data = read_import(raw)
    if args.yes:
        plan = desk.transfer.import_apply(
            CLI, data, allow_removals=args.allow_removals, actor=cli_actor(args)
        )
    else:
        plan = desk.transfer.import_preview(data)
    for change in plan.changes:
        print(str(change) + ("  (removal)" if change.is_removal else ""), file=out)
    for warning in desk.import_warnings(plan, CLI):
        print(clean_text(f"warning: {warning}"), file=out)
    verb = "applied" if args.yes else "to apply (run again with --yes to apply them)"
    print(f"{len(plan.changes)} change(s) {verb}", file=out)
    if plan.removals and not args.yes:
        print(f"{len(plan.removals)} removal(s) also need --allow-removals", file=out)
    return 0
