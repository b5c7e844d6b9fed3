"""The Providers page through AppTest: badges that match the answer on screen, latency
sparklines, progressive catalogues with one hung provider, the Community Cloud key
warning and the count tiles' layout. Fixtures (fake providers, a fresh service per test)
come from tests/ui/conftest.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from streamlit.testing.v1 import AppTest

from core.auth import LOCAL_USER
from core.catalog import CatalogEntry
from core.requester import Requester
from tests.ui.test_pages import ADMIN, desk, page, texts
from ui.progressive import drain_as_ready
from ui.sparkline import LatencyHistory, is_notable

pytestmark = pytest.mark.usefixtures("fresh_service")
CLOUD_WARNING = "would become unreadable after a reboot"


def _plain(text: str) -> str:
    return text.replace("\\", "")


def heading(app: AppTest, name: str) -> str:
    """The card heading (name and health badge) of provider `name`."""
    return next(s.value for s in app.subheader if s.value.startswith(name + " "))


def alerts(app: AppTest) -> str:
    return _plain(" ".join(str(a.value) for a in (*app.error, *app.warning)))


def refresh(app: AppTest, slug: str) -> AppTest:
    return app.button(key=f"refresh_{slug}").click().run()


def latency_charts(app: AppTest) -> list[list[float]]:
    return [list(m.proto.chart_data) for m in app.metric if m.label == "Catalogue latency"]


# ---------------------------------------------------------------- the badge tells the truth
def test_after_a_refresh_to_a_failing_provider_the_badge_matches_the_message(fake) -> None:
    app = page("providers").run()
    assert "ok" in heading(app, "OpenAI-compatible")
    fake.configure("openai", failure=500)
    refresh(app, "openai")
    assert not app.exception, app.exception
    shown = heading(app, "OpenAI-compatible")
    assert "stale" in shown and "[ok]" not in shown  # on the same run as the 500 message
    assert "500" in alerts(app) and "showing the last good list from" in alerts(app).lower()
    app.run()  # and it stays so on the next run, without claiming a fresh fetch
    assert "stale" in heading(app, "OpenAI-compatible")
    [caption] = [c.value for c in app.caption if "/openai/v1" in c.value and "groq" not in c.value]
    assert "fetched" not in caption  # the age of a stale list is its "from HH:MM"


def test_a_refresh_that_recovers_turns_the_badge_ok_at_once(fake) -> None:
    fake.configure("openai", failure=500)
    app = page("providers").run()
    assert "error" in heading(app, "OpenAI-compatible")
    fake.configure("openai", failure=None)
    refresh(app, "openai")
    assert "[ok]" in heading(app, "OpenAI-compatible")
    assert "500" not in alerts(app)


# ---------------------------------------------------------------- latency sparkline
def test_each_refresh_adds_a_point_to_the_latency_sparkline() -> None:
    app = page("providers").run()
    assert not any(len(points) >= 2 for points in latency_charts(app))  # one fetch: no line
    refresh(app, "openrouter")
    refresh(app, "openrouter")
    assert not app.exception, app.exception
    lines = [points for points in latency_charts(app) if len(points) >= 2]
    assert len(lines) == 1 and len(lines[0]) == 3  # the first load and two refreshes
    app.run()  # a rerun shows the same fetches: nothing is counted twice
    assert sorted(len(p) for p in latency_charts(app) if len(p) >= 2) == [3]


def test_the_latency_history_is_bounded_and_counts_each_fetch_once() -> None:
    history = LatencyHistory(points=3, providers=2)
    for checked in range(1, 6):
        entry = CatalogEntry("a", "A", (), "ok", checked_at=float(checked), latency_ms=checked)
        history.record(entry)
        history.record(entry)  # the same fetch seen again (a rerun)
    assert history.latencies("a") == [3.0, 4.0, 5.0]
    for slug in ("b", "c"):
        history.record(CatalogEntry(slug, slug, (), "ok", checked_at=1.0, latency_ms=1.0))
    assert history.latencies("a") == []  # the least recently fetched provider went first
    history.record(CatalogEntry("b", "B", (), "error", checked_at=2.0))  # no latency: skipped
    assert history.latencies("b") == [1.0]


def test_a_failed_fetch_is_not_charted_as_a_latency() -> None:
    """A timed-out fetch took 15 s to fail: that is not the catalogue's latency."""
    history = LatencyHistory()
    history.record(CatalogEntry("a", "A", (), "ok", checked_at=1.0, latency_ms=180.0))
    timed_out = CatalogEntry("a", "A", (), "stale", "did not answer", checked_at=2.0)
    history.record(replace(timed_out, latency_ms=15_021.0))
    history.record(CatalogEntry("a", "A", (), "error", "refused", checked_at=3.0, latency_ms=3.0))
    assert history.latencies("a") == [180.0]


