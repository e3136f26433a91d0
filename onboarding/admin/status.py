"""Is the stack up? LiveKit server, agent worker, database — each with a sentence saying what to do."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import select

from models import CallSession, Profile
from onboarding.db import session_scope
from onboarding.livekit_admin import server_reachable
from onboarding.settings import Settings


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def worker_check(settings: Settings) -> Check:
    url = f"http://127.0.0.1:{settings.worker_http_port}/worker"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            info = json.load(response)
        return Check("Agent worker", True,
                     f"agent '{info.get('agent_name')}' registered, {info.get('active_jobs', 0)} active calls")
    except (OSError, ValueError):
        return Check("Agent worker", False, f"no worker health endpoint at {url} — start it with `make run`")


def database_check(settings: Settings) -> Check:
    try:
        with session_scope(settings.database_url) as db:
            calls = db.exec(select(func.count()).select_from(CallSession)).one()
            profiles = db.exec(select(func.count()).select_from(Profile).where(Profile.completed)).one()
        return Check("Database", True, f"{calls} calls, {profiles} completed profiles")
    except Exception as exc:
        return Check("Database", False, f"cannot open DATABASE_URL: {type(exc).__name__}: {exc}")


async def stack_checks(settings: Settings) -> list[Check]:
    problem = await server_reachable(settings)
    livekit = Check("LiveKit server", problem is None, problem or f"reachable at {settings.livekit_url}")
    return [livekit, worker_check(settings), database_check(settings)]
