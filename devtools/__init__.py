"""Development tools: not part of the dashboard, used by tests, demos and benchmarks.

- ``fake_providers``: a real-HTTP fake of every provider on loopback, hostile modes included.
- ``app_server``: a real ``streamlit run`` of the dashboard on a free loopback port.
- ``chromium``: where Debian's Chromium is and how it is launched.
- ``page_scripts``: init scripts that watch a Streamlit page's websocket.
- ``seed``: shared keys and a chat model saved into an app's database before it starts.
"""