@pytest.mark.parametrize(
    ("change", "before", "notable"),
    [
        (2.0, 180.0, False),
        (-15.0, 180.0, False),
        (40.0, 180.0, True),
        (-60.0, 180.0, True),
        (25.0, 2_000.0, False),
        (500.0, 2_000.0, True),
    ],
)
def test_only_a_notable_latency_change_gets_an_arrow(change, before, notable) -> None:
    assert is_notable(change, before) is notable


# ---------------------------------------------------------------- progressive catalogues
def test_a_hung_provider_is_marked_and_the_others_are_filled(hang) -> None:
    hang("openai")
    app = page("providers").run()
    assert not app.exception, app.exception
    for name in ("OpenRouter", "Hugging Face"):
        assert "[ok]" in heading(app, name)
    assert "error" in heading(app, "OpenAI-compatible")
    assert "OpenAI-compatible: did not answer within 1 s" in alerts(app)
    assert not any("loading…" in s.value for s in app.subheader)


def test_a_hung_provider_with_a_last_good_list_shows_it_as_timed_out(hang) -> None:
    page("providers").run()  # a good list is fetched
    desk().ctx.catalog_cache.invalidate("openai")  # cold again, the last good list kept
    hang("openai")
    app = page("providers").run()
    assert not app.exception, app.exception
    assert "stale" in heading(app, "OpenAI-compatible")
    assert "Timed out — showing the last good list from" in alerts(app)
    assert "[ok]" in heading(app, "OpenRouter")


def test_arrivals_come_as_ready_with_ticks_while_waiting() -> None:
    """The fast entry reaches the page while the slow one is still blocked, and the page
    gets a tick meanwhile (to update its "loading… N s")."""
    slow = threading.Event()
    fast = CatalogEntry("fast", "Fast", (), "ok")
    arrived: list[tuple[CatalogEntry, bool]] = []  # each entry, and whether slow was released

    def entries() -> Iterator[CatalogEntry]:
        yield fast
        slow.wait(timeout=30)
        yield CatalogEntry("slow", "Slow", (), "ok")

    def tick(waited: float) -> None:  # a tick while the slow one is blocked releases it
        slow.set()

    drain_as_ready(entries(), lambda e: arrived.append((e, slow.is_set())), tick, tick=0.01)
    assert arrived[0] == (fast, False)
    assert [(e.slug, released) for e, released in arrived[1:]] == [("slow", True)]


def test_an_error_while_listing_reaches_the_page() -> None:
    def entries() -> Iterator[CatalogEntry]:
        raise RuntimeError("storage went away")
        yield  # a generator

    try:
        drain_as_ready(entries(), lambda entry: None, tick=0.01)
    except RuntimeError as exc:
        assert "storage went away" in str(exc)
    else:
        raise AssertionError("the error was swallowed")


# ---------------------------------------------------------------- Community Cloud key warning
def test_on_community_cloud_without_a_secret_key_saving_a_key_is_warned(monkeypatch) -> None:
    monkeypatch.delenv("MODELDESK_SECRET_KEY")
    monkeypatch.setenv("HOSTNAME", "streamlit")
    app = page("providers").run()
    assert not app.exception, app.exception
    assert CLOUD_WARNING in alerts(app)
    assert CLOUD_WARNING not in alerts(page("providers", ADMIN).run())  # admins save no key


def test_with_a_secret_key_or_locally_there_is_no_warning(monkeypatch) -> None:
    monkeypatch.setenv("HOSTNAME", "streamlit")
    assert CLOUD_WARNING not in alerts(page("providers").run())  # the key is set
    monkeypatch.delenv("MODELDESK_SECRET_KEY")
    monkeypatch.delenv("HOSTNAME")
    assert CLOUD_WARNING not in alerts(page("providers").run())  # local SQLite in data/


SQLITE_WARNING = "wiped at every reboot"


def test_sqlite_on_community_cloud_is_warned_even_with_a_secret_key(monkeypatch) -> None:
    monkeypatch.setenv("HOSTNAME", "streamlit")  # MODELDESK_SECRET_KEY stays set
    app = page("providers").run()
    assert not app.exception, app.exception
    assert SQLITE_WARNING in alerts(app) and CLOUD_WARNING not in alerts(app)
    assert SQLITE_WARNING in alerts(page("providers", ADMIN).run())
    monkeypatch.delenv("HOSTNAME")
    assert SQLITE_WARNING not in alerts(page("providers").run())  # SQLite on this machine


