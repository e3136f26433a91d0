"""Usage & cost page: a month's minutes, concurrency and cost against LiveKit Cloud's tiers, and which tier to pick;
what each speech provider and model was metered for, and how many sessions fell back to a local provider.

UI only: the figures come from onboarding.admin.usage.usage_page_data (SQL aggregation + pricing), already formatted.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from onboarding.admin.usage import usage_page_data
from onboarding.settings import Settings
from onboarding.usage.monthly import current_month, month_choices
from onboarding.usage.pricing import PricingError, load_pricing

SUMMARY_HEADERS = ["Figure", "Value"]
COST_HEADERS = ["Role", "Provider", "Used", "Rate", "Cost"]
TIER_HEADERS = ["Plan", "Plan fee / month", "Overage", "Providers", "Total", "Carries this month"]
FALLBACK_HEADERS = ["Kind", "Sessions that fell back", "Share of sessions"]
COST_NOTE = ("Costs are estimates from the rates in data/pricing.toml (edit them there). STT is costed on billed "
             "minutes: Deepgram streaming bills the connection's wall time; local providers are free.")


def render_month(settings: Settings, month: str) -> tuple[Any, ...]:
    """The values of (summary, costs, tiers, fallbacks, minutes chart, concurrency chart, recommendation)."""
    try:
        pricing = load_pricing(settings.pricing_path)  # read per render: edited rates show on the next load
    except PricingError as err:
        empty = pd.DataFrame()
        return (pd.DataFrame(columns=SUMMARY_HEADERS), pd.DataFrame(columns=COST_HEADERS),
                pd.DataFrame(columns=TIER_HEADERS), pd.DataFrame(columns=FALLBACK_HEADERS), empty, empty,
                f"**Pricing file is invalid — fix it and reload:** {err}")
    data = usage_page_data(settings.database_url, month, pricing)
    minutes = pd.DataFrame(data.minutes_bars)
    concurrency = pd.DataFrame(data.concurrency_bars)
    note = "" if data.complete else " Some providers have no rate in pricing.toml, so totals leave them out."
    return (
        pd.DataFrame(data.summary_rows, columns=SUMMARY_HEADERS),
        pd.DataFrame(data.cost_rows, columns=COST_HEADERS),
        pd.DataFrame(data.tier_rows, columns=TIER_HEADERS),
        pd.DataFrame(data.fallback_rows, columns=FALLBACK_HEADERS),
        gr.BarPlot(value=minutes, sort=list(minutes["bar"])),
        gr.BarPlot(value=concurrency, sort=list(concurrency["bar"])),
        f"**Recommended: {data.recommendation.plan}.** {data.recommendation.reason}{note}",
    )


def build(settings: Settings, page: gr.Blocks) -> None:
    gr.Markdown("## Usage & cost\nSessions count in the month (UTC) they started; LiveKit bills each agent session "
                "rounded up to a whole minute.")
    with gr.Row():
        month = gr.Dropdown(label="Month", choices=[current_month()], value=current_month(), elem_id="usage-month")
        refresh = gr.Button("Refresh", scale=0)
    recommendation = gr.Markdown(elem_id="usage-recommendation")
    summary = gr.Dataframe(headers=SUMMARY_HEADERS, label="This month", interactive=False, elem_id="usage-summary")
    with gr.Row():
        minutes_chart = gr.BarPlot(x="bar", y="minutes", color="series", title="Agent minutes vs included minutes",
                                   x_title="", y_title="minutes", elem_id="usage-minutes-chart")
        concurrency_chart = gr.BarPlot(x="bar", y="sessions", color="series", title="Peak concurrency vs plan caps",
                                       x_title="", y_title="concurrent sessions", elem_id="usage-concurrency-chart")
    costs = gr.Dataframe(headers=COST_HEADERS, label="Cost per provider and model (estimate)", interactive=False,
                         elem_id="usage-costs")
    gr.Markdown(COST_NOTE)
    tiers = gr.Dataframe(headers=TIER_HEADERS, label="Total per tier", interactive=False, elem_id="usage-tiers")
    fallbacks = gr.Dataframe(headers=FALLBACK_HEADERS, label="Fallbacks to a local provider", interactive=False,
                             elem_id="usage-fallbacks")
    outputs = [summary, costs, tiers, fallbacks, minutes_chart, concurrency_chart, recommendation]

    def show(selected: str) -> tuple[Any, ...]:
        return render_month(settings, selected or current_month())

    def on_load() -> tuple[Any, ...]:
        return gr.Dropdown(choices=month_choices(settings.database_url), value=current_month()), *show(current_month())

    page.load(on_load, outputs=[month, *outputs])
    month.change(show, inputs=month, outputs=outputs)
    refresh.click(show, inputs=month, outputs=outputs)
