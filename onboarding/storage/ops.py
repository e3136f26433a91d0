"""A call's writes as plain records (JSON-ready dicts), and how each is applied so that applying it twice stores once.

The recorder turns every change into one of these ops; the writer applies them in order, or keeps them in its spool
and applies them later, maybe after a restart, maybe twice. So every op names its call by the recorder's own key
(`call_key`, a UUID made before any write), its turn by the call's turn number and its field values by their
sequence number within the call, and says when it happened: a replay stores what was said, when it was said.

- open      the CallSession and its Profile (ids assigned here, on first apply)
- turn      one turn, whole (a later op for the same number replaces what it says: the session's update of it)
- turn_details  what is learnt about a turn after it was said (its audio clip, the field an agent turn asks)
- fields    field values with the turn each was heard in; earlier values stay as history
- flagged   the fields flagged for staff
- fallbacks providers replaced mid-call, and the cloud STT's billed time
- close     the end: status, reason, usage; whether the profile is complete is decided from what is stored
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from models import TYPED_PROFILE_COLUMNS, CallSession, FieldValue, Profile, Turn, utcnow

Op = dict[str, Any]
WORKER_LOST = "worker lost"  # the reason a reaper gives; the call's own close, arriving late, still wins


class UnknownCall(LookupError):
    """The op's call has no row: its open was refused, or staff deleted the call while it ran."""


@dataclass(frozen=True)
class CallIds:
    session_id: int
    profile_id: int


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _row(db: Session, model: type, row_id: int) -> Any:
    row = db.get(model, row_id)
    if row is None:
        raise UnknownCall(f"no {model.__name__} {row_id}")
    return row


