"""Active onboarding rooms as the LiveKit server sees them, and closing one — for the rooms page.

Every failure becomes a typed result carrying a sentence that says what to do, because the page shows it in a
banner: an admin staring at a stack trace cannot tell a stopped server from a wrong secret.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field

from livekit import api

from onboarding.capacity import STALE_AFTER_SECONDS, live_workers
from onboarding.livekit_admin import describe_error, livekit_api
from onboarding.settings import Settings

log = logging.getLogger("onboarding.admin.rooms")

AGENT_IDENTITY_PREFIX = "agent-"
AGENT_STATE = "lk.agent.state"  # listening | thinking | speaking | initializing, published by livekit-agents
LIST_TIMEOUT_SECONDS = 5.0
PARALLEL_PARTICIPANT_LISTS = 8  # ListParticipants calls in flight at once; keeps a busy server from a burst
TABLE_HEADERS = ["Room", "Age", "Participants", "Callers", "Agents", "Agent state", "Interview", "Asking",
                 "Fields filled", "Tracks"]
# What an admin calls each kind of published track (the server's TrackSource names are protocol-speak).
TRACK_NAMES = {
    api.TrackSource.MICROPHONE: "microphone", api.TrackSource.CAMERA: "camera",
    api.TrackSource.SCREEN_SHARE: "screen share", api.TrackSource.SCREEN_SHARE_AUDIO: "screen share audio",
}


@dataclass(frozen=True)
class Participant:
    identity: str
    name: str
    is_agent: bool
    attributes: dict[str, str]
    tracks: tuple[str, ...] = ()  # what it publishes, e.g. ("microphone", "camera (muted)")

    @property
    def agent_state(self) -> str:
        return self.attributes.get(AGENT_STATE, "")

    @property
    def publishes(self) -> set[str]:
        """The kinds of track it publishes, muted or not: {"microphone", "camera", "screen share"}."""
        return {track.removesuffix(" (muted)") for track in self.tracks}


@dataclass(frozen=True)
class ActiveRoom:
    name: str
    created_at: float  # unix seconds
    participants: tuple[Participant, ...]

    @property
    def callers(self) -> list[Participant]:
        return [p for p in self.participants if not p.is_agent]

    @property
    def agents(self) -> list[Participant]:
        return [p for p in self.participants if p.is_agent]

    @property
    def agent_state(self) -> str:
        """The first agent's state, or why there is none yet (the agent joins a moment after the caller)."""
        agents = self.agents
        return (agents[0].agent_state or "joined") if agents else "no agent"

    def _progress(self, key: str) -> str:
        return next((a.attributes[key] for a in self.agents if a.attributes.get(key) is not None), "")

    @property
    def interview_status(self) -> str:
        return self._progress("onboarding.status")

    @property
    def asking(self) -> str:
        return self._progress("onboarding.asking")

    @property
    def fields_filled(self) -> int:
        """How many interview fields the agent has a value for (its `onboarding.fields` JSON attribute)."""
        try:
            fields = json.loads(self._progress("onboarding.fields") or "{}")
        except ValueError:
            return 0
        return sum(1 for value in fields.values() if value not in (None, "")) if isinstance(fields, dict) else 0

    def age_seconds(self, now: float | None = None) -> int:
        return max(0, int((time.time() if now is None else now) - self.created_at))

    @property
    def tracks_summary(self) -> str:
        """Who publishes what, callers first: "caller: microphone, camera · agent: microphone"."""
        people = [*self.callers, *self.agents]
        return " · ".join(f"{'agent' if p.is_agent else 'caller'}: {', '.join(p.tracks) or 'nothing'}"
                          for p in people) or "—"


@dataclass(frozen=True)
class RoomListing:
    """Either rooms or an error message for the banner — never both, never an exception."""

    rooms: list[ActiveRoom] = field(default_factory=list)
    error: str | None = None

    @property
    def banner(self) -> str:
        if self.error:
            return self.error
        return f"{len(self.rooms)} active room{'' if len(self.rooms) == 1 else 's'}"

    def room(self, name: str) -> ActiveRoom | None:
        return next((r for r in self.rooms if r.name == name), None)


@dataclass(frozen=True)
class CloseResult:
    ok: bool
    message: str


def is_agent(info: api.ParticipantInfo) -> bool:
    """Agents announce themselves by kind; older or hand-rolled agents only by their identity."""
    return info.kind == api.ParticipantInfo.Kind.AGENT or info.identity.startswith(AGENT_IDENTITY_PREFIX)


def published_tracks(info: api.ParticipantInfo) -> tuple[str, ...]:
    """The participant's tracks by what they carry, microphone first (the server's own order changes as
    tracks are muted and republished; it lists a track once it is published)."""
    order = list(TRACK_NAMES)
    tracks = sorted(info.tracks, key=lambda t: order.index(t.source) if t.source in order else len(order))
    return tuple(TRACK_NAMES.get(t.source, "other " + ("video" if t.type == api.TrackType.VIDEO else "audio"))
                 + (" (muted)" if t.muted else "") for t in tracks)


def _room(room: api.Room, infos: list[api.ParticipantInfo]) -> ActiveRoom:
    participants = tuple(
        Participant(identity=p.identity, name=p.name, is_agent=is_agent(p), attributes=dict(p.attributes),
                    tracks=published_tracks(p))
        for p in infos if p.state != api.ParticipantInfo.State.DISCONNECTED
    )
    return ActiveRoom(name=room.name, created_at=float(room.creation_time), participants=participants)


