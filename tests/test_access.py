"""A stranger who knows a room name, against the real dashboard and livekit-server: what each attack gets.

- a token for a room that is live, was granted before, or holds a call → 409 (omit roomName)
- another caller's token (or the right room with another identity) on the profile route → 403
- REST turns and completion without the session credential → 401, with another room's → 403
- one client holding every call slot with free tokens → 429 past MAX_CALLS_PER_CLIENT
The fast tests drive the real router in-process; the slow ones the real dashboard (uvicorn), livekit-server and
agent worker of the `dashboard` fixture.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from livekit import api, rtc
from sqlalchemy import update
from sqlmodel import select

from harness.caller_audio import encode_audio
from harness.cluster import wait_until
from harness.testbed import Dashboard, rest_app
from models import CallSession, RoomGrant, utcnow
from onboarding.api.grants import RoomTaken, reserve
from onboarding.db import session_scope
from onboarding.livekit_admin import livekit_api
from onboarding.ops.processes import free_port
from onboarding.recorder import CallRecorder
from onboarding.settings import Settings

TOKEN, START, TURN, COMPLETE, PROFILE = (f"/api/livekit/{p}" for p in (
    "token", "agent/start", "agent/turn", "agent/complete", "profile"))
API_KEY = "an-integration-key-for-the-access-tests"


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # a LiveKit URL nothing listens on: a proposed room name cannot be checked there
    return Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'access.db'}", max_calls_per_client=2,
                    livekit_url=f"ws://127.0.0.1:{free_port()}", rest_api_keys=API_KEY)


def client_at(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A client at `address` as uvicorn would have decided it (the transport sets request.client)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="http://test")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = rest_app(settings)
    yield app
    if hasattr(app.state, "rest_calls"):
        await app.state.rest_calls.aclose()


def end_call(settings: Settings, room: str) -> None:
    """What the worker stores when the call in `room` is over."""
    recorder = CallRecorder(settings.database_url, room_name=room, participant_identity="caller-x")
    recorder.finish("abandoned", profile_complete=False)
    assert recorder.flush()  # written by the recorder's writer thread


# --- fast: the real router in-process ------------------------------------------------------------------
async def test_a_proposed_room_name_is_taken_only_once_and_never_after_a_call(app: FastAPI, settings: Settings) -> None:
    async with client_at(app, "198.51.100.1") as http:
        first = await http.post(TOKEN, json={})
        room = first.json()["roomName"]
        again = await http.post(TOKEN, json={"roomName": room})
        assert again.status_code == 409 and "omit roomName" in again.json()["detail"]
        assert (await http.post(START, json={"roomName": room})).status_code == 409  # nor for a REST session
        used = "onboarding-used-by-a-call"
        end_call(settings, used)
        refused = await http.post(TOKEN, json={"roomName": used})
        assert refused.status_code == 409 and "already used" in refused.json()["detail"]
        # a fresh name needs the LiveKit server to say it is not live: unreachable here, so 503, nothing granted
        fresh = await http.post(TOKEN, json={"roomName": "onboarding-never-seen-before"})
        assert fresh.status_code == 503 and "omit roomName" in fresh.json()["detail"]
    with session_scope(settings.database_url) as db:
        rooms = db.exec(select(RoomGrant.room_name)).all()
    assert rooms == [room]


async def test_one_client_cannot_hold_more_than_max_calls(app: FastAPI, settings: Settings) -> None:
    async with client_at(app, "198.51.100.7") as hoarder, client_at(app, "198.51.100.8") as other:
        rooms = [(await hoarder.post(TOKEN, json={})).json()["roomName"] for _ in range(2)]
        third = await hoarder.post(TOKEN, json={})
        assert third.status_code == 429 and "MAX_CALLS_PER_CLIENT" in third.json()["detail"]
        assert 1 <= int(third.headers["Retry-After"]) <= settings.token_ttl_seconds
        rest = await hoarder.post(START, json={})  # REST sessions draw on the same allowance
        assert rest.status_code == 429
        assert (await other.post(TOKEN, json={})).status_code == 200  # another address is not held up
        end_call(settings, rooms[0])  # a call that ended frees its slot
        assert (await hoarder.post(TOKEN, json={})).status_code == 200
        with session_scope(settings.database_url) as db:  # and so does a grant past its lifetime
            db.exec(update(RoomGrant).where(RoomGrant.room_name == rooms[1])
                    .values(expires_at=utcnow() - timedelta(seconds=1)))
        assert (await hoarder.post(TOKEN, json={})).status_code == 200
        assert (await hoarder.post(TOKEN, json={})).status_code == 429
        # a server-side integration (one address for all its users) is not capped
        integration = await hoarder.post(START, json={}, headers=bearer(API_KEY))
        assert integration.status_code == 200, integration.text


async def test_rest_sessions_need_their_own_credential(app: FastAPI) -> None:
    wav, content_type = encode_audio(np.zeros(8000, dtype=np.int16), 16000, "wav")
    async with client_at(app, "198.51.100.20") as alice, client_at(app, "198.51.100.21") as mallory:
        mine = (await alice.post(START, json={})).json()
        theirs = (await mallory.post(START, json={})).json()
        room, own, foreign = mine["roomName"], bearer(mine["sessionToken"]), bearer(theirs["sessionToken"])
        turn = {"data": {"roomName": room}, "files": {"audio": ("a.wav", wav, content_type)}}
        for headers, status in (({}, 401), (bearer("made-up"), 401), ({"Authorization": "Basic eDp5"}, 401),
                                (foreign, 403)):
            sent = await mallory.post(TURN, **turn, headers=headers)
            assert sent.status_code == status, (headers, sent.text)
            done = await mallory.post(COMPLETE, json={"roomName": room}, headers=headers)
            assert done.status_code == status, (headers, done.text)
        assert "Bearer" in (await mallory.post(TURN, **turn)).headers["WWW-Authenticate"]
        # an integration key may act only on the rooms it started
        assert (await mallory.post(COMPLETE, json={"roomName": room}, headers=bearer(API_KEY))).status_code == 403
        assert (await alice.post(TURN, **turn, headers=own)).status_code == 200
        done = await alice.post(COMPLETE, json={"roomName": room}, headers=own)
        assert done.status_code == 200 and done.json()["conversationHistory"]
        keyed = (await mallory.post(START, json={}, headers=bearer(API_KEY))).json()["roomName"]
        assert (await mallory.post(COMPLETE, json={"roomName": keyed}, headers=bearer(API_KEY))).status_code == 200
        # an Authorization header on start must be a real key
        assert (await mallory.post(START, json={}, headers=bearer("not-a-key"))).status_code == 401


def test_two_requests_for_one_name_get_it_once(settings: Settings) -> None:
    """The name passed every check for both; the UNIQUE grant lets only the first have it."""
    reserve(settings, room_name="onboarding-raced-for", mode="voice", identity="caller-a", client="a", lifetime=60)
    with pytest.raises(RoomTaken, match="omit roomName"):
        reserve(settings, room_name="onboarding-raced-for", mode="rest", identity="rest-b", client="b", lifetime=60)


def test_stored_credentials_are_hashes(settings: Settings) -> None:
    with TestClient(rest_app(settings)) as http:
        started = http.post(START, json={}).json()
    with session_scope(settings.database_url) as db:
        grant = db.exec(select(RoomGrant).where(RoomGrant.room_name == started["roomName"])).one()
    assert grant.credential_hash and started["sessionToken"] not in grant.credential_hash
    assert grant.identity == f"rest-{started['roomName']}" and grant.client_address == "testclient"


# --- slow: the real dashboard, livekit-server and worker ----------------------------------------------
async def wait_for_call(settings: Settings, room: str, identity: str, timeout: float = 60.0) -> CallSession:
    """Until the worker has recorded the call of `identity` in `room` (it does when the agent found its caller)."""
    def recorded() -> CallSession | None:
        with session_scope(settings.database_url) as db:
            call = db.exec(select(CallSession).where(CallSession.room_name == room)).first()
        return call if call is not None and call.participant_identity == identity else None

    await wait_until(lambda: recorded() is not None, f"the call of {identity} recorded in {room}", timeout=timeout)
    return recorded()


@pytest.mark.slow
async def test_a_stranger_with_a_room_name_gets_no_token_and_no_profile(dashboard: Dashboard) -> None:
    settings = dashboard.settings
    async with httpx.AsyncClient(base_url=dashboard.url, timeout=30) as http:
        caller = (await http.post(TOKEN, json={"participantName": "Maria"})).json()
        stranger = (await http.post(TOKEN, json={"participantName": "Mallory"})).json()
        room = rtc.Room()
        await room.connect(caller["wsUrl"], caller["token"])
        try:
            identity = room.local_participant.identity
            await wait_for_call(settings, caller["roomName"], identity)
            # the live room's name buys no token
            taken = await http.post(TOKEN, json={"roomName": caller["roomName"]})
            assert taken.status_code == 409 and "omit roomName" in taken.json()["detail"]
            # the stranger's own token opens only the stranger's room
            foreign = await http.get(PROFILE, params={"roomName": caller["roomName"]},
                                     headers=bearer(stranger["token"]))
            assert foreign.status_code == 403 and "another room" in foreign.json()["detail"]
            # a token signed for this very room but another identity (e.g. an observer's): still not the caller
            grants = api.VideoGrants(room_join=True, room=caller["roomName"])
            observer = api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret) \
                .with_identity("observer").with_grants(grants).to_jwt()
            watched = await http.get(PROFILE, params={"roomName": caller["roomName"]}, headers=bearer(observer))
            assert watched.status_code == 403 and "another caller" in watched.json()["detail"]
            assert (await http.get(PROFILE, params={"roomName": caller["roomName"]})).status_code == 401
            own = await http.get(PROFILE, params={"roomName": caller["roomName"]}, headers=bearer(caller["token"]))
            assert own.status_code == 200 and own.json()["status"] == "in_progress"
        finally:
            await room.disconnect()


@pytest.mark.slow
async def test_a_room_live_on_the_server_but_granted_nowhere_is_refused(dashboard: Dashboard) -> None:
    name = f"onboarding-made-elsewhere-{secrets.token_hex(4)}"  # e.g. another deployment on the same server
    lk = livekit_api(dashboard.settings)
    try:
        await lk.room.create_room(api.CreateRoomRequest(name=name))
        async with httpx.AsyncClient(base_url=dashboard.url, timeout=30) as http:
            taken = await http.post(TOKEN, json={"roomName": name})
            assert taken.status_code == 409 and "live room on the LiveKit server" in taken.json()["detail"]
            fresh = f"onboarding-never-used-{secrets.token_hex(4)}"
            accepted = await http.post(TOKEN, json={"roomName": fresh})  # a name never used is fine
            assert accepted.status_code == 200 and accepted.json()["roomName"] == fresh
    finally:
        await lk.room.delete_room(api.DeleteRoomRequest(room=name))
        await lk.aclose()


@pytest.mark.slow
async def test_rest_turns_and_completion_refuse_missing_and_foreign_credentials(dashboard: Dashboard) -> None:
    wav, content_type = encode_audio(np.zeros(8000, dtype=np.int16), 16000, "wav")
    async with httpx.AsyncClient(base_url=dashboard.url, timeout=120) as http:
        mine, theirs = [(await http.post(START, json={})).json() for _ in range(2)]
        room = mine["roomName"]
        turn = {"data": {"roomName": room}, "files": {"audio": ("a.wav", wav, content_type)}}
        assert (await http.post(TURN, **turn)).status_code == 401
        assert (await http.post(COMPLETE, json={"roomName": room})).status_code == 401
        assert (await http.post(TURN, **turn, headers=bearer(theirs["sessionToken"]))).status_code == 403
        stolen = await http.post(COMPLETE, json={"roomName": room}, headers=bearer(theirs["sessionToken"]))
        assert stolen.status_code == 403 and "conversationHistory" not in stolen.text
        for started in (mine, theirs):
            done = await http.post(COMPLETE, json={"roomName": started["roomName"]},
                                   headers=bearer(started["sessionToken"]))
            assert done.status_code == 200
