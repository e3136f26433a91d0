"""Monthly usage from the CallSession table, aggregated in SQL, and the figures the Usage & cost page shows.

Portable on SQLite and PostgreSQL: month buckets are half-open ranges computed here (no date functions in SQL),
rounding up is done with CAST and CASE, and peak concurrency is a running SUM window over start/end events.
A session belongs to the month (UTC) it started in. The LiveKit figures (agent and participant minutes, concurrency)
count voice sessions only — the REST turn mode never opens a room — and a session still running counts once it ends.
Provider figures are summed in SQL per provider combination; sessions that fell back to a local provider mid-call
are split per provider in SQL too (onboarding.usage.fallbacks), by the rules the profile detail uses for one call.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Float, Integer, and_, case, cast, func, literal, union_all
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, select

from models import CallSession
from onboarding.db import session_scope
from onboarding.usage import fallbacks as fallback_usage
from onboarding.usage.fallbacks import flag
from onboarding.usage.metering import NOT_RECORDED, MonthUsage, ProviderUse

PARTICIPANTS_PER_VOICE_SESSION = 2  # the caller and the agent, each billed as a WebRTC participant
LONGEST_SESSION = timedelta(days=1)  # how far before a month a session may start and still overlap it
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def month_key(moment: datetime) -> str:
    """'2026-03' for any moment in March 2026 UTC; naive datetimes (as SQLite returns them) are UTC."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return f"{moment.year:04d}-{moment.month:02d}"


