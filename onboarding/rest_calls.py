"""REST push-to-talk calls: the same interview state, providers and recorder as a voice call, without WebRTC.

One `RestCalls` per app holds the live sessions in memory, one asyncio lock per room (a room's turns run
one at a time, rooms run side by side). Decoding, Whisper, the interview, the database and the TTS run in
worker threads so the event loop keeps serving other rooms; the models load once per process.
Sessions nobody talks to for REST_SESSION_IDLE_SECONDS are closed as abandoned.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlmodel import select

from models import CallSession
from onboarding.audio_upload import decode_upload, wav_bytes
from onboarding.call_records import load_call
from onboarding.db import get_engine, session_scope
from onboarding.interview import InterviewState, Outcome, load_definition
from onboarding.livekit_admin import check_room_name
from onboarding.providers.local_tts import LocalTTS
from onboarding.providers.selection import local_speech
from onboarding.providers.whisper_stt import WhisperSTT
from onboarding.recorder import CallerTurn, CallRecorder, Usage
from onboarding.settings import Settings
from onboarding.turn_tags import definition_hash

log = logging.getLogger("onboarding.rest_calls")
_LOAD_LOCK = threading.Lock()  # two first requests at once must not load the models twice


class RestCallError(Exception):
    status = 400


class UnknownRoom(RestCallError):
    status = 404


class SessionEnded(RestCallError):
    status = 409


@dataclass
class RestCall:
    room_name: str
    state: InterviewState
    last_active: float
    recorder: CallRecorder | None = None  # set once the session row exists
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    user_turns: int = 0
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class Spoken:
    text: str
    wav_base64: str


@dataclass(frozen=True)
class TurnOutcome:
    transcription: str
    reply: Spoken
    values: dict[str, Any]
    completed: bool


@dataclass(frozen=True)
class CallSummary:
    profile: dict[str, Any]
    history: list[dict[str, str]]
    summary: str


class SpeechModels:
    """The local STT and TTS from `providers.selection`, loaded on first use (the token route needs neither)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def load(self) -> tuple[WhisperSTT, LocalTTS]:
        with _LOAD_LOCK:  # two first requests at once must not load the models twice
            return local_speech(self.settings)

    def labels(self) -> dict[str, str]:
        stt, tts = self.load()
        return {"stt": f"{stt.provider}/{stt.model}", "tts": f"{tts.provider}/{tts.model}", "llm": "scripted"}

    def speak(self, text: str) -> Spoken:
        _, tts = self.load()
        pcm = b"".join(tts.synthesize_blocking(text)) if text else b""
        return Spoken(text, base64.b64encode(wav_bytes(pcm, tts.sample_rate)).decode("ascii"))

    def hear(self, audio: np.ndarray, prompt: str | None) -> str:
        stt, _ = self.load()
        return stt.hear(audio, prompt)


def _last_status(db_url: str, room_name: str) -> tuple[str, str | None] | None:
    with session_scope(db_url) as db:
        row = db.exec(select(CallSession.status, CallSession.status_reason)
                      .where(CallSession.room_name == room_name).order_by(CallSession.id.desc())).first()
        return (row[0], row[1]) if row else None


