"""The admin console: one tab per page, all behind the staff login (dashboard.py mounts it at /admin with our own
sign-in, onboarding.api.staff, so `request.username` is the signed-in staff member)."""

from __future__ import annotations

import gradio as gr

from onboarding.settings import Settings
from pages import profiles, rooms, status, usage

TITLE = "Voice Onboarding Console — admin"


def build(settings: Settings) -> gr.Blocks:
    with gr.Blocks(title=TITLE) as page:
        with gr.Row():
            gr.Markdown(f"# {TITLE}")
            signed_in = gr.Markdown("", elem_id="signed-in")
            gr.HTML('<p style="text-align:right"><a href="/">Talk to the agent</a> · '
                    '<a href="/admin/logout" id="log-out">Log out</a></p>')
        with gr.Tabs():
            with gr.Tab("Rooms", id="rooms"):
                rooms.build(settings, page)
            with gr.Tab("Profiles", id="profiles"):
                profiles.build(settings, page)
            with gr.Tab("Usage & cost", id="usage"):
                usage.build(settings, page)
            with gr.Tab("Status", id="status"):
                status.build(settings, page)
        page.load(signed_in_as, None, signed_in)
    return page


def signed_in_as(request: gr.Request) -> str:
    return f"Signed in as `{request.username}`" if request.username else ""
