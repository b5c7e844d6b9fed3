"""Provider modules; `registry.discover()` finds them all."""
