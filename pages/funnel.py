"""Funnel page: per field of the interview, how many callers reached it, answered it at the first asking, were asked
again, corrected it, skipped it or had it flagged, or hung up there; the median time and caller turns it took; the
completion rate; per month and per interview version.

UI only: onboarding.admin.funnel reads the post-call digest's rows; the chart is a Vega-Lite spec.
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr
import pandas as pd

from onboarding.admin import charts
from onboarding.admin.funnel import ALL_VERSIONS, Funnel, funnel, versions
from onboarding.interview import load_definition
from onboarding.settings import Settings
from onboarding.usage.monthly import current_month, month_choices
from pages.usage import plot

COLUMNS = ["Field", "Reached", "Answered first time", "Re-asked", "Corrected", "Skipped", "Flagged", "Hung up there",
           "Median time (s)", "Median caller turns"]


def funnel_frame(data: Funnel) -> pd.DataFrame:
    def count(n: int, item) -> str:
        return f"{n:,} ({item.share(n)})" if item.reached else "0"

    rows = [[f.label, f"{f.reached:,}", count(f.answered_first_time, f), count(f.reasked, f), count(f.corrected, f),
             count(f.skipped, f), count(f.flagged, f), count(f.hung_up, f),
             "" if f.median_seconds is None else f"{f.median_seconds:.1f}",
             "" if f.median_turns is None else f"{f.median_turns:g}"] for f in data.fields]
    return pd.DataFrame(rows, columns=COLUMNS)


def funnel_chart(data: Funnel) -> dict[str, Any] | None:
    rows = []
    for f in data.fields:
        settled_later = f.reached - f.answered_first_time - f.skipped - f.flagged - f.hung_up
        for rank, (outcome, n) in enumerate((("answered first time", f.answered_first_time),
                                             ("answered after a re-ask or fix", max(0, settled_later)),
                                             ("skipped", f.skipped), ("flagged", f.flagged),
                                             ("hung up there", f.hung_up))):
            rows.append({"field": f.label, "outcome": outcome, "callers": n, "rank": rank})
    if not any(r["callers"] for r in rows):
        return None
    return charts.funnel_bars(rows, title="Callers at each field, by what happened there")


def summary(data: Funnel) -> str:
    version = "every interview version" if data.version == ALL_VERSIONS else f"version `{data.version}`"
    untagged = data.calls - data.calls_in_funnel
    note = (f" {untagged:,} of them carry no per-question tags (REST calls, or calls recorded before tagging) and "
            "are left out of the per-field rows." if untagged > 0 else "")
    return (f"**{data.calls:,} calls** in {data.month} ({version}); **{data.completed:,} completed profiles: "
            f"{data.completion_rate:.0%} completion.**{note}")


def build(settings: Settings, page: gr.Blocks) -> None:
    db_url = settings.database_url

    def version_choices(month: str) -> list[tuple[str, str]]:
        found = versions(db_url, month)
        return [("every version", ALL_VERSIONS)] + [
            (f"{v.hash} (from {v.first_seen:%Y-%m-%d}, {v.calls:,} calls)", v.hash) for v in found]

    def show(month: str, version: str):
        month = month or current_month()
        data = funnel(db_url, month, load_definition(settings.interview_path), version or ALL_VERSIONS)
        link = (f'<a href="/admin/exports/funnel.csv?month={html.escape(month)}&version='
                f'{html.escape(version or ALL_VERSIONS)}" download id="funnel-export">Download as CSV</a>')
        return summary(data), plot(funnel_chart(data)), funnel_frame(data), link

    def on_load(request: gr.Request):
        query = dict(request.query_params) if request is not None else {}
        months = month_choices(db_url)
        month = query.get("month") if query.get("month") in months else current_month()
        choices = version_choices(month)
        version = query.get("version") if query.get("version") in {v for _, v in choices} else ALL_VERSIONS
        return (gr.Dropdown(choices=months, value=month), gr.Dropdown(choices=choices, value=version),
                *show(month, version))

    def month_changed(month: str):
        return gr.Dropdown(choices=version_choices(month), value=ALL_VERSIONS)

    gr.Markdown("## Onboarding funnel\nOne row per field of the interview, in the order it is asked. A caller "
                "*reached* a field when the agent asked it (or the caller volunteered it).")
    with gr.Row():
        month = gr.Dropdown(label="Month", choices=[current_month()], value=current_month(), elem_id="funnel-month")
        version = gr.Dropdown(label="Interview version", choices=[("every version", ALL_VERSIONS)],
                              value=ALL_VERSIONS, elem_id="funnel-version")
        refresh = gr.Button("Refresh", scale=0)
    headline = gr.Markdown(elem_id="funnel-summary")
    chart = gr.Plot(show_label=False, label="Funnel", elem_id="funnel-chart")
    table = gr.Dataframe(headers=COLUMNS, interactive=False, elem_id="funnel-table", wrap=True)
    link = gr.HTML(elem_id="funnel-link")
    outputs = [headline, chart, table, link]
    page.load(on_load, None, [month, version, *outputs])
    month.input(month_changed, month, version).then(show, [month, version], outputs)
    version.input(show, [month, version], outputs)
    refresh.click(show, [month, version], outputs)
