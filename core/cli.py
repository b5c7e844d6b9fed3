"""``python -m core``: the admin CLI, on the same service as the dashboard.

The CLI runs as the local super admin (whoever can run it can read the
database anyway). Every failure is one line on stderr. Exit codes: 0 ok,
1 provider error, 2 bad input, 3 nothing configured, 4 save conflict,
5 storage unavailable (database unreachable or refused, secret key malformed,
or a stored key the command needs cannot be decrypted).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from core import cli_account, cli_usage
from core.catalog import CatalogEntry
from core.cli_audit import add_audit_parser, cli_actor, cmd_audit
from core.cli_config import cmd_export, cmd_import
from core.cli_generate import CLI, cmd_generate
from core.cli_sessions import add_sessions_parser, cmd_sessions
from core.content import TEMPLATES
from core.errors import (
    ConflictError,
    KeyUnreadable,
    ModelDeskError,
    NotConfigured,
    PermissionDenied,
    ProviderError,
    StorageUnavailable,
    ValidationError,
)
from core.provider_config import CONNECTION_KINDS, parse_declared
from core.providers.flavours import flavour_name
from core.service import (
    ModelDesk,
    ProviderView,
)
from core.types import ALL_CAPABILITIES, ModelInfo
from core.untrusted import MAX_DESCRIPTION, clean_text

EXIT_CODES: list[tuple[type[Exception], int]] = [
    (StorageUnavailable, 5),
    (KeyUnreadable, 5),
    (ProviderError, 1),
    (ValidationError, 2),
    (PermissionDenied, 2),
    (NotConfigured, 3),
    (ConflictError, 4),
    (ModelDeskError, 2),
]
log = logging.getLogger(__name__)  # the CLI runs as the local super admin, with no session


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--as",
        dest="acting_as",
        metavar="NAME",
        help="who the audit trail records (default: OS user)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    providers = sub.add_parser("providers", help="list and configure providers")
    psub = providers.add_subparsers(dest="action", required=True)
    plist = psub.add_parser("list", help="every provider, its key (masked) and state")
    plist.add_argument("--json", action="store_true")
    plist.add_argument(
        "--no-account", action="store_true", help="skip the providers' account endpoints"
    )
    setkey = psub.add_parser("set-key", help="store a shared key read from stdin")
    setkey.add_argument("slug")
    setkey.add_argument(
        "--no-check",
        "--no-test",
        dest="no_test",
        action="store_true",
        help="save without any live check (explicit; for a server that cannot check keys)",
    )
    for action in ("enable", "disable"):
        psub.add_parser(action, help=f"{action} a provider").add_argument("slug")
    _connection_parsers(psub)

    models = sub.add_parser("models", help="the live catalogue for a capability")
    models.add_argument("--capability", "-c", choices=_caps(), help="required to list models")
    models.add_argument("--provider", "-p")
    models.add_argument("--json", action="store_true")
    models.add_argument("--refresh", action="store_true", help="bypass the cache")
    _override_parser(models)

    select = sub.add_parser("select", help="choose the shared model for a capability")
    select.add_argument("slug")
    select.add_argument("capability", choices=_caps())
    select.add_argument("model_id")

    gen = sub.add_parser("generate", help="run a capability once")
    gen.add_argument("capability", choices=_caps())
    gen.add_argument("--prompt", required=True)
    gen.add_argument("--provider", "-p", help="only this provider (no fallback)")
    gen.add_argument(
        "--model",
        help="any listed model, for this call only (a personal choice: not selected); "
        "checked against the live catalogue, downloaded when not cached. Without it the "
        "selected model is used as it is, with no catalogue download",
    )
    gen.add_argument("--out", type=Path, help="file for image/audio output (FILE, FILE-2...)")
    gen.add_argument("--template", default="blog_post", choices=list(TEMPLATES))
    gen.add_argument("--system", help="chat: a system prompt")
    gen.add_argument("--max-tokens", type=int, help="chat: reply length cap (default: the model's)")
    gen.add_argument("--temperature", type=float, help="chat: 0-2 (default: the model's)")
    gen.add_argument("--size", help="image: WxH, one the model draws (default: the model's)")
    gen.add_argument("--n", type=int, default=1, help="image: how many")
    gen.add_argument("--voice", help="audio: the voice")
    gen.add_argument("--format", default="mp3", help="audio: mp3, wav, opus, aac, flac, pcm")

    sub.add_parser("rotate-key", help="re-encrypt stored keys with the newest secret")
    add_sessions_parser(sub)
    sub.add_parser("hash-password", help="print a [passwords] hash of a password read from stdin")
    export = sub.add_parser("export", help="configuration as JSON, never keys")
    export.add_argument("--out", type=Path)
    imp = sub.add_parser("import", help="import a configuration export")
    imp.add_argument("file", type=Path)
    imp.add_argument("--yes", action="store_true", help="apply (default: preview only)")
    imp.add_argument(
        "--allow-removals",
        action="store_true",
        help="also apply removals of model choices or overrides (null in the file)",
    )
    add_audit_parser(sub)
    cli_usage.add_parsers(sub)
    return parser


def _caps() -> list[str]:
    return [c.value for c in ALL_CAPABILITIES]


def _connection_parsers(psub: Any) -> None:
    """``providers add`` and ``providers remove`` (added connections only)."""
    add = psub.add_parser("add", help="add an OpenAI-compatible connection")
    add.add_argument("slug", help="2-32 of a-z, 0-9 and '-'; unique")
    add.add_argument("--kind", required=True, choices=list(CONNECTION_KINDS))
    add.add_argument("--base-url", required=True, help="e.g. http://localhost:11434/v1")
    add.add_argument("--name", help="display name (default: the slug)")
    add.add_argument("--priority", type=int, help="lower is tried first")
    add.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="ID[:CAPS]",
        help="declare a model of a server that does not list its models (repeatable; "
        "CAPS: comma-separated, default by rule from the id)",
    )
    remove = psub.add_parser("remove", help="remove an added connection")
    remove.add_argument("slug")


def _override_parser(models: argparse.ArgumentParser) -> None:
    """``models override SLUG MODEL_ID --capabilities a,b | --clear``."""
    msub = models.add_subparsers(dest="models_action")
    override = msub.add_parser("override", help="force (or clear) a model's capabilities")
    override.add_argument("slug")
    override.add_argument("model_id")
    how = override.add_mutually_exclusive_group(required=True)
    how.add_argument("--capabilities", help=f"comma-separated: {','.join(_caps())}")
    how.add_argument("--clear", action="store_true", help="back to the provider's own")
    declare = msub.add_parser(
        "declare", help="declare a model of a server that does not list its models"
    )
    declare.add_argument("slug")
    declare.add_argument("model_id")
    what = declare.add_mutually_exclusive_group()
    what.add_argument("--capabilities", help="comma-separated (default: by rule from the id)")
    what.add_argument("--remove", action="store_true", help="undeclare it")


# ---------------------------------------------------------------- commands
def cmd_providers(desk: ModelDesk, args: argparse.Namespace, out: TextIO) -> int:
    if args.action == "list":
        views = desk.providers()
        found = {} if args.no_account else cli_account.accounts(desk, views)
        rows = [
            {**_provider_dict(v), "account": cli_account.shown(found.get(v.slug), args.json)}
            for v in views
        ]
        if args.json:
            json.dump(rows, out, indent=2)
            out.write("\n")
        else:
            columns = ["slug", "display_name", "active", "priority", "key", "base_url", "account"]
            _table(out, rows, columns)
        for error in desk.registry.errors:
            print(
                clean_text(f"plug-in failed to load: {error.source}: {error.error}"),
                file=sys.stderr,
            )
        return 0
    if args.action in CONNECTION_ACTIONS:
        return CONNECTION_ACTIONS[args.action](desk, args, out)
    if args.action == "set-key":
        key = sys.stdin.readline().strip()
        if not key:
            raise ValidationError("No key on stdin.")
        check = desk.admin.save_shared_key(
            CLI, args.slug, key, test=not args.no_test, actor=cli_actor(args)
        )
        view = next(v for v in desk.providers() if v.slug == args.slug)
        print(f"Saved the {view.display_name} key {view.masked_key} ({check}).", file=out)
        return 0
    row = desk.admin.set_provider_active(
        CLI, args.slug, args.action == "enable", actor=cli_actor(args)
    )
    print(f"{row.display_name} {args.action}d.", file=out)
    return 0


def cmd_add_connection(desk: ModelDesk, args: argparse.Namespace, out: TextIO) -> int:
    row = desk.admin.add_connection(
        CLI,
        args.slug,
        args.base_url,
        display_name=args.name,
        kind=args.kind,
        priority=args.priority,
        actor=cli_actor(args),
        declared_models=parse_declared(args.model),
    )
    base_url = row.provider_config().base_url
    print(f"Added {clean_text(row.display_name)} ({row.slug}) at {base_url}.", file=out)
    return 0


def cmd_remove_connection(desk: ModelDesk, args: argparse.Namespace, out: TextIO) -> int:
    row = desk.admin.remove_connection(CLI, args.slug, actor=cli_actor(args))
    print(f"Removed {clean_text(row.display_name)} ({row.slug}).", file=out)
    return 0


CONNECTION_ACTIONS = {"add": cmd_add_connection, "remove": cmd_remove_connection}


def _provider_dict(view: ProviderView) -> dict[str, Any]:
    return {
        "slug": view.slug,
        "display_name": view.display_name,
        "kind": view.config.kind,
        "active": view.row.is_active,
        "priority": view.config.priority,
        "key": view.masked_key or view.key_status,
        "base_url": view.base_url,
        "selected_models": view.config.to_stored()["selected_models"],
        "allow_personal_keys": view.row.allow_personal_keys,
        "allow_shared_for_normal_admins": view.row.allow_shared_for_normal_admins,
    }


def cmd_models(desk: ModelDesk, args: argparse.Namespace, out: TextIO) -> int:
    if args.models_action == "override":
        return cmd_override(desk, args, out)
    if args.models_action == "declare":
        return cmd_declare(desk, args, out)
    if args.capability is None:
        raise ValidationError("models needs --capability (one of " + ", ".join(_caps()) + ").")
    slugs = [args.provider] if args.provider else None
    if args.refresh:
        for slug in slugs or [v.slug for v in desk.providers() if v.row.is_active]:
            desk.selection.refresh(slug, CLI)
    entries = desk.selection.entries(CLI, slugs=slugs)
    if args.json:
        json.dump(
            {slug: _entry_dict(e, args.capability) for slug, e in entries.items()}, out, indent=2
        )
        out.write("\n")
    else:
        for entry in entries.values():
            models = entry.models_for(args.capability)
            print(
                f"# {entry.display_name}: {len(models)} {args.capability} models "
                f"[{entry.status}]"
                + (f" server: {flavour_name(entry.server_flavour)}" if entry.server_flavour else "")
                + (f" - {clean_text(entry.error)}" if entry.error else ""),
                file=out,
            )
            _table(out, [_model_row(m) for m in models], ["id", "context", "prompt/M", "source"])
    return 1 if entries and all(e.status == "error" for e in entries.values()) else 0


def _entry_dict(entry: CatalogEntry, capability: str) -> dict[str, Any]:
    models = entry.models_for(capability)
    return {
        "count": len(models),
        "stale": entry.status == "stale",
        "status": entry.status,
        "error": entry.error,
        "server_flavour": entry.server_flavour,
        "models": [
            {
                "id": m.id,
                "name": m.name,
                "context_length": m.context_length,
                "pricing": {
                    "prompt": m.pricing.prompt,
                    "completion": m.pricing.completion,
                    "image": m.pricing.image,
                    "request": m.pricing.request,
                },
                "capabilities": sorted(m.capabilities),
                "capability_source": m.capability_source,
            }
            for m in models
        ],
    }


def _model_row(model: ModelInfo) -> dict[str, Any]:
    per_m = model.pricing.per_million("prompt")
    return {
        "id": model.id,
        "context": model.context_length or "",
        "prompt/M": "" if per_m is None else f"${per_m:.2f}",
        "source": model.capability_source,
    }


def cmd_override(desk: ModelDesk, args: argparse.Namespace, out: TextIO) -> int:
    """Force a model's capabilities (it must be in the live catalogue) or clear them."""
    view = _view(desk, args.slug)
    if args.clear:
        desk.selection.set_capability_override(
            CLI, args.slug, args.model_id, None, actor=cli_actor(args)
        )
        print(f"{view.display_name} / {clean_text(args.model_id)}: override cleared", file=out)
        return 0
    capabilities = _capability_list(args.capabilities)
    desk.selection.set_capability_override(
        CLI, args.slug, args.model_id, capabilities, actor=cli_actor(args)
    )
    shown = ", ".join(capabilities)
    print(f"{view.display_name} / {clean_text(args.model_id)}: {shown} (override)", file=out)
    return 0


