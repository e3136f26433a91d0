"""Dashboard entry point (ASGI): the FastAPI app with the REST routes, our static files and the Gradio pages.

    uvicorn dashboard:app      (what `make run` starts)

/        the talk page (the voice widget); public when TALK_PAGE_PUBLIC, else behind the admin login
/admin   rooms, profiles, usage & cost, status — always behind the login
/api     the REST routes (token, agent start/turn/complete); /docs has their OpenAPI description
/metrics Prometheus metrics (bearer METRICS_TOKEN, or this machine only when it is unset)
/admin/audio, /admin/exports, /admin/webhooks   staff-only routes beside the pages (onboarding/api/console.py)
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline by default
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from onboarding.api import close_rest_sessions, install_error_handlers, router
from onboarding.api.console import mount_console
from onboarding.api.widget import mount_api_docs, mount_static
from onboarding.metrics import install_dashboard_metrics
from onboarding.settings import Settings, get_settings
from pages import admin, talk

# System fonts only: Gradio's default theme would fetch web fonts from a CDN.
THEME = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


class UnsafeLogin(SystemExit):
    """Start-up refused: the admin login is empty or a placeholder and DEV_MODE is off."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    problem = settings.admin_password_problem()
    if problem:
        raise UnsafeLogin(f"dashboard not started: {problem}")
    login = (settings.admin_username, settings.admin_password)
    app = FastAPI(title="Voice Onboarding Console", version="0.1.0", docs_url=None, redoc_url=None)
    app.dependency_overrides[get_settings] = lambda: settings  # routes see the settings the app was built with
    app.include_router(router)
    install_error_handlers(app)  # client mistakes are 4xx with a message; nothing leaks a stack trace
    # Cross-origin calls only from the sites that embed the widget. Always ours: without a CORS middleware
    # on the app, Gradio's own would allow every origin once the host is not localhost.
    app.add_middleware(CORSMiddleware, allow_origins=settings.embed_origins, allow_methods=["GET", "POST"],
                       allow_headers=["Authorization", "Content-Type"])

    async def abandon_open_rest_calls() -> None:
        await close_rest_sessions(app)

    app.router.add_event_handler("shutdown", abandon_open_rest_calls)
    mount_static(app, settings)  # before Gradio at "/", which would otherwise shadow these routes
    mount_api_docs(app)
    install_dashboard_metrics(app, settings)  # request counts and GET /metrics (METRICS_TOKEN, or loopback only)
    mount_console(app, settings)  # staff-only audio, CSV exports, webhook re-send; the post-call/webhook loop

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    gr.mount_gradio_app(app, admin.build(settings), path="/admin", auth=login, theme=THEME, footer_links=[])
    return gr.mount_gradio_app(app, talk.build(settings), path="/", auth=None if settings.talk_page_public else login,
                               theme=THEME, footer_links=[])


def __getattr__(name: str) -> FastAPI:
    """`uvicorn dashboard:app` builds the app on first access, so importing this module has no side effects."""
    if name == "app":
        globals()["app"] = built = create_app()
        return built
    raise AttributeError(name)
