"""The staff-only routes beside the admin pages: a turn's audio, the console's CSV exports, a webhook re-send; and
the dashboard's background loop (post-call digest, webhook dispatch, audio retention, budget gauge).

All answer only signed-in staff (onboarding.api.staff.require_staff: 401 otherwise). The re-send changes state, so
it also refuses a request from another site (its Origin, when a browser sends one, must be this dashboard's).
Registered before Gradio's mount at /admin, which would otherwise take these paths.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlmodel import select

from models import Turn
from onboarding.admin import funnel as funnel_data
from onboarding.admin import latency, webhooks
from onboarding.admin.profiles import safe_cell
from onboarding.admin.usage import COST_BY_HEADERS, cost_table
from onboarding.api.staff import require_staff
from onboarding.audio.opus import CONTENT_TYPE
from onboarding.audio.storage import store_for, use_store, valid_key
from onboarding.console_loop import ConsoleLoop
from onboarding.db import session_scope
from onboarding.interview import load_definition
from onboarding.settings import Settings, get_settings
from onboarding.usage.monthly import current_month, month_bounds
from onboarding.usage.pricing import PricingError, load_pricing

router = APIRouter(prefix="/admin", include_in_schema=False)
StaffDep = Annotated[str, Depends(require_staff)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def _month(month: str | None) -> str:
    month = month or current_month()
    try:
        month_bounds(month)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    return month


@router.get("/audio/turns/{turn_id}.ogg")
def turn_audio(turn_id: int, _staff: StaffDep, settings: SettingsDep) -> Response:
    """A turn's clip (Opus in OGG); never cached: it is a person's voice."""
    with session_scope(settings.database_url) as db:
        key = db.exec(select(Turn.audio_key).where(Turn.id == turn_id)).first()
    if not key or not valid_key(key):
        raise HTTPException(404, f"turn {turn_id} has no audio (none was kept, or it expired or was deleted)")
    store = store_for(settings)
    headers = {"Cache-Control": "no-store"}
    path = store.local_path(key)
    if path is not None:
        return FileResponse(path, media_type=CONTENT_TYPE, headers=headers)
    data = store.read(key)
    if data is None:
        raise HTTPException(404, f"the audio of turn {turn_id} is gone from the store")
    return Response(data, media_type=CONTENT_TYPE, headers=headers)


def _csv(name: str, header: list[str], rows: list[list[object]]) -> StreamingResponse:
    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        for row in (header, *rows):
            writer.writerow([safe_cell(v) for v in row])  # no cell a spreadsheet would run
            yield out.getvalue()
            out.seek(0)
            out.truncate()

    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}.csv"',
                                      "Cache-Control": "no-store"})


EXPORTS = ("cost-by-user", "cost-by-origin", "funnel", "slowest-questions", "webhook-deliveries")


@router.get("/exports/{name}.csv")
def export(name: str, _staff: StaffDep, settings: SettingsDep, month: str | None = None,
           version: Annotated[str, Query(max_length=64)] = funnel_data.ALL_VERSIONS) -> StreamingResponse:
    month = _month(month)
    if name in ("cost-by-user", "cost-by-origin"):
        try:
            pricing = load_pricing(settings.pricing_path)
        except PricingError as exc:
            raise HTTPException(409, f"pricing file is invalid: {exc}") from exc
        key = "origin" if name == "cost-by-origin" else "user_id"
        header = ["origin" if key == "origin" else "user_id", *COST_BY_HEADERS[1:]]
        return _csv(f"{name}-{month}", header, cost_table(settings.database_url, month, pricing, key))
    definition = load_definition(settings.interview_path)
    if name == "funnel":
        data = funnel_data.funnel(settings.database_url, month, definition, version)
        header = ["field", "reached", "answered_first_time", "reasked", "corrected", "skipped", "flagged", "hung_up",
                  "median_seconds", "median_caller_turns"]
        rows = [[f.field, f.reached, f.answered_first_time, f.reasked, f.corrected, f.skipped, f.flagged, f.hung_up,
                 f.median_seconds, f.median_turns] for f in data.fields]
        return _csv(f"funnel-{month}", header, rows)
    if name == "slowest-questions":
        ranked = latency.slowest_questions(settings.database_url, month, definition, limit=1000)
        return _csv(f"slowest-questions-{month}", ["field", "replies", "calls", "mean_seconds", "worst_seconds"],
                    [[q.field, q.replies, q.calls, round(q.mean_seconds, 3), round(q.worst_seconds, 3)]
                     for q in ranked])
    if name == "webhook-deliveries":
        rows = webhooks.delivery_log(settings.database_url, limit=10_000)
        return _csv("webhook-deliveries", ["delivery_id", "event_id", "type", "profile_id", "url", "status",
                                           "attempts", "last_status_code", "last_error", "created_at",
                                           "delivered_at"],
                    [[r.id, r.event_id, r.event_type, r.profile_id, r.url, r.status, r.attempts, r.last_status_code,
                      r.last_error, r.created_at.isoformat(), r.delivered_at.isoformat() if r.delivered_at else ""]
                     for r in rows])
    raise HTTPException(404, f"no export {name!r}: use one of {', '.join(EXPORTS)}")


def _same_site(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and urlparse(origin).netloc != request.url.netloc:
        raise HTTPException(403, "a re-send must come from this dashboard's own pages")


@router.post("/webhooks/deliveries/{delivery_id}/resend")
def resend_delivery(delivery_id: int, request: Request, staff: StaffDep, settings: SettingsDep) -> dict[str, object]:
    _same_site(request)
    if not webhooks.resend(settings.database_url, delivery_id):
        raise HTTPException(404, f"no delivery {delivery_id} to re-send (or it was cancelled: its profile is gone)")
    return {"delivery_id": delivery_id, "status": "pending", "requested_by": staff}


def mount_console(app: FastAPI, settings: Settings) -> None:
    """The staff routes, and the console loop for the app's lifetime."""
    use_store(store_for(settings))  # deleting a profile removes its clips from this dashboard's store
    app.include_router(router)
    loop = ConsoleLoop(settings)

    async def start() -> None:
        loop.start()

    async def stop() -> None:
        await loop.stop()

    app.router.add_event_handler("startup", start)
    app.router.add_event_handler("shutdown", stop)
