"""REST push-to-talk calls: the same interview state, providers and recorder as a voice call, without WebRTC.

One `RestCalls` per app holds the live sessions in memory, one asyncio lock per room (a room's turns run
one at a time, rooms run side by side). Decoding, Whisper, the interview, the database and the TTS run in
worker threads so the event loop keeps serving other rooms; the models load once per process.
Sessions nobody talks to for REST_SESSION_IDLE_SECONDS are closed as abandoned.

A turn is answered once its writes are stored, or at once when the database is failing: they are safe in the
spool then, and stored when it is back (a turn never fails on storage). A retried turn — the same
Idempotency-Key, or without one the same audio bytes as the previous turn — gets the earlier answer again
instead of being taken as the answer to the next question.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import threading
import time
from collections import OrderedDict
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
from onboarding.providers.whisper_stt import Prompt, WhisperSTT, priming
from onboarding.recorder import CallerTurn, CallRecorder, Usage
from onboarding.settings import Settings
from onboarding.turn_tags import definition_hash

log = logging.getLogger("onboarding.rest_calls")
_LOAD_LOCK = threading.Lock()  # two first requests at once must not load the models twice
STORED_WAIT_SECONDS = 5.0  # a turn waits this long at most for its writes (none while the database is failing)
REMEMBERED_TURNS = 8  # answers kept per session for retries with an Idempotency-Key


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
    answered: OrderedDict[str, TurnOutcome] = field(default_factory=OrderedDict)  # Idempotency-Key → answer
    last_audio: tuple[str, TurnOutcome] | None = None  # the previous turn's audio digest and answer
    # who may send its turns: the SHA-256 of its sessionToken, or the fingerprint of the API key that started it
    credential_hash: str | None = None
    api_key_id: str | None = None


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

    def hear(self, audio: np.ndarray, prompt: Prompt) -> list[str]:
        """The N best readings of the answer, best first ([] for silence)."""
        stt, _ = self.load()
        return stt.hear_all(audio, prompt)


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

    def admits(self, room_name: str, credential_hash: str, api_key_id: str | None) -> bool:
        """The live session in `room_name` was started with this credential (its hash) or this API key: decided
        in memory, so a session's turns are let in while the database is down (its writes wait in the spool)."""
        call = self._calls.get(room_name)
        if call is None:
            return False
        if api_key_id is not None and call.api_key_id is not None:
            return hmac.compare_digest(api_key_id, call.api_key_id)
        return call.credential_hash is not None and hmac.compare_digest(credential_hash, call.credential_hash)

    async def start(self, room_name: str, user_id: str | None, *, credential_hash: str | None = None,
                    api_key_id: str | None = None) -> tuple[str, Spoken]:
        check_room_name(self.settings, room_name)
        if room_name in self._calls:
            raise SessionEnded(f"a session is already running in {room_name}: send turns or complete it")
        if await asyncio.to_thread(_last_status, self.settings.database_url, room_name) is not None:
            raise SessionEnded(f"{room_name} was already used for a call: start with a new roomName")
        call = RestCall(room_name, InterviewState(self.definition), time.monotonic(),
                        credential_hash=credential_hash, api_key_id=api_key_id)
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
        spoken = self.models.speak(reply.text)
        recorder.flush(STORED_WAIT_SECONDS, give_up_if_failing=True)
        return recorder, spoken

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

    async def turn(self, room_name: str, data: bytes, content_type: str | None,
                   idempotency_key: str | None = None) -> TurnOutcome:
        """One caller answer. A retry (same `idempotency_key`, or without one the same audio as the previous
        turn) returns the earlier answer, even after the interview finished."""
        call = await self._live(room_name)
        digest = hashlib.sha256(data).hexdigest()
        if (earlier := self._earlier_answer(call, idempotency_key, digest)) is not None:
            return earlier
        if call.recorder is not None and call.recorder.closed:
            raise SessionEnded(f"the interview in {room_name} is finished: call /api/livekit/agent/complete")
        # decoding needs no session state: outside the lock, so a bad upload never holds up the room
        audio = await asyncio.to_thread(decode_upload, data, content_type,
                                        max_seconds=self.settings.rest_max_audio_seconds)
        async with call.lock:
            if (earlier := self._earlier_answer(call, idempotency_key, digest)) is not None:
                return earlier  # the original was still running when this retry arrived
            if self._calls.get(room_name) is not call or call.recorder.closed:
                raise SessionEnded(f"the session in {room_name} ended while this turn waited")
            outcome = await asyncio.to_thread(self._turn, call, audio.samples, audio.seconds)
            self._remember(call, idempotency_key, digest, outcome)
            call.last_active = time.monotonic()
        return outcome

    @staticmethod
    def _earlier_answer(call: RestCall, key: str | None, digest: str) -> TurnOutcome | None:
        if key is not None:
            return call.answered.get(key)
        if call.last_audio is not None and call.last_audio[0] == digest:
            return call.last_audio[1]
        return None

    @staticmethod
    def _remember(call: RestCall, key: str | None, digest: str, outcome: TurnOutcome) -> None:
        call.last_audio = (digest, outcome)
        if key is not None:
            call.answered[key] = outcome
            while len(call.answered) > REMEMBERED_TURNS:
                call.answered.popitem(last=False)

    def _turn(self, call: RestCall, samples: np.ndarray, seconds: float) -> TurnOutcome:
        started = time.perf_counter()
        hearing = call.state.next_hearing
        readings = self.models.hear(samples, priming(hearing.prompts, hearing.enough))
        text = readings[0] if readings else ""
        heard = time.perf_counter()
        call.usage.stt_audio_seconds += seconds
        caller = None
        if text:
            call.user_turns += 1
            caller = CallerTurn(text, call.user_turns, metrics={"transcription_delay": heard - started})
            reply = call.state.handle(text, call.user_turns, readings[1:])
        else:  # silence or noise: re-ask, as the voice agent does after a silent turn
            reply = call.state.reprompt()
        call.recorder.record_reply(reply, flagged=call.state.flagged, caller=caller)
        spoken = self.models.speak(reply.text)
        call.recorder.add_turn("agent", reply.text, metrics={
            "tts_node_ttfb": time.perf_counter() - heard, "e2e_latency": time.perf_counter() - started})
        call.usage.tts_characters += len(reply.text)
        if reply.done:
            call.recorder.close(call.state.outcome(), call.usage, required=self._required)
        else:
            call.recorder.note_usage(call.usage)
        call.recorder.flush(STORED_WAIT_SECONDS, give_up_if_failing=True)
        return TurnOutcome(text, spoken, dict(call.state.values), reply.done)

    async def correct(self, room_name: str, field: str, value: str) -> TurnOutcome:
        """A value the caller typed for a field: the interview's normaliser and validation, source "typed"."""
        call = await self._live(room_name)
        async with call.lock:
            if self._calls.get(room_name) is not call or call.recorder.closed:
                raise SessionEnded(f"the interview in {room_name} is finished: call /api/livekit/agent/complete")
            outcome = await asyncio.to_thread(self._correct, call, field, value)
            call.last_active = time.monotonic()
        return outcome

    def _correct(self, call: RestCall, field: str, value: str) -> TurnOutcome:
        try:
            reply = call.state.typed(field, value, -1)
        except ValueError as exc:
            raise RestCallError(f"{field}: {exc}") from None
        call.recorder.record_reply(reply, flagged=call.state.flagged)
        call.last_audio = None  # the next upload answers what this reply asks, even if it repeats the last one
        spoken = self.models.speak(reply.text)
        call.recorder.add_turn("agent", reply.text)
        call.usage.tts_characters += len(reply.text)
        if reply.done:
            call.recorder.close(call.state.outcome(), call.usage, required=self._required)
        else:
            call.recorder.note_usage(call.usage)
        call.recorder.flush(STORED_WAIT_SECONDS, give_up_if_failing=True)
        return TurnOutcome("", spoken, dict(call.state.values), reply.done)
    @property
    def _required(self) -> list[str]:
        return [spec.name for spec in self.definition.fields if spec.required]

    async def complete(self, room_name: str) -> CallSummary:
        call = await self._live(room_name)
        async with call.lock:
            if self._calls.get(room_name) is not call:
                raise SessionEnded(f"the session in {room_name} has already been completed")
            result = await asyncio.to_thread(self._complete, call)
            self._calls.pop(room_name, None)
        return result

    def _complete(self, call: RestCall) -> CallSummary:
        if not call.recorder.closed:
            call.recorder.close(call.state.outcome(ended_by_client=True), call.usage, required=self._required)
        record = None
        if call.recorder.flush(STORED_WAIT_SECONDS, give_up_if_failing=True):
            try:
                record = load_call(self.settings.database_url, call.room_name)
            except Exception:  # the database went away again: answer from the session, storing continues
                log.warning("stored call not readable", extra={"room": call.room_name})
        if record is None:  # what this session holds; the spool stores the same once the database is back
            outcome = call.state.outcome(ended_by_client=True)
            return CallSummary(dict(call.state.values), call.recorder.transcript,
                               self._summary(call, outcome.status, outcome.reason))
        history = [{"role": t.role, "text": t.text} for t in record.turns]
        summary = self._summary(call, record.call.status, record.call.status_reason)
        return CallSummary(dict(record.profile.answers or {}), history, summary)

    def _summary(self, call: RestCall, status: str, reason: str | None) -> str:
        fields = self.definition.fields
        have = [f.label for f in fields if f.name in call.state.values]
        parts = [f"Onboarding {status}: {len(have)} of {len(fields)} fields"
                 + (f" ({', '.join(have)})." if have else ".")]
        if reason:
            parts.append(f"Reason: {reason}.")
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
            if not call.recorder.closed:
                reason = f"no request for {limit:g} s (REST_SESSION_IDLE_SECONDS)"
                call.recorder.close(Outcome("abandoned", reason), call.usage)
                await asyncio.to_thread(call.recorder.flush, STORED_WAIT_SECONDS, give_up_if_failing=True)
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
