"""Content templates: turn a form (template, tone, length, language) into messages."""

from __future__ import annotations

from dataclasses import dataclass

from core.types import ChatMessage


@dataclass(frozen=True, slots=True)
class Template:
    label: str
    subject_label: str
    instruction: str


TEMPLATES: dict[str, Template] = {
    "blog_post": Template(
        "Blog post",
        "Topic",
        "Write a blog post about the topic below, with a title, short sections and a conclusion.",
    ),
    "product_description": Template(
        "Product description",
        "Product and its key features",
        "Write a persuasive product description for the product below, for an online shop.",
    ),
    "email": Template(
        "E-mail",
        "What the e-mail is about, and to whom",
        "Write an e-mail as described below, with a subject line, greeting and sign-off.",
    ),
    "summary": Template(
        "Summary",
        "Text to summarise",
        "Summarise the text below faithfully, keeping the key facts and numbers.",
    ),
    "translation": Template(
        "Translation",
        "Text to translate",
        "Translate the text below. Keep the meaning, names and formatting; output only the "
        "translation.",
    ),
}

TONES = ("Professional", "Friendly", "Persuasive", "Formal", "Casual", "Enthusiastic")
LENGTHS: dict[str, str] = {
    "Short": "about 100 words",
    "Medium": "about 300 words",
    "Long": "about 700 words",
}
# Language name -> is it written right to left.
LANGUAGES: dict[str, bool] = {
    "English": False,
    "Persian (فارسی)": True,
    "Arabic (العربية)": True,
    "French": False,
    "German": False,
    "Spanish": False,
    "Turkish": False,
    "Chinese": False,
}


def is_rtl(language: str) -> bool:
    return LANGUAGES.get(language, False)


@dataclass(frozen=True, slots=True)
class ContentRequest:
    template: str
    subject: str
    tone: str = "Professional"
    length: str = "Medium"
    language: str = "English"
    extra: str = ""


def build_messages(request: ContentRequest) -> list[ChatMessage]:
    """Build the system and user messages for a one-shot writing request."""
    template = TEMPLATES.get(request.template)
    if template is None:
        raise ValueError(f"unknown template {request.template!r}; choose one of {list(TEMPLATES)}")
    if not request.subject.strip():
        raise ValueError(f"{template.subject_label} is empty.")
    length = LENGTHS.get(request.length, request.length)
    language = request.language.split(" (")[0]
    system = (
        f"You are a skilled writer. {template.instruction} Tone: {request.tone.lower()}. "
        f"Length: {length}. Write in {language}. Use Markdown."
    )
    user = f"{template.subject_label}:\n{request.subject.strip()}"
    if request.extra.strip():
        user += f"\n\nAdditional instructions:\n{request.extra.strip()}"
    return [ChatMessage("system", system), ChatMessage("user", user)]
