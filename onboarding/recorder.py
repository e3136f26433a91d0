"""THE writer of a call: the session at join, each turn when spoken, each field with its turn, the fields flagged
for staff, the provider fallbacks, and the close with its status and usage.

Both doors use it the same way (the voice call in `call.py`, the REST push-to-talk call in `rest_calls.py`):
`record_reply` for what a caller said and the changes it made, `add_turn` for what the agent said,
`record_fallbacks` when a provider was replaced, `close` with the interview's `Outcome`. Nothing else writes a
CallSession, its Turns or its Profile during a call. A call that drops keeps everything said until then because
nothing is buffered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select

from models import TYPED_PROFILE_COLUMNS, CallSession, FieldValue, Profile, Turn, utcnow
from onboarding import metrics as prom
from onboarding.db import session_scope
from onboarding.interview import FieldUpdate, Outcome, Reply

log = logging.getLogger("onboarding.recorder")

FINAL_STATUSES = {"completed", "abandoned", "failed"}
METRIC_COLUMNS = {
    "e2e_latency": "e2e_latency",
    "transcription_delay": "transcription_delay",
    "end_of_turn_delay": "end_of_turn_delay",
    "llm_node_ttft": "llm_ttft",
    "tts_node_ttfb": "tts_ttfb",
}

TURN_DETAILS = {"audio_key", "audio_seconds", "asked_field", "read_back"}


@dataclass(frozen=True)
class CallerTurn:
    """What the caller said, as the interviewer counted it (`turn_index`) and as the session named it."""

    text: str
    turn_index: int
    message_id: str | None = None
    metrics: dict[str, float] | None = None


@dataclass
class Usage:
    stt_audio_seconds: float = 0.0
    tts_characters: int = 0
    llm_input_tokens: int = 0
    llm_output_tokens: int = 0
    detail: list[dict[str, Any]] = field(default_factory=list)


class CallRecorder:
    @prom.counted_db_write
    def __init__(
        self, db_url: str, *, room_name: str, mode: str = "voice", participant_identity: str | None = None,
        user_id: str | None = None, providers: dict[str, str] | None = None, worker_id: str | None = None,
        definition_hash: str | None = None, origin: str | None = None,
    ) -> None:
        self.db_url = db_url
        self.room_name, self.mode = room_name, mode
        self._turn_ids: dict[str, int] = {}  # session message id → stored Turn id
        self._interview_turns: dict[int, int] = {}  # the interviewer's turn_index → stored Turn id
        self._next_index = 0
        self.finished = False
        self.started_at = utcnow()
        providers = providers or {}
        with session_scope(db_url) as db:
            call = CallSession(
                room_name=room_name, mode=mode, started_at=self.started_at,
                participant_identity=participant_identity, user_id=user_id,
                worker_id=worker_id, stt_provider=providers.get("stt", ""), llm_provider=providers.get("llm", ""),
                tts_provider=providers.get("tts", ""), definition_hash=definition_hash, origin=origin,
            )
            db.add(call)
            db.flush()
            profile = Profile(session_id=call.id, user_id=user_id)
            db.add(profile)
            db.flush()
            self.session_id, self.profile_id = call.id, profile.id
        prom.session_opened(mode)
        log.info("call started", extra={"room": room_name, "session_id": self.session_id})

    @prom.counted_db_write
    def add_turn(
        self, role: str, text: str, *, message_id: str | None = None, interrupted: bool = False,
        metrics: dict[str, float] | None = None,
    ) -> int:
        """Store a turn now; a second call with the same message id only updates it."""
        metric_values = {col: metrics[key] for key, col in METRIC_COLUMNS.items() if metrics and key in metrics}
        with session_scope(self.db_url) as db:
            if message_id and message_id in self._turn_ids:
                turn = db.get(Turn, self._turn_ids[message_id])
                turn.text, turn.interrupted = text or turn.text, interrupted
                for col, value in metric_values.items():
                    setattr(turn, col, value)
                db.add(turn)
                return turn.id
            turn = Turn(
                session_id=self.session_id, index=self._next_index, role=role, text=text,
                message_id=message_id, interrupted=interrupted, **metric_values,
            )
            db.add(turn)
            db.flush()
            self._next_index += 1
            if message_id:
                self._turn_ids[message_id] = turn.id
            log.info("turn stored", extra={"room": self.room_name, "session_id": self.session_id, "role": role})
        prom.turn_stored(role)
        if self.mode == "voice" and role == "agent":
            prom.voice_to_voice(metric_values.get("e2e_latency"))
        return turn.id

    @prom.counted_db_write
    def annotate_turn(self, turn_id: int, **details: Any) -> None:
        """What is known about a stored turn only after it was said: its audio clip (`audio_key`, `audio_seconds`),
        or the field an agent turn asks for (`asked_field`, `read_back`)."""
        unknown = set(details) - TURN_DETAILS
        if unknown:
            raise ValueError(f"not turn details: {sorted(unknown)}")
        with session_scope(self.db_url) as db:
            turn = db.get(Turn, turn_id)
            if turn is not None and turn.session_id == self.session_id:
                for name, value in details.items():
                    setattr(turn, name, value)
                db.add(turn)

    def record_reply(self, reply: Reply, *, flagged: list[str], caller: CallerTurn | None = None) -> None:
        """One step of the interview: the caller's words (when a caller turn caused it), the field changes with the
        turn each came from, and the fields now flagged for staff."""
        if caller is not None:
            turn_id = self.add_turn("user", caller.text, message_id=caller.message_id, metrics=caller.metrics)
            self._interview_turns[caller.turn_index] = turn_id
        self.apply(reply.updates, self._interview_turns)
        if flagged:
            self.set_flagged(flagged)

    @prom.counted_db_write
    def apply(self, updates: list[FieldUpdate], turn_ids: dict[int, int], changed_by: str | None = None) -> None:
        """Record field values with their provenance; earlier values stay as history.

        `turn_ids` maps an update's turn_index to the stored Turn it was heard in (a read-back value
        is confirmed in a later turn but came from the turn where the caller said it).
        """
        if not updates:
            return
        with session_scope(self.db_url) as db:
            profile = db.get(Profile, self.profile_id)
            answers = dict(profile.answers or {})
            for update in updates:
                for old in db.exec(
                    select(FieldValue).where(FieldValue.profile_id == self.profile_id,
                                             FieldValue.field == update.field, FieldValue.current)
                ):
                    old.current = False
                    db.add(old)
                db.add(FieldValue(
                    profile_id=self.profile_id, field=update.field, value=str(update.value), raw_text=update.raw,
                    confidence=update.confidence, source=update.source, turn_id=turn_ids.get(update.turn_index),
                    changed_by=changed_by,
                ))
                answers[update.field] = update.value
                if update.field in TYPED_PROFILE_COLUMNS:
                    setattr(profile, update.field, update.value)
            profile.answers, profile.updated_at = answers, utcnow()
            db.add(profile)

    @prom.counted_db_write
    def set_flagged(self, flagged: list[str]) -> None:
        with session_scope(self.db_url) as db:
            profile = db.get(Profile, self.profile_id)
            profile.flagged = list(flagged)
            db.add(profile)

    def close(self, outcome: Outcome, usage: Usage | None = None) -> None:
        """The end of the call, once: its status and reason, whether the profile is complete, the usage."""
        self.finish(outcome.status, outcome.reason, usage=usage, profile_complete=outcome.profile_complete)

    @prom.counted_db_write
    def record_fallbacks(self, fallbacks: list[dict[str, Any]], stt_billed_seconds: float | None) -> None:
        """Providers replaced mid-call, with why (written as each happens: a crash keeps it), and the cloud STT's
        billed connection time."""
        with session_scope(self.db_url) as db:
            call = db.get(CallSession, self.session_id)
            if call is None:
                return
            call.provider_fallbacks = [dict(f) for f in fallbacks] or None
            if stt_billed_seconds is not None:
                call.stt_billed_seconds = stt_billed_seconds
            db.add(call)

    @prom.counted_db_write
    def finish(self, status: str, reason: str | None = None, *, usage: Usage | None = None,
               profile_complete: bool = False) -> None:
        """Close the call once; later calls (e.g. a shutdown after completion) change nothing."""
        if self.finished:
            return
        assert status in FINAL_STATUSES, status
        self.finished = True
        prom.session_closed(self.mode, status)
        usage = usage or Usage()
        with session_scope(self.db_url) as db:
            call = db.get(CallSession, self.session_id)
            call.status, call.status_reason, call.ended_at = status, reason, utcnow()
            call.agent_seconds = (call.ended_at - self.started_at).total_seconds()
            call.stt_audio_seconds, call.tts_characters = usage.stt_audio_seconds, usage.tts_characters
            call.llm_input_tokens, call.llm_output_tokens = usage.llm_input_tokens, usage.llm_output_tokens
            call.usage_detail = usage.detail
            db.add(call)
            profile = db.get(Profile, self.profile_id)
            profile.completed, profile.updated_at = profile_complete, utcnow()
            db.add(profile)
        log.info("call finished", extra={"room": self.room_name, "session_id": self.session_id,
                                         "status": status, "reason": reason})
