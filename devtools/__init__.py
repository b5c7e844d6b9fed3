"""Development tools: not part of the dashboard, used by tests, demos and benchmarks."""
