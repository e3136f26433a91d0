"""Talk page: the voice widget, the very file any other page can embed (static/voice-widget.js).

Gradio renders components after the page has loaded, so the widget's scripts go in through `gr.HTML`'s
`head` (loaded before `js_on_load` runs) and `js_on_load` mounts the widget on its element; the widget
also watches the DOM itself, which is what makes it a drop-in anywhere else.
"""

from __future__ import annotations

import gradio as gr

from onboarding.gradio_widget import voice_widget
from onboarding.settings import Settings


def build(settings: Settings) -> gr.Blocks:
    with gr.Blocks(title="Talk — Voice Onboarding Console") as page:
        gr.Markdown(
            "# Voice onboarding\n"
            "Press **Start voice conversation**, allow the microphone and answer the agent's questions. "
            "The profile on the right fills in as you speak."
        )
        voice_widget(settings)
    return page
