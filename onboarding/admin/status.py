"""The data behind the Status tab: is the stack up — LiveKit server, agent worker, database — each with what to do.

The same `Check`s `python -m onboarding doctor` prints (its LiveKit API and agent worker checks), plus what the
database holds; nothing here blocks the dashboard's event loop.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func
from sqlmodel import select

from models import CallSession, Profile
from onboarding.db import session_scope
from onboarding.ops.checks import Check
from onboarding.ops.doctor import agent_check, server_api_check
from onboarding.settings import Settings


def database_summary(settings: Settings) -> Check:
    try:
        with session_scope(settings.database_url) as db:
            calls = db.exec(select(func.count()).select_from(CallSession)).one()
            profiles = db.exec(select(func.count()).select_from(Profile).where(Profile.completed)).one()
        return Check("ok", "database", f"{calls} calls, {profiles} completed profiles")
    except Exception as exc:
        return Check("fail", "database", f"cannot open DATABASE_URL: {type(exc).__name__}: {exc}",
                     "check DATABASE_URL (server running, credentials, file permissions)")


async def stack_checks(settings: Settings) -> list[Check]:
    livekit, worker, database = await asyncio.gather(
        server_api_check(settings), agent_check(settings), asyncio.to_thread(database_summary, settings))
    return [livekit, worker, database]
