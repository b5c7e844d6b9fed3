"""Dashboard benchmark: warm page reruns, first-token delay, 25 concurrent chat sessions.

1. Warm Model Selection rerun with ~1,500 chat models: the page script's own run time,
   timed inside AppTest's script thread (and AppTest's round trip beside it).
2. First token, in Chromium: from the fake upstream writing the first word (its clock) to
   the frame reaching Chromium's network layer (CDP), the page's websocket handler, the DOM
   and the screen (MutationObserver); same machine clock. Measured with upstream answering
   at once, and after 100 / 400 ms as real models do; core's own share is measured alone.
3. 25 browser contexts chatting at once: time to first word and to the end, the largest
   gap between a reply's frames, how many upstream streams were open together, and the CPU
   each process group used meanwhile.

The fake provider runs in its own process (so it never shares a GIL with the Playwright
driver). Everything is on loopback. Run: ``python -m benchmarks.ui`` (needs Chromium).
Modules: ``browser`` (instrumentation), ``scenarios`` (what is measured), ``report``.
"""