class RestCalls:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.definition = load_definition(settings.interview_path)
        # migrate the schema now, once, before sessions open together in threads
        get_engine(settings.database_url)
        self.models = SpeechModels(settings)
        self._calls: dict[str, RestCall] = {}
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def active_rooms(self) -> list[str]:
        return list(self._calls)

    async def start(self, room_name: str, user_id: str | None) -> tuple[str, Spoken]:
        check_room_name(self.settings, room_name)
        if room_name in self._calls:
            raise SessionEnded(f"a session is already running in {room_name}: send turns or complete it")
        if await asyncio.to_thread(_last_status, self.settings.database_url, room_name) is not None:
            raise SessionEnded(f"{room_name} was already used for a call: start with a new roomName")
        call = RestCall(room_name, InterviewState(self.definition), time.monotonic())
        self._calls[room_name] = call  # reserved before the first await that yields to other requests
        async with call.lock:
            try:
                call.recorder, greeting = await asyncio.to_thread(self._open, call, user_id)
            except BaseException:
                self._calls.pop(room_name, None)
                raise
            call.last_active = time.monotonic()
        self._ensure_sweeper()
        return room_name, greeting

    def _open(self, call: RestCall, user_id: str | None) -> tuple[CallRecorder, Spoken]:
        recorder = CallRecorder(self.settings.database_url, room_name=call.room_name, mode="rest",
                                participant_identity=f"rest-{call.room_name}", user_id=user_id,
                                providers=self.models.labels(), worker_id="rest",
                                definition_hash=definition_hash(self.definition))
        call.recorder = recorder
        reply = call.state.opening()
        recorder.add_turn("agent", reply.text)
        call.usage.tts_characters += len(reply.text)
        return recorder, self.models.speak(reply.text)

    async def _live(self, room_name: str) -> RestCall:
        """The running session in a room; 404 if there never was one, 409 if it has ended."""
        check_room_name(self.settings, room_name)
        call = self._calls.get(room_name)
        if call is not None:
            return call
        status = await asyncio.to_thread(_last_status, self.settings.database_url, room_name)
        if status is None:
            raise UnknownRoom(f"no session in {room_name}: start one with POST /api/livekit/agent/start")
        reason = f" ({status[1]})" if status[1] else ""
        raise SessionEnded(f"the session in {room_name} has ended: {status[0]}{reason}")

    async def turn(self, room_name: str, data: bytes, content_type: str | None) -> TurnOutcome:
        call = await self._live(room_name)
        if call.recorder is not None and call.recorder.finished:
            raise SessionEnded(f"the interview in {room_name} is finished: call /api/livekit/agent/complete")
        # decoding needs no session state: outside the lock, so a bad upload never holds up the room
        audio = await asyncio.to_thread(decode_upload, data, content_type,
                                        max_seconds=self.settings.rest_max_audio_seconds)
        async with call.lock:
            if self._calls.get(room_name) is not call or call.recorder.finished:
                raise SessionEnded(f"the session in {room_name} ended while this turn waited")
            outcome = await asyncio.to_thread(self._turn, call, audio.samples, audio.seconds)
            call.last_active = time.monotonic()
        return outcome

    def _turn(self, call: RestCall, samples: np.ndarray, seconds: float) -> TurnOutcome:
        started = time.perf_counter()
        text = self.models.hear(samples, call.state.stt_prompt)
        heard = time.perf_counter()
        call.usage.stt_audio_seconds += seconds
        caller = None
        if text:
            call.user_turns += 1
            caller = CallerTurn(text, call.user_turns, metrics={"transcription_delay": heard - started})
            reply = call.state.handle(text, call.user_turns)
        else:  # silence or noise: re-ask, as the voice agent does after a silent turn
            reply = call.state.reprompt()
        call.recorder.record_reply(reply, flagged=call.state.flagged, caller=caller)
        spoken = self.models.speak(reply.text)
        call.recorder.add_turn("agent", reply.text, metrics={
            "tts_node_ttfb": time.perf_counter() - heard, "e2e_latency": time.perf_counter() - started})
        call.usage.tts_characters += len(reply.text)
        if reply.done:
            call.recorder.close(call.state.outcome(), call.usage)
        return TurnOutcome(text, spoken, dict(call.state.values), reply.done)

    async def complete(self, room_name: str) -> CallSummary:
        call = await self._live(room_name)
        async with call.lock:
            if self._calls.get(room_name) is not call:
                raise SessionEnded(f"the session in {room_name} has already been completed")
            result = await asyncio.to_thread(self._complete, call)
            self._calls.pop(room_name, None)
        return result

    def _complete(self, call: RestCall) -> CallSummary:
        if not call.recorder.finished:
            call.recorder.close(call.state.outcome(ended_by_client=True), call.usage)
        record = load_call(self.settings.database_url, call.room_name)
        assert record is not None
        history = [{"role": t.role, "text": t.text} for t in record.turns]
        return CallSummary(dict(record.profile.answers or {}), history, self._summary(call, record.call))

    def _summary(self, call: RestCall, stored: CallSession) -> str:
        fields = self.definition.fields
        have = [f.label for f in fields if f.name in call.state.values]
        parts = [f"Onboarding {stored.status}: {len(have)} of {len(fields)} fields"
                 + (f" ({', '.join(have)})." if have else ".")]
        if stored.status_reason:
            parts.append(f"Reason: {stored.status_reason}.")
        if call.state.flagged:
            parts.append(f"Flagged for review: {', '.join(call.state.flagged)}.")
        return " ".join(parts)

    # --- idle sessions ------------------------------------------------------------------------
    async def expire_idle(self, now: float | None = None) -> list[str]:
        """Close sessions idle longer than the setting as abandoned; a room mid-turn is left alone."""
        now = time.monotonic() if now is None else now
        limit = self.settings.rest_session_idle_seconds
        expired = [c for c in self._calls.values()
                   if now - c.last_active > limit and not c.lock.locked() and c.recorder is not None]
        for call in expired:
            self._calls.pop(call.room_name, None)
            if not call.recorder.finished:
                reason = f"no request for {limit:g} s (REST_SESSION_IDLE_SECONDS)"
                await asyncio.to_thread(call.recorder.close, Outcome("abandoned", reason), call.usage)
            log.info("rest session expired", extra={"room": call.room_name, "session_id": call.recorder.session_id})
        return [c.room_name for c in expired]

    def _ensure_sweeper(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def _sweep(self) -> None:
        """Runs while sessions exist; started again by the next start()."""
        interval = min(30.0, max(1.0, self.settings.rest_session_idle_seconds / 4))
        while self._calls:
            await asyncio.sleep(interval)
            try:
                await self.expire_idle()
            except Exception:
                log.exception("expiring idle REST sessions failed")

    async def aclose(self) -> None:
        """Close every open session as abandoned (app shutdown) and stop the sweeper."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        await self.expire_idle(now=float("inf"))
