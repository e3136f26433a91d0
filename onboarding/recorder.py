"""THE writer of a call: the session at join, each turn when spoken, each field with its turn, the fields flagged
for staff, the provider fallbacks, and the close with its status and usage.

Both doors use it the same way (the voice call in `call.py`, the REST push-to-talk call in `rest_calls.py`):
`record_reply` for what a caller said and the changes it made, `add_turn` for what the agent said,
`record_fallbacks` when a provider was replaced, `close` with the interview's `Outcome`. Nothing else writes a
CallSession, its Turns or its Profile during a call.

No method blocks or raises on the database: each change becomes an op (onboarding/storage/ops.py) handed to the
process's ordered writer, which puts it in its fsync'd spool and then into the database, retrying until it takes
it (onboarding/storage/writer.py). The call's key is made here, so a call starts even while the database is down;
its row ids (`session_id`, `profile_id`) are known once the open is stored. `flush()` waits for the writes so far.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass, field
from typing import Any
from uuid import uuid4

from models import Profile, utcnow
from onboarding import metrics as prom
from onboarding.db import session_scope
from onboarding.interview import FieldUpdate, Outcome, Reply
from onboarding.storage.ops import CallIds, Op
from onboarding.storage.registry import writer_for

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


@dataclass(frozen=True)
class StoredProfile:
    """The profile as the database holds it (what the caller is told at the end)."""

    fields: dict[str, Any]
    flagged: list[str]
    completed: bool


class CallRecorder:
    def __init__(
        self, db_url: str, *, room_name: str, mode: str = "voice", participant_identity: str | None = None,
        user_id: str | None = None, providers: dict[str, str] | None = None, worker_id: str | None = None,
        definition_hash: str | None = None, origin: str | None = None,
    ) -> None:
        self.db_url = db_url
        self.room_name, self.mode = room_name, mode
        self.call_key = uuid4().hex
        self.started_at = utcnow()
        self.session_id: int | None = None  # known once the open is stored
        self.profile_id: int | None = None
        self.closed = False  # the close was recorded: the call's last write
        self._close_durable = threading.Event()
        self._turns: dict[int, Op] = {}  # turn number → the turn as last written (a later write replaces it)
        self._by_message: dict[str, int] = {}  # session message id → turn number
        self._interview_turns: dict[int, int] = {}  # the interviewer's turn_index → turn number
        self._next_index = 0
        self._next_value = 0
        self._last_ticket = 0
        self._ticket_lock = threading.Lock()
        self._usage: Usage | None = None
        self._writer = writer_for(db_url)
        self._submit({"op": "open", "room": room_name, "mode": mode, "at": self.started_at.isoformat(),
                      "participant_identity": participant_identity, "user_id": user_id, "worker_id": worker_id,
                      "providers": dict(providers or {}), "definition_hash": definition_hash, "origin": origin},
                     on_applied=self._opened)
        self._writer.track(self)
        prom.session_opened(mode)
        log.info("call started", extra={"room": room_name, "call_key": self.call_key})

    @property
    def finished(self) -> bool:
        """The close is durable: in the database, or on disk in the spool that will put it there."""
        return self._close_durable.is_set()

    def _submit(self, op: Op, **callbacks: Any) -> None:
        ticket = self._writer.submit({**op, "call": self.call_key}, **callbacks)
        with self._ticket_lock:  # clips are annotated from threads: never let an older ticket win
            self._last_ticket = max(self._last_ticket, ticket)

    def _opened(self, ids: CallIds | None) -> None:
        if ids is None:
            self._writer.untrack(self.call_key)  # refused: nothing to keep alive
            return
        self.session_id, self.profile_id = ids.session_id, ids.profile_id

    # --- what was said ------------------------------------------------------------------------
    def add_turn(
        self, role: str, text: str, *, message_id: str | None = None, interrupted: bool = False,
        metrics: dict[str, float] | None = None,
    ) -> int:
        """Record a turn now; a second call with the same message id only updates it. Returns the turn's number
        in this call (what `apply`'s `turn_ids` refer to)."""
        metric_values = {col: metrics[key] for key, col in METRIC_COLUMNS.items() if metrics and key in metrics}
        index = self._by_message.get(message_id) if message_id else None
        new = index is None
        if not new:
            turn = self._turns[index]
            turn = {**turn, "text": text or turn["text"], "interrupted": interrupted,
                    "metrics": {**turn["metrics"], **metric_values}}
        else:
            index, self._next_index = self._next_index, self._next_index + 1
            turn = {"op": "turn", "index": index, "role": role, "text": text, "message_id": message_id,
                    "interrupted": interrupted, "metrics": metric_values, "at": utcnow().isoformat()}
            if message_id:
                self._by_message[message_id] = index
        self._turns[index] = turn
        if new:  # counted and logged once, when first stored
            self._submit(turn, on_applied=lambda ids, role=turn["role"]: self._turn_stored(ids, role))
        else:
            self._submit(turn)
        if self.mode == "voice" and role == "agent":
            prom.voice_to_voice(metric_values.get("e2e_latency"))
        return index

    @property
    def transcript(self) -> list[dict[str, str]]:
        """Every turn recorded so far, in order (what the database holds once the writes are in)."""
        return [{"role": turn["role"], "text": turn["text"]} for _, turn in sorted(self._turns.items())]

    def _turn_stored(self, ids: CallIds | None, role: str) -> None:
        if ids is not None:
            prom.turn_stored(role)
            log.info("turn stored", extra={"room": self.room_name, "session_id": ids.session_id, "role": role})

    def annotate_turn(self, turn: int, **details: Any) -> None:
        """What is known about a turn only after it was said: its audio clip (`audio_key`, `audio_seconds`), or the
        field an agent turn asks for (`asked_field`, `read_back`). `turn` is the number `add_turn` returned; written
        in order after the turn itself, like every other write of the call."""
        unknown = set(details) - TURN_DETAILS
        if unknown:
            raise ValueError(f"not turn details: {sorted(unknown)}")
        if turn not in self._turns:
            raise ValueError(f"no turn {turn} in this call")
        self._submit({"op": "turn_details", "index": turn, "details": details})

    def record_reply(self, reply: Reply, *, flagged: list[str], caller: CallerTurn | None = None) -> None:
        """One step of the interview: the caller's words (when a caller turn caused it), the field changes with the
        turn each came from, and the fields now flagged for staff."""
        if caller is not None:
            index = self.add_turn("user", caller.text, message_id=caller.message_id, metrics=caller.metrics)
            self._interview_turns[caller.turn_index] = index
        self.apply(reply.updates, self._interview_turns)
        if flagged:
            self.set_flagged(flagged)

    def apply(self, updates: list[FieldUpdate], turn_ids: dict[int, int], changed_by: str | None = None) -> None:
        """Record field values with their provenance; earlier values stay as history.

        `turn_ids` maps an update's turn_index to the turn (as `add_turn` numbered it) it was heard in (a
        read-back value is confirmed in a later turn but came from the turn where the caller said it).
        """
        if not updates:
            return
        values = []
        for update in updates:
            values.append({"seq": self._next_value, "field": update.field, "value": update.value, "raw": update.raw,
                           "confidence": update.confidence, "source": update.source,
                           "turn": turn_ids.get(update.turn_index), "changed_by": changed_by})
            self._next_value += 1
        self._submit({"op": "fields", "updates": values, "at": utcnow().isoformat()})

    def set_flagged(self, flagged: list[str]) -> None:
        self._submit({"op": "flagged", "flagged": list(flagged)})

    def record_fallbacks(self, fallbacks: list[dict[str, Any]], stt_billed_seconds: float | None) -> None:
        """Providers replaced mid-call, with why (written as each happens: a crash keeps it), and the cloud STT's
        billed connection time."""
        self._submit({"op": "fallbacks", "fallbacks": [dict(f) for f in fallbacks],
                      "stt_billed_seconds": stt_billed_seconds})

    def note_usage(self, usage: Usage) -> None:
        """The usage so far: written with each heartbeat, so a call whose worker dies still counts it."""
        self._usage = usage

    def usage_so_far(self) -> dict[str, Any] | None:
        usage = self._usage
        if usage is None:
            return None
        return {"stt_audio_seconds": usage.stt_audio_seconds, "tts_characters": usage.tts_characters,
                "llm_input_tokens": usage.llm_input_tokens, "llm_output_tokens": usage.llm_output_tokens}

    # --- the end ------------------------------------------------------------------------------
    def close(self, outcome: Outcome, usage: Usage | None = None, *, required: list[str] | None = None) -> None:
        """The end of the call, once: its status and reason, whether the profile is complete, the usage.

        With `required` (the definition's required fields) the profile counts as complete only if each of them
        is stored, whatever the interview believed."""
        self.finish(outcome.status, outcome.reason, usage=usage, profile_complete=outcome.profile_complete,
                    required=required)

    def finish(self, status: str, reason: str | None = None, *, usage: Usage | None = None,
               profile_complete: bool = False, required: list[str] | None = None) -> None:
        """Close the call once, after everything recorded before it; later calls (a shutdown after completion)
        change nothing. `finished` turns true once the close is durable."""
        if self.closed:
            return
        assert status in FINAL_STATUSES, status
        self.closed = True
        prom.session_closed(self.mode, status)
        self._submit({"op": "close", "status": status, "reason": reason, "at": utcnow().isoformat(),
                      "usage": asdict(usage or Usage()), "profile_complete": profile_complete,
                      "required": required},
                     on_durable=self._close_durable.set,
                     on_applied=lambda ids: self._closed_stored(ids, status, reason))

    def _closed_stored(self, ids: CallIds | None, status: str, reason: str | None) -> None:
        self._writer.untrack(self.call_key)
        log.info("call finished", extra={"room": self.room_name, "session_id": ids.session_id if ids else None,
                                         "status": status, "reason": reason})

    # --- waiting for the database -------------------------------------------------------------
    def flush(self, timeout: float = 30.0, *, give_up_if_failing: bool = False) -> bool:
        """Wait until everything recorded so far is in the database; False at the timeout (or, with
        `give_up_if_failing`, as soon as the database is failing: the writes are safe in the spool)."""
        return self._writer.wait(self._last_ticket, timeout, give_up_if_failing=give_up_if_failing)

    def make_durable(self, timeout: float) -> bool:
        """For a call whose process may exit now: every write on disk at once, then in the database if it takes
        them within `timeout`. True when the database has them."""
        self._writer.make_durable()
        return self.flush(timeout, give_up_if_failing=True)

    def stored_profile(self, timeout: float) -> StoredProfile | None:
        """The profile as stored once the writes so far are in; None if the database does not answer in time."""
        if not self.flush(timeout, give_up_if_failing=True) or self.profile_id is None:
            return None
        try:
            with session_scope(self.db_url) as db:
                profile = db.get(Profile, self.profile_id)
                if profile is None:
                    return None
                return StoredProfile(dict(profile.answers or {}), list(profile.flagged or []), profile.completed)
        except Exception:  # the database went away again: the caller is told what it heard
            log.warning("stored profile not readable", extra={"room": self.room_name, "call_key": self.call_key})
            return None
