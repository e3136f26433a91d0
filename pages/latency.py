"""Latency page: the questions whose answers the agent was slowest to reply to, ranked across the month's calls,
and the slowest calls, each opening its per-turn timeline (end of turn, STT, interviewer first token, TTS first
audio, voice-to-voice, fallbacks marked).

UI only: onboarding.admin.latency holds the figures; the timeline's rendering is shared with the profile view.
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr
import pandas as pd

from onboarding.admin import charts
from onboarding.admin.latency import SlowCall, call_timeline, slowest_calls, slowest_questions
from onboarding.interview import load_definition
from onboarding.settings import Settings
from onboarding.usage.monthly import current_month, month_choices
from pages.review import TIMELINE_HEADERS, timeline_chart, timeline_rows, when
from pages.usage import plot

QUESTION_COLUMNS = ["Question (field)", "Replies", "Calls", "Mean voice-to-voice (s)", "Worst (s)"]
CALL_COLUMNS = ["Call", "Profile", "Room", "Started (UTC)", "Slowest reply (s)", "Replies"]


def build(settings: Settings, page: gr.Blocks) -> None:
    db_url = settings.database_url

    def show(month: str):
        month = month or current_month()
        ranked = slowest_questions(db_url, month, load_definition(settings.interview_path))
        rows = [{"label": q.label, "mean": round(q.mean_seconds, 3), "worst": round(q.worst_seconds, 3),
                 "replies": q.replies} for q in ranked]
        chart = charts.ranked_bars(rows, title="Slowest questions: the agent's reply to their answers",
                                   value="mean", worst="worst", x_title="seconds (bar: mean, tick: worst)")
        table = pd.DataFrame([[f"{q.label} ({q.field})", f"{q.replies:,}", f"{q.calls:,}", f"{q.mean_seconds:.3f}",
                               f"{q.worst_seconds:.3f}"] for q in ranked], columns=QUESTION_COLUMNS)
        calls = slowest_calls(db_url, month)
        link = (f'<a href="/admin/exports/slowest-questions.csv?month={html.escape(month)}" download '
                'id="latency-export">Download the ranking as CSV</a>')
        return plot(chart if rows else None), table, calls_frame(calls), calls, link

    def calls_frame(calls: list[SlowCall]) -> pd.DataFrame:
        return pd.DataFrame([[c.session_id, c.profile_id or "", c.room_name, when(c.started_at),
                              f"{c.worst_seconds:.3f}", c.replies] for c in calls], columns=CALL_COLUMNS)

    def open_call(calls: list[SlowCall], evt: gr.SelectData) -> tuple[Any, ...]:
        call = calls[evt.index[0]]
        exchanges = call_timeline(db_url, call.session_id)
        title = (f"**Call {call.session_id}** in `{call.room_name}` — "
                 f"[open its profile](/admin/?tab=profiles&profile={call.profile_id})" if call.profile_id else "")
        return (title, gr.Plot(value=plot(timeline_chart(exchanges)), visible=True),
                pd.DataFrame(timeline_rows(exchanges), columns=TIMELINE_HEADERS))

    def on_load(request: gr.Request):
        query = dict(request.query_params) if request is not None else {}
        months = month_choices(db_url)
        month = query.get("month") if query.get("month") in months else current_month()
        return gr.Dropdown(choices=months, value=month), *show(month)

    gr.Markdown("## Latency\nVoice-to-voice is livekit-agents' `e2e_latency`: from the end of the caller's speech to "
                "the agent's first audio. A question's figure is the agent's reply to the answers it got.")
    with gr.Row():
        month = gr.Dropdown(label="Month", choices=[current_month()], value=current_month(), elem_id="latency-month")
        refresh = gr.Button("Refresh", scale=0)
    chart = gr.Plot(show_label=False, label="Slowest questions", elem_id="latency-chart")
    questions = gr.Dataframe(headers=QUESTION_COLUMNS, interactive=False, elem_id="latency-questions")
    link = gr.HTML(elem_id="latency-link")
    gr.Markdown("### Slowest calls\nClick a call for its per-turn timeline.")
    calls_table = gr.Dataframe(headers=CALL_COLUMNS, interactive=False, elem_id="latency-calls")
    calls = gr.State([])
    title = gr.Markdown(elem_id="latency-call-title")
    timeline_plot = gr.Plot(show_label=False, label="Per-turn latency", elem_id="latency-timeline-chart",
                            visible=False)
    timeline_table = gr.Dataframe(headers=TIMELINE_HEADERS, interactive=False, elem_id="latency-timeline-table")
    outputs = [chart, questions, calls_table, calls, link]
    page.load(on_load, None, [month, *outputs])
    month.input(show, month, outputs)
    refresh.click(show, month, outputs)
    calls_table.select(open_call, calls, [title, timeline_plot, timeline_table])