def cmd_declare(desk: ModelDesk, args: argparse.Namespace, out: TextIO) -> int:
    """Declare (or, with --remove, undeclare) a model of a server that lists none."""
    view = _view(desk, args.slug)
    model = clean_text(args.model_id)
    if args.remove:
        desk.selection.declare_model(CLI, args.slug, args.model_id, None, actor=cli_actor(args))
        print(f"{view.display_name} / {model}: no longer declared", file=out)
        return 0
    capabilities = _capability_list(args.capabilities) if args.capabilities else []
    desk.selection.declare_model(CLI, args.slug, args.model_id, capabilities, actor=cli_actor(args))
    shown = ", ".join(capabilities) or "capabilities by rule"
    print(f"{view.display_name} / {model}: declared ({shown})", file=out)
    return 0


def _capability_list(text: str) -> list[str]:
    """``image,chat`` → ["image", "chat"]; ValidationError for an unknown or empty list."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in _caps()]
    if not names or unknown:
        raise ValidationError(
            f"--capabilities takes a comma-separated list of {', '.join(_caps())}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            + "."
        )
    return list(dict.fromkeys(names))


def _view(desk: ModelDesk, slug: str) -> ProviderView:
    found = next((v for v in desk.providers() if v.slug == slug), None)
    if found is None:
        raise ValidationError(f"Unknown provider {slug!r}.")
    return found


def cmd_select(desk: ModelDesk, args: argparse.Namespace, out: TextIO) -> int:
    desk.selection.select_model(
        CLI, args.slug, args.capability, args.model_id, actor=cli_actor(args)
    )
    print(f"{args.capability}: {args.slug} / {args.model_id}", file=out)
    return 0


def cmd_rotate(desk: ModelDesk, args: argparse.Namespace, out: TextIO) -> int:
    result = desk.admin.rotate_keys(CLI, actor=cli_actor(args))
    print(f"re-encrypted {len(result.rotated)} key(s)", file=out)
    for slug in result.unreadable:
        print(f"{slug}: cannot be decrypted, needs a new key", file=sys.stderr)
    return 0


COMMANDS: dict[str, Callable[[ModelDesk, argparse.Namespace, TextIO], int]] = {
    "providers": cmd_providers,
    "models": cmd_models,
    "select": cmd_select,
    "generate": cmd_generate,
    "rotate-key": cmd_rotate,
    "sessions": cmd_sessions,
    "export": cmd_export,
    "import": cmd_import,
    "audit": cmd_audit,
    **cli_usage.COMMANDS,
}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def cmd_hash_password(out: TextIO) -> int:
    from getpass import getpass

    from core.passwords import hash_password

    tty = sys.stdin.isatty()  # typed at a terminal: not echoed, not in the shell history
    password = getpass("Password: ") if tty else sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("error: no password on stdin", file=sys.stderr)
        return 2
    print(hash_password(password), file=out)
    return 0


def _table(out: TextIO, rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        print("(none)", file=out)
        return
    cells = [
        {c: clean_text(row.get(c, ""), MAX_DESCRIPTION, multiline=False) for c in columns}
        for row in rows
    ]
    widths = {c: max(len(c), *(len(r[c]) for r in cells)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns), file=out)
    for row in cells:
        print("  ".join(row[c].ljust(widths[c]) for c in columns).rstrip(), file=out)


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, desk: ModelDesk | None = None
) -> int:
    args = build_parser().parse_args(argv)
    out = out or sys.stdout
    if args.command == "hash-password":  # needs no database: the hash goes into secrets
        return cmd_hash_password(out)
    owned = desk is None
    try:
        desk = desk or ModelDesk()
        desk.check_storage()
        return COMMANDS[args.command](desk, args, out)
    except ModelDeskError as exc:
        print(f"error: {_one_line(clean_text(exc))}", file=sys.stderr)
        return next(code for cls, code in EXIT_CODES if isinstance(exc, cls))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        log.debug("unexpected failure", exc_info=True)
        print(f"error: unexpected {type(exc).__name__}; please report it.", file=sys.stderr)
        return 1
    finally:
        if owned and desk is not None:
            desk.close()
