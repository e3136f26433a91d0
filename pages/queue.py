"""Review queue page: the fields that need a human, most urgent first; play the answer, approve it or fix it in one
action, and the next one is up. Keyboard: A approves, F jumps to the fix box (Enter saves), N / P move on or back,
Space plays the answer. Who settled what, and when, is listed below.

UI only: onboarding.admin.queue holds the queue; the item's audio is the staff-only clip route.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from onboarding.admin.queue import QueueError, QueueItem, approve, fix, open_items, recently_settled
from onboarding.interview import load_definition
from onboarding.settings import Settings
from pages.review import audio_tag, esc, when

COLUMNS = ["#", "profile", "name", "field", "value", "heard", "confidence", "why"]
SETTLED_COLUMNS = ["profile", "field", "value", "action", "by", "at (UTC)"]
PAGE = 25
KEYS_JS = """
if (!window.__reviewQueueKeys) {
  window.__reviewQueueKeys = true;
  document.addEventListener('keydown', (event) => {
    const panel = document.querySelector('#queue-item');
    if (!panel || panel.offsetParent === null) return;  // only while the queue tab is shown
    const target = event.target;
    if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.isContentEditable)) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const click = (id) => document.querySelector(id)?.click();
    const key = event.key.toLowerCase();
    if (key === 'a') click('#queue-approve');
    else if (key === 'f') document.querySelector('#queue-fix textarea, #queue-fix input')?.focus();
    else if (key === 'n' || key === 'j') click('#queue-next');
    else if (key === 'p' || key === 'k') click('#queue-prev');
    else if (key === ' ') {
      const audio = document.querySelector('#queue-item audio');
      if (!audio) return;
      audio.paused ? audio.play() : audio.pause();
    } else return;
    event.preventDefault();
  });
}
"""
HELP = ("**Keys:** <kbd>A</kbd> approve · <kbd>F</kbd> fix (type, then <kbd>Enter</kbd>) · <kbd>N</kbd> next · "
        "<kbd>P</kbd> previous · <kbd>Space</kbd> play the answer")


def _user(request: gr.Request | None) -> str:
    return (request.username if request is not None else None) or "unknown"


def queue_frame(items: list[QueueItem], offset: int = 0) -> pd.DataFrame:
    rows = [[offset + n + 1, i.profile_id, i.profile_name or "", i.field, i.value if i.value is not None else "—",
             i.heard or "", "" if i.confidence is None else f"{i.confidence:.2f}", i.why] for n, i in enumerate(items)]
    return pd.DataFrame(rows, columns=COLUMNS)


def settled_frame(items: list[QueueItem]) -> pd.DataFrame:
    return pd.DataFrame([[i.profile_id, i.field, i.value or "", i.action or "", i.resolved_by or "",
                          when(i.resolved_at)] for i in items], columns=SETTLED_COLUMNS)


def render_item(item: QueueItem | None, position: int, total: int) -> str:
    if item is None:
        return "<p><em>Nothing needs a human right now.</em></p>"
    value = esc(item.value) if item.value is not None else "<em>no value heard</em>"
    heard = f"<p>Heard: “{esc(item.heard)}”</p>" if item.heard else ""
    confidence = f" · confidence {item.confidence:.2f}" if item.confidence is not None and item.value else ""
    player = audio_tag(item.turn_id, f"the caller's answer for {item.field}") if item.audio_key else (
        "<p><em>No audio for this answer.</em></p>")
    return (f'<div class="queue-item"><p><strong>{position + 1} of {total}</strong> · {esc(item.why)}</p>'
            f"<h3>{esc(item.field)}: {value}</h3>{heard}"
            f"<p>Profile <a href=\"/admin/?tab=profiles&profile={item.profile_id}\" target=\"_blank\">"
            f"{item.profile_id}</a> {esc(item.profile_name or '')} · source {esc(item.source or '—')}{confidence}</p>"
            f"{player}</div>")


def build(settings: Settings, page: gr.Blocks) -> None:
    db_url = settings.database_url

    def show(position: int):
        """(table, items, position, item panel, count line, settled table)."""
        listing = open_items(db_url, PAGE)
        items = listing.items
        position = max(0, min(position, len(items) - 1)) if items else 0
        current = items[position] if items else None
        total = listing.open_total
        count = f"**{total:,} {'field needs' if total == 1 else 'fields need'} a human.** " + HELP
        return (queue_frame(items), items, position, render_item(current, position, listing.open_total), count,
                settled_frame(recently_settled(db_url)))

    def current_id(items: list[QueueItem], position: int) -> int | None:
        return items[position].id if items and 0 <= position < len(items) else None

    def do_approve(items: list[QueueItem], position: int, request: gr.Request):
        item_id = current_id(items, position)
        if item_id is None:
            return "⚠ Nothing to approve.", position
        try:
            done = approve(db_url, item_id, _user(request))
        except QueueError as exc:
            return f"⚠ {exc}", position
        return f"Approved {done.field} = {done.value!r} on profile {done.profile_id} (by {done.resolved_by}).", position

    def do_fix(items: list[QueueItem], position: int, text: str, request: gr.Request):
        item_id = current_id(items, position)
        if item_id is None:
            return "⚠ Nothing to fix.", position, gr.skip()
        try:
            value = fix(db_url, item_id, text or "", _user(request), load_definition(settings.interview_path))
        except QueueError as exc:
            return f"⚠ {exc}", position, gr.skip()
        item = items[position]
        return f"Fixed {item.field} = {value!r} on profile {item.profile_id} (by {_user(request)}).", position, ""

    def select_row(evt: gr.SelectData):
        return evt.index[0]

    gr.Markdown("## Review queue\nFields the interview flagged, read-backs the caller did not confirm, answers heard "
                "with low confidence, and values the caller corrected or typed; most urgent first.")
    count = gr.Markdown(elem_id="queue-count")
    with gr.Row():
        with gr.Column(scale=3, min_width=420):
            item_panel = gr.HTML(elem_id="queue-item", js_on_load=KEYS_JS)
            with gr.Row():
                approve_btn = gr.Button("Approve (A)", variant="primary", elem_id="queue-approve")
                prev_btn = gr.Button("◀ Previous (P)", elem_id="queue-prev")
                next_btn = gr.Button("Next (N) ▶", elem_id="queue-next")
            with gr.Row():
                fix_box = gr.Textbox(label="Fix: the right value (F, then Enter)", elem_id="queue-fix", scale=3)
                fix_btn = gr.Button("Save fix", elem_id="queue-save", scale=1)
            message = gr.Markdown(elem_id="queue-message")
        with gr.Column(scale=4, min_width=480):
            table = gr.Dataframe(headers=COLUMNS, interactive=False, elem_id="queue-table", wrap=True,
                                 label="Open items")
    settled = gr.Dataframe(headers=SETTLED_COLUMNS, interactive=False, elem_id="queue-settled",
                           label="Recently settled (who and when)")
    items = gr.State([])
    position = gr.State(0)

    outputs = [table, items, position, item_panel, count, settled]
    page.load(show, gr.State(0), outputs)
    approve_btn.click(do_approve, [items, position], [message, position]).then(show, position, outputs)
    for trigger in (fix_btn.click, fix_box.submit):
        trigger(do_fix, [items, position, fix_box], [message, position, fix_box]).then(show, position, outputs)
    next_btn.click(lambda n: n + 1, position, position).then(show, position, outputs)
    prev_btn.click(lambda n: max(0, n - 1), position, position).then(show, position, outputs)
    table.select(select_row, None, position).then(show, position, outputs)
