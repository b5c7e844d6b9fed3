"""The load benchmark's table: one column per session count, percentiles in ms."""

from __future__ import annotations

import math
from collections.abc import Callable

from benchmarks.load.scenario import SessionResult, StepResult, Upstream

KNEE_GAP_S = 1.0  # the p95 gap beyond upstream's interval that marks the knee


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of the values seen (NaN: none seen)."""
    ordered = sorted(v for v in values if not math.isnan(v))
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def _ms(values: list[float], *shares: float) -> str:
    return " / ".join(f"{percentile(values, s) * 1000:.0f}" for s in shares)


def _column(results: list[SessionResult], pick: Callable[[SessionResult], float]) -> list[float]:
    return [pick(r) for r in results]


def knee(steps: list[StepResult]) -> str:
    """The smallest session count whose p95 gap passes 1 s, or how far it held."""
    for step in sorted(steps, key=lambda s: s.sessions):
        gaps = _column(step.results, lambda r: r.largest_gap_beyond)
        if not (percentile(gaps, 0.95) <= KNEE_GAP_S):  # NaN (no frames) counts as passed
            return f"{step.sessions} sessions"
    return f"not reached up to {max(s.sessions for s in steps)} sessions"


def rows(step: StepResult) -> list[str]:
    """One column of the table, in the order of :data:`ROW_NAMES`."""
    results, count = step.results, step.sessions
    gap = _column(results, lambda r: r.largest_gap_beyond)
    stream_share = step.generator_cpu / step.stream_wall if step.stream_wall else math.nan
    fake = "n/a" if step.fake_cpu is None else f"{step.fake_cpu:.1f} s"
    return [
        f"{sum(r.complete for r in results)} / {count}",
        _ms(_column(results, lambda r: r.added_first_token), 0.5, 0.95),
        _ms(gap, 0.5, 0.95, 1.0),
        _ms(_column(results, lambda r: r.largest_gap_at), 0.05, 0.5, 0.95),
        _ms(_column(results, lambda r: r.sent_to_done), 0.5, 0.95),
        f"{step.server_cpu_open / count:.3f} s ({step.open_wall:.1f} s wall)",
        f"{step.server_cpu_stream / count:.3f} s ({step.server_cpu_stream:.1f} s "
        f"in {step.stream_wall:.1f} s wall)",
        f"{(step.rss_peak_mb - step.rss_before_mb) / count:.2f} MB "
        f"({step.rss_before_mb:.0f} -> {step.rss_peak_mb:.0f} MB)",
        f"{step.generator_cpu:.1f} s ({stream_share:.0%} of a core)",
        fake,
        step.load_before,
    ]


ROW_NAMES = [
    "sessions with a complete reply",
    "added first token, p50 / p95 (ms)",
    "largest frame gap beyond upstream's interval, p50 / p95 / max (ms)",
    "that gap starts after the first reply frame, p5 / p50 / p95 (ms)",
    "send -> last reply frame, p50 / p95 (ms)",
    "server CPU per session, opening the Chat page",
    "server CPU per session, streaming",
    "server RSS per session (before -> peak)",
    "generator CPU while streaming",
    "fake upstream CPU while streaming",
    "machine load average (1/5/15 min) before the step",
]


def print_table(steps: list[StepResult], upstream: Upstream, cores: int | None) -> None:
    """Markdown: a row per measure, a column per session count; the knee below."""
    print(
        f"Upstream: a chunk every {upstream.interval * 1000:.0f} ms, {upstream.tokens} chunks "
        f"({upstream.interval * upstream.tokens:.1f} s); one server process; {cores} cores."
    )
    columns = [rows(step) for step in steps]
    print("| measure | " + " | ".join(f"{s.sessions} sessions" for s in steps) + " |")
    print("|---" * (len(steps) + 1) + "|")
    for index, name in enumerate(ROW_NAMES):
        print(f"| {name} | " + " | ".join(column[index] for column in columns) + " |")
    print(f"\nKnee (p95 gap beyond upstream's interval > {KNEE_GAP_S:.0f} s): {knee(steps)}")
    for step in steps:
        errors = sorted({e for r in step.results for e in r.errors})
        if errors:
            print(f"{step.sessions} sessions, errors shown: " + "; ".join(errors[:3]))
