"""The Providers page's connection controls through AppTest, against the fake server.

"Add an OpenAI-compatible server" tests a key live before saving and shows refusals
as messages; an added connection's "Remove connection" asks for confirmation first.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.auth import LOCAL_USER
from core.requester import Requester
from devtools.fake_providers import FakeProviderServer
from tests.ui.test_pages import desk, page, texts
from ui.connections import slug_for

pytestmark = pytest.mark.usefixtures("fresh_service")
KEY = "sk-test-PAGE-CONNECTION-3141"


def fill_add_form(app: AppTest, name: str, base_url: str, key: str = "", slug: str = "") -> None:
    app.text_input(key="connection_name").set_value(name)
    app.text_input(key="connection_base_url").set_value(base_url)
    app.text_input(key="connection_slug").set_value(slug)
    app.text_input(key="connection_key").set_value(key)
    button(app, "Add server").click().run()


def button(app: AppTest, label: str):
    return next(b for b in app.button if b.label == label)


def labels(app: AppTest) -> list[str]:
    return [b.label for b in app.button]


def openai_url(server: FakeProviderServer) -> str:
    return server.base_urls()["OPENAI_BASE_URL"]


def test_the_key_is_tested_before_the_server_is_added(fake: FakeProviderServer) -> None:
    fake.configure("openai", required_keys={KEY})
    app = page("providers").run()
    wrong = "sk-test-WRONG-PAGE-KEY-0001"
    fill_add_form(app, "Lab Server", openai_url(fake), key=wrong)
    assert not app.exception
    shown = texts(app)
    assert "Lab Server" in shown and "401" in shown and wrong not in shown
    assert desk().store.get("lab-server") is None

    fill_add_form(app, "Lab Server", openai_url(fake), key=KEY)
    assert not app.exception, app.exception
    row = desk().store.get("lab-server")
    assert row is not None and row.provider_config().base_url == openai_url(fake)
    view = next(v for v in desk().providers() if v.slug == "lab-server")
    assert view.masked_key == "sk-…3141" and view.is_connection
    assert any(s.value.startswith("Lab Server") for s in app.subheader)


def test_a_bad_base_url_or_slug_is_a_message_and_nothing_is_added(fake) -> None:
    app = page("providers").run()
    fill_add_form(app, "Metadata", "http://169.254.169.254/v1")
    assert not app.exception
    assert any("link-local" in e.value for e in app.error)
    fill_add_form(app, "Taken", openai_url(fake), slug="groq")
    assert any("is a built-in provider" in e.value for e in app.error)
    assert {v.slug for v in desk().providers()} == {"openrouter", "groq", "huggingface", "openai"}


def test_no_key_is_needed_for_a_local_server(fake) -> None:
    app = page("providers").run()
    fill_add_form(app, "Local Box", openai_url(fake), slug="box")
    assert not app.exception and not app.error
    assert desk().store.get("box").display_name == "Local Box"


def test_removing_a_connection_asks_for_confirmation(fake) -> None:
    desk().admin.add_connection(Requester(LOCAL_USER), "lab", openai_url(fake), display_name="Lab")
    app = page("providers").run()
    assert "Remove connection" in labels(app)
    assert not any(b.key == "remove_openrouter" for b in app.button)  # built-ins: never

    app.button(key="remove_lab").click().run()
    assert any("Remove **Lab**?" in w.value for w in app.warning)
    app.button(key="remove_no_lab").click().run()
    assert desk().store.get("lab") is not None
    assert not any("Remove **Lab**?" in w.value for w in app.warning)

    app.button(key="remove_lab").click().run()
    app.button(key="remove_yes_lab").click().run()
    assert not app.exception
    assert desk().store.get("lab") is None
    assert not any(s.value.startswith("Lab") for s in app.subheader)


def test_slugs_are_made_from_names() -> None:
    assert slug_for("Local Ollama (GPU #2)") == "local-ollama-gpu-2"
    assert slug_for("x" * 40) == "x" * 32
