"""Staff-only downloads: the profiles CSV, streamed from the database to the browser (no file on disk, so nothing
in a temp or Gradio cache folder for the public talk app to serve by path, and nothing outliving a deletion)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from onboarding.admin.profiles import ProfileFilter, export_csv
from onboarding.api.staff import require_staff, settings_of
from onboarding.interview import load_definition

log = logging.getLogger("onboarding.api")
PROFILES_CSV = "/admin/exports/profiles.csv"
router = APIRouter(include_in_schema=False)


@router.get(PROFILES_CSV)
def profiles_csv(
    request: Request, staff: Annotated[str, Depends(require_staff)],
    search: Annotated[str, Query(max_length=200)] = "", status: str = "all",
    date_from: Annotated[str | None, Query(alias="from", max_length=32)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=32)] = None,
) -> StreamingResponse:
    """Every profile matching the Profiles page's filters, as a CSV download."""
    try:
        flt = ProfileFilter.from_inputs(search, status, date_from, date_to)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    settings = settings_of(request)
    log.info("profiles exported", extra={"staff": staff, "status": flt.status, "searched": bool(flt.search)})
    name = f"profiles-{datetime.now(UTC):%Y%m%d-%H%M%S}.csv"
    return StreamingResponse(export_csv(settings.database_url, flt, load_definition(settings.interview_path).names),
                             media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "Cache-Control": "no-store"})