def current_month() -> str:
    return month_key(datetime.now(UTC))


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) in UTC: a range the started_at index can serve."""
    found = _MONTH.match(month)
    if not found:
        raise ValueError(f"month {month!r} must look like 2026-03")
    year, number = int(found[1]), int(found[2])
    start = datetime(year, number, 1, tzinfo=UTC)
    return start, datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)


def _minutes_rounded_up(seconds: Any) -> ColumnElement[int]:
    """ceil(seconds / 60) without CEIL (optional in SQLite); correct whether CAST truncates (SQLite) or rounds (PG)."""
    minutes = cast(seconds, Float) / 60.0
    whole = cast(minutes, Integer)
    return whole + case((minutes > whole, 1), else_=0)


def monthly_usage(db_url: str, month: str) -> MonthUsage:
    """One indexed range scan grouped by provider combination (a handful of rows); the sessions that fell back
    split per provider in SQL (onboarding.usage.fallbacks); then the concurrency window."""
    start, end = month_bounds(month)
    c = CallSession
    voice = c.mode == "voice"
    fell_back, split = flag(fallback_usage.fell_back()), flag(fallback_usage.split_by_detail())
    query = select(
        c.stt_provider, c.tts_provider, c.llm_provider, fell_back, split, func.count(),
        func.sum(case((voice, 1), else_=0)), func.sum(case((voice, _minutes_rounded_up(c.agent_seconds)), else_=0)),
        func.sum(c.stt_audio_seconds), func.sum(func.coalesce(c.stt_billed_seconds, c.stt_audio_seconds)),
        func.coalesce(func.sum(c.stt_billed_seconds), 0), func.sum(c.tts_characters), func.sum(c.llm_input_tokens),
        func.sum(c.llm_output_tokens),
    ).where(c.started_at >= start, c.started_at < end).group_by(c.stt_provider, c.tts_provider, c.llm_provider,
                                                                  fell_back, split)
    with session_scope(db_url) as db:
        combinations = db.exec(query).all()
        fallbacks = (fallback_usage.fallback_month(db, start, end) if any(row[3] for row in combinations)
                     else fallback_usage.FallbackMonth())
        peak = peak_concurrency(db, start, end)
    sessions = voice_sessions = agent_minutes = fallback_sessions = 0
    per_provider: dict[tuple[str, str], ProviderUse] = {}

    def count(use: ProviderUse) -> None:
        # a named provider shows even at zero use (a free LLM); a blank one only if used
        if use.provider != NOT_RECORDED or use.used:
            per_provider.setdefault((use.kind, use.provider), ProviderUse(use.kind, use.provider)).add(use)

    for row in combinations:
        stt_name, tts_name, llm_name, fallback, by_detail, n, voiced, minutes = row[:8]
        audio, billed, billed_known, characters, tokens_in, tokens_out = row[8:]
        sessions, voice_sessions, agent_minutes = sessions + n, voice_sessions + voiced, agent_minutes + minutes
        fallback_sessions += n if fallback else 0
        if by_detail:  # split per provider by fallback_month; the starting STT keeps the connection time it billed
            count(ProviderUse("stt", stt_name or NOT_RECORDED, billed_seconds=float(billed_known)))
            continue
        count(ProviderUse("stt", stt_name or NOT_RECORDED, audio_seconds=float(audio), billed_seconds=float(billed)))
        count(ProviderUse("tts", tts_name or NOT_RECORDED, characters=int(characters)))
        count(ProviderUse("llm", llm_name or NOT_RECORDED, input_tokens=int(tokens_in), output_tokens=int(tokens_out)))
    for use in fallbacks.uses:
        count(use)
    uses = per_provider.values()
    return MonthUsage(
        month=month, sessions=sessions, voice_sessions=int(voice_sessions), agent_minutes=int(agent_minutes),
        participant_minutes=PARTICIPANTS_PER_VOICE_SESSION * int(agent_minutes), peak_concurrency=peak,
        stt_seconds={u.provider: u.billed_seconds for u in uses if u.kind == "stt"},
        stt_audio_seconds={u.provider: u.audio_seconds for u in uses if u.kind == "stt"},
        tts_characters={u.provider: u.characters for u in uses if u.kind == "tts"},
        llm_tokens={u.provider: (u.input_tokens, u.output_tokens) for u in uses if u.kind == "llm"},
        fallbacks=fallbacks.sessions_per_kind, fallback_sessions=fallback_sessions,
    )


def open_sessions(start: datetime, end: datetime) -> Any:
    """Every start (+1) and end (-1) of a voice session overlapping [start, end), in time order, with the number of
    sessions open just after it (a running sum). Ends sort before starts at the same instant, so back-to-back
    sessions do not overlap. Intervals need no clipping: every one taken overlaps the range, so a peak just
    outside it is also reached just inside it."""
    overlaps = and_(
        CallSession.mode == "voice", CallSession.ended_at.is_not(None),
        CallSession.started_at >= start - LONGEST_SESSION, CallSession.started_at < end, CallSession.ended_at > start,
    )
    events = union_all(
        select(CallSession.started_at.label("at"), literal(1).label("delta")).where(overlaps),
        select(CallSession.ended_at.label("at"), literal(-1).label("delta")).where(overlaps),
    ).subquery()
    return select(
        events.c.at, events.c.delta,
        func.sum(events.c.delta).over(order_by=(events.c.at, events.c.delta), rows=(None, 0)).label("open"),
    ).subquery()


def peak_concurrency(db: Session, start: datetime, end: datetime) -> int:
    """Most voice sessions open at once in [start, end)."""
    running = open_sessions(start, end)
    return int(db.exec(select(func.coalesce(func.max(running.c.open), 0))).one())


def months_with_data(db_url: str) -> list[str]:
    """Newest first; one indexed MIN query per month that has sessions, skipping empty months."""
    months: list[str] = []
    with session_scope(db_url) as db:
        first = db.exec(select(func.min(CallSession.started_at))).one()
        while first is not None:
            months.append(month_key(first))
            _, next_start = month_bounds(months[-1])
            first = db.exec(select(func.min(CallSession.started_at)).where(CallSession.started_at >= next_start)).one()
    return months[::-1]


def month_choices(db_url: str) -> list[str]:
    """The selector's options: months with data and always the current month (the default)."""
    return sorted({current_month(), *months_with_data(db_url)}, reverse=True)
