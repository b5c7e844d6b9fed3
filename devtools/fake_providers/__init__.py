"""A real-HTTP fake of every provider on loopback (tests, ``make demo``, benchmarks)."""

from devtools.fake_providers.server import FakeProviderProcess, FakeProviderServer

__all__ = ["FakeProviderProcess", "FakeProviderServer"]
