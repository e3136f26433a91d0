"""REST routes of the original design: the caller token, and push-to-talk turns (agent start/turn/complete).

Every route answers client mistakes with a 4xx and a one-line `{"detail": "..."}` that says what to send
instead; the rate limit and the body-size cap run before the body is read (see `GuardedRoute`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, File, Form, HTTPException, Request, Response, UploadFile, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from onboarding.audio_upload import AudioRejected
from onboarding.livekit_admin import InvalidRequest, issue_token
from onboarding.rate_limit import RateLimiter, retry_after_header
from onboarding.rest_calls import RestCallError, RestCalls
from onboarding.settings import Settings, get_settings

log = logging.getLogger("onboarding.api")
JSON_BODY_LIMIT = 64 * 1024  # a token or start request is a few hundred bytes
FORM_OVERHEAD = 64 * 1024  # multipart boundaries, headers and the roomName field around the audio


class ErrorBody(BaseModel):
    detail: str = Field(description="What was wrong and what to send instead")


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


class _BodyTooLarge(Exception):
    pass


class _CappedReceive:
    """Stop reading a body (chunked, or lying about its length) once it passes `limit` bytes.

    `exceeded` stays set because the form parser may wrap our exception in its own.
    """

    def __init__(self, receive: Callable[[], Awaitable[dict]], limit: int) -> None:
        self.receive, self.limit, self.seen, self.exceeded = receive, limit, 0, False

    async def __call__(self) -> dict:
        message = await self.receive()
        self.seen += len(message.get("body", b""))
        if self.seen > self.limit:
            self.exceeded = True
            raise _BodyTooLarge
        return message


def _settings_of(request: Request) -> Settings:
    """The settings the routes see, test overrides included."""
    return request.app.dependency_overrides.get(get_settings, get_settings)()


def _limiter(request: Request, settings: Settings) -> RateLimiter:
    key = (settings.rate_limit_per_minute, settings.rate_limit_burst)
    limiters = getattr(request.app.state, "rate_limiters", None)
    if limiters is None:  # per app, so each test app starts with full buckets
        limiters = request.app.state.rate_limiters = {}
    if key not in limiters:
        limiters[key] = RateLimiter(*key)
    return limiters[key]


def _validation_detail(exc: RequestValidationError) -> tuple[int, str]:
    errors = exc.errors()
    bad_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if bad_json is not None:
        reason = (bad_json.get("ctx") or {}).get("error", "not JSON")
        return 400, f"malformed JSON body: {reason}"
    parts = []
    for err in errors[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "form"))
        parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    return 422, "; ".join(parts)


class GuardedRoute(APIRoute):
    """Rate limit per client IP and cap the body size before FastAPI reads the body; one-line errors."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()
        takes_upload = self.body_field is not None and isinstance(self.body_field.field_info, params.Form)

        async def guarded(request: Request) -> Response:
            settings = _settings_of(request)
            client = request.client.host if request.client else "unknown"
            wait = _limiter(request, settings).acquire(client)
            if wait:
                return _error(429, f"too many requests: at most {settings.rate_limit_per_minute} per minute "
                              f"(bursts of {settings.rate_limit_burst}); retry after the Retry-After seconds",
                              {"Retry-After": retry_after_header(wait)})
            limit = settings.rest_max_audio_bytes + FORM_OVERHEAD if takes_upload else JSON_BODY_LIMIT
            declared = request.headers.get("content-length", "")
            too_large = f"request body larger than {limit} bytes" + (
                f" (audio limit {settings.rest_max_audio_bytes} bytes)" if takes_upload else "")
            if declared.isdigit() and int(declared) > limit:
                return _error(413, too_large)
            capped = _CappedReceive(request.receive, limit)
            try:
                return await handler(Request(request.scope, capped))
            except RequestValidationError as exc:
                return _error(*_validation_detail(exc))
            except (StarletteHTTPException, _BodyTooLarge):  # the form parser raises Starlette's own
                if capped.exceeded:
                    return _error(413, too_large)
                raise

        return guarded


COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed JSON or an invalid value (e.g. a foreign roomName)"},
    413: {"model": ErrorBody, "description": "Request body too large"},
    422: {"model": ErrorBody, "description": "A required field is missing or has the wrong type"},
    429: {"model": ErrorBody, "description": "Rate limit: too many requests from this client",
          "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}}},
}
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
def create_token(body: TokenRequest, settings: SettingsDep) -> TokenResponse:
    """A short-lived token for one room; joining it dispatches the onboarding agent."""
    try:
        issued = issue_token(settings, room_name=body.roomName, participant_name=body.participantName,
                             user_id=body.userId)
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


def install_error_handlers(app: FastAPI) -> None:
    """Last line of defence: an unexpected error is logged with its trace and answered without one."""

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return _error(500, "internal server error: it has been logged; try again or contact the operator")


async def close_rest_sessions(app: FastAPI) -> None:
    """On shutdown: open push-to-talk sessions are stored as abandoned instead of staying in progress."""
    calls = getattr(app.state, "rest_calls", None)
    if calls is not None:
        await calls.aclose()


def rest_app(settings: Settings | None = None) -> FastAPI:
    """The REST routes on a bare app (no Gradio pages): for the tests and the API benchmark."""
    app = FastAPI(title="Voice Onboarding Console REST API")
    app.include_router(router)
    install_error_handlers(app)
    if settings is not None:
        app.dependency_overrides[get_settings] = lambda: settings
    return app
