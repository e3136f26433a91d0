"""Usage & cost page: where the month is heading (minutes per day, month to date against the plan you are on, the
day its included minutes run out, peaks against its concurrency cap, the cost forecast against MONTHLY_BUDGET), the
month against LiveKit Cloud's tiers and which to pick, per provider and model, and the cost per user or site.

UI only: the figures come from onboarding.admin.usage, already formatted; charts are Vega-Lite specs from
onboarding.admin.charts drawn by Gradio's bundled vega-embed.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, fields
from typing import Any

import gradio as gr
import pandas as pd
from gradio.components.plot import PlotData

from onboarding.admin.usage import COST_BY_HEADERS, COST_PAGE_ROWS, cost_table, usage_page_data, usage_trend
from onboarding.settings import Settings
from onboarding.usage.monthly import current_month, month_choices
from onboarding.usage.pricing import PricingError, load_pricing

SUMMARY_HEADERS = ["Figure", "Value"]
COST_HEADERS = ["Role", "Provider", "Used", "Rate", "Cost"]
TIER_HEADERS = ["Plan", "Plan fee / month", "Overage", "Providers", "Total", "Carries this month"]
FALLBACK_HEADERS = ["Kind", "Sessions that fell back", "Share of sessions"]
COST_NOTE = ("Costs are estimates from the rates in data/pricing.toml (edit them there). STT is costed on billed "
             "minutes: Deepgram streaming bills the connection's wall time; local providers are free.")
KEYS = {"per user id": "user_id", "per embedding site": "origin"}
MONTH_URL_JS = """(month) => { const url = new URL(window.location); url.searchParams.set('month', month);
  history.replaceState(null, '', url); }"""


def plot(spec: dict[str, Any] | None) -> PlotData | None:
    """A Vega-Lite spec for gr.Plot (Gradio's Altair component renders any Vega-Lite JSON, offline)."""
    return PlotData(type="altair", plot=json.dumps(spec)) if spec else None


@dataclass
class MonthView:
    summary: pd.DataFrame
    costs: pd.DataFrame
    tiers: pd.DataFrame
    fallbacks: pd.DataFrame
    minutes_chart: PlotData | None
    concurrency_chart: PlotData | None
    recommendation: str
    month_chart: PlotData | None
    forecast: str
    cost_by: pd.DataFrame
    export_link: str

    def values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))


def export_link(month: str, key: str) -> str:
    name = "cost-by-origin" if key == "origin" else "cost-by-user"
    return (f'<a href="/admin/exports/{name}.csv?month={html.escape(month)}" download '
            f'id="usage-cost-by-export">Download the whole table as CSV</a>')


def render_month(settings: Settings, month: str, key: str = "user_id") -> MonthView:
    try:
        pricing = load_pricing(settings.pricing_path)  # read per render: edited rates show on the next load
    except PricingError as err:
        empty = pd.DataFrame()
        return MonthView(pd.DataFrame(columns=SUMMARY_HEADERS), pd.DataFrame(columns=COST_HEADERS),
                         pd.DataFrame(columns=TIER_HEADERS), pd.DataFrame(columns=FALLBACK_HEADERS), None, None,
                         f"**Pricing file is invalid — fix it and reload:** {err}", None, "", empty, "")
    data = usage_page_data(settings.database_url, month, pricing)
    trend = usage_trend(settings, month, pricing, data)
    note = "" if data.complete else " Some providers have no rate in pricing.toml, so totals leave them out."
    lines = [f"### {trend.forecast.sentence}", trend.budget.message, trend.concurrency_note]
    if trend.plan.problem:
        lines.append(f"⚠ {trend.plan.problem}.")
    return MonthView(
        pd.DataFrame(data.summary_rows, columns=SUMMARY_HEADERS),
        pd.DataFrame(data.cost_rows, columns=COST_HEADERS),
        pd.DataFrame(data.tier_rows, columns=TIER_HEADERS),
        pd.DataFrame(data.fallback_rows, columns=FALLBACK_HEADERS),
        plot(trend.charts["minutes"]), plot(trend.charts["peaks"]),
        f"**Recommended: {data.recommendation.plan}.** {data.recommendation.reason}{note}",
        plot(trend.charts["month_to_date"]), "\n\n".join(lines),
        pd.DataFrame(cost_table(settings.database_url, month, pricing, key, limit=COST_PAGE_ROWS),
                     columns=COST_BY_HEADERS),
        export_link(month, key),
    )


def build(settings: Settings, page: gr.Blocks) -> None:
    gr.Markdown("## Usage & cost\nSessions count in the month (UTC) they started; LiveKit bills each agent session "
                f"rounded up to a whole minute. Forecast against the plan in LIVEKIT_PLAN (`{settings.livekit_plan}`).")
    with gr.Row():
        month = gr.Dropdown(label="Month", choices=[current_month()], value=current_month(), elem_id="usage-month")
        refresh = gr.Button("Refresh", scale=0)
    forecast = gr.Markdown(elem_id="usage-forecast")
    with gr.Row():
        minutes_chart = gr.Plot(show_label=False, label="Agent minutes per day", elem_id="usage-minutes-chart")
        month_chart = gr.Plot(show_label=False, label="Month to date against the plan", elem_id="usage-month-chart")
    concurrency_chart = gr.Plot(show_label=False, label="Peak concurrency per day", elem_id="usage-concurrency-chart")
    recommendation = gr.Markdown(elem_id="usage-recommendation")
    summary = gr.Dataframe(headers=SUMMARY_HEADERS, label="This month", interactive=False, elem_id="usage-summary")
    costs = gr.Dataframe(headers=COST_HEADERS, label="Cost per provider and model (estimate)", interactive=False,
                         elem_id="usage-costs")
    gr.Markdown(COST_NOTE)
    tiers = gr.Dataframe(headers=TIER_HEADERS, label="Total per tier", interactive=False, elem_id="usage-tiers")
    fallbacks = gr.Dataframe(headers=FALLBACK_HEADERS, label="Fallbacks to a local provider", interactive=False,
                             elem_id="usage-fallbacks")
    gr.Markdown("### Cost per user and per embedding site\nThe 50 dearest this month; the CSV has them all.")
    key = gr.Radio(list(KEYS), value="per user id", label="Group by", elem_id="usage-cost-by-key")
    cost_by = gr.Dataframe(headers=COST_BY_HEADERS, interactive=False, elem_id="usage-cost-by")
    link = gr.HTML(elem_id="usage-cost-by-link")
    outputs = [summary, costs, tiers, fallbacks, minutes_chart, concurrency_chart, recommendation, month_chart,
               forecast, cost_by, link]

    def show(selected: str, grouping: str) -> tuple[Any, ...]:
        return render_month(settings, selected or current_month(), KEYS.get(grouping, "user_id")).values()

    def on_load(grouping: str, request: gr.Request) -> tuple[Any, ...]:
        months = month_choices(settings.database_url)
        wanted = dict(request.query_params).get("month") if request is not None else None
        month = wanted if wanted in months else current_month()  # a shared link's month (?tab=usage&month=…)
        return gr.Dropdown(choices=months, value=month), *show(month, grouping)

    page.load(on_load, inputs=key, outputs=[month, *outputs])
    for trigger in (month.input, refresh.click, key.change):
        trigger(show, inputs=[month, key], outputs=outputs)
    month.input(None, month, None, js=MONTH_URL_JS)
