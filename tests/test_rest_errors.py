"""Client mistakes get a 4xx with a one-line detail that says what to do; never a 500, never a stack trace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from harness.caller_audio import encode_audio
from harness.testbed import rest_app
from onboarding.api.rate_limit import RateLimiter, retry_after_header
from onboarding.settings import Settings

START, TURN, COMPLETE, TOKEN = (f"/api/livekit/{p}" for p in ("agent/start", "agent/turn", "agent/complete", "token"))
ROOM = "onboarding-rest-errors"
API_KEY = "an-integration-key-for-the-error-tests"



@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'rest.db'}", rest_api_keys=API_KEY)


async def open_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                             base_url="http://test")


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = rest_app(settings)
    async with await open_client(app) as http:
        yield http
    if hasattr(app.state, "rest_calls"):
        await app.state.rest_calls.aclose()


def assert_error(response: httpx.Response, status: int, *words: str) -> str:
    """A JSON body of exactly {detail: str}, naming what was wrong, with no trace of our internals."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str)
    assert "Traceback" not in response.text and 'File "' not in response.text
    for word in words:
        assert word in body["detail"], (word, body["detail"])
    return body["detail"]


def tone(seconds: float, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 220 * t) * 8000).astype(np.int16)


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


async def start(client: httpx.AsyncClient, room: str = ROOM) -> dict[str, str]:
    """Open the session; the header its turns and complete need."""
    started = await client.post(START, json={"roomName": room})
    assert started.status_code == 200, started.text
    return bearer(started.json()["sessionToken"])


async def turn(client: httpx.AsyncClient, data: bytes, content_type: str, room: str = ROOM,
               auth: dict[str, str] | None = None) -> httpx.Response:
    return await client.post(TURN, data={"roomName": room}, files={"audio": ("answer", data, content_type)},
                             headers=auth)


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    for path in (START, COMPLETE, TOKEN):
        sent = await client.post(path, content=b'{"roomName": ', headers={"content-type": "application/json"})
        assert_error(sent, 400, "malformed JSON")


async def test_missing_fields_are_named(client: httpx.AsyncClient) -> None:
    assert_error(await client.post(COMPLETE, json={}), 422, "roomName")
    assert_error(await client.post(TURN, data={"roomName": ROOM}), 422, "audio")
    assert_error(await client.post(TURN, files={"audio": ("a.wav", b"RIFF", "audio/wav")}), 422, "roomName")
    assert_error(await client.post(START, json=["not", "an", "object"]), 422)


async def test_foreign_or_malformed_room_names_are_400(client: httpx.AsyncClient) -> None:
    for room in ("other-room", "onboarding-UPPER", "onboarding-a/b"):
        assert_error(await client.post(START, json={"roomName": room}), 400, "roomName", "onboarding-")
        assert_error(await client.post(COMPLETE, json={"roomName": room}), 400, "roomName")
        assert_error(await turn(client, b"x", "audio/wav", room=room), 400, "roomName")
    assert_error(await client.post(START, json={"roomName": "onboarding-" + "a" * 60}), 422, "roomName")


async def test_start_without_a_room_name_gets_a_new_server_made_room(client: httpx.AsyncClient) -> None:
    first = await client.post(START, json={"userId": "u"})
    second = await client.post(START, json={})
    rooms = [first.json()["roomName"], second.json()["roomName"]]
    assert first.status_code == second.status_code == 200 and rooms[0] != rooms[1]
    assert all(room.startswith("onboarding-") for room in rooms)


async def test_unknown_room_is_404(client: httpx.AsyncClient) -> None:
    # only an integration's API key may ask about a room nobody started (a session credential is another room's)
    wav, content_type = encode_audio(tone(0.5), 16000, "wav")
    key = bearer(API_KEY)
    assert_error(await turn(client, wav, content_type, room="onboarding-never-started", auth=key), 404,
                 "/agent/start")
    assert_error(await client.post(COMPLETE, json={"roomName": "onboarding-never-started"}, headers=key), 404)


async def test_ended_session_is_409(client: httpx.AsyncClient) -> None:
    auth = await start(client)
    assert_error(await client.post(START, json={"roomName": ROOM}), 409, "already running")
    assert (await client.post(COMPLETE, json={"roomName": ROOM}, headers=auth)).status_code == 200
    wav, content_type = encode_audio(tone(0.5), 16000, "wav")
    assert_error(await turn(client, wav, content_type, auth=auth), 409, "ended")
    assert_error(await client.post(COMPLETE, json={"roomName": ROOM}, headers=auth), 409, "ended")
    assert_error(await client.post(START, json={"roomName": ROOM}), 409, "new roomName")


