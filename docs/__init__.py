"""The documentation site: its sources and tools (``python -m docs.render``); not installed."""
