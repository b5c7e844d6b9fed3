"""Who is asking: the signed-in user plus their session-only personal settings."""

from __future__ import annotations

from dataclasses import dataclass

from core.auth import PersonalSettings, User


@dataclass(frozen=True, slots=True)
class Requester:
    """The one value every resolution, catalogue and selection call takes.

    ``personal`` is None where there is no browser session (the CLI, scripts):
    then only shared keys and shared model choices apply.
    """

    user: User
    personal: PersonalSettings | None = None
    session_label: str | None = None  # a short label of the sign-in session (usage ledger)

    @property
    def is_super_admin(self) -> bool:
        return self.user.is_super_admin

    def personal_key(self, slug: str) -> str | None:
        return self.personal.key_for(slug) if self.personal else None

    def personal_model(self, slug: str, capability: str) -> str | None:
        return self.personal.model_for(slug, capability) if self.personal else None

    def personal_models(self, slug: str) -> dict[str, str]:
        return dict(self.personal.selected_models.get(slug, {})) if self.personal else {}
