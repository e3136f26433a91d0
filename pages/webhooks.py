"""Webhooks page: the delivery log — each event to each URL, its attempts and last answer, what it sends — and a
manual re-send (same event id). Refreshes itself every few seconds.

UI only: onboarding.admin.webhooks reads the log; the dashboard's console loop does the sending.
"""

from __future__ import annotations

from urllib.parse import urlparse

import gradio as gr
import pandas as pd

from onboarding.admin.webhooks import STATUSES, DeliveryRow, delivery_log, event_body, resend, status_counts
from onboarding.settings import Settings
from pages.review import when

COLUMNS = ["Delivery", "Event", "Type", "Profile", "To", "Status", "Attempts", "Answers", "Last error",
           "Next try (UTC)", "Delivered (UTC)"]
REFRESH_SECONDS = 5


def log_frame(rows: list[DeliveryRow]) -> pd.DataFrame:
    return pd.DataFrame([[r.id, r.event_id, r.event_type, r.profile_id or "", urlparse(r.url).netloc, r.status,
                          r.attempts, r.answered, (r.last_error or "")[:80],
                          when(r.next_attempt_at) if r.status == "pending" else "", when(r.delivered_at)]
                         for r in rows], columns=COLUMNS)


def build(settings: Settings, page: gr.Blocks) -> None:
    db_url = settings.database_url
    targets = ", ".join(urlparse(u).netloc for u in settings.webhook_endpoints) or "none (set WEBHOOK_URLS)"

    def show(status: str):
        counts = status_counts(db_url)
        line = " · ".join(f"{name}: {counts.get(name, 0):,}" for name in STATUSES[1:])
        return log_frame(delivery_log(db_url, status or "all")), f"**Sent to:** {targets} — {line}"

    def pick(table: pd.DataFrame, evt: gr.SelectData):
        delivery_id = int(table.iloc[evt.index[0]]["Delivery"])
        return delivery_id, event_body(db_url, delivery_id) or ""

    def do_resend(delivery_id: int | None):
        if not delivery_id:
            return "⚠ Pick a delivery in the log first."
        if not resend(db_url, int(delivery_id)):
            return f"⚠ Delivery {delivery_id} cannot be re-sent (gone, or cancelled because its profile was deleted)."
        return f"Delivery {delivery_id} will be sent again within seconds (same event id)."

    gr.Markdown("## Webhooks\nEvents when a profile is completed, reviewed or deleted, POSTed as signed JSON "
                "(`Onboarding-Signature: t=…,v1=…`, HMAC-SHA256 of `t.body`) and retried with exponential backoff.")
    with gr.Row():
        status = gr.Dropdown(list(STATUSES), value="all", label="Status", elem_id="webhooks-status")
        refresh = gr.Button("Refresh", scale=0)
    counts = gr.Markdown(elem_id="webhooks-counts")
    table = gr.Dataframe(headers=COLUMNS, interactive=False, elem_id="webhooks-table", wrap=True)
    gr.HTML('<a href="/admin/exports/webhook-deliveries.csv" download id="webhooks-export">Download the log as CSV</a>')
    with gr.Row():
        chosen = gr.Number(None, label="Delivery", precision=0, elem_id="webhooks-delivery", scale=0, min_width=120)
        resend_btn = gr.Button("Re-send", elem_id="webhooks-resend", scale=0)
        message = gr.Markdown(elem_id="webhooks-message")
    body = gr.Code(label="What it sends", language="json", elem_id="webhooks-body", interactive=False)
    timer = gr.Timer(REFRESH_SECONDS)
    page.load(show, status, [table, counts])
    for trigger in (status.change, refresh.click, timer.tick):
        trigger(show, status, [table, counts], show_progress="hidden")
    table.select(pick, table, [chosen, body])
    resend_btn.click(do_resend, chosen, message).then(show, status, [table, counts])
