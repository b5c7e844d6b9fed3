"""ModelDesk's engine: providers, live catalogue, config table and unified service.

Nothing in this package imports Streamlit; the CLI (`python -m core`) and the
tests use it directly.
"""

__version__ = "0.1.0"
