"""Usage: spend, calls, tokens, errors and latency from the usage ledger; budgets on shared
keys. Super admins see everyone and set budgets; an admin sees their own usage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import streamlit as st

from core.requester import Requester
from core.service import ModelDesk
from core.usage_report import UsageFilter, UsageView
from ui import state
from ui.usage_charts import cap_line, provider_table, spend_by, spend_per_day
from ui.widgets import reporting_errors

DEFAULT_DAYS = 30


def render() -> None:
    who = state.requester()  # role re-check: any signed-in admin (their own usage)
    desk = state.get_desk()
    st.title("Usage")
    st.caption(
        "Every upstream call, from the usage ledger (never prompts, replies or keys)."
        if who.is_super_admin
        else "Your own calls, from the usage ledger (never prompts, replies or keys)."
    )
    with reporting_errors("Loading usage"):
        _budgets(desk, who)
        flt, whole = _filters(desk, who)
        narrowed = flt.providers or flt.models or flt.users
        view = desk.usage.view(who, flt) if narrowed else whole  # one query set by default
        _dropped(desk, view)
        _charts(view, who)
        _download(desk, who, flt)


def _filters(desk: ModelDesk, who: Requester) -> tuple[UsageFilter, UsageView]:
    """The filter the widgets pick, and the whole range's view (it lists the options)."""
    today = datetime.now(UTC).date()
    picked = st.date_input(
        "Days (UTC)",
        (today - timedelta(days=DEFAULT_DAYS - 1), today),
        max_value=today,
        key="usage_days",
    )
    since, until = _range(picked, today)
    options = desk.usage.view(who, UsageFilter(since, until))  # what the range holds
    columns = st.columns(3 if who.is_super_admin else 2)
    providers = columns[0].multiselect(
        "Providers", [t.key[0] for t in options.per_provider], key="usage_providers"
    )
    models = columns[1].multiselect(
        "Models", sorted(t.key[0] for t in options.by_model), key="usage_models"
    )
    users: list[str] = []
    if who.is_super_admin:
        users = columns[2].multiselect(
            "Admins", sorted(t.key[0] for t in options.by_admin), key="usage_admins"
        )
    return UsageFilter(since, until, tuple(providers), tuple(models), tuple(users)), options


def _range(picked: object, today: date) -> tuple[date, date]:
    """The date input's value as (since, until); half a range (being picked) is one day."""
    if isinstance(picked, tuple | list) and picked:
        start = picked[0]
        end = picked[1] if len(picked) > 1 else start
        return start, end
    if isinstance(picked, date):
        return picked, picked
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def _dropped(desk: ModelDesk, view: UsageView) -> None:
    dropped = view.dropped + desk.usage.dropped_here()
    if dropped:
        st.warning(
            f"{dropped:,} ledger row(s) were dropped in this range: the database was "
            "unavailable for longer than the buffer could hold. Totals are missing them.",
            icon=":material/warning:",
        )
    else:
        st.caption("Dropped ledger rows in this range: 0.")


def _charts(view: UsageView, who: Requester) -> None:
    total = sum(t.cost for t in view.per_provider)
    calls = sum(t.calls for t in view.per_provider)
    errors = sum(t.errors for t in view.per_provider)
    tokens = sum(t.input_tokens + t.output_tokens for t in view.per_provider)
    spend, count, rate, used = st.columns(4)
    spend.metric("Spend (USD)", f"${total:,.4f}")
    count.metric("Calls", f"{calls:,}")
    rate.metric("Error rate", f"{errors / calls:.1%}" if calls else "-")
    used.metric("Tokens", f"{tokens:,}")
    if not calls:
        st.info("No calls in this range.", icon=":material/query_stats:")
        return
    st.altair_chart(spend_per_day(view.by_day_provider), width="stretch")
    left, right = st.columns(2)
    if who.is_super_admin:
        left.altair_chart(spend_by(view.by_admin, "admin", "Spend by admin"), width="stretch")
    right.altair_chart(spend_by(view.by_model, "model", "Spend by model"), width="stretch")
    st.subheader("Per provider", anchor=False)
    st.dataframe(provider_table(view.per_provider), hide_index=True, width="stretch")
    st.caption(
        "Latency p50/p95 over the most recent 20,000 matching calls. A cost is the "
        "provider's own figure where it reports one, else computed from the live "
        "catalogue's prices, else unknown (not counted)."
    )


def _download(desk: ModelDesk, who: Requester, flt: UsageFilter) -> None:
    st.download_button(
        "Download CSV",
        data=lambda: "".join(desk.usage.csv(who, flt)),  # built only when clicked
        file_name=f"usage-{flt.since}-{flt.until}.csv",
        mime="text/csv",
        icon=":material/download:",
        key="usage_csv",
        help="The filtered calls, newest first (at most 100,000 rows).",
    )


def _budgets(desk: ModelDesk, who: Requester) -> None:
    st.subheader("Budgets on shared keys", anchor=False)
    found = desk.usage.all_budgets()
    for row, statuses in found:
        for status in statuses:
            line = f"{row.display_name} — {cap_line(status)}"
            st.progress(min(status.share, 1.0), text=line)
            if status.reached:
                st.error(f"{row.display_name}: {status.label} reached.", icon=":material/block:")
            elif status.warning:
                st.warning(
                    f"{row.display_name}: {status.share:.0%} of the {status.label} is used.",
                    icon=":material/warning:",
                )
    if not found:
        st.caption("No budgets are set: shared keys are not capped.")
    if who.is_super_admin:
        _budget_form(desk, who)


def _budget_form(desk: ModelDesk, who: Requester) -> None:
    with st.expander("Set budgets", icon=":material/savings:"):
        views = {v.slug: v for v in desk.providers()}
        slug = st.selectbox(
            "Provider",
            list(views),
            format_func=lambda s: views[s].display_name,
            key="budget_provider",
        )
        current = views[slug].config.budgets if slug else None
        with st.form("budget_form"):
            st.caption(
                "US dollars on the shared key; leave empty for no cap. "
                "Personal keys are never capped."
            )
            daily, monthly, per_admin = st.columns(3)
            amounts = {
                "daily": daily.number_input(
                    "Daily", 0.0, None, current.daily if current else None, 1.0, "%.2f"
                ),
                "monthly": monthly.number_input(
                    "Monthly", 0.0, None, current.monthly if current else None, 1.0, "%.2f"
                ),
                "per_admin_daily": per_admin.number_input(
                    "Per admin, daily",
                    0.0,
                    None,
                    current.per_admin_daily if current else None,
                    1.0,
                    "%.2f",
                ),
            }
            if st.form_submit_button("Save budgets", type="primary") and slug:
                with reporting_errors("Saving budgets"):
                    caps = {name: -1.0 if v is None else float(v) for name, v in amounts.items()}
                    desk.usage.update_budgets(
                        who,
                        slug,
                        daily=caps["daily"],
                        monthly=caps["monthly"],
                        per_admin_daily=caps["per_admin_daily"],
                        actor=state.actor(),
                    )
                    st.success("Budgets saved.")
                    st.rerun()
