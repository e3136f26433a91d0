"""A month day by day, in SQL: agent minutes of the sessions started each day (UTC) and each day's peak concurrency.

Portable like onboarding.usage.monthly: days are buckets of a CASE over boundaries computed here (no date functions
in SQL), and the concurrency is the same running sum over start (+1) and end (−1) events, its maximum taken per day.
The count just before an end event (the running value + 1) is a candidate too, so a call open across midnight counts
on the day it ends.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from sqlalchemy import Integer, case, func
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, select

from models import CallSession
from onboarding.usage.monthly import _minutes_rounded_up, month_bounds, open_sessions


def days_in(month: str) -> int:
    start, _ = month_bounds(month)
    return calendar.monthrange(start.year, start.month)[1]


def _day_of(column: ColumnElement[datetime], start: datetime, days: int) -> ColumnElement[int]:
    """0 for the month's first day … days-1 for its last (only rows inside the month are asked)."""
    bounds = [start + timedelta(days=d + 1) for d in range(days - 1)]
    return case(*((column < bound, day) for day, bound in enumerate(bounds)), else_=days - 1)


def daily_minutes(db: Session, month: str) -> list[int]:
    """Agent minutes (each voice session rounded up, as LiveKit bills) per day of the month it started."""
    start, end = month_bounds(month)
    days = days_in(month)
    day = _day_of(CallSession.started_at, start, days).label("day")
    rows = db.exec(select(day, func.sum(_minutes_rounded_up(CallSession.agent_seconds)))
                   .where(CallSession.started_at >= start, CallSession.started_at < end, CallSession.mode == "voice")
                   .group_by(day)).all()
    minutes = [0] * days
    for number, total in rows:
        minutes[int(number)] = int(total or 0)
    return minutes


def daily_peaks(db: Session, month: str) -> list[int]:
    """The most voice sessions open at once on each day of the month."""
    start, end = month_bounds(month)
    days = days_in(month)
    running = open_sessions(start, end)
    day = _day_of(running.c.at, start, days).label("day")
    before_or_after = case((running.c.delta < 0, running.c.open + 1), else_=running.c.open)
    rows = db.exec(select(day, func.max(before_or_after.cast(Integer)))
                   .where(running.c.at >= start, running.c.at < end).group_by(day)).all()
    peaks = [0] * days
    for number, peak in rows:
        peaks[int(number)] = int(peak or 0)
    return peaks
