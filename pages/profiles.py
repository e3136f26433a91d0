"""Profiles page: find a profile, read what was heard and where, hear it, correct it, sign it off, export or delete.

UI only: every query and change is a function in onboarding.admin.profiles / onboarding.admin.review; the detail's
HTML is pages/review.py. Each field links to the transcript turn it came from (`#turn-<id>`) and plays that answer;
every turn plays its clip. Clicking a row opens it. The filters and the open profile live in the page's URL
(`?tab=profiles&search=…&status=…&from=…&to=…&profile=…`), so a view can be shared: read on load, written back by
the browser as they change.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import gradio as gr
import pandas as pd

from onboarding.admin.latency import call_timeline
from onboarding.admin.profiles import (
    STATUSES,
    ProfileFilter,
    ProfilePage,
    count_profiles,
    delete_profile,
    list_profiles,
)
from onboarding.admin.review import CorrectionError, correct_field, load_profile_detail, mark_reviewed
from onboarding.api.exports import PROFILES_CSV
from onboarding.interview import load_definition
from onboarding.settings import Settings
from pages.review import (
    DETAIL_CSS,
    TIMELINE_HEADERS,
    TRANSCRIPT_CSS,
    render_detail,
    render_transcript,
    timeline_chart,
    timeline_rows,
)
from pages.review import esc as _esc
from pages.review import when as _when
from pages.usage import plot

COLUMNS = ["id", "created (UTC)", "name", "email", "company", "room", "status", "flagged", "reviewed by"]
PAGE_SIZES = [25, 50, 100]
__all__ = ["COLUMNS", "build", "render_detail", "render_transcript", "table_frame"]
# the browser keeps the filters in the URL: (search, status, from, to) -> ?search=…&status=…&from=…&to=…
URL_FILTERS_JS = """(search, status, from, to) => {
  const url = new URL(window.location);
  const set = (key, value) => value ? url.searchParams.set(key, value) : url.searchParams.delete(key);
  url.searchParams.set('tab', 'profiles');
  set('search', search); set('status', status === 'all' ? '' : status);
  set('from', (from || '').slice(0, 10)); set('to', (to || '').slice(0, 10));
  history.replaceState(null, '', url);
}"""
URL_PROFILE_JS = """(id) => {
  const url = new URL(window.location);
  if (id !== null && id !== undefined && id !== '') { url.searchParams.set('profile', id);
    url.searchParams.set('tab', 'profiles'); } else { url.searchParams.delete('profile'); }
  history.replaceState(null, '', url);
}"""


def table_frame(page: ProfilePage) -> pd.DataFrame:
    rows = [[r.id, _when(r.created_at), r.full_name or "", r.email or "", r.company or "", r.room_name, r.status,
             ", ".join(r.flagged or []), r.reviewed_by or ""] for r in page.rows]
    return pd.DataFrame(rows, columns=COLUMNS)


def _user(request: gr.Request | None) -> str:
    return (request.username if request is not None else None) or "unknown"


def build(settings: Settings, page: gr.Blocks) -> None:
    db_url = settings.database_url

    def definition():
        return load_definition(settings.interview_path)

    def refresh(search: str, status: str, date_from: Any, date_to: Any, page_no: int, page_size: int):
        try:
            flt = ProfileFilter.from_inputs(search, status, date_from, date_to)
        except ValueError as exc:
            return gr.skip(), f"⚠ {exc}", gr.skip()
        result = list_profiles(db_url, flt, int(page_no or 1), int(page_size or PAGE_SIZES[0]))
        return table_frame(result), result.summary, result.page

    def open_profile(profile_id: Any):
        """(detail, transcript, field choices, message, timeline chart, timeline table)."""
        no_timeline = (None, pd.DataFrame(columns=TIMELINE_HEADERS))
        if profile_id in (None, ""):
            return "<p><em>Select a profile in the table or type its id.</em></p>", "", gr.skip(), "", *no_timeline
        interview = definition()
        detail = load_profile_detail(db_url, int(profile_id), interview)
        if detail is None:
            return f"<p>No profile with id {_esc(profile_id)}.</p>", "", gr.update(choices=[]), "", *no_timeline
        choices = [(f.label, f.name) for f in detail.fields if f.name in interview.names]
        exchanges = call_timeline(db_url, detail.call.id)
        return (render_detail(detail), render_transcript(detail), gr.update(choices=choices), "",
                plot(timeline_chart(exchanges)), pd.DataFrame(timeline_rows(exchanges), columns=TIMELINE_HEADERS))

    def from_url(request: gr.Request):
        """The view a shared link names: its filters and the profile to open."""
        query = dict(request.query_params) if request is not None else {}
        status_value = query.get("status", "all") if query.get("status", "all") in STATUSES else "all"
        profile = query.get("profile", "")
        return (query.get("search", ""), status_value, query.get("from") or None, query.get("to") or None,
                int(profile) if profile.isdigit() else None)

    def select_row(table: pd.DataFrame, evt: gr.SelectData):
        row = evt.row_value if evt.row_value is not None else table.iloc[evt.index[0]].tolist()
        return int(row[0])

    def save(profile_id: Any, field_name: str | None, text: str, request: gr.Request):
        if profile_id in (None, "") or not field_name:
            return "⚠ Open a profile and choose a field first."
        try:
            value = correct_field(db_url, int(profile_id), field_name, text or "", _user(request), definition())
        except CorrectionError as exc:
            return f"⚠ {exc}"
        return f"Saved {field_name} = {value!r} (by {_user(request)})."

    def review(profile_id: Any, request: gr.Request):
        if profile_id in (None, ""):
            return "⚠ Open a profile first."
        done = mark_reviewed(db_url, int(profile_id), _user(request))
        return f"Profile {int(profile_id)} marked reviewed by {_user(request)}." if done else "⚠ That profile is gone."

    def export(search: str, status: str, date_from: Any, date_to: Any):
        """A link to the staff-only download of these filters (streamed from the database, never a file here)."""
        try:
            flt = ProfileFilter.from_inputs(search, status, date_from, date_to)
        except ValueError as exc:
            return gr.skip(), f"⚠ {exc}"
        query = {"search": flt.search, "status": flt.status, "from": flt.date_from or "", "to": flt.date_to or ""}
        href = f"{PROFILES_CSV}?{urlencode({k: str(v) for k, v in query.items() if v})}"
        count = count_profiles(db_url, flt)
        link = f'<a href="{_esc(href)}" download id="profiles-export-link">Download the CSV ({count} profiles)</a>'
        return gr.update(value=link, visible=True), "Export ready: the link downloads the CSV."

    def remove(profile_id: Any):
        if profile_id in (None, ""):
            return "⚠ Open a profile first.", gr.update(visible=False), gr.skip(), gr.skip(), gr.skip()
        gone = delete_profile(db_url, int(profile_id))
        message = (f"Deleted profile {int(profile_id)} with its transcript and call." if gone
                   else f"⚠ No profile with id {int(profile_id)}.")
        return message, gr.update(visible=False), None, "", ""

    gr.Markdown("## Profiles")
    with gr.Row():
        search = gr.Textbox(label="Search", placeholder="name, email, company, room, user id or profile id",
                            elem_id="profiles-search", scale=3)
        status = gr.Dropdown(list(STATUSES), value="all", label="Status", elem_id="profiles-status", scale=1)
        date_from = gr.DateTime(label="From", include_time=False, type="string", elem_id="profiles-from", scale=1)
        date_to = gr.DateTime(label="To", include_time=False, type="string", elem_id="profiles-to", scale=1)
    table = gr.Dataframe(headers=COLUMNS, interactive=False, elem_id="profiles-table", wrap=True)
    with gr.Row():
        prev_btn = gr.Button("◀ Previous", size="sm", elem_id="profiles-prev")
        summary = gr.Markdown("", elem_id="profiles-page")
        next_btn = gr.Button("Next ▶", size="sm", elem_id="profiles-next")
        page_size = gr.Dropdown(PAGE_SIZES, value=PAGE_SIZES[0], label="Per page", scale=0, min_width=100)
        export_btn = gr.Button("Export CSV", size="sm", elem_id="profiles-export")
    export_file = gr.HTML("", visible=False, elem_id="profiles-export-file")
    page_no = gr.State(1)

    with gr.Row():
        profile_id = gr.Number(None, label="Profile id", precision=0, elem_id="profile-id", scale=1, min_width=120)
        open_btn = gr.Button("Open", elem_id="profile-open", scale=0)
        reviewed_btn = gr.Button("Mark reviewed", elem_id="profile-mark-reviewed", scale=0)
        delete_btn = gr.Button("Delete", variant="stop", elem_id="profile-delete", scale=0)
    with gr.Row(visible=False) as confirm_row:
        gr.Markdown("**Delete this profile, its transcript and its call for good?**")
        confirm_btn = gr.Button("Yes, delete", variant="stop", elem_id="profile-delete-confirm")
        cancel_btn = gr.Button("Cancel", elem_id="profile-delete-cancel")
    message = gr.Markdown("", elem_id="profile-message")
    with gr.Row():
        field = gr.Dropdown(choices=[], label="Field to correct", elem_id="profile-field", scale=1)
        value = gr.Textbox(label="Correct value", elem_id="profile-value", scale=2)
        save_btn = gr.Button("Save correction", elem_id="profile-save", scale=0)
    with gr.Row():
        detail = gr.HTML("<p><em>Select a profile in the table or type its id.</em></p>", elem_id="profile-detail",
                         css_template=DETAIL_CSS, scale=3, min_width=480)
        transcript = gr.HTML("", elem_id="transcript", css_template=TRANSCRIPT_CSS, max_height=700, scale=2,
                             min_width=320)
    with gr.Accordion("Latency timeline of this call", open=False, elem_id="profile-timeline"):
        timeline_plot = gr.Plot(show_label=False, label="Per-turn latency", elem_id="profile-timeline-chart")
        timeline_table = gr.Dataframe(headers=TIMELINE_HEADERS, interactive=False, elem_id="profile-timeline-table")

    filters = [search, status, date_from, date_to]
    listing = dict(fn=refresh, outputs=[table, summary, page_no])
    first_page = [*filters, gr.State(1), page_size]
    shown = [detail, transcript, field, message, timeline_plot, timeline_table]
    page.load(from_url, None, [*filters, profile_id]).then(inputs=first_page, **listing).then(
        open_profile, profile_id, shown)
    for trigger in (search.submit, status.change, date_from.change, date_to.change, page_size.change):
        trigger(inputs=first_page, **listing)
    for trigger in (search.submit, status.change, date_from.change, date_to.change):
        trigger(None, filters, None, js=URL_FILTERS_JS)
    profile_id.change(None, profile_id, None, js=URL_PROFILE_JS)
    prev_btn.click(lambda n: max(1, n - 1), page_no, page_no).then(inputs=[*filters, page_no, page_size], **listing)
    next_btn.click(lambda n: n + 1, page_no, page_no).then(inputs=[*filters, page_no, page_size], **listing)
    current = [*filters, page_no, page_size]

    table.select(select_row, table, profile_id).then(open_profile, profile_id, shown)
    open_btn.click(open_profile, profile_id, shown)
    profile_id.submit(open_profile, profile_id, shown)
    quiet = [detail, transcript, field, timeline_plot, timeline_table]  # keeps the message of the action

    def reopen(pid: Any):
        shown_values = open_profile(pid)
        return (*shown_values[:3], *shown_values[4:])

    save_btn.click(save, [profile_id, field, value], message).then(reopen, profile_id, quiet).then(
        inputs=current, **listing)
    reviewed_btn.click(review, profile_id, message).then(reopen, profile_id, quiet).then(inputs=current, **listing)
    export_btn.click(export, filters, [export_file, message])
    delete_btn.click(lambda: gr.update(visible=True), None, confirm_row)
    cancel_btn.click(lambda: gr.update(visible=False), None, confirm_row)
    confirm_btn.click(remove, profile_id, [message, confirm_row, profile_id, detail, transcript]).then(
        inputs=current, **listing)
