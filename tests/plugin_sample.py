"""A third-party-style provider plug-in, loaded through the entry-point group in tests."""

from __future__ import annotations

from core.providers.base import BaseProvider
from core.types import Capability, ModelInfo


class SampleProvider(BaseProvider):
    slug = "sample"
    display_name = "Sample plug-in"
    default_base_url = "http://sample.invalid/v1"
    base_url_env = "SAMPLE_BASE_URL"
    capabilities = frozenset({Capability.CHAT})
    key_required_for_listing = False
    key_patterns = (r"smpl_live_[A-Za-z0-9]{12,}",)  # a key shape no built-in provider knows

    def list_models(self, api_key: str | None) -> list[ModelInfo]:
        return []


NOT_A_PROVIDER = 42
