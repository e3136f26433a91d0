"""A value the caller typed for one field of a push-to-talk session (`POST /api/livekit/agent/correct`).

It takes the same inputs as `agent/turn` (a form with `roomName`, plus `field` and `value` instead of audio), so
the same session credential (or API key) check as a turn's request applies. The value goes through the
interview's normaliser and validation like a spoken answer and is stored with source "typed"; the agent's
answer (what it says about it, then the next question) comes back as text and speech.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from pydantic import BaseModel, Field

from onboarding.api.guard import COMMON_ERRORS, ErrorBody, GuardedRoute
from onboarding.api.livekit import SESSION_ERRORS, CallsDep, CredentialDep, SettingsDep, _refuse, authorized
from onboarding.livekit_admin import InvalidRequest
from onboarding.rest_calls import RestCallError

router = APIRouter(prefix="/api/livekit", tags=["livekit"], route_class=GuardedRoute, responses=COMMON_ERRORS)


class CorrectionResponse(BaseModel):
    field: str
    value: Any = Field(description="The stored value, normalised (e.g. an address in lowercase)")
    response: str = Field(description="What the agent says about it, then its next question")
    audio: str = Field(description="`response` spoken: a base64-encoded WAV file")
    extractedData: dict[str, Any] = Field(description="Every profile field collected so far")
    completed: bool = Field(description="True when the interview is over: call /agent/complete")


@router.post("/agent/correct", response_model=CorrectionResponse, responses={
    **SESSION_ERRORS,
    400: {"model": ErrorBody, "description": "Unknown field, or a value the field's validation refuses (why)"},
})
async def agent_correct(
    calls: CallsDep, settings: SettingsDep, credential: CredentialDep,
    roomName: Annotated[str, Form(max_length=64)],
    field: Annotated[str, Form(max_length=64, description="A field name of the interview, e.g. email")],
    value: Annotated[str, Form(max_length=500, description="The value as the caller typed it")],
) -> CorrectionResponse:
    """The caller typed a field's value: validated like a spoken answer, stored as typed by the caller."""
    await authorized(settings, roomName, credential, calls)
    try:
        outcome = await calls.correct(roomName, field, value)
    except (InvalidRequest, RestCallError) as exc:
        raise _refuse(exc) from exc
    return CorrectionResponse(field=field, value=outcome.values.get(field), response=outcome.reply.text,
                              audio=outcome.reply.wav_base64, extractedData=outcome.values,
                              completed=outcome.completed)
