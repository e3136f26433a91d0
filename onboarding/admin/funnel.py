"""The onboarding funnel: per field of the interview, what callers did there, per month and interview version.

Read from the post-call digest's rows (CallFieldStat, one per call and field reached): counts are SUMs of flags in
one indexed range scan; medians come from a histogram grouped in SQL (time in half seconds, turns whole), so the
page never loads one row per call. Calls recorded without field tags (the REST door, or before tagging) are not in
these rows and are counted apart.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Integer, cast, distinct, func
from sqlmodel import select

from models import CallFieldStat, CallSession, Profile
from onboarding.db import session_scope
from onboarding.interview import InterviewDefinition
from onboarding.usage.monthly import month_bounds

ALL_VERSIONS = "all"
HALF_SECONDS = 2  # histogram buckets per second for the median time


@dataclass
class FieldFunnel:
    field: str
    label: str
    reached: int = 0
    answered_first_time: int = 0
    reasked: int = 0
    corrected: int = 0
    skipped: int = 0
    flagged: int = 0
    hung_up: int = 0
    median_seconds: float | None = None
    median_turns: float | None = None

    def share(self, count: int) -> str:
        return f"{count / self.reached:.0%}" if self.reached else "—"


@dataclass
class Funnel:
    month: str
    version: str
    calls: int  # closed calls in the month (and version)
    calls_in_funnel: int  # of them, with field tags
    completed: int  # profiles complete
    fields: list[FieldFunnel] = field(default_factory=list)

    @property
    def completion_rate(self) -> float:
        return self.completed / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class Version:
    hash: str
    first_seen: datetime
    calls: int


def _median(histogram: list[tuple[int, int]]) -> int | None:
    """The median bucket of (bucket, count) pairs sorted by bucket."""
    total = sum(count for _, count in histogram)
    if not total:
        return None
    seen = 0
    for bucket, count in histogram:
        seen += count
        if seen * 2 >= total:
            return bucket
    return histogram[-1][0]


def versions(db_url: str, month: str) -> list[Version]:
    """The interview versions that ran calls in the month, newest first."""
    start, end = month_bounds(month)
    c = CallSession
    with session_scope(db_url) as db:
        rows = db.exec(select(c.definition_hash, func.min(c.started_at), func.count())
                       .where(c.started_at >= start, c.started_at < end, c.definition_hash.is_not(None))
                       .group_by(c.definition_hash)).all()
    return sorted((Version(h, first, n) for h, first, n in rows), key=lambda v: v.first_seen, reverse=True)


def _rows(histograms: dict[str, Counter[int]]) -> list[tuple[str, int, int]]:
    """(field, bucket, count) in field then bucket order, as the medians read them."""
    return [(name, bucket, n) for name, buckets in sorted(histograms.items()) for bucket, n in sorted(buckets.items())]


def funnel(db_url: str, month: str, definition: InterviewDefinition, version: str = ALL_VERSIONS) -> Funnel:
    start, end = month_bounds(month)
    s, c = CallFieldStat, CallSession
    in_range = [s.started_at >= start, s.started_at < end]
    calls_in_range = [c.started_at >= start, c.started_at < end, c.status != "in_progress"]
    if version != ALL_VERSIONS:
        in_range.append(s.definition_hash == version)
        calls_in_range.append(c.definition_hash == version)
    flags = (s.reached, s.answered_first_time, s.reasked, s.corrected, s.skipped, s.flagged, s.hung_up)
    with session_scope(db_url) as db:
        calls, completed = db.exec(
            select(func.count(), func.coalesce(func.sum(cast(Profile.completed, Integer)), 0))
            .select_from(c).join(Profile, Profile.session_id == c.id).where(*calls_in_range)).one()
        tagged = db.exec(select(func.count(distinct(s.session_id))).where(*in_range)).one()
        # one scan for the counts and both histograms: grouped finely, summed up here
        seconds = cast(s.seconds * HALF_SECONDS, Integer)
        rows = db.exec(select(s.field, seconds, s.answer_turns, s.hung_up, func.count(),
                              *(func.sum(cast(flag, Integer)) for flag in flags))
                       .where(*in_range).group_by(s.field, seconds, s.answer_turns, s.hung_up)).all()
    totals: dict[str, list[int]] = {}
    times: dict[str, Counter[int]] = defaultdict(Counter)
    turns: dict[str, Counter[int]] = defaultdict(Counter)
    for name, bucket, answer_turns, hung_up, count, *counts in rows:
        total = totals.setdefault(name, [0] * len(flags))
        for i, n in enumerate(counts):
            total[i] += int(n or 0)
        if hung_up:  # a caller who hung up on a question spent no whole answer on it
            continue
        if bucket is not None:
            times[name][int(bucket)] += count
        if answer_turns is not None:
            turns[name][int(answer_turns)] += count
    sums = [(name, *counts) for name, counts in totals.items()]
    time_histogram, turn_histogram = _rows(times), _rows(turns)
    labels = {spec.name: spec.label for spec in definition.fields}
    order = list(labels) + sorted({row[0] for row in sums} - set(labels))
    by_field = {name: FieldFunnel(name, labels.get(name, name.replace("_", " "))) for name in order}
    for name, *counts in sums:
        item = by_field[name]
        (item.reached, item.answered_first_time, item.reasked, item.corrected, item.skipped, item.flagged,
         item.hung_up) = (int(n or 0) for n in counts)
    for rows, setter in ((time_histogram, "median_seconds"), (turn_histogram, "median_turns")):
        grouped: dict[str, list[tuple[int, int]]] = {}
        for name, bucket, count in rows:
            grouped.setdefault(name, []).append((int(bucket), int(count)))
        for name, histogram in grouped.items():
            middle = _median(histogram)
            if middle is not None and name in by_field:
                value = middle / HALF_SECONDS if setter == "median_seconds" else float(middle)
                setattr(by_field[name], setter, value)
    fields = [item for item in by_field.values() if item.reached or item.field in labels]
    return Funnel(month, version, int(calls), int(tagged), int(completed), fields)
