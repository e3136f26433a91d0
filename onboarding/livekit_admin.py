"""Tokens and room names: the one path every caller (browser, sim caller, REST client) takes in."""

from __future__ import annotations

import asyncio
import re
import secrets
import warnings
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
from livekit import api

from onboarding.settings import Settings

# The local dev server's documented key pair ("devkey"/"secret") is short on purpose; remote servers must
# use 32+ characters (Settings enforces it), so PyJWT's warning about it is noise here.
warnings.filterwarnings("ignore", message="The HMAC key is 6 bytes long")

ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]{1,200}(:\d{1,5})?$")
ROOM_SUFFIX = re.compile(r"^[a-z0-9][a-z0-9-]{3,47}$")
IDENTITY = re.compile(r"^[A-Za-z0-9_.@ -]{1,64}$")


class InvalidRequest(ValueError):
    """Client input we refuse, with a message that says what is allowed."""


@dataclass(frozen=True)
class IssuedToken:
    token: str
    ws_url: str
    room_name: str
    identity: str


def new_room_name(settings: Settings) -> str:
    return f"{settings.room_prefix}{secrets.token_hex(6)}"


def check_room_name(settings: Settings, room_name: str) -> str:
    suffix = room_name.removeprefix(settings.room_prefix)
    if not room_name.startswith(settings.room_prefix) or not ROOM_SUFFIX.match(suffix):
        raise InvalidRequest(
            f"roomName must be '{settings.room_prefix}' followed by 4-48 lowercase letters, digits or '-'"
        )
    return room_name


def embedding_origin(value: str | None) -> str | None:
    """The Origin header of a token request as stored for cost per embedding site; anything else is dropped."""
    value = (value or "").strip().rstrip("/").lower()
    return value if ORIGIN.match(value) else None


def caller_sources(settings: Settings) -> list[str]:
    """What a caller may publish: the microphone, plus camera and screen share (the widget's buttons) unless
    CALLER_VIDEO=false."""
    return ["microphone", "camera", "screen_share"] if settings.caller_video else ["microphone"]


def issue_token(
    settings: Settings, *, room_name: str | None = None, participant_name: str | None = None,
    user_id: str | None = None, origin: str | None = None,
) -> IssuedToken:
    """A short-lived token for one room: join, publish the microphone, camera, screen share and data, subscribe.

    The token's room configuration dispatches the onboarding agent, so joining starts the call.
    """
    room = check_room_name(settings, room_name) if room_name else new_room_name(settings)
    name = (participant_name or "caller").strip()
    if not IDENTITY.match(name):
        raise InvalidRequest("participantName must be 1-64 letters, digits, spaces or . _ @ -")
    identity = f"caller-{secrets.token_hex(4)}"
    attributes = {"onboarding.user_id": user_id or ""}
    if site := embedding_origin(origin):  # the embedding page: cost per site
        attributes["onboarding.origin"] = site
    grants = api.VideoGrants(
        room_join=True, room=room, can_publish=True, can_subscribe=True, can_publish_data=True,
        can_publish_sources=caller_sources(settings),
    )
    token = (
        api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
        .with_identity(identity)
        .with_name(name)
        .with_ttl(timedelta(seconds=settings.token_ttl_seconds))
        .with_grants(grants)
        .with_attributes(attributes)
        .with_room_config(
            api.RoomConfiguration(
                agents=[api.RoomAgentDispatch(agent_name=settings.agent_name, metadata=user_id or "")])
        )
        .to_jwt()
    )
    return IssuedToken(token=token, ws_url=settings.livekit_url, room_name=room, identity=identity)


def livekit_api(settings: Settings) -> api.LiveKitAPI:
    return api.LiveKitAPI(settings.livekit_http_url, settings.livekit_api_key, settings.livekit_api_secret)


def describe_error(settings: Settings, exc: BaseException, timeout: float = 5.0) -> str:
    """What to do about a failed server API call, shared by `server_reachable` and the rooms page."""
    if isinstance(exc, api.TwirpError):
        if exc.status in (401, 403):
            return (f"LiveKit server at {settings.livekit_url} refused our keys — check LIVEKIT_API_KEY and "
                    "LIVEKIT_API_SECRET")
        return f"LiveKit server at {settings.livekit_url} answered {exc.status}: {exc.message}"
    if isinstance(exc, asyncio.TimeoutError):
        return (f"LiveKit server at {settings.livekit_url} did not answer within {timeout:g} s — is it overloaded, "
                "or is LIVEKIT_URL pointing at something else?")
    if isinstance(exc, aiohttp.ClientConnectionError | OSError):
        return (f"LiveKit server not reachable at {settings.livekit_url} ({type(exc).__name__}) — run `make run` or "
                "set LIVEKIT_URL")
    return (f"LiveKit server API call to {settings.livekit_url} failed ({type(exc).__name__}: {exc}) — check "
            "LIVEKIT_URL")



async def server_reachable(settings: Settings, timeout: float = 3.0) -> str | None:
    """None when the server answers with our keys, else a message that says what to do."""
    lk = livekit_api(settings)
    try:
        await asyncio.wait_for(lk.room.list_rooms(api.ListRoomsRequest()), timeout)
        return None
    except Exception as exc:
        return describe_error(settings, exc, timeout)
    finally:
        await lk.aclose()
