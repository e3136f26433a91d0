"""REST turns are safe to retry and never fail on storage: a retried turn (same Idempotency-Key, or the same audio
again) gets the first answer back instead of being taken as the answer to the next question, and a turn while
the database is locked is answered (200) and stored once the database is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from harness.caller_audio import ROOM_RATE, encode_audio, resample, speak
from harness.faults import SqliteLock
from harness.testbed import rest_app
from onboarding.call_records import load_call
from onboarding.db import get_engine
from onboarding.settings import Settings

START, TURN, COMPLETE = "/api/livekit/agent/start", "/api/livekit/agent/turn", "/api/livekit/agent/complete"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'rest.db'}", rate_limit_burst=1000,
                        rate_limit_per_minute=6000)
    get_engine(settings.database_url)
    return settings


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return rest_app(settings)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http
    if hasattr(app.state, "rest_calls"):
        await app.state.rest_calls.aclose()


def wav(text: str) -> bytes:
    return encode_audio(resample(speak(text), ROOM_RATE, 16000), 16000, "wav")[0]


async def start(client: httpx.AsyncClient, room: str) -> dict[str, str]:
    """A REST session in `room`; returns the session's credential as the header a client sends."""
    started = await client.post(START, json={"roomName": room})
    assert started.status_code == 200, started.text
    return {"Authorization": f"Bearer {started.json()['sessionToken']}"}


async def turn(client: httpx.AsyncClient, room: str, audio: bytes, auth: dict[str, str],
               key: str | None = None) -> httpx.Response:
    headers = {**auth, "Idempotency-Key": key} if key else auth
    return await client.post(TURN, data={"roomName": room}, files={"audio": ("a.wav", audio, "audio/wav")},
                             headers=headers)


async def test_a_retried_turn_returns_the_first_answer_and_is_stored_once(client: httpx.AsyncClient,
                                                                         settings: Settings) -> None:
    room = "onboarding-rest-retry"
    name, yes = await asyncio.to_thread(wav, "My name is Maria Garcia."), await asyncio.to_thread(wav, "Yes.")
    auth = await start(client, room)
    first = await turn(client, room, name, auth, key="answer-1")
    assert first.status_code == 200 and "Maria Garcia" in first.json()["response"]  # the read-back
    # the client timed out and sends it again: with its key, then (another client) without one
    for retry in (await turn(client, room, name, auth, key="answer-1"), await turn(client, room, name, auth)):
        assert retry.status_code == 200 and retry.json() == first.json()
    confirmed = await turn(client, room, yes, auth, key="answer-2")
    assert confirmed.json()["extractedData"] == {"full_name": "Maria Garcia"}
    assert (await turn(client, room, yes, auth, key="answer-2")).json() == confirmed.json()
    record = load_call(settings.database_url, room)
    assert [(t.role, t.text) for t in record.turns][1:] == [
        ("user", "My name is Maria Garcia."), ("agent", first.json()["response"]),
        ("user", "Yes."), ("agent", confirmed.json()["response"])]  # each answer once, in order
    assert [(v.field, v.value) for v in record.field_values] == [("full_name", "Maria Garcia")]


async def test_the_idempotency_key_is_documented(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    [header] = [p for p in schema["paths"][TURN]["post"]["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key" and not header["required"]
    assert "retry" in header["description"]


async def test_a_turn_while_the_database_is_locked_is_answered_and_stored_after(
        app: FastAPI, client: httpx.AsyncClient, settings: Settings, tmp_path: Path) -> None:
    room = "onboarding-rest-outage"
    name = await asyncio.to_thread(wav, "My name is Maria Garcia.")
    auth = await start(client, room)
    with SqliteLock(tmp_path / "rest.db") as lock:
        during = await turn(client, room, name, auth)
        assert during.status_code == 200, during.text
        assert during.json()["transcription"] == "My name is Maria Garcia."
        stored = load_call(settings.database_url, room)  # readers go on while another process holds the lock
        assert [t.role for t in stored.turns] == ["agent"]  # the answer is not in the database yet
        await asyncio.to_thread(lock.release)
    recorder = app.state.rest_calls._calls[room].recorder
    assert await asyncio.to_thread(recorder.flush)
    record = load_call(settings.database_url, room)
    assert [(t.role, t.text) for t in record.turns][1:] == [("user", "My name is Maria Garcia."),
                                                             ("agent", during.json()["response"])]
    done = await client.post(COMPLETE, json={"roomName": room}, headers=auth)
    assert done.status_code == 200
    assert done.json()["conversationHistory"] == [{"role": t.role, "text": t.text} for t in record.turns]
