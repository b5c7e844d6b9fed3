"""Altair charts and tables of the Usage page, drawn from grouped totals (never raw rows)."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from core.budgets import CapStatus
from core.usage_report import Totals

TOP = 15  # models and admins shown in the bar charts (the rest are summed as "others")


def frame(rows: Sequence[Totals], names: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame([row.as_dict(names) for row in rows])


def spend_per_day(rows: Sequence[Totals]) -> alt.Chart:
    """Spend per day, stacked by provider."""
    data = frame(rows, ["day", "provider"])
    return (
        alt.Chart(data, title="Spend per day by provider (USD)")
        .mark_bar()
        .encode(
            x=alt.X("day:O", title="Day (UTC)"),
            y=alt.Y("sum(cost):Q", title="USD"),
            color=alt.Color("provider:N", title="Provider"),
            tooltip=["day", "provider", alt.Tooltip("cost:Q", format="$.4f"), "calls"],
        )
    )


def spend_by(rows: Sequence[Totals], name: str, title: str) -> alt.Chart:
    """A horizontal bar per admin or model, largest first (the top :data:`TOP`)."""
    data = frame(_top(rows), [name])
    return (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            x=alt.X("cost:Q", title="USD"),
            y=alt.Y(f"{name}:N", sort="-x", title=None, axis=alt.Axis(labelLimit=260)),
            tooltip=[name, alt.Tooltip("cost:Q", format="$.4f"), "calls", "output_tokens"],
        )
    )


def _top(rows: Sequence[Totals]) -> list[Totals]:
    ordered = sorted(rows, key=lambda r: r.cost, reverse=True)
    head, rest = ordered[:TOP], ordered[TOP:]
    if rest:
        others = Totals(key=("others",))
        for row in rest:
            others.calls += row.calls
            others.cost += row.cost
            others.output_tokens += row.output_tokens
        head.append(others)
    return head


def provider_table(rows: Sequence[Totals]) -> pd.DataFrame:
    """Per provider: calls, error rate, tokens, latency p50/p95 and cost."""
    return pd.DataFrame(
        [
            {
                "provider": row.key[0],
                "calls": row.calls,
                "error rate": f"{row.error_rate:.1%}",
                "incomplete": row.incomplete,
                "input tokens": row.input_tokens,
                "output tokens": row.output_tokens,
                "latency p50 (ms)": row.p50_ms,
                "latency p95 (ms)": row.p95_ms,
                "cost (USD)": round(row.cost, 4),
                "calls without a cost": row.unpriced,
            }
            for row in rows
        ]
    )


def cap_line(status: CapStatus) -> str:
    """'daily budget: $4.10 of $5.00 (82 %), resets 00:00 UTC'."""
    who = f" ({status.who})" if status.who else ""
    return (
        f"{status.label}{who}: ${status.used:,.2f} of ${status.limit:,.2f} "
        f"({status.share:.0%}), resets {status.resets}"
    )
