"""Staff sign-in for the admin pages and every staff-only route: our own login instead of Gradio's built-in one
(which kept one shared account's tokens in memory for ever and let anyone guess without limit).

- `GET/POST /admin/login` (form fields `username`, `password`): a session cookie (random, HttpOnly,
  SameSite=Lax, Secure over https) whose hash and expiry (STAFF_SESSION_HOURS) live in the database;
  `/admin/logout` deletes it server-side, so the old cookie opens nothing.
- Failed logins are throttled per account AND per client address (LOGIN_MAX_FAILURES in
  LOGIN_FAILURE_WINDOW_SECONDS, moving window, with the `limits` library): then 429 with Retry-After, without
  checking the password. Counted in this process, or in Redis (LOGIN_THROTTLE_STORAGE) when several dashboard
  processes serve one site, so a guesser gains nothing by being balanced across them. The client address is
  the one uvicorn decided (its --forwarded-allow-ips say whether X-Forwarded-For counts), never the header read
  here.
- `require_staff(request) -> str` (a FastAPI dependency: 401 for API clients, a redirect to the login for
  browsers) and `current_staff(request) -> str | None` for staff-only routes; `gradio_auth(settings)` is the
  `auth_dependency` of the Gradio pages, so `request.username` there is the signed-in staff member.
"""

from __future__ import annotations

import asyncio
import html
import math
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from limits import RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from onboarding import accounts
from onboarding.settings import Settings, get_settings

COOKIE = "onboarding_staff"
LOGIN_PATH, LOGOUT_PATH, HOME = "/admin/login", "/admin/logout", "/admin/"
router = APIRouter(include_in_schema=False)


def settings_of(request: Request) -> Settings:
    """The settings the app was built with (tests override them), for code that only has the request."""
    return getattr(request.app.state, "settings", None) or request.app.dependency_overrides.get(
        get_settings, get_settings)()


def current_staff(request: Request) -> str | None:
    """The signed-in staff member's username, or None (no cookie, expired, logged out, or account disabled).
    A short database read: call it from a sync route or dependency (FastAPI runs those in a thread)."""
    token = request.cookies.get(COOKIE)
    return accounts.session_user(settings_of(request).database_url, token) if token else None


def wants_page(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def login_location(next_path: str) -> str:
    return f"{LOGIN_PATH}?next={quote(next_path, safe='/')}"


def require_staff(request: Request) -> str:
    """FastAPI dependency of staff-only routes: the signed-in username, else 401 (a browser is sent to the login)."""
    username = current_staff(request)
    if username:
        return username
    if wants_page(request):
        raise HTTPException(303, "sign in first", headers={"Location": login_location(request.url.path)})
    raise HTTPException(401, f"staff only: sign in at {LOGIN_PATH} and send its session cookie")


def gradio_auth(settings: Settings) -> Callable[[Any], Awaitable[str | None]]:
    """`auth_dependency` for gr.mount_gradio_app: the session's username, looked up off the event loop."""

    async def staff_member(request: Any) -> str | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        return await asyncio.to_thread(accounts.session_user, settings.database_url, token)

    return staff_member


# --- throttle ---------------------------------------------------------------------------------------
class LoginThrottle:
    """At most `failures` failed logins per account and per client address in a moving window of `seconds`."""

    def __init__(self, failures: int, seconds: int, storage: str = "memory://") -> None:
        self.item = RateLimitItemPerSecond(failures, seconds)
        # a shared store that cannot be reached raises StorageError: the login fails closed (503), not open
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage, wrap_exceptions=True))

    @staticmethod
    def _keys(username: str, client: str) -> tuple[tuple[str, str], ...]:
        return ("account", username.strip().lower()), ("client", client)

    def wait(self, username: str, client: str) -> float:
        """Seconds until another attempt is allowed (0 when it is)."""
        waits = [self.limiter.get_window_stats(self.item, *key).reset_time - time.time()
                 for key in self._keys(username, client) if not self.limiter.test(self.item, *key)]
        return max(1.0, *waits) if waits else 0.0

    def failed(self, username: str, client: str) -> None:
        for key in self._keys(username, client):
            self.limiter.hit(self.item, *key)

    def succeeded(self, username: str) -> None:
        self.limiter.clear(self.item, *self._keys(username, "")[0])


