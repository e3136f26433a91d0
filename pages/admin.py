"""The admin console: one tab per page, all behind the login (dashboard.py mounts it at /admin)."""

from __future__ import annotations

import gradio as gr

from onboarding.settings import Settings
from pages import profiles, rooms, status, usage

TITLE = "Voice Onboarding Console — admin"


def build(settings: Settings) -> gr.Blocks:
    with gr.Blocks(title=TITLE) as page:
        with gr.Row():
            gr.Markdown(f"# {TITLE}")
            gr.HTML('<p style="text-align:right"><a href="/">Talk to the agent</a> · '
                    '<a href="/admin/logout">Log out</a></p>')
        with gr.Tabs():
            with gr.Tab("Rooms", id="rooms"):
                rooms.build(settings, page)
            with gr.Tab("Profiles", id="profiles"):
                profiles.build(settings, page)
            with gr.Tab("Usage & cost", id="usage"):
                usage.build(settings, page)
            with gr.Tab("Status", id="status"):
                status.build(settings, page)
    return page
