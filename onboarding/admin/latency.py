"""Where the time goes: one call's turns with the figures livekit-agents reports (end-of-turn delay, STT, the
interviewer's first token, the TTS's first audio, voice-to-voice in all), its provider fallbacks marked; and, across
a month's calls, the questions whose answers the agent was slowest to reply to.

Each exchange is a caller turn and the agent's reply to it: the caller's message carries the end-of-turn and
transcription delays, the agent's the first token, first audio and the total (livekit's `e2e_latency`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import select

from models import CallFieldStat, CallSession, Profile, Turn
from onboarding.db import session_scope
from onboarding.interview import InterviewDefinition
from onboarding.usage.metering import KIND_NAMES, parse_fallbacks
from onboarding.usage.monthly import month_bounds

STAGES = ("end_of_turn", "stt", "llm_first_token", "tts_first_audio")
STAGE_LABELS = {"end_of_turn": "end of turn", "stt": "STT", "llm_first_token": "interviewer first token",
                "tts_first_audio": "TTS first audio"}


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Exchange:
    number: int  # the agent turn's position in the transcript (1-based)
    caller_text: str | None
    agent_text: str
    asked_field: str | None  # what the caller was answering (the field the agent asked before)
    end_of_turn: float | None
    stt: float | None
    llm_first_token: float | None
    tts_first_audio: float | None
    voice_to_voice: float | None
    fallback: str | None  # a provider replaced during this exchange, and why
    at: datetime

    def stage(self, name: str) -> float | None:
        return getattr(self, name)


def call_timeline(db_url: str, session_id: int) -> list[Exchange]:
    """The call's agent turns in order, each with the caller turn it answered (None for the greeting or a
    re-prompt after silence) and the figures of both."""
    with session_scope(db_url) as db:
        call = db.get(CallSession, session_id)
        if call is None:
            return []
        turns = list(db.exec(select(Turn).where(Turn.session_id == session_id).order_by(Turn.index)))
    pending = sorted((f for f in parse_fallbacks(call.provider_fallbacks) if f.at), key=lambda f: f.at)
    exchanges: list[Exchange] = []
    caller: Turn | None = None
    asked: str | None = None
    for turn in turns:
        if turn.role == "user":
            caller = turn
            continue
        note = []
        while pending and pending[0].at <= _utc(turn.created_at):
            fell = pending.pop(0)
            note.append(f"{KIND_NAMES.get(fell.kind, fell.kind)}: {fell.from_provider} → {fell.to_provider} "
                        f"({fell.reason})")
        exchanges.append(Exchange(
            turn.index + 1, caller.text if caller else None, turn.text, asked if caller else None,
            caller.end_of_turn_delay if caller else None, caller.transcription_delay if caller else None,
            turn.llm_ttft, turn.tts_ttfb, turn.e2e_latency, "; ".join(note) or None, turn.created_at))
        caller, asked = None, turn.asked_field
    return exchanges


@dataclass(frozen=True)
class SlowQuestion:
    field: str
    label: str
    replies: int
    calls: int
    mean_seconds: float
    worst_seconds: float


def slowest_questions(db_url: str, month: str, definition: InterviewDefinition, limit: int = 20) -> list[SlowQuestion]:
    """Fields ranked by the agent's mean voice-to-voice time replying to their answers, across the month's calls."""
    start, end = month_bounds(month)
    s = CallFieldStat
    with session_scope(db_url) as db:
        rows = db.exec(select(s.field, func.sum(s.replies), func.count(), func.sum(s.reply_seconds_total),
                              func.max(s.reply_seconds_max))
                       .where(s.started_at >= start, s.started_at < end, s.replies > 0).group_by(s.field)).all()
    labels = {spec.name: spec.label for spec in definition.fields}
    ranked = [SlowQuestion(name, labels.get(name, name), int(replies), int(calls), float(total) / int(replies),
                           float(worst or 0)) for name, replies, calls, total, worst in rows if replies]
    return sorted(ranked, key=lambda q: q.mean_seconds, reverse=True)[:limit]


@dataclass(frozen=True)
class SlowCall:
    session_id: int
    profile_id: int | None
    room_name: str
    started_at: datetime
    worst_seconds: float
    replies: int


def slowest_calls(db_url: str, month: str, limit: int = 20) -> list[SlowCall]:
    """The month's calls with the slowest single reply (from the digest's rows), slowest first."""
    start, end = month_bounds(month)
    s = CallFieldStat
    worst = func.max(s.reply_seconds_max).label("worst")
    ranked = (select(s.session_id, worst, func.sum(s.replies).label("replies"))
              .where(s.started_at >= start, s.started_at < end, s.replies > 0)
              .group_by(s.session_id).order_by(worst.desc()).limit(limit)).subquery()
    with session_scope(db_url) as db:
        rows = db.exec(select(ranked.c.session_id, Profile.id, CallSession.room_name, CallSession.started_at,
                              ranked.c.worst, ranked.c.replies)
                       .join(CallSession, CallSession.id == ranked.c.session_id)
                       .outerjoin(Profile, Profile.session_id == ranked.c.session_id)
                       .order_by(ranked.c.worst.desc())).all()
    return [SlowCall(sid, pid, room, started, float(w or 0), int(n or 0)) for sid, pid, room, started, w, n in rows]
