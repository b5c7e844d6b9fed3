"""Prepare an app's database before ``streamlit run`` starts on it: shared keys and a
shared chat model, saved through ModelDesk's own service as a super admin would."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.requester import Requester


@contextmanager
def app_environment(env: dict[str, str], data_dir: Path) -> Iterator[None]:
    """`env` and ``MODELDESK_DATA_DIR`` set in ``os.environ`` for the block, then restored."""
    wanted = {**env, "MODELDESK_DATA_DIR": str(data_dir)}
    saved = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def seed_shared_chat(
    env: dict[str, str], data_dir: Path, keys: dict[str, str], chat_provider: str
) -> str:
    """Save a shared key per provider slug in `keys`, and `chat_provider`'s first chat model
    as the shared chat model, in the database the app at `data_dir` will use; its id."""
    from core.auth import LOCAL_USER
    from core.config import load_settings
    from core.service import ModelDesk

    with app_environment(env, data_dir):
        desk = ModelDesk(load_settings({}))
        try:
            for slug, key in keys.items():
                desk.admin.set_shared_key(Requester(LOCAL_USER), slug, key)
            entry = desk.selection.entry(chat_provider, Requester(LOCAL_USER))
            model = str(entry.models_for("chat")[0].id)
            desk.selection.select_model(Requester(LOCAL_USER), chat_provider, "chat", model)
        finally:
            desk.close()
    return model
