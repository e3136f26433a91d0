"""The guard every REST route runs behind: a per-client rate limit and a body-size cap checked before the body
is read, and one-line `{"detail": "..."}` errors instead of stack traces or FastAPI's nested validation lists."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from onboarding.api.rate_limit import RateLimiter, retry_after_header
from onboarding.settings import Settings, get_settings

log = logging.getLogger("onboarding.api")
JSON_BODY_LIMIT = 64 * 1024  # a token or start request is a few hundred bytes
FORM_OVERHEAD = 64 * 1024  # multipart boundaries, headers and the roomName field around the audio


class ErrorBody(BaseModel):
    detail: str = Field(description="What was wrong and what to send instead")


def error_response(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
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
                return error_response(429, f"too many requests: at most {settings.rate_limit_per_minute} per minute "
                              f"(bursts of {settings.rate_limit_burst}); retry after the Retry-After seconds",
                              {"Retry-After": retry_after_header(wait)})
            limit = settings.rest_max_audio_bytes + FORM_OVERHEAD if takes_upload else JSON_BODY_LIMIT
            declared = request.headers.get("content-length", "")
            too_large = f"request body larger than {limit} bytes" + (
                f" (audio limit {settings.rest_max_audio_bytes} bytes)" if takes_upload else "")
            if declared.isdigit() and int(declared) > limit:
                return error_response(413, too_large)
            capped = _CappedReceive(request.receive, limit)
            try:
                return await handler(Request(request.scope, capped))
            except RequestValidationError as exc:
                return error_response(*_validation_detail(exc))
            except (StarletteHTTPException, _BodyTooLarge):  # the form parser raises Starlette's own
                if capped.exceeded:
                    return error_response(413, too_large)
                raise

        return guarded


COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed JSON or an invalid value (e.g. a foreign roomName)"},
    413: {"model": ErrorBody, "description": "Request body too large"},
    422: {"model": ErrorBody, "description": "A required field is missing or has the wrong type"},
    429: {"model": ErrorBody, "description": "Rate limit: too many requests from this client",
          "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}}},
}


def install_error_handlers(app: FastAPI) -> None:
    """Last line of defence: an unexpected error is logged with its trace and answered without one."""

    @app.exception_handler(Exception)
    async def _internalerror_response(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal server error: it has been logged; try again or contact the operator")
