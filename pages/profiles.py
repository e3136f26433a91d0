"""Profiles page: find a profile, read what was heard and where, correct it, sign it off, export or delete.

UI only: every query and change is a function in onboarding.admin.profiles / onboarding.admin.review.
Each field links to the transcript turn it came from (`#turn-<id>`); those turns are highlighted.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode

import gradio as gr
import pandas as pd

from onboarding.admin.profiles import (
    STATUSES,
    ProfileFilter,
    ProfilePage,
    count_profiles,
    delete_profile,
    list_profiles,
)
from onboarding.admin.review import (
    CorrectionError,
    ProfileDetail,
    correct_field,
    describe_fallback,
    describe_use,
    load_profile_detail,
    mark_reviewed,
)
from onboarding.api.exports import PROFILES_CSV
from onboarding.interview import load_definition
from onboarding.settings import Settings
from onboarding.usage.metering import KIND_NAMES

COLUMNS = ["id", "created (UTC)", "name", "email", "company", "room", "status", "flagged", "reviewed by"]
PAGE_SIZES = [25, 50, 100]
TRANSCRIPT_CSS = """
.turn { padding: 4px 8px; border-radius: 6px; margin: 2px 0; list-style: none; }
.turn.source { background: rgba(255, 200, 0, 0.18); border-left: 3px solid #e0a800; }
.turn:target { outline: 2px solid #2563eb; background: rgba(37, 99, 235, 0.12); }
.who { font-weight: 600; margin-right: 6px; }
"""
DETAIL_CSS = """
.fields { overflow-x: auto; max-width: 100%; }
.fields table { width: 100%; border-collapse: collapse; font-size: 0.9em; }
.fields td, .fields th { padding: 4px 6px; vertical-align: top; }
.fields.providers table { width: auto; }
.fallbacks { color: #b45309; margin: 4px 0 8px 0; padding-left: 4px; list-style: none; }
"""


def _esc(value: Any) -> str:
    """HTML-escaped, and braces too: gr.HTML treats the value as a template."""
    return html.escape("" if value is None else str(value)).replace("{", "&#123;").replace("}", "&#125;")


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def table_frame(page: ProfilePage) -> pd.DataFrame:
    rows = [[r.id, _when(r.created_at), r.full_name or "", r.email or "", r.company or "", r.room_name, r.status,
             ", ".join(r.flagged or []), r.reviewed_by or ""] for r in page.rows]
    return pd.DataFrame(rows, columns=COLUMNS)


def render_detail(detail: ProfileDetail) -> str:
    """Fields with provenance; each value links to the turn it was heard in."""
    profile, call = detail.profile, detail.call
    turn_number = {t.id: t.index + 1 for t in detail.turns}
    reviewed = (f"reviewed by {_esc(profile.reviewed_by)} at {_when(profile.reviewed_at)} UTC"
                if profile.reviewed_at else "not reviewed yet")
    head = (f"<h3>Profile {profile.id}: {_esc(profile.full_name or 'no name yet')}</h3>"
            f"<p>Room <code>{_esc(call.room_name)}</code> · call {_esc(call.status)} · "
            f"{'completed' if profile.completed else 'partial'} profile · created {_when(profile.created_at)} UTC · "
            f"{reviewed}</p>")
    rows = []
    for item in detail.fields:
        value = item.current
        if value is None:
            cells = "<td><em>not collected</em></td><td></td><td></td><td></td><td></td>"
        else:
            if value.turn_id in turn_number:
                origin = _link(value.turn_id, turn_number)
            elif value.source == "staff":
                origin = f"staff: {_esc(value.changed_by)} at {_when(value.created_at)}"
            else:
                origin = ""
            cells = (f"<td><strong>{_esc(value.value)}</strong></td><td>“{_esc(value.raw_text)}”</td>"
                     f"<td>{value.confidence:.2f}</td><td>{_esc(value.source)}</td><td>{origin}</td>")
        history = "<br>".join(
            f"{_esc(old.value)} ({_esc(old.source)}{', ' + _esc(old.changed_by) if old.changed_by else ''}"
            f"{', ' + _link(old.turn_id, turn_number) if old.turn_id in turn_number else ''})"
            for old in item.history)
        flag = ' <span title="flagged for review">⚑ flagged</span>' if item.flagged else ""
        rows.append(f"<tr><td>{_esc(item.label)}{flag}</td>{cells}<td>{history}</td></tr>")
    table = ('<div class="fields"><table><thead><tr><th>Field</th><th>Value</th><th>Heard</th><th>Confidence</th>'
             "<th>Source</th>"
             f"<th>From</th><th>Earlier values</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>")
    return head + render_providers(detail) + table


def render_providers(detail: ProfileDetail) -> str:
    """Which provider served the call per kind, what each was metered for, and every fallback with its reason."""
    rows = "".join(
        f"<tr><td>{KIND_NAMES.get(use.kind, use.kind)}</td><td><code>{_esc(use.provider)}</code>"
        f"{' <em>(took over)</em>' if use.fallback else ''}</td><td>{_esc(describe_use(use))}</td></tr>"
        for use in detail.providers)
    fallbacks = detail.fallbacks
    notes = (f'<ul class="fallbacks">{"".join(f"<li>⚠ {_esc(describe_fallback(f))}</li>" for f in fallbacks)}</ul>'
             if fallbacks else "<p><em>No fallback: every provider served the whole call.</em></p>")
    return ('<h4>Providers</h4><div class="fields providers"><table><thead><tr><th>Kind</th><th>Provider</th>'
            "<th>Metered</th></tr>"
            f"</thead><tbody>{rows}</tbody></table></div>{notes}")


def _link(turn_id: int, turn_number: dict[int, int]) -> str:
    return f'<a href="#turn-{turn_id}">turn {turn_number[turn_id]}</a>'


def render_transcript(detail: ProfileDetail) -> str:
    """The call in order; every line carries its `turn-<id>` anchor, lines a field came from are highlighted."""
    sources = detail.source_turn_ids
    if not detail.turns:
        return "<p><em>No transcript was recorded for this call.</em></p>"
    lines = []
    for turn in detail.turns:
        classes = "turn source" if turn.id in sources else "turn"
        who = "Caller" if turn.role == "user" else "Agent"
        cut = " <em>(interrupted)</em>" if turn.interrupted else ""
        lines.append(f'<li id="turn-{turn.id}" class="{classes}"><span class="who">{turn.index + 1}. {who}</span>'
                     f"{_esc(turn.text)}{cut}</li>")
    return f"<h4>Transcript</h4><ol class=\"transcript\">{''.join(lines)}</ol>"


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
        if profile_id in (None, ""):
            return "<p><em>Select a profile in the table or type its id.</em></p>", "", gr.skip(), ""
        interview = definition()
        detail = load_profile_detail(db_url, int(profile_id), interview)
        if detail is None:
            return f"<p>No profile with id {_esc(profile_id)}.</p>", "", gr.update(choices=[]), ""
        choices = [(f.label, f.name) for f in detail.fields if f.name in interview.names]
        return render_detail(detail), render_transcript(detail), gr.update(choices=choices), ""

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

    filters = [search, status, date_from, date_to]
    listing = dict(fn=refresh, outputs=[table, summary, page_no])
    first_page = [*filters, gr.State(1), page_size]
    page.load(inputs=first_page, **listing)
    for trigger in (search.submit, status.change, date_from.change, date_to.change, page_size.change):
        trigger(inputs=first_page, **listing)
    prev_btn.click(lambda n: max(1, n - 1), page_no, page_no).then(inputs=[*filters, page_no, page_size], **listing)
    next_btn.click(lambda n: n + 1, page_no, page_no).then(inputs=[*filters, page_no, page_size], **listing)
    current = [*filters, page_no, page_size]

    shown = [detail, transcript, field, message]
    table.select(select_row, table, profile_id).then(open_profile, profile_id, shown)
    open_btn.click(open_profile, profile_id, shown)
    profile_id.submit(open_profile, profile_id, shown)

    def reopen(pid: Any):
        return open_profile(pid)[:3]

    save_btn.click(save, [profile_id, field, value], message).then(reopen, profile_id, shown[:3]).then(
        inputs=current, **listing)
    reviewed_btn.click(review, profile_id, message).then(reopen, profile_id, shown[:3]).then(inputs=current, **listing)
    export_btn.click(export, filters, [export_file, message])
    delete_btn.click(lambda: gr.update(visible=True), None, confirm_row)
    cancel_btn.click(lambda: gr.update(visible=False), None, confirm_row)
    confirm_btn.click(remove, profile_id, [message, confirm_row, profile_id, detail, transcript]).then(
        inputs=current, **listing)
