"""Who is signed in as staff, for the routes beside the admin pages (audio, CSV exports, webhook re-send).

Today's sign-in is Gradio's login of the pages mounted at /admin: `POST /admin/login` with the form fields
`username` and `password` sets the cookie `access-token-<cookie id>` (and `access-token-unsecure-<cookie id>` for
plain HTTP), whose value the mounted Gradio app maps to the user name in its `tokens` table. These two functions
read exactly that, so a route written against them keeps working when the login moves to named staff accounts.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from starlette.routing import Mount

ADMIN_PATH = "/admin"


def _admin_app(request: Request) -> Any | None:
    """The Gradio app mounted at /admin on this FastAPI app (it holds the login tokens)."""
    for route in request.app.routes:
        if isinstance(route, Mount) and route.path == ADMIN_PATH and hasattr(route.app, "tokens"):
            return route.app
    return None


def current_staff(request: Request) -> str | None:
    """The signed-in staff member's user name, or None."""
    admin = _admin_app(request)
    if admin is None:
        return None
    token = (request.cookies.get(f"access-token-{admin.cookie_id}")
             or request.cookies.get(f"access-token-unsecure-{admin.cookie_id}"))
    return admin.tokens.get(token) if token else None


def require_staff(request: Request) -> str:
    """A FastAPI dependency: the signed-in user name, else 401 saying where to sign in."""
    user = current_staff(request)
    if user is None:
        raise HTTPException(401, f"sign in at {ADMIN_PATH}/ first: this is for signed-in staff only")
    return user