class Applier:
    """Applies ops to one database inside the caller's transaction; remembers the ids of the calls it has seen."""

    def __init__(self) -> None:
        self._ids: dict[str, CallIds] = {}

    def apply(self, db: Session, op: Op) -> CallIds:
        kind = op["op"]
        if kind == "open":
            ids = self._open(db, op)
        else:
            ids = self.ids_of(db, op["call"])
            getattr(self, f"_{kind}")(db, op, ids)
        return ids

    def ids_of(self, db: Session, call_key: str) -> CallIds:
        ids = self._ids.get(call_key)
        if ids is None:
            row = db.exec(select(CallSession.id, Profile.id).join(Profile, Profile.session_id == CallSession.id)
                          .where(CallSession.call_key == call_key)).first()
            if row is None:
                raise UnknownCall(f"no call {call_key}")
            ids = self._ids[call_key] = CallIds(*row)
        return ids

    def forget(self, call_key: str) -> None:
        self._ids.pop(call_key, None)

    # --- one method per op -------------------------------------------------------------------------
    def _open(self, db: Session, op: Op) -> CallIds:
        try:
            return self.ids_of(db, op["call"])
        except UnknownCall:
            pass
        started = when(op["at"])
        providers = op.get("providers") or {}
        call = CallSession(
            call_key=op["call"], room_name=op["room"], mode=op["mode"], started_at=started,
            participant_identity=op.get("participant_identity"), user_id=op.get("user_id"),
            worker_id=op.get("worker_id"), stt_provider=providers.get("stt", ""),
            llm_provider=providers.get("llm", ""), tts_provider=providers.get("tts", ""), heartbeat_at=utcnow(),
            definition_hash=op.get("definition_hash"), origin=op.get("origin"),
        )
        db.add(call)
        db.flush()
        profile = Profile(session_id=call.id, user_id=op.get("user_id"), created_at=started, updated_at=started)
        db.add(profile)
        db.flush()
        ids = self._ids[op["call"]] = CallIds(call.id, profile.id)
        return ids

    def _turn(self, db: Session, op: Op, ids: CallIds) -> None:
        said_at = when(op["at"])
        turn = db.exec(select(Turn).where(Turn.session_id == ids.session_id, Turn.index == op["index"])).first()
        if turn is None:
            turn = Turn(session_id=ids.session_id, index=op["index"], role=op["role"], text=op["text"],
                        message_id=op.get("message_id"), created_at=said_at)
        turn.text, turn.interrupted = op["text"], bool(op.get("interrupted"))
        for column, value in (op.get("metrics") or {}).items():
            setattr(turn, column, value)
        db.add(turn)
        call = _row(db, CallSession, ids.session_id)
        if call.status_reason == WORKER_LOST and call.ended_at is not None and call.ended_at < said_at:
            call.ended_at = said_at  # a reaper closed it before this turn came back from a spool
            call.agent_seconds = max(call.agent_seconds, (said_at - call.started_at).total_seconds())
            db.add(call)

    def _turn_details(self, db: Session, op: Op, ids: CallIds) -> None:
        turn = db.exec(select(Turn).where(Turn.session_id == ids.session_id, Turn.index == op["index"])).first()
        if turn is None:
            raise UnknownCall(f"no turn {op['index']} in call {op['call']}")  # its turn op is always written first
        for name, value in op["details"].items():
            setattr(turn, name, value)
        db.add(turn)

    def _fields(self, db: Session, op: Op, ids: CallIds) -> None:
        updates = op["updates"]
        seqs = [u["seq"] for u in updates]
        if db.exec(select(FieldValue.id).where(FieldValue.profile_id == ids.profile_id,
                                               FieldValue.seq.in_(seqs))).first() is not None:
            return  # applied before (an op is one transaction: all of it or none)
        heard_in = {u["turn"] for u in updates if u.get("turn") is not None}
        turn_ids = dict(db.exec(select(Turn.index, Turn.id).where(Turn.session_id == ids.session_id,
                                                                  Turn.index.in_(heard_in))).all()) if heard_in else {}
        profile = _row(db, Profile, ids.profile_id)
        answers = dict(profile.answers or {})
        at = when(op["at"])
        for u in updates:
            db.exec(update(FieldValue).where(FieldValue.profile_id == ids.profile_id, FieldValue.field == u["field"],
                                             FieldValue.current).values(current=False))
            db.add(FieldValue(
                profile_id=ids.profile_id, field=u["field"], value=str(u["value"]), raw_text=u["raw"],
                confidence=u["confidence"], source=u["source"], turn_id=turn_ids.get(u.get("turn")),
                changed_by=u.get("changed_by"), seq=u["seq"], created_at=at,
            ))
            answers[u["field"]] = u["value"]
            if u["field"] in TYPED_PROFILE_COLUMNS:
                setattr(profile, u["field"], u["value"])
        profile.answers, profile.updated_at = answers, utcnow()
        db.add(profile)

    def _flagged(self, db: Session, op: Op, ids: CallIds) -> None:
        profile = _row(db, Profile, ids.profile_id)
        profile.flagged = list(op["flagged"])
        db.add(profile)

    def _fallbacks(self, db: Session, op: Op, ids: CallIds) -> None:
        call = _row(db, CallSession, ids.session_id)
        call.provider_fallbacks = [dict(f) for f in op["fallbacks"]] or None
        if op.get("stt_billed_seconds") is not None:
            call.stt_billed_seconds = op["stt_billed_seconds"]
        db.add(call)

    def _close(self, db: Session, op: Op, ids: CallIds) -> None:
        call = _row(db, CallSession, ids.session_id)
        if call.status != "in_progress" and call.status_reason != WORKER_LOST:
            return  # closed once already
        ended = when(op["at"])
        usage = op.get("usage") or {}
        call.status, call.status_reason, call.ended_at = op["status"], op.get("reason"), ended
        call.agent_seconds = (ended - call.started_at).total_seconds()
        call.stt_audio_seconds = usage.get("stt_audio_seconds", 0.0)
        call.tts_characters = usage.get("tts_characters", 0)
        call.llm_input_tokens = usage.get("llm_input_tokens", 0)
        call.llm_output_tokens = usage.get("llm_output_tokens", 0)
        call.usage_detail = usage.get("detail", [])
        db.add(call)
        profile = _row(db, Profile, ids.profile_id)
        stored = profile.answers or {}
        required = op.get("required")
        # complete only if the interview said so AND every required value it counted is really stored
        profile.completed = bool(op["profile_complete"]) and all(name in stored for name in required or ())
        profile.updated_at = utcnow()
        db.add(profile)
