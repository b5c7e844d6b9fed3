"""Load benchmark: many Streamlit sessions streaming chat replies from ONE server process.

No browser: each session is a websocket speaking Streamlit's own protocol (``protocol``),
as the frontend does: it opens the Chat page, finds the chat input's widget id in the
deltas, submits a message as that widget's value, and stamps every reply frame. All
sessions of a step send at once; the fake upstream (its own process) streams every reply
as a chunk every 50 ms for 5 s and records when it sent each first chunk.

Per session count it reports: added first-token latency (first reply frame at the client
minus the fake's first chunk, same machine clock), the largest gap between a session's
reply frames beyond upstream's interval, the server's CPU seconds and memory per session
(from /proc), the generator's own CPU (it must stay far below one core), and the knee: the
smallest session count whose p95 gap passes 1 s.

Run: ``python -m benchmarks.load --sessions 50,100,200``. Modules: ``protocol`` (the
websocket client), ``scenario`` (one step), ``procstat`` (/proc), ``report`` (the table).
"""
