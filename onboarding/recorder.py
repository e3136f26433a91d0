"""Writes a call as it happens: the session at join, each turn when spoken, each field with its turn.

Used by the voice worker and (later) the REST turn mode, so both store exactly the same records.
A call that drops keeps everything said until then because nothing is buffered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select

from models import TYPED_PROFILE_COLUMNS, CallSession, FieldValue, Profile, Turn, utcnow
from onboarding import metrics as prom
from onboarding.db import session_scope
from onboarding.interview import FieldUpdate

log = logging.getLogger("onboarding.recorder")

FINAL_STATUSES = {"completed", "abandoned", "failed"}
METRIC_COLUMNS = {
    "e2e_latency": "e2e_latency",
    "transcription_delay": "transcription_delay",
    "end_of_turn_delay": "end_of_turn_delay",
    "llm_node_ttft": "llm_ttft",
    "tts_node_ttfb": "tts_ttfb",
}


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
    ) -> None:
        self.db_url = db_url
        self.room_name, self.mode = room_name, mode
        self._turn_ids: dict[str, int] = {}
        self._next_index = 0
        self.finished = False
        self.started_at = utcnow()
        providers = providers or {}
        with session_scope(db_url) as db:
            call = CallSession(
                room_name=room_name, mode=mode, started_at=self.started_at,
                participant_identity=participant_identity, user_id=user_id,
                worker_id=worker_id, stt_provider=providers.get("stt", ""), llm_provider=providers.get("llm", ""),
                tts_provider=providers.get("tts", ""),
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
