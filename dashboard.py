"""Dashboard entry point (ASGI): the FastAPI app with the REST routes and the Gradio pages.

    uvicorn dashboard:app      (what `make run` starts)
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline by default
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr
from fastapi import FastAPI

from onboarding.api import router
from onboarding.settings import get_settings
from pages import status

# System fonts only: Gradio's default theme would fetch web fonts from a CDN.
THEME = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(title="Voice Onboarding Console", version="0.1.0")
    app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return gr.mount_gradio_app(
        app, status.build(settings), path="/", auth=(settings.admin_username, settings.admin_password),
        theme=THEME, footer_links=[],
    )


app = create_app()
