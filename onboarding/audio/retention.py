"""AUDIO_RETENTION_DAYS: clips of calls older than that go, whole days at a time; the turns keep their text and
forget the clip's key (so the page shows no player for a file that is gone)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import update
from sqlmodel import select

from models import CallSession, Turn
from onboarding.audio.storage import AudioStore
from onboarding.db import session_scope

log = logging.getLogger("onboarding.audio")


def expire_audio(db_url: str, store: AudioStore, days: int, today: date | None = None) -> int:
    """Delete the clips of calls started more than `days` days before today (UTC); 0 days keeps everything.
    Returns how many clips were deleted."""
    if days <= 0:
        return 0
    today = today or datetime.now(UTC).date()
    cutoff = today - timedelta(days=days)
    removed = 0
    for day in store.days():
        if day >= cutoff:
            break
        start = datetime.combine(day, time.min, UTC)
        with session_scope(db_url) as db:
            sessions = select(CallSession.id).where(CallSession.started_at >= start,
                                                    CallSession.started_at < start + timedelta(days=1))
            db.exec(update(Turn).where(Turn.session_id.in_(sessions), Turn.audio_key.is_not(None))
                    .values(audio_key=None, audio_seconds=None))
        removed += store.delete_day(day)
    if removed:
        log.info("expired audio clips", extra={"clips": removed, "before": cutoff.isoformat()})
    return removed
