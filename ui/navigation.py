"""Which pages a role sees: a pure function, no Streamlit (tested alone)."""

from __future__ import annotations

from dataclasses import dataclass

from core.auth import Role


@dataclass(frozen=True, slots=True)
class PageSpec:
    module: str  # pages.<module> holds render()
    title: str
    icon: str
    url_path: str
    section: str
    roles: frozenset[Role]


_EVERYONE = frozenset(Role)
PAGES: tuple[PageSpec, ...] = (
    PageSpec("providers", "Providers", ":material/hub:", "providers", "Setup", _EVERYONE),
    PageSpec(
        "model_selection",
        "Model Selection",
        ":material/tune:",
        "model-selection",
        "Setup",
        _EVERYONE,
    ),
    PageSpec("chat", "Chat", ":material/chat:", "chat", "Playground", _EVERYONE),
    PageSpec("content", "Content", ":material/edit_note:", "content", "Playground", _EVERYONE),
    PageSpec("image", "Image", ":material/image:", "image", "Playground", _EVERYONE),
    PageSpec("audio", "Audio", ":material/graphic_eq:", "audio", "Playground", _EVERYONE),
    PageSpec(
        "activity",
        "Activity",
        ":material/history:",
        "activity",
        "Admin",
        frozenset({Role.SUPER_ADMIN}),
    ),
    PageSpec("usage", "Usage", ":material/query_stats:", "usage-ledger", "Records", _EVERYONE),
)


def pages_for(role: Role | None) -> dict[str, list[PageSpec]]:
    """Sections → pages the role may open; no role, no pages."""
    sections: dict[str, list[PageSpec]] = {}
    if role is None:
        return sections
    for page in PAGES:
        if role in page.roles:
            sections.setdefault(page.section, []).append(page)
    return sections