def _throttle(request: Request) -> LoginThrottle:
    return request.app.state.login_throttle


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# --- pages ------------------------------------------------------------------------------------------
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in — Voice Onboarding Console</title>
<style>body{{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}}
label,input,button{{display:block;width:100%;box-sizing:border-box;margin:.3rem 0}}input,button{{padding:.5rem}}
.notice{{color:#b91c1c}}</style></head>
<body><main><h1>Voice Onboarding Console</h1><p>Staff sign-in for the admin pages.</p>{notice}
<form method="post" action="{action}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<input type="hidden" name="next" value="{next}"><button type="submit">Login</button></form></main></body></html>
"""


def _safe_next(value: str | None) -> str:
    """Only a path on this server (no //host or scheme): the login is no open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return HOME


def login_page(next_path: str = HOME, notice: str = "", status: int = 200,
               headers: dict[str, str] | None = None) -> HTMLResponse:
    body = PAGE.format(action=LOGIN_PATH, next=html.escape(_safe_next(next_path), quote=True),
                       notice=f'<p class="notice" role="alert">{html.escape(notice)}</p>' if notice else "")
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


@router.get(LOGIN_PATH)
def show_login(next: str = HOME) -> HTMLResponse:
    return login_page(next)


@router.post(LOGIN_PATH)
async def log_in(request: Request, username: Annotated[str, Form(max_length=128)],
                 password: Annotated[str, Form(max_length=1024)],
                 next: Annotated[str, Form(max_length=2048)] = HOME) -> Response:
    settings, throttle, client = settings_of(request), _throttle(request), _client(request)
    try:
        wait = await asyncio.to_thread(throttle.wait, username, client)
    except StorageError:
        return login_page(next, "Sign-in is unavailable: the failed-login counter (LOGIN_THROTTLE_STORAGE) cannot "
                                "be reached. Try again shortly.", 503)
    if wait:
        minutes = math.ceil(wait / 60)
        return login_page(next, f"Too many failed logins: try again in {minutes} minute{'s' * (minutes != 1)}.",
                          429, {"Retry-After": str(math.ceil(wait))})
    staff = await asyncio.to_thread(accounts.check_login, settings.database_url, username, password)
    if staff is None:
        await asyncio.to_thread(throttle.failed, username, client)
        return login_page(next, "Incorrect Credentials: check the username and password.", 401)
    await asyncio.to_thread(throttle.succeeded, staff)
    token = await asyncio.to_thread(accounts.open_session, settings.database_url, staff, settings.staff_session_hours,
                                    client)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(COOKIE, token, max_age=int(settings.staff_session_hours * 3600), path="/", httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")
    return response


@router.api_route(LOGOUT_PATH, methods=["GET", "POST"])
async def log_out(request: Request) -> Response:
    """Ends the session on the server (the cookie opens nothing afterwards, wherever a copy of it is)."""
    token = request.cookies.get(COOKIE)
    if token:
        await asyncio.to_thread(accounts.close_session, settings_of(request).database_url, token)
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


class SignInFirst:
    """A browser opening a staff page without a session is sent to the login (Gradio itself would answer 401)."""

    def __init__(self, app: Callable[..., Awaitable[None]], settings: Settings, pages: frozenset[str]) -> None:
        self.app, self.settings, self.pages = app, settings, pages

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] in self.pages:
            request = Request(scope)
            if wants_page(request) and await gradio_auth(self.settings)(request) is None:
                await RedirectResponse(login_location(scope["path"]), status_code=303)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install_staff_login(app: FastAPI, settings: Settings) -> Callable[[Any], Awaitable[str | None]]:
    """Bootstrap account, login/logout routes, the redirect for pages; returns the pages' auth dependency.
    Call before mounting Gradio, whose own /login routes these shadow."""
    accounts.ensure_bootstrap(settings.database_url, settings.admin_username, settings.admin_password)
    app.state.settings = settings
    app.state.login_throttle = LoginThrottle(settings.login_max_failures, settings.login_failure_window_seconds,
                                             settings.login_throttle_storage)
    app.include_router(router)
    pages = {"/admin", HOME} | (set() if settings.talk_page_public else {"/"})
    app.add_middleware(SignInFirst, settings=settings, pages=frozenset(pages))
    return gradio_auth(settings)
