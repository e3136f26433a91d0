"""REST routes of the original design: the caller token, and push-to-talk turns (agent start/turn/complete).

Room names are made by the server; a proposed one is taken only if it was never used (onboarding.api.grants).
A token is bound to one room and one random identity; a REST session answers its start with a `sessionToken`
that /agent/turn and /agent/complete require (`Authorization: Bearer <sessionToken>`), or a REST_API_KEYS key
of the integration that started it (onboarding.api.callers).

Every route answers client mistakes with a 4xx and a one-line `{"detail": "..."}` that says what to send
instead; the rate limit and the body-size cap run before the body is read (see `onboarding.api.guard`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, HTTPException, Request, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from onboarding.api import grants
from onboarding.api.callers import BEARER, api_key_id, authorize_rest
from onboarding.api.guard import COMMON_ERRORS, ErrorBody, GuardedRoute
from onboarding.api.rate_limit import retry_after_header
from onboarding.audio_upload import AudioRejected
from onboarding.capacity import availability
from onboarding.livekit_admin import InvalidRequest, check_room_name, issue_token, new_room_name
from onboarding.rest_calls import RestCallError, RestCalls, SessionEnded
from onboarding.settings import Settings, get_settings

log = logging.getLogger("onboarding.api")
SESSION_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No valid sessionToken (or REST_API_KEYS key) in Authorization"},
    403: {"model": ErrorBody, "description": "The credential of another room's session (or another API key's)"},
    404: {"model": ErrorBody, "description": "No session was ever started in this room"},
    409: {"model": ErrorBody, "description": "The session has ended (completed, abandoned or expired)"},
}
GRANT_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "The proposed roomName was used before or is live: omit it"},
    429: COMMON_ERRORS[429] | {"description": "Rate limit, or MAX_CALLS_PER_CLIENT calls from this client at once"},
}
credentials = HTTPBearer(auto_error=False, scheme_name="sessionToken",
                         description="The sessionToken /agent/start answered, or a REST_API_KEYS key")
CredentialDep = Annotated[HTTPAuthorizationCredentials | None, Depends(credentials)]

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
    status = getattr(exc, "status", 400)
    log.info("request refused", extra={"status": status, "reason": str(exc)})
    wait = getattr(exc, "retry_after", None)
    return HTTPException(status_code=status, detail=str(exc),
                         headers={"Retry-After": retry_after_header(wait)} if wait else None)


def _client(request: Request) -> str:
    """The client address as uvicorn saw it (its proxy settings decide whether X-Forwarded-For counts)."""
    return request.client.host if request.client else "unknown"


# --- token -----------------------------------------------------------------------------------
class TokenRequest(BaseModel):
    roomName: str | None = Field(None, max_length=64)
    participantName: str | None = Field(None, max_length=64)
    userId: str | None = Field(None, max_length=128)


class TokenResponse(BaseModel):
    token: str
    wsUrl: str
    roomName: str


@router.post("/token", response_model=TokenResponse, responses={
    **GRANT_ERRORS, 503: {
        "model": ErrorBody, "description": "Every agent worker is full: try again after Retry-After seconds; or a "
                                          "roomName was given but the LiveKit server cannot be asked whether it "
                                          "is in use: omit it",
        "headers": {"Retry-After": {"description": "Seconds to wait (when the workers are full)",
                                    "schema": {"type": "string"}}}}})
async def create_token(body: TokenRequest, settings: SettingsDep, request: Request) -> TokenResponse:
    """A short-lived token for one new room and one random identity; joining it dispatches the onboarding agent.
    Omit roomName: the server makes one. A proposed roomName is refused (409) if it was ever used or is live."""
    if (await asyncio.to_thread(availability, settings)).busy:  # a room now would wait for an agent that cannot come
        wait = settings.busy_retry_seconds
        raise HTTPException(503, f"all agents are busy: try again in {wait} s", headers={"Retry-After": str(wait)})
    try:
        if body.roomName:
            room = check_room_name(settings, body.roomName)
            await grants.ensure_never_used(settings, room, server_required=True)
        else:
            room = new_room_name(settings)
        issued = issue_token(settings, room_name=room, participant_name=body.participantName, user_id=body.userId,
                             origin=request.headers.get("origin"))
        await asyncio.to_thread(grants.reserve, settings, room_name=room, mode="voice", identity=issued.identity,
                                client=_client(request), lifetime=settings.token_ttl_seconds)
    except InvalidRequest as exc:
        raise _refuse(exc) from exc
    return TokenResponse(token=issued.token, wsUrl=issued.ws_url, roomName=issued.room_name)


# --- push-to-talk ----------------------------------------------------------------------------
class StartRequest(BaseModel):
    roomName: str | None = Field(None, max_length=64, description=(
        "Omit it: the server makes one. A proposal must be the onboarding prefix plus 4-48 of a-z, 0-9 and '-', "
        "and never used before"))
    userId: str | None = Field(None, max_length=128, description="Your app's user id, stored with the profile")


class StartResponse(BaseModel):
    roomName: str
    greeting: str = Field(description="The greeting and first question")
    audio: str = Field(description="The greeting spoken: a base64-encoded WAV file")
    ready: bool = Field(description="True: send the caller's first answer to /agent/turn")
    sessionToken: str = Field(description="This session's credential: send it as 'Authorization: Bearer "
                                          "<sessionToken>' to /agent/turn and /agent/complete; keep it secret")


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


@router.post("/agent/start", response_model=StartResponse, responses={
    **GRANT_ERRORS, 401: {"model": ErrorBody, "description": "An Authorization header that is no REST_API_KEYS key"},
    409: {"model": ErrorBody, "description": "The proposed roomName is in use or was used before: omit it"}})
async def agent_start(body: StartRequest, calls: CallsDep, settings: SettingsDep, request: Request,
                      credential: CredentialDep) -> StartResponse:
    """Open a push-to-talk session in a new room: the greeting as text and as speech, and the session's
    credential. A server-side integration may authenticate with a REST_API_KEYS key (no per-client cap)."""
    key = None
    if credential is not None:
        key = api_key_id(settings, credential.credentials)
        if key is None:
            raise HTTPException(401, "this Authorization header is not a REST_API_KEYS key: omit it, or send a "
                                     "configured key", headers=BEARER)
    session_token = secrets.token_urlsafe(32)
    try:
        if body.roomName:
            room = check_room_name(settings, body.roomName)
            if room in calls.active_rooms:
                raise SessionEnded(f"a session is already running in {room}: send turns or complete it")
            await grants.ensure_never_used(settings, room, server_required=False)
        else:
            room = new_room_name(settings)
        await asyncio.to_thread(grants.reserve, settings, room_name=room, mode="rest", identity=f"rest-{room}",
                                client=_client(request), lifetime=settings.rest_session_idle_seconds,
                                credential=session_token, api_key_id=key, capped=key is None)
        room, greeting = await calls.start(room, body.userId, credential_hash=grants.digest(session_token),
                                           api_key_id=key)
    except (InvalidRequest, RestCallError) as exc:
        raise _refuse(exc) from exc
    return StartResponse(roomName=room, greeting=greeting.text, audio=greeting.wav_base64, ready=True,
                         sessionToken=session_token)


@router.post("/agent/turn", response_model=TurnResponse, responses={
    **SESSION_ERRORS,
    400: {"model": ErrorBody, "description": "Not audio, empty, undecodable, or a bad roomName"},
    413: {"model": ErrorBody, "description": "Audio over REST_MAX_AUDIO_BYTES or REST_MAX_AUDIO_SECONDS"},
    415: {"model": ErrorBody, "description": "Unsupported audio type"},
})
async def agent_turn(
    calls: CallsDep, settings: SettingsDep, credential: CredentialDep,
    roomName: Annotated[str, Form(max_length=64)],
    audio: Annotated[UploadFile, File(description="The caller's answer: WAV, WebM/Opus, OGG, MP3 (any rate)")],
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", max_length=128,
        description="Any unique string per answer (e.g. a UUID). Sending a turn again with the same key — a retry "
                    "after a timeout or a 5xx — returns the first answer instead of taking the audio as the answer "
                    "to the next question. Without it, the same audio bytes as the previous turn count as a retry.",
    )] = None,
) -> TurnResponse:
    """One caller answer: transcribed, run through the interview, answered in text and speech. Safe to retry."""
    await authorized(settings, roomName, credential, calls)
    limit = settings.rest_max_audio_bytes
    data = await audio.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"the audio file is larger than the {limit} byte limit")
    try:
        outcome = await calls.turn(roomName, data, audio.content_type, idempotency_key)
    except (InvalidRequest, RestCallError, AudioRejected) as exc:
        raise _refuse(exc) from exc
    return TurnResponse(transcription=outcome.transcription, response=outcome.reply.text,
                        audio=outcome.reply.wav_base64, extractedData=outcome.values, completed=outcome.completed)


@router.post("/agent/complete", response_model=CompleteResponse, responses=SESSION_ERRORS)
async def agent_complete(body: CompleteRequest, calls: CallsDep, settings: SettingsDep,
                         credential: CredentialDep) -> CompleteResponse:
    """Close the session (completed if every required field is in, else abandoned) and return the profile."""
    await authorized(settings, body.roomName, credential, calls)
    try:
        result = await calls.complete(body.roomName)
    except (InvalidRequest, RestCallError) as exc:
        raise _refuse(exc) from exc
    return CompleteResponse(profile=result.profile, summary=result.summary,
                            conversationHistory=[HistoryEntry(**h) for h in result.history])


async def authorized(settings: Settings, room_name: str, credential: HTTPAuthorizationCredentials | None,
                     calls: RestCalls) -> None:
    """A malformed room name is a 400 whoever asks; then the credential must be this room's (401/403): the live
    session in this process knows its own, else the grants in the database decide."""
    try:
        check_room_name(settings, room_name)
    except InvalidRequest as exc:
        raise _refuse(exc) from exc
    token = credential.credentials if credential else None
    if token and calls.admits(room_name, grants.digest(token), api_key_id(settings, token)):
        return
    await authorize_rest(settings, room_name, token)
