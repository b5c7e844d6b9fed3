"""Helpers shared by the ledger and budget tests (their fixtures: tests/ledger_fixtures.py)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from core.auth import Role, User
from core.config import load_settings
from core.ledger import UsageRecord
from core.requester import Requester
from core.service import ChatRequest, ModelDesk
from core.types import ChatMessage, ChatOptions

SUPER = Requester(User("boss@example.com", Role.SUPER_ADMIN), session_label="s-3f9a")
OR_KEY = "sk-or-test-LEDGER-KEY-SENTINEL-7731"
GROQ_KEY = "gsk_test_LEDGER_KEY_SENTINEL_8842"
PROMPT = "zebra-quartz-PROMPT-SENTINEL-5519"
OR_MODEL = "vendor1/text-model-1"  # prompt $0.0000002, completion $0.0000008 per token


def new_desk() -> ModelDesk:
    return ModelDesk(load_settings({}))


def chat(desk: ModelDesk, who: Requester = SUPER, **kwargs) -> str:
    request = ChatRequest([ChatMessage("user", PROMPT)], ChatOptions(max_tokens=50))
    stream = desk.generation.generate("chat", request, who, **kwargs)
    return "".join(stream)


def ledger(desk: ModelDesk) -> list[UsageRecord]:
    assert desk.generation.meter.writer.flush(10)
    with Session(desk.engine) as session:
        return list(session.exec(select(UsageRecord).order_by(col(UsageRecord.id))).all())


def reply_cost(reply: str) -> float:
    """What the fake reports: $0.000001 per token, 12 prompt tokens."""
    return round(0.000001 * (12 + len(reply.split())), 8)
