"""Dashboard entry point (ASGI): the FastAPI app with the REST routes, our static files and the Gradio pages.

    uvicorn dashboard:app      (what `make run` starts)

/        the talk page (the voice widget); public when TALK_PAGE_PUBLIC, else behind the staff login
/admin   rooms, profiles, usage & cost, status — always behind the staff login (/admin/login, /admin/logout)
/api     the REST routes (token, agent start/turn/complete); /docs has their OpenAPI description
/metrics Prometheus metrics (bearer METRICS_TOKEN, or this machine only when it is unset)
/admin/audio, /admin/exports, /admin/webhooks   staff-only routes beside the pages (onboarding/api/console.py)
"""

from __future__ import annotations

import asyncio
import gc
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline by default
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from onboarding import storage
from onboarding.api import close_rest_sessions, install_error_handlers, router
from onboarding.api.console import mount_console
from onboarding.api.exports import router as exports_router
from onboarding.api.staff import install_staff_login
from onboarding.api.widget import mount_api_docs, mount_static
from onboarding.logging_setup import setup_logging
from onboarding.metrics import install_dashboard_metrics
from onboarding.secret_checks import startup_refusals
from onboarding.settings import Settings, get_settings
from pages import admin, talk

# System fonts only: Gradio's default theme would fetch web fonts from a CDN.
THEME = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


class UnsafeLogin(SystemExit):
    """Start-up refused (DEV_MODE off): the admin password is empty, a placeholder or short, or a secret is a value
    from this repository's examples."""


def freeze_startup_objects() -> None:
    """Gradio, FastAPI and the app are ~240k long-lived objects: frozen out of the garbage collector, a full
    collection no longer walks them inside a request (measured: 300–400 ms pauses in the console's data
    functions at 100k profiles, docs/dashboard-benchmark.md). Once per process: a frozen cycle is never freed,
    and a test process builds many apps."""
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    problems = startup_refusals(settings, "dashboard")
    if problems:
        raise UnsafeLogin("dashboard not started: " + "; ".join(problems))
    app = FastAPI(title="Voice Onboarding Console", version="0.1.0", docs_url=None, redoc_url=None)
    app.dependency_overrides[get_settings] = lambda: settings  # routes see the settings the app was built with
    app.include_router(router)
    install_error_handlers(app)  # client mistakes are 4xx with a message; nothing leaks a stack trace
    # Cross-origin calls only from the sites that embed the widget. Always ours: without a CORS middleware
    # on the app, Gradio's own would allow every origin once the host is not localhost.
    app.add_middleware(CORSMiddleware, allow_origins=settings.embed_origins, allow_methods=["GET", "POST"],
                       allow_headers=["Authorization", "Content-Type", "Idempotency-Key"])

    async def start_housekeeping() -> None:
        # replays spools left by earlier runs, closes calls of dead workers and dashboards, purges old transcripts
        app.state.reaper = storage.start(settings)
        freeze_startup_objects()

    async def abandon_open_rest_calls() -> None:
        await close_rest_sessions(app)
        await asyncio.to_thread(storage.stop, getattr(app.state, "reaper", None))

    app.router.add_event_handler("startup", start_housekeeping)
    app.router.add_event_handler("shutdown", abandon_open_rest_calls)
    staff = install_staff_login(app, settings)  # our /admin/login and /admin/logout, before Gradio's own
    app.include_router(exports_router)  # staff-only downloads (the CSV export): streamed, never a file on disk
    mount_static(app, settings)  # before Gradio at "/", which would otherwise shadow these routes
    mount_api_docs(app)
    install_dashboard_metrics(app, settings)  # request counts and GET /metrics (METRICS_TOKEN, or loopback only)
    mount_console(app, settings)  # staff-only audio, CSV exports, webhook re-send; the post-call/webhook loop

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    gr.mount_gradio_app(app, admin.build(settings), path="/admin", auth_dependency=staff, theme=THEME,
                        footer_links=[])
    return gr.mount_gradio_app(app, talk.build(settings), path="/",
                               auth_dependency=None if settings.talk_page_public else staff, theme=THEME,
                               footer_links=[])


def __getattr__(name: str) -> FastAPI:
    """`uvicorn dashboard:app` builds the app on first access, so importing this module has no side effects."""
    if name == "app":
        setup_logging(get_settings().log_level)  # the served app logs like the worker (JSON, LOG_LEVEL)
        globals()["app"] = built = create_app()
        return built
    raise AttributeError(name)
