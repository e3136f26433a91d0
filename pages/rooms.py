"""Rooms page: the live onboarding rooms with what each participant publishes (microphone, camera, screen share),
refreshed every few seconds, and closing one after a confirmation."""

from __future__ import annotations

import asyncio

import gradio as gr

from onboarding.admin.rooms import (
    TABLE_HEADERS,
    WORKER_HEADERS,
    RoomListing,
    close_room,
    list_active_rooms,
    list_workers,
    refusal,
    table_rows,
)
from onboarding.settings import Settings

REFRESH_SECONDS = 3


def banner(listing: RoomListing) -> str:
    return f"**⚠ {listing.error}**" if listing.error else f"**{listing.banner}**"


def build(settings: Settings, page: gr.Blocks) -> None:
    """Components and events of the rooms tab; called inside the admin Blocks' `gr.Tab`."""

    async def refresh() -> tuple[str, list[list[str | int]], str, list[list[str | int]]]:
        listing = await list_active_rooms(settings)
        workers = await asyncio.to_thread(list_workers, settings)
        shown = f"**⚠ {workers.banner}**" if workers.error else f"**{workers.banner}**"
        return banner(listing), table_rows(listing), shown, workers.rows

    def pick(event: gr.SelectData) -> str:
        return str(event.row_value[0]) if event.row_value else ""

    def ask(room_name: str) -> tuple[str, str, dict, str]:
        """First step of closing: refuse at once what would be refused anyway, else ask to confirm."""
        name = room_name.strip()
        if reason := refusal(settings, name):
            return "", "", gr.update(visible=False), reason
        return name, f"Really close **{name}**? Everyone in it is disconnected.", gr.update(visible=True), ""

    async def confirm(pending: str) -> tuple:
        result = await close_room(settings, pending)
        return "", gr.update(visible=False), result.message, *await refresh()

    def cancel() -> tuple[str, dict, str]:
        return "", gr.update(visible=False), "Nothing closed"

    status = gr.Markdown("Loading rooms…", elem_id="rooms-banner")
    with gr.Row():
        refresh_button = gr.Button("Refresh", elem_id="rooms-refresh", scale=0)
    table = gr.Dataframe(value=[], headers=TABLE_HEADERS, interactive=False, elem_id="rooms-table",
                         label="Active onboarding rooms (newest first; click a row to pick it; "
                               "Tracks: what each participant publishes)")
    with gr.Row(equal_height=True):
        room_name = gr.Textbox(label="Room to close", placeholder=f"{settings.room_prefix}…",
                               elem_id="rooms-close-name", scale=3)
        close_button = gr.Button("Close room", variant="stop", elem_id="rooms-close", scale=1)
    pending = gr.State("")
    with gr.Group(visible=False, elem_id="rooms-confirm") as confirm_box:
        question = gr.Markdown(elem_id="rooms-confirm-text")
        with gr.Row():
            yes = gr.Button("Confirm", variant="stop", elem_id="rooms-confirm-yes")
            no = gr.Button("Cancel", elem_id="rooms-confirm-no")
    outcome = gr.Markdown(elem_id="rooms-close-result")
    workers_status = gr.Markdown("Loading workers…", elem_id="workers-banner")
    workers_table = gr.Dataframe(value=[], headers=WORKER_HEADERS, interactive=False, elem_id="workers-table",
                                 label="Agent workers: calls now against MAX_JOBS_PER_WORKER (when every worker is "
                                       "full, new callers are told to wait)")

    listing_out = [status, table, workers_status, workers_table]
    gr.Timer(REFRESH_SECONDS).tick(refresh, outputs=listing_out, show_progress="hidden")
    refresh_button.click(refresh, outputs=listing_out)
    page.load(refresh, outputs=listing_out)
    table.select(pick, outputs=room_name)
    close_button.click(ask, inputs=room_name, outputs=[pending, question, confirm_box, outcome])
    room_name.submit(ask, inputs=room_name, outputs=[pending, question, confirm_box, outcome])
    yes.click(confirm, inputs=pending, outputs=[pending, confirm_box, outcome, *listing_out])
    no.click(cancel, outputs=[pending, confirm_box, outcome])
