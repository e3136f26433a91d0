"""Who may act on a room: the caller it was granted to, proven by that caller's own credential.

- Voice: the caller's LiveKit token. It is signed by the server, names one room and one identity; the identity
  must be the one the room was granted to (or, for a room this dashboard did not grant, the call's recorded
  participant) — a token for the right room but someone else's identity opens nothing.
- REST: the random `sessionToken` /agent/start answered (stored hashed, bound to that room), or a key from
  REST_API_KEYS for a server-side integration, which may act on the rooms it started.
Refusals are HTTPExceptions: 401 without a valid credential, 403 with someone else's.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac

import jwt
from fastapi import HTTPException
from livekit import api
from livekit.api.access_token import Claims

from onboarding.api.grants import grant_of_credential, room_grant
from onboarding.call_records import CallRecord, load_call
from onboarding.settings import Settings

BEARER = {"WWW-Authenticate": "Bearer"}
SESSION_HINT = "send the sessionToken /api/livekit/agent/start answered as 'Authorization: Bearer <sessionToken>'"


def bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def livekit_claims(settings: Settings, token: str | None) -> Claims:
    """The claims of a caller token this server signed; 401 when there is none or it is forged or expired."""
    if not token:
        raise HTTPException(401, "send the caller's LiveKit token as 'Authorization: Bearer <token>'", headers=BEARER)
    try:
        claims = api.TokenVerifier(settings.livekit_api_key, settings.livekit_api_secret).verify(token)
    except (jwt.PyJWTError, ValueError) as exc:
        raise HTTPException(401, f"the LiveKit token is not valid here ({type(exc).__name__}): ask for a new one",
                            headers=BEARER) from exc
    if not claims.video.room_join or not claims.video.room:
        raise HTTPException(403, "this token does not join a room")
    return claims


def own_call(settings: Settings, room_name: str, token: str | None) -> CallRecord:
    """The call in `room_name`, for the caller the room was granted to (blocking: database reads)."""
    claims = livekit_claims(settings, token)
    if claims.video.room != room_name:
        raise HTTPException(403, "this token is for another room")
    grant = room_grant(settings.database_url, room_name)
    if grant is not None and grant.identity != claims.identity:
        raise HTTPException(403, "this token was issued to another caller of this room")
    record = load_call(settings.database_url, room_name)
    if record is None:
        raise HTTPException(404, f"no call recorded in room {room_name}")
    if grant is None and record.call.participant_identity != claims.identity:
        raise HTTPException(403, "this token was issued to another caller of this room")
    return record


def api_key_id(settings: Settings, presented: str) -> str | None:
    """A fingerprint of the REST_API_KEYS key presented (compared in constant time with every key), or None."""
    matched = None
    for key in settings.api_keys:
        if hmac.compare_digest(presented.encode(), key.encode()):
            matched = key
    return None if matched is None else hashlib.sha256(matched.encode()).hexdigest()[:16]


def _rest_authorization(settings: Settings, room_name: str, credential: str | None) -> None:
    if not credential:
        raise HTTPException(401, SESSION_HINT, headers=BEARER)
    key = api_key_id(settings, credential)
    if key is not None:
        grant = room_grant(settings.database_url, room_name)
        if grant is not None and grant.api_key_id != key:
            raise HTTPException(403, f"this API key did not start the session in {room_name}")
        return  # a room nobody started: the route answers 404
    holder = grant_of_credential(settings.database_url, credential)
    if holder is None:
        raise HTTPException(401, f"this credential is not valid: {SESSION_HINT}", headers=BEARER)
    if holder.room_name != room_name:
        raise HTTPException(403, "this credential is for another room's session")


async def authorize_rest(settings: Settings, room_name: str, credential: str | None) -> None:
    """May this credential send turns to / complete the REST session in `room_name`? Raises 401/403 if not."""
    await asyncio.to_thread(_rest_authorization, settings, room_name, credential)
