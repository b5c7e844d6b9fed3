"""``python -m devtools.fake_providers [--port 8765] [--models openrouter=400,...]``."""

from devtools.fake_providers.process import main

main()
