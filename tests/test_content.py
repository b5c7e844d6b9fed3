"""Content templates become a system + user message pair."""

from __future__ import annotations

import pytest

from core.content import LANGUAGES, TEMPLATES, ContentRequest, build_messages, is_rtl


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_every_template_builds_two_messages(template: str) -> None:
    system, user = build_messages(ContentRequest(template, "Solar-powered kettles"))
    assert system.role == "system" and user.role == "user"
    assert "Solar-powered kettles" in user.content
    assert TEMPLATES[template].instruction in system.content


def test_tone_length_and_language_reach_the_prompt() -> None:
    system, _ = build_messages(
        ContentRequest(
            "email",
            "Welcome a new hire",
            tone="Friendly",
            length="Short",
            language="Persian (فارسی)",
            extra="Mention the onboarding buddy",
        )
    )
    assert "friendly" in system.content and "about 100 words" in system.content
    assert "Write in Persian." in system.content


def test_persian_and_arabic_are_right_to_left() -> None:
    assert is_rtl("Persian (فارسی)") and is_rtl("Arabic (العربية)")
    assert not is_rtl("English") and not is_rtl("Klingon")
    assert sum(LANGUAGES.values()) == 2


@pytest.mark.parametrize(("template", "subject"), [("nope", "x"), ("summary", "   ")])
def test_bad_requests_are_refused(template: str, subject: str) -> None:
    with pytest.raises(ValueError):
        build_messages(ContentRequest(template, subject))
