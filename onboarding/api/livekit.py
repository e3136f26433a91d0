"""REST routes of the original design: the caller token, and push-to-talk turns (agent start/turn/complete).

Every route answers client mistakes with a 4xx and a one-line `{"detail": "..."}` that says what to send
instead; the rate limit and the body-size cap run before the body is read (see `onboarding.api.guard`).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from pydantic import BaseModel, Field

from onboarding.api.guard import COMMON_ERRORS, ErrorBody, GuardedRoute
from onboarding.audio_upload import AudioRejected
from onboarding.livekit_admin import InvalidRequest, issue_token
from onboarding.rest_calls import RestCallError, RestCalls
from onboarding.settings import Settings, get_settings

log = logging.getLogger("onboarding.api")
SESSION_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No session was ever started in this room"},
    409: {"model": ErrorBody, "description": "The session has ended (completed, abandoned or expired)"},
}

router = APIRouter(prefix="/api/livekit", tags=["livekit"], route_class=GuardedRoute, responses=COMMON_ERRORS)
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_rest_calls(request: Request, settings: SettingsDep) -> RestCalls:
    """One registry of REST sessions per app (async: created on the event loop, so never twice)."""
    calls = getattr(request.app.state, "rest_calls", None)
    if calls is None:
        calls = request.app.state.rest_calls = RestCalls(settings)
    return calls


CallsDep = Annotated[RestCalls, Depends(get_rest_calls)]


def _refuse(exc: Exception) -> HTTPException:
    status = exc.status if isinstance(exc, RestCallError | AudioRejected) else 400
    log.info("request refused", extra={"status": status, "reason": str(exc)})
    return HTTPException(status_code=status, detail=str(exc))


# --- token -----------------------------------------------------------------------------------
class TokenRequest(BaseModel):
    roomName: str | None = Field(None, max_length=64)
    participantName: str | None = Field(None, max_length=64)
    userId: str | None = Field(None, max_length=128)


class TokenResponse(BaseModel):
    token: str
    wsUrl: str
    roomName: str


@router.post("/token", response_model=TokenResponse)
def create_token(body: TokenRequest, settings: SettingsDep, request: Request) -> TokenResponse:
    """A short-lived token for one room; joining it dispatches the onboarding agent."""
    try:
        issued = issue_token(settings, room_name=body.roomName, participant_name=body.participantName,
                             user_id=body.userId, origin=request.headers.get("origin"))
    except InvalidRequest as exc:
        raise _refuse(exc) from exc
    return TokenResponse(token=issued.token, wsUrl=issued.ws_url, roomName=issued.room_name)


# --- push-to-talk ----------------------------------------------------------------------------
class StartRequest(BaseModel):
    roomName: str = Field(max_length=64, description="The onboarding prefix plus 4-48 of a-z, 0-9 and '-'")
    userId: str | None = Field(None, max_length=128, description="Your app's user id, stored with the profile")


class StartResponse(BaseModel):
    roomName: str
    greeting: str = Field(description="The greeting and first question")
    audio: str = Field(description="The greeting spoken: a base64-encoded WAV file")
    ready: bool = Field(description="True: send the caller's first answer to /agent/turn")


class TurnResponse(BaseModel):
    transcription: str = Field(description="What the caller said ('' for silence or noise: the agent re-asks)")
    response: str = Field(description="What the agent says next")
    audio: str = Field(description="`response` spoken: a base64-encoded WAV file")
    extractedData: dict[str, Any] = Field(description="Every profile field collected so far")
    completed: bool = Field(description="True when the interview is over: call /agent/complete")


class CompleteRequest(BaseModel):
    roomName: str = Field(max_length=64)


class HistoryEntry(BaseModel):
    role: str = Field(description="'agent' or 'user'")
    text: str


class CompleteResponse(BaseModel):
    profile: dict[str, Any] = Field(description="The stored profile fields")
    conversationHistory: list[HistoryEntry]
    summary: str


@router.post("/agent/start", response_model=StartResponse, responses={409: SESSION_ERRORS[409]})
async def agent_start(body: StartRequest, calls: CallsDep) -> StartResponse:
    """Open a push-to-talk session in a room: the greeting as text and as speech."""
    try:
        room, greeting = await calls.start(body.roomName, body.userId)
    except (InvalidRequest, RestCallError) as exc:
        raise _refuse(exc) from exc
    return StartResponse(roomName=room, greeting=greeting.text, audio=greeting.wav_base64, ready=True)


@router.post("/agent/turn", response_model=TurnResponse, responses={
    **SESSION_ERRORS,
    400: {"model": ErrorBody, "description": "Not audio, empty, undecodable, or a bad roomName"},
    413: {"model": ErrorBody, "description": "Audio over REST_MAX_AUDIO_BYTES or REST_MAX_AUDIO_SECONDS"},
    415: {"model": ErrorBody, "description": "Unsupported audio type"},
})
async def agent_turn(
    calls: CallsDep, settings: SettingsDep,
    roomName: Annotated[str, Form(max_length=64)],
    audio: Annotated[UploadFile, File(description="The caller's answer: WAV, WebM/Opus, OGG, MP3 (any rate)")],
) -> TurnResponse:
    """One caller answer: transcribed, run through the interview, answered in text and speech."""
    limit = settings.rest_max_audio_bytes
    data = await audio.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"the audio file is larger than the {limit} byte limit")
    try:
        outcome = await calls.turn(roomName, data, audio.content_type)
    except (InvalidRequest, RestCallError, AudioRejected) as exc:
        raise _refuse(exc) from exc
    return TurnResponse(transcription=outcome.transcription, response=outcome.reply.text,
                        audio=outcome.reply.wav_base64, extractedData=outcome.values, completed=outcome.completed)


@router.post("/agent/complete", response_model=CompleteResponse, responses=SESSION_ERRORS)
async def agent_complete(body: CompleteRequest, calls: CallsDep) -> CompleteResponse:
    """Close the session (completed if every required field is in, else abandoned) and return the profile."""
    try:
        result = await calls.complete(body.roomName)
    except (InvalidRequest, RestCallError) as exc:
        raise _refuse(exc) from exc
    return CompleteResponse(profile=result.profile, summary=result.summary,
                            conversationHistory=[HistoryEntry(**h) for h in result.history])
