"""How one fake provider answers: every field can be changed at run time.

``fake.configure("groq", failure=503, retry_after=2)`` in-process, or
``POST /_control {"provider": "groq", "failure": 503}`` from another process. The
defaults answer like a healthy provider.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class Behaviour:
    """One provider's behaviour. Well-behaved fields first, then the hostile ones.

    - ``models``: size of the catalogue.
    - ``scale_catalogue``: OpenRouter serves the big realistic catalogue of
      :mod:`devtools.fake_providers.big_catalogue` (``models`` of them) instead.
    - ``latency``: seconds before any answer.
    - ``failure``: an HTTP status (``500``, ``503``...), ``"timeout"`` (hang
      ``hang_seconds`` then 504), ``"malformed"`` (invalid JSON) or ``"truncated"``
      (a chat stream cut off half way); ``retry_after`` adds a ``Retry-After`` header.
    - ``required_keys``: bearer tokens accepted (``None``: any); a wrong one gets a 401
      that echoes the key, as careless upstreams do.
    - ``chunk_delay``: seconds between streamed chat chunks.
    - ``stream_tokens``: a streamed chat reply has at least this many content chunks (the
      echo, then ``w<n>`` filler words): with ``chunk_delay`` it sets how long a stream
      lasts, whatever the prompt (0: the echo alone).
    - ``key_info`` / ``credits``: OpenRouter's ``GET /key`` and ``GET /credits`` ``data``
      (None: :mod:`devtools.fake_providers.account`'s defaults); ``account_failure``: an
      HTTP status both answer with instead.
    - ``rate_limits``: Groq sends its ``x-ratelimit-*`` headers on every response.
    - ``report_cost``: a streamed reply's usage carries OpenRouter's ``cost`` (False:
      tokens only, so ModelDesk prices it from the catalogue).
    - ``cost_header``: streamed replies carry LiteLLM's ``x-litellm-response-cost`` header
      with this value (and an ``x-request-id``).

    Hostile and misbehaving upstreams (issue 9):

    - ``hostile_catalogue``: the model list gains one model per hostile string (see
      :mod:`devtools.fake_providers.hostile`): Markdown image beacons, links, code-span
      breakouts, raw HTML, control characters, a 100,000-character string, in the id
      (and OpenRouter's name and description).
    - ``hostile_reply``: chat replies (streamed or not, hence content too) end with
      hostile Markdown after the usual ``Echo from <model> — <prompt>``.
    - ``hostile_errors``: every error message this provider sends (``failure``, 401, 404)
      carries a beacon image, a phishing link, HTML and control characters.
    - ``trickle``: send every response body one byte every `trickle` seconds (headers at
      once), on the routes starting with ``trickle_route`` (``"models"``, ``"v1/models"``,
      ``"chat/completions"``; ``None``: every route).
    - ``endless_stream``: a streamed chat never ends: a small chunk every ``chunk_delay``
      seconds (0.05 if unset) until the client disconnects, or ``stream_cap`` seconds have
      passed (then the connection is closed without a final chunk or ``[DONE]``).
    - ``huge_catalogue_mb``: the model list is a valid JSON list of about that many MB,
      generated while sending (no ``Content-Length``, ends when the connection closes).
    - ``huge_image_mb``: image results of about that many MB, generated while sending:
      OpenAI ``b64_json``, OpenRouter's ``data:`` URL, Hugging Face's raw PNG bytes.
    - ``image_url``: OpenAI and OpenRouter image results carry this URL instead of the
      image, e.g. ``"/etc/passwd"`` or ``f"{fake.url}/image.png"`` (served by the fake).
    - ``omit_done``: a streamed chat ends after its finish_reason (and usage) chunk
      without ``data: [DONE]``.
    - ``echo_key``: chat replies end with the bearer token received, as is and in base64;
      a streamed reply sends every word in two chunks, so the key is split across two; the
      model list gains a model whose id (OpenRouter: name, description) carries the token.
    - ``compression_bomb``: every answer on this provider's routes is a compression bomb
      sent with this ``Content-Encoding`` (``"gzip"``, ``"gzip, gzip"``, ``"br"``...) and
      the route's content type, inflating to ``bomb_mb`` MB of zeros (see
      :mod:`devtools.fake_providers.bombs`; ``/bomb.png?encoding=gzip,gzip&mb=1024`` serves
      one as an image for ``image_url``).
    - ``retired_models``: model ids a chat request is refused for with Groq's 404 ("The
      model `x` does not exist or you do not have access to it."), as for a retired model.
    """

    models: int = 20
    scale_catalogue: bool = False
    latency: float = 0.0
    failure: int | str | None = None
    retry_after: float | None = None
    required_keys: set[str] | None = None
    chunk_delay: float = 0.0
    stream_tokens: int = 0
    key_info: dict[str, Any] | None = None
    credits: dict[str, Any] | None = None
    account_failure: int | None = None
    rate_limits: bool = True
    report_cost: bool = True
    cost_header: float | None = None
    hang_seconds: float = 30.0
    hostile_catalogue: bool = False
    hostile_reply: bool = False
    hostile_errors: bool = False
    trickle: float = 0.0
    trickle_route: str | None = None
    endless_stream: bool = False
    stream_cap: float = 120.0
    huge_catalogue_mb: float = 0.0
    huge_image_mb: float = 0.0
    image_url: str | None = None
    omit_done: bool = False
    echo_key: bool = False
    compression_bomb: str | None = None
    bomb_mb: int = 1024
    retired_models: list[str] = field(default_factory=list)

    def change(self, **changes: Any) -> None:
        """Set fields by name; an unknown name raises ValueError and changes nothing."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown behaviour {unknown[0]!r}")
        for name, value in changes.items():
            if name == "required_keys" and value is not None:
                value = set(value)
            setattr(self, name, value)

    def trickles(self, route: str) -> float:
        """Seconds between body bytes for `route` (0: send at once)."""
        if self.trickle and (self.trickle_route is None or route.startswith(self.trickle_route)):
            return self.trickle
        return 0.0

    def public(self) -> dict[str, Any]:
        """The fields as JSON-ready values."""
        data = asdict(self)
        data["required_keys"] = sorted(self.required_keys) if self.required_keys else None
        return data