async def test_bad_audio_is_refused_with_the_reason(client: httpx.AsyncClient) -> None:
    auth = await start(client)
    assert_error(await turn(client, b"", "audio/wav", auth=auth), 400, "empty")
    assert_error(await turn(client, b"this is a text file, not audio" * 10, "audio/wav", auth=auth), 400,
                 "not audio")
    assert_error(await turn(client, b"RIFF\x10\x00\x00\x00WAVEfmt garbage", "audio/wav", auth=auth), 400,
                 "could not be decoded")
    assert_error(await turn(client, b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png", auth=auth), 415,
                 "image/png", "WAV")
    assert_error(await turn(client, b"%PDF-1.7", "application/pdf", auth=auth), 415, "WebM")
    # the session is untouched by refused uploads: a real answer still works
    webm, content_type = encode_audio(tone(0.5, 48000), 48000, "webm")
    assert (await turn(client, webm, content_type, auth=auth)).status_code == 200


async def test_audio_over_the_limits_is_413_naming_the_limit(settings: Settings) -> None:
    strict = settings.model_copy(update={"rest_max_audio_seconds": 2.0, "rest_max_audio_bytes": 100_000})
    app = rest_app(strict)
    async with await open_client(app) as client:
        auth = await start(client)
        long_mp3, content_type = encode_audio(tone(3.0, 22050), 22050, "mp3")  # small file, 3 s of sound
        assert len(long_mp3) < 100_000
        assert_error(await turn(client, long_mp3, content_type, auth=auth), 413, "2 s")
        big = encode_audio(tone(4.0, 16000), 16000, "wav")[0]  # 128 kB: over the byte limit
        assert_error(await turn(client, big, "audio/wav", auth=auth), 413, "100000 byte")
        huge = b"RIFF" + bytes(1_000_000)  # refused from its Content-Length, before it is read
        assert_error(await turn(client, huge, "audio/wav", auth=auth), 413, "100000 bytes")
        ok, content_type = encode_audio(tone(1.0, 16000), 16000, "wav")
        assert (await turn(client, ok, content_type, auth=auth)).status_code == 200
        await app.state.rest_calls.aclose()


async def test_body_without_a_length_is_cut_off_at_the_limit(settings: Settings) -> None:
    app = rest_app(settings.model_copy(update={"rest_max_audio_bytes": 10_000}))
    request = httpx.Request("POST", "http://test" + TURN, data={"roomName": ROOM},
                            files={"audio": ("a.wav", b"RIFF" + bytes(500_000), "audio/wav")})
    body = request.read()

    async def chunks():  # streamed: no Content-Length header, the server must count
        for i in range(0, len(body), 16_384):
            yield body[i:i + 16_384]

    async with await open_client(app) as client:
        sent = await client.post(TURN, content=chunks(), headers={"content-type": request.headers["content-type"]})
    assert "content-length" not in {k.lower() for k in sent.request.headers}
    assert_error(sent, 413, "larger than")


async def test_json_body_over_64k_is_413(client: httpx.AsyncClient) -> None:
    sent = await client.post(TOKEN, json={"participantName": "x" * 100_000})
    assert_error(sent, 413, "larger than")


async def test_rate_limit_is_429_with_retry_after(settings: Settings) -> None:
    app = rest_app(settings.model_copy(update={"rate_limit_per_minute": 2, "rate_limit_burst": 3}))
    async with await open_client(app) as client:
        statuses = [(await client.post(TOKEN, json={})).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        limited = await client.post(TOKEN, json={})
        detail = assert_error(limited, 429, "2 per minute")
        assert 1 <= int(limited.headers["retry-after"]) <= 30, detail
        # the agent routes share the client's bucket, and are refused before their body is read
        assert_error(await client.post(START, json={"roomName": ROOM}), 429)
        assert_error(await turn(client, b"", "audio/wav"), 429)


async def test_unexpected_failure_is_a_500_without_a_trace(settings: Settings) -> None:
    broken = settings.model_copy(update={"database_url": "sqlite:////proc/no-such-dir/rest.db"})
    async with await open_client(rest_app(broken)) as client:
        sent = await client.post(START, json={"roomName": ROOM})
    assert_error(sent, 500, "internal server error")
    assert "/proc" not in sent.text and "sqlite" not in sent.text.lower()


def test_token_bucket_refills_at_the_configured_rate() -> None:
    limiter = RateLimiter(per_minute=6, burst=2)  # one token every 10 s
    assert [limiter.acquire("a", now=100.0) for _ in range(2)] == [0.0, 0.0]
    assert limiter.acquire("a", now=100.0) == pytest.approx(10.0)
    assert limiter.acquire("b", now=100.0) == 0.0  # another client has its own bucket
    assert limiter.acquire("a", now=105.0) == pytest.approx(5.0)
    assert limiter.acquire("a", now=110.0) == 0.0
    assert retry_after_header(0.2) == "1" and retry_after_header(5.01) == "6"
