"""What the voice widget needs from the server: its own files, livekit-client, the field list and the
caller's stored profile.

The widget is a plain script any page can load, so these routes are plain FastAPI (no Gradio) and the
profile route trusts nothing but the caller's own LiveKit token: it is short-lived, scoped to one room and one
identity, and the room was granted to that identity, so it proves "I am the caller of this room" without a login
or any secret in the page (onboarding.api.callers).
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel

from onboarding.api.callers import bearer_token, own_call
from onboarding.api.guard import ErrorBody
from onboarding.interview import load_definition
from onboarding.settings import REPO_ROOT, Settings, get_settings

STATIC_DIR = REPO_ROOT / "static"
LIVEKIT_CLIENT = REPO_ROOT / "node_modules" / "livekit-client" / "dist" / "livekit-client.umd.js"
SWAGGER_UI = REPO_ROOT / "node_modules" / "swagger-ui-dist"
SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml",
               ".map": "application/json"}

router = APIRouter(prefix="/api/livekit", tags=["widget"])
SettingsDep = Annotated[Settings, Depends(get_settings)]


class InterviewField(BaseModel):
    name: str
    label: str
    required: bool


class StoredProfile(BaseModel):
    roomName: str
    status: str
    completed: bool
    profileId: int | None
    fields: dict[str, Any]
    flagged: list[str]


@functools.lru_cache(maxsize=4)
def _fields(path: Path, mtime: float) -> list[InterviewField]:
    definition = load_definition(path)
    return [InterviewField(name=f.name, label=f.label, required=f.required) for f in definition.fields]


def interview_fields(settings: Settings) -> list[InterviewField]:
    """The checklist the widget shows; re-read when the interview file changes."""
    path = settings.interview_path
    return _fields(path, path.stat().st_mtime)


@router.get("/interview", response_model=list[InterviewField])
def get_interview(settings: SettingsDep) -> list[InterviewField]:
    """The interview's fields in the order they are asked (name, label, required)."""
    return interview_fields(settings)


PROFILE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No valid LiveKit token in 'Authorization: Bearer <token>'"},
    403: {"model": ErrorBody, "description": "A token for another room, or issued to another caller"},
    404: {"model": ErrorBody, "description": "No call recorded in this room (yet)"},
}


@router.get("/profile", response_model=StoredProfile, responses=PROFILE_ERRORS)
async def get_profile(
    settings: SettingsDep,
    room_name: Annotated[str, Query(alias="roomName", min_length=1, max_length=64)],
    authorization: Annotated[str | None, Header(description="Bearer <the caller's LiveKit token>")] = None,
) -> StoredProfile:
    """The profile stored for the caller's own room: the token must be for exactly that room and be the one
    the room was granted to."""
    record = await asyncio.to_thread(own_call, settings, room_name, bearer_token(authorization))
    profile = record.profile
    return StoredProfile(roomName=room_name, status=record.call.status, completed=profile.completed,
                         profileId=profile.id, fields=dict(profile.answers or {}), flagged=list(profile.flagged or []))


def _file_route(path: Path) -> Any:
    media_type = MEDIA_TYPES.get(path.suffix, "application/octet-stream")

    def serve() -> FileResponse:
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "no-cache"})

    return serve


def mount_static(app: FastAPI, settings: Settings) -> None:
    """Serve our widget files under /static/ and livekit-client under /vendor/ (never a CDN), plus the
    widget's API routes.

    Each file gets its own route rather than a mount of the whole /static/ prefix: Gradio serves its own
    /static/ assets, and a mount would hide them. Call this before mounting Gradio at "/".
    """
    interview_fields(settings)  # a broken interview file stops start-up, not the first caller
    if not LIVEKIT_CLIENT.is_file():
        raise RuntimeError(f"{LIVEKIT_CLIENT} is missing — run `npm ci` (or `make install`) in {REPO_ROOT}")
    for path in sorted(STATIC_DIR.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            app.add_api_route(f"/static/{path.name}", _file_route(path), methods=["GET"], include_in_schema=False)
    app.add_api_route("/vendor/livekit-client.umd.js", _file_route(LIVEKIT_CLIENT), methods=["GET"],
                      include_in_schema=False)
    app.include_router(router)


def mount_api_docs(app: FastAPI) -> None:
    """/docs with Swagger UI served from node_modules: FastAPI's default page loads it from a CDN."""
    missing = [name for name in SWAGGER_FILES if not (SWAGGER_UI / name).is_file()]
    if missing:
        raise RuntimeError(f"{SWAGGER_UI} lacks {', '.join(missing)} — run `npm ci` (or `make install`) in {REPO_ROOT}")
    for name in SWAGGER_FILES:
        app.add_api_route(f"/vendor/swagger-ui/{name}", _file_route(SWAGGER_UI / name), methods=["GET"],
                          include_in_schema=False)

    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} — API",
            swagger_js_url="/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/vendor/swagger-ui/favicon-32x32.png",
        )

    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)
