"""Every HTTP route besides the Gradio pages: the original design's `/api/livekit/*` REST routes (token, agent
start/turn/complete), the widget's routes and files, and the guard they run behind."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from onboarding.api import corrections, livekit
from onboarding.api.guard import install_error_handlers

router = APIRouter()  # every route module's router, for the app to include once
router.include_router(livekit.router)
router.include_router(corrections.router)


async def close_rest_sessions(app: FastAPI) -> None:
    """On shutdown: open push-to-talk sessions are stored as abandoned instead of staying in progress."""
    calls = getattr(app.state, "rest_calls", None)
    if calls is not None:
        await calls.aclose()


__all__ = ["close_rest_sessions", "install_error_handlers", "router"]
