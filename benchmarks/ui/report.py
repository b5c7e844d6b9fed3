"""The UI benchmark's report: one Markdown table of medians, p95s and goals."""

from __future__ import annotations

import math
import statistics
from typing import Any

Row = tuple[str, str, str]


def describe(values: list[float]) -> str:
    """Median, p95 and max in ms; samples never seen (NaN) are counted apart."""
    ordered = sorted(v for v in values if not math.isnan(v))
    if not ordered:
        return "not measured"
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    missing = f" ({len(values) - len(ordered)} not seen)" if len(ordered) < len(values) else ""
    return (
        f"median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, "
        f"max {ordered[-1]:.1f} ms{missing}"
    )


def first_token_rows(samples: dict[float, dict[str, list[float]]]) -> list[Row]:
    rows: list[Row] = []
    for ttft, delays in samples.items():
        stage = f"first token (upstream answers after {ttft * 1000:.0f} ms): send ->"
        rows += [
            (f"{stage} frame at Chromium's network layer", describe(delays["wire"]), ""),
            (f"{stage} frame event in the page", describe(delays["frame"]), ""),
            (f"{stage} in the DOM", describe(delays["dom"]), ""),
            (f"{stage} shown", describe(delays["shown"]), "<= 30 ms"),
        ]
    return rows


def rows(
    models: int,
    reruns: list[float],
    round_trips: list[float],
    core: list[float],
    browser: dict[str, Any],
    sessions: int,
) -> list[Row]:
    """Every measure of the run, in reading order."""
    many = f"{sessions} sessions at once"
    return [
        (
            f"warm Model Selection rerun ({models:,} chat models): script run",
            describe(reruns),
            "<= 50 ms",
        ),
        ("same, AppTest round trip (its polling included)", describe(round_trips), ""),
        ("first token: upstream send -> yielded by core", describe(core), ""),
        *first_token_rows(browser["first_token"]),
        (
            "compare: second column's first token after the first's (upstream 500 ms, "
            "then a word every 100 ms)",
            describe(browser["compare_delay"]),
            "far below one reply (both stream at once)",
        ),
        (f"{many}: Enter -> first word shown", describe(browser["to_first"]), ""),
        (f"{many}: first word shown -> reply done", describe(browser["streaming"]), ""),
        (
            f"{many}: Enter -> reply done",
            describe(browser["whole"]),
            f"far below {sessions} x one reply (serialised)",
        ),
        (f"{many}: upstream stream duration", describe(browser["upstream_ms"]), ""),
        (
            f"{many}: largest gap between a reply's frames on the wire (CDP)",
            describe(browser["largest_wire_gap"]),
            "no stall (upstream sends every 100 ms)",
        ),
        (
            f"{many}: largest gap between a reply's frames in the page",
            describe(browser["largest_gap"]),
            "",
        ),
        (
            f"{many}: streams open together (peak)",
            f"{browser['at_once']} of {browser['streams']}",
            str(sessions),
        ),
        (f"{many}: CPU used meanwhile", browser["cpu"], ""),
    ]


def hung_provider_rows(samples: dict[str, list[float]]) -> list[Row]:
    """Providers opened cold with one provider hung (scenarios.healthy_visible_with_one_hung)."""
    loading, total = (int(n) for n in samples["hung_loading"])
    ratios = sorted(samples["ratio"])
    stage = "Providers with one provider hung, navigation ->"
    return [
        (f"{stage} every card drawn (page start)", describe(samples["drawn"]), ""),
        (f"{stage} healthy providers' models on screen", describe(samples["visible"]), ""),
        ("same, after the cards are drawn", describe(samples["after_drawn"]), ""),
        (
            "same: slowest healthy catalogue fetch (as the app measured it)",
            describe(samples["slowest_fetch"]),
            "",
        ),
        (
            "same: on screen after the cards / slowest healthy fetch",
            f"median {statistics.median(ratios):.2f}x, max {ratios[-1]:.2f}x",
            "<= 1.2x",
        ),
        ("same: hung provider still loading meanwhile", f"{loading} of {total}", str(total)),
    ]


def print_table(table: list[Row]) -> None:
    print("| measure | result | goal |")
    print("|---|---|---|")
    for row in table:
        print("| " + " | ".join(row) + " |")