async def _fetch(lk: api.LiveKitAPI, prefix: str) -> list[ActiveRoom]:
    rooms = [r for r in (await lk.room.list_rooms(api.ListRoomsRequest())).rooms if r.name.startswith(prefix)]
    gate = asyncio.Semaphore(PARALLEL_PARTICIPANT_LISTS)

    async def participants(room: api.Room) -> list[api.ParticipantInfo] | None:
        async with gate:
            try:
                return list((await lk.room.list_participants(api.ListParticipantsRequest(room=room.name))).participants)
            except api.TwirpError as exc:
                if exc.status == 404:  # closed between the two calls: it is no longer active
                    return None
                raise

    infos = await asyncio.gather(*(participants(r) for r in rooms))
    found = [_room(room, people) for room, people in zip(rooms, infos, strict=True) if people is not None]
    return sorted(found, key=lambda r: (-r.created_at, r.name))  # newest first


async def list_active_rooms(settings: Settings, *, only_ours: bool = True,
                            timeout: float = LIST_TIMEOUT_SECONDS) -> RoomListing:
    """Rooms with their participants; by default only onboarding rooms (names starting with ROOM_PREFIX)."""
    lk = livekit_api(settings)
    try:
        rooms = await asyncio.wait_for(_fetch(lk, settings.room_prefix if only_ours else ""), timeout)
        return RoomListing(rooms=rooms)
    except Exception as exc:  # the page shows a banner, whatever went wrong
        log.warning("listing rooms failed: %r", exc)
        return RoomListing(error=describe_error(settings, exc, timeout))
    finally:
        await lk.aclose()


def refusal(settings: Settings, room_name: str) -> str | None:
    """Why this console will not close the room, or None: it only closes the rooms it creates."""
    name = room_name.strip()
    if not name:
        return "Type a room name or pick one in the table first"
    if not name.startswith(settings.room_prefix) or name == settings.room_prefix:
        return (f"Refused: only onboarding rooms (names starting with '{settings.room_prefix}') can be closed here, "
                f"not {name!r}")
    return None


async def close_room(settings: Settings, room_name: str, *, timeout: float = LIST_TIMEOUT_SECONDS) -> CloseResult:
    """Delete a room (disconnecting everyone in it); refuses rooms this console did not create."""
    room_name = room_name.strip()
    if reason := refusal(settings, room_name):
        return CloseResult(False, reason)
    lk = livekit_api(settings)
    try:
        await asyncio.wait_for(lk.room.delete_room(api.DeleteRoomRequest(room=room_name)), timeout)
        return CloseResult(True, f"Closed room {room_name}")
    except api.TwirpError as exc:
        if exc.status == 404:
            return CloseResult(True, f"Room {room_name} was already closed")
        return CloseResult(False, describe_error(settings, exc, timeout))
    except Exception as exc:
        log.warning("closing room failed: %r", exc, extra={"room": room_name})
        return CloseResult(False, describe_error(settings, exc, timeout))
    finally:
        await lk.aclose()


def format_age(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def table_rows(listing: RoomListing, now: float | None = None) -> list[list[str | int]]:
    """One row per room, in TABLE_HEADERS order, for the page's table."""
    return [
        [r.name, format_age(r.age_seconds(now)), len(r.participants), len(r.callers), len(r.agents), r.agent_state,
         r.interview_status or "—", r.asking or "—", r.fields_filled, r.tracks_summary]
        for r in listing.rooms
    ]


# --- workers: sessions against capacity (each worker writes its row, onboarding/capacity.py) ----------------
WORKER_HEADERS = ["Worker", "Host", "Executor", "Sessions", "Capacity", "Free", "Seen"]


@dataclass(frozen=True)
class WorkerListing:
    rows: list[list[str | int]] = field(default_factory=list)
    error: str | None = None

    @property
    def banner(self) -> str:
        if self.error:
            return self.error
        if not self.rows:
            return (f"No agent worker has reported in the last {STALE_AFTER_SECONDS:.0f} s: start one "
                    "(`make run`), or check that it uses this DATABASE_URL")
        sessions, capacity = sum(int(r[3]) for r in self.rows), sum(int(r[4]) for r in self.rows)
        full = " — every worker is full: new callers are told to wait" if sessions >= capacity else ""
        return f"{sessions} of {capacity} call slots in use on {len(self.rows)} worker(s){full}"


def list_workers(settings: Settings, now: float | None = None) -> WorkerListing:
    """Each live worker of AGENT_NAME with its calls and MAX_JOBS_PER_WORKER, for the rooms page."""
    try:
        workers = live_workers(settings.database_url, settings.agent_name)
    except Exception as exc:
        log.warning("listing workers failed: %r", exc)
        return WorkerListing(error=f"worker capacity unreadable ({type(exc).__name__}): check DATABASE_URL")
    clock = time.time() if now is None else now
    return WorkerListing(rows=[
        [w.worker_id, w.host, w.executor, w.active_jobs, w.max_jobs, w.free,
         f"{format_age(max(0, int(clock - w.seen_at.timestamp())))} ago" if w.seen_at else "—"]
        for w in workers])