# ---------------------------------------------------------------- phone layout
def _block(app: AppTest, key: str):
    """The block whose element id carries `key` (a keyed container)."""

    def walk(node):
        for child in getattr(node, "children", {}).values():
            if key in getattr(getattr(child, "proto", None), "id", ""):
                return child
            found = walk(child)
            if found is not None:
                return found
        return None

    return walk(app.main)


def test_count_tiles_wrap_instead_of_stacking_full_width() -> None:
    """Four narrow tiles in a wrapping row: two per row on a 390 px phone, where st.columns
    would stack them one per row (e2e measures the page height)."""
    app = page("providers").run()
    counts = _block(app, "counts_openrouter")
    assert counts is not None
    flex = counts.proto.flex_container
    assert flex.direction == flex.HORIZONTAL and flex.wrap
    tiles = [e for e in counts.children.values() if type(e).__name__ == "Metric"]
    assert [t.label for t in tiles] == ["Chat", "Content", "Image", "Audio"]


def test_a_switched_off_provider_says_so_and_is_not_fetched(fake) -> None:
    service = desk()
    version = service.store.get("openai").version
    service.admin.update_provider(Requester(LOCAL_USER), "openai", version, is_active=False)
    app = page("providers").run()
    assert "off" in heading(app, "OpenAI-compatible")
    assert any("Switched off" in c.value for c in app.caption)
    assert fake.count("openai", "models") == 0


# ---------------------------------------------------------------- the provider's own account
OPENROUTER_KEY = "sk-or-v1-ACCOUNT-SENTINEL-31337"
GROQ_KEY = "gsk_ACCOUNT_SENTINEL_4242"
LABEL = "sk-or-v1-fak...e42"  # the fake's /key label: a fragment of a key, never shown


def _account_line(app: AppTest, marker: str) -> str:
    return next(_plain(c.value) for c in app.caption if marker in _plain(c.value))


def _page_text(app: AppTest) -> str:
    return texts(app) + "\n".join(str(e.proto) for e in app.caption)


def test_the_cards_show_what_each_provider_tells_the_key(fake) -> None:
    service = desk()
    service.admin.set_shared_key(Requester(LOCAL_USER), "openrouter", OPENROUTER_KEY)
    service.admin.set_shared_key(Requester(LOCAL_USER), "groq", GROQ_KEY)
    app = page("providers").run()
    assert not app.exception, app.exception
    line = _account_line(app, "Key:")
    assert "Key: $3.20 used of $10.00 monthly limit ($6.80 left)" in line
    assert "credits $20.00, used $12.40 ($7.60 left)" in line
    groq = _account_line(app, "requests left")
    assert "requests left 14,3" in groq and "/14,400, resets in 3 min" in groq
    assert "tokens left 5,990/6,000, resets in 8 s" in groq
    assert fake.count("openrouter", "key") == 2  # set_shared_key's test, then the card's
    assert fake.count("openrouter", "credits") == 1
    app.run()  # a warm rerun draws the same line from the cache, with no new call
    assert "Key: $3.20 used" in _account_line(app, "Key:")
    assert fake.count("openrouter", "credits") == 1
    shown = _page_text(app)
    for secret in (OPENROUTER_KEY, GROQ_KEY, LABEL, "fak...e42"):
        assert secret not in shown


def test_where_the_provider_says_nothing_there_is_no_account_line(fake) -> None:
    fake.configure("groq", rate_limits=False)
    desk().admin.set_shared_key(Requester(LOCAL_USER), "groq", GROQ_KEY)
    app = page("providers").run()
    assert not app.exception, app.exception
    assert "[ok]" in heading(app, "Groq")
    assert not any("account_balance_wallet" in c.value for c in app.caption)


def test_a_failing_account_call_leaves_the_card_whole(fake) -> None:
    desk().admin.set_shared_key(Requester(LOCAL_USER), "openrouter", OPENROUTER_KEY)
    fake.configure("openrouter", account_failure=500)  # /key and /credits fail, /models not
    app = page("providers").run()
    assert not app.exception, app.exception
    assert "[ok]" in heading(app, "OpenRouter") and "500" not in alerts(app)
    assert not any("Key:" in _plain(c.value) for c in app.caption)
    note = _account_line(app, "OpenRouter: ")
    assert "500" in note and OPENROUTER_KEY not in _page_text(app)
