"""Room grants: every room name the server hands out, recorded once, so a room name is never a key to a room.

A caller gets a room by asking for a token (voice) or a session (REST); the name is made by the server unless
the caller proposes one that was never used: not granted before, no call recorded in it, not live on the
LiveKit server. The grant remembers the identity it was issued to (the profile route checks it), the client
address (MAX_CALLS_PER_CLIENT counts a client's unfinished grants) and, for REST, the hash of the session
credential. Grants are written under a process lock so that two requests from one client cannot both pass
the cap; the UNIQUE room name settles a race between processes.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from livekit import api
from sqlalchemy import exists, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from models import CallSession, RoomGrant, utcnow
from onboarding.db import session_scope
from onboarding.livekit_admin import InvalidRequest, livekit_api
from onboarding.settings import Settings

log = logging.getLogger("onboarding.api")
_RESERVE_LOCK = threading.Lock()
SERVER_CHECK_TIMEOUT = 3.0
OMIT = "omit roomName and the server makes a new room"


class RoomTaken(InvalidRequest):
    status = 409


class TooManyCalls(InvalidRequest):
    status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerUnavailable(InvalidRequest):
    status = 503


def digest(secret: str) -> str:
    """SHA-256 of a random credential: what is stored instead of it (a leaked table opens nothing)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Grant:
    room_name: str
    mode: str
    identity: str
    api_key_id: str | None


def _grant(row: RoomGrant | None) -> Grant | None:
    return None if row is None else Grant(row.room_name, row.mode, row.identity, row.api_key_id)


def room_grant(db_url: str, room_name: str) -> Grant | None:
    with session_scope(db_url) as db:
        return _grant(db.exec(select(RoomGrant).where(RoomGrant.room_name == room_name)).first())


def grant_of_credential(db_url: str, credential: str) -> Grant | None:
    """The REST grant whose session credential this is, or None."""
    with session_scope(db_url) as db:
        return _grant(db.exec(select(RoomGrant).where(RoomGrant.credential_hash == digest(credential))).first())


def used_reason(db_url: str, room_name: str) -> str | None:
    """Why this room name cannot be handed out again (a call was recorded in it, or it was granted), or None."""
    with session_scope(db_url) as db:
        if db.exec(select(CallSession.id).where(CallSession.room_name == room_name)).first() is not None:
            return f"{room_name} was already used for a call: start with a new roomName, or {OMIT}"
        if db.exec(select(RoomGrant.id).where(RoomGrant.room_name == room_name)).first() is not None:
            return f"{room_name} was already given to another caller: {OMIT}"
    return None


async def live_on_server(settings: Settings, room_name: str) -> bool:
    """Whether the LiveKit server has a room of this name now (raises when the server cannot be asked)."""
    lk = livekit_api(settings)
    try:
        listing = await asyncio.wait_for(lk.room.list_rooms(api.ListRoomsRequest(names=[room_name])),
                                         SERVER_CHECK_TIMEOUT)
    finally:
        await lk.aclose()
    return any(room.name == room_name for room in listing.rooms)


async def ensure_never_used(settings: Settings, room_name: str, *, server_required: bool) -> None:
    """Refuse (409) a proposed room name that was ever used or is live. A voice token must be able to ask the
    LiveKit server (503 otherwise); a REST session never joins LiveKit, so there the server is asked if it answers."""
    reason = await asyncio.to_thread(used_reason, settings.database_url, room_name)
    if reason:
        raise RoomTaken(reason)
    try:
        live = await live_on_server(settings, room_name)
    except Exception as exc:
        if server_required:
            raise ServerUnavailable(f"cannot check with the LiveKit server that {room_name} is unused "
                                    f"({type(exc).__name__}): {OMIT}") from exc
        log.warning("room name not checked with the LiveKit server", extra={"room": room_name,
                                                                           "reason": type(exc).__name__})
        return
    if live:
        raise RoomTaken(f"{room_name} is a live room on the LiveKit server: {OMIT}")


def _unfinished(client: str, now: datetime):
    """A client's grants that still count: not expired, and no finished call in their room."""
    ended = exists().where(CallSession.room_name == RoomGrant.room_name, CallSession.status != "in_progress")
    return (RoomGrant.client_address == client, RoomGrant.expires_at > now, ~ended)


def unfinished_grants(db_url: str, client: str) -> int:
    with session_scope(db_url) as db:
        return db.exec(select(func.count()).select_from(RoomGrant).where(*_unfinished(client, utcnow()))).one()


def reserve(settings: Settings, *, room_name: str, mode: str, identity: str, client: str, lifetime: float,
            credential: str | None = None, api_key_id: str | None = None, capped: bool = True) -> None:
    """Record the grant; refuse it (429) when the client already holds MAX_CALLS_PER_CLIENT unfinished ones,
    or (409) when another request took the name first."""
    cap = settings.max_calls_per_client if capped else 0
    now = utcnow()
    with _RESERVE_LOCK, session_scope(settings.database_url) as db:
        if cap:
            held = db.exec(select(func.count(), func.min(RoomGrant.expires_at)).select_from(RoomGrant)
                           .where(*_unfinished(client, now))).one()
            if held[0] >= cap:
                first_free = held[1] if held[1].tzinfo else held[1].replace(tzinfo=now.tzinfo)
                wait = max(1.0, (first_free - now).total_seconds())
                raise TooManyCalls(f"too many calls from your address at once: at most {cap} (MAX_CALLS_PER_CLIENT); "
                                   f"end a call, or retry after {math.ceil(wait)} s", wait)
        db.add(RoomGrant(room_name=room_name, mode=mode, identity=identity, client_address=client,
                         credential_hash=digest(credential) if credential else None, api_key_id=api_key_id,
                         issued_at=now, expires_at=now + timedelta(seconds=lifetime)))
        try:
            db.flush()
        except IntegrityError as exc:
            raise RoomTaken(f"{room_name} was just given to another caller: {OMIT}") from exc
