"""A real-HTTP fake of every provider on loopback (tests, ``make demo``, benchmarks).

It answers with the providers' documented response shapes (OpenRouter's ``/models`` with
``architecture``/``pricing``, Groq's ``context_window``, the Hugging Face router and Hub
lists, OpenAI's lists, images and speech), streams chat as server-sent events (comment
lines, a usage chunk, ``[DONE]``), and can be told to misbehave per provider: latency, an
HTTP status with ``Retry-After``, a hang, malformed JSON, a truncated stream, required
keys, and hostile upstreams (see :class:`Behaviour`).

Modules: ``catalogues`` (model lists), ``media`` (PNG/WAV), ``hostile`` (hostile text),
``replies`` (chat and image bodies), ``behaviour`` (what can be configured), ``routes``
(per provider), ``handler`` (HTTP), ``server`` (:class:`FakeProviderServer`), ``process``
(:class:`FakeProviderProcess` and the command line).
"""

from devtools.fake_providers.behaviour import Behaviour
from devtools.fake_providers.process import FakeProviderProcess
from devtools.fake_providers.server import FakeProviderServer

__all__ = ["Behaviour", "FakeProviderProcess", "FakeProviderServer"]
