"""Talk page: the voice widget, the very file any other page can embed (static/voice-widget.js).

Gradio renders components after the page has loaded, so the widget's scripts go in through `gr.HTML`'s
`head` (loaded before `js_on_load` runs) and `js_on_load` mounts the widget on its element; the widget
also watches the DOM itself, which is what makes it a drop-in anywhere else.
"""

from __future__ import annotations

import gradio as gr

from onboarding.settings import Settings

WIDGET_HEAD = (
    '<link rel="stylesheet" href="/static/voice-widget.css">'
    '<script src="/vendor/livekit-client.umd.js"></script>'
    '<script src="/static/voice-widget.js"></script>'
)
MOUNT_JS = "window.VoiceOnboarding && window.VoiceOnboarding.mountAll(element);"


def widget_html(*, user_id: str = "", agent_timeout: float = 20.0) -> str:
    """The one element the widget needs; the server picks the room, so every tab gets its own."""
    user = f' data-user-id="{user_id}"' if user_id else ""
    return f'<div id="voice-onboarding" data-voice-onboarding data-agent-timeout="{agent_timeout:g}"{user}></div>'


def build(settings: Settings) -> gr.Blocks:
    with gr.Blocks(title="Talk — Voice Onboarding Console") as page:
        gr.Markdown(
            "# Voice onboarding\n"
            "Press **Start voice conversation**, allow the microphone and answer the agent's questions. "
            "The profile on the right fills in as you speak."
        )
        gr.HTML(widget_html(agent_timeout=settings.agent_join_timeout_seconds), head=WIDGET_HEAD,
                js_on_load=MOUNT_JS, elem_id="talk-widget", padding=False)
    return page
