"""The review queue: every field the post-call digest found needing a human, most urgent first, settled with one
action each — approve the value as heard, or fix it (the same normaliser as the interview checks the fix).

Urgency: flagged (the interview gave up on it) > a read-back the caller did not confirm > low confidence > corrected
by the caller > typed by the caller; then lower confidence first. Who settled an item and when stays on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from models import FieldValue, Profile, ReviewItem, Turn, utcnow
from onboarding.admin.review import CorrectionError, correct_field
from onboarding.db import session_scope
from onboarding.interview import InterviewDefinition

REASON_LABELS = {"flagged": "flagged", "rejected_read_back": "read-back not confirmed",
                 "low_confidence": "low confidence", "corrected": "corrected by the caller",
                 "typed": "typed by the caller"}
OPEN_ORDER = (ReviewItem.priority, ReviewItem.confidence, ReviewItem.id)


class QueueError(ValueError):
    """An item staff cannot settle (gone, or settled by someone else); the message says which."""


@dataclass(frozen=True)
class QueueItem:
    id: int
    profile_id: int
    profile_name: str | None
    field: str
    value: str | None
    heard: str | None
    confidence: float | None
    source: str | None
    reasons: list[str]
    created_at: datetime
    turn_id: int | None
    audio_key: str | None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    action: str | None = None

    @property
    def why(self) -> str:
        return ", ".join(REASON_LABELS.get(r, r) for r in self.reasons)


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueItem]
    open_total: int
    offset: int


_COLUMNS = (ReviewItem.id, ReviewItem.profile_id, Profile.full_name, ReviewItem.field, FieldValue.value,
            FieldValue.raw_text, FieldValue.confidence, FieldValue.source, ReviewItem.reasons, ReviewItem.created_at,
            FieldValue.turn_id, Turn.audio_key, ReviewItem.resolved_at, ReviewItem.resolved_by, ReviewItem.action)


def _items(db: Session, stmt) -> list[QueueItem]:
    rows = db.exec(stmt.join(Profile, Profile.id == ReviewItem.profile_id)
                   .outerjoin(FieldValue, FieldValue.id == ReviewItem.value_id)
                   .outerjoin(Turn, Turn.id == FieldValue.turn_id)).all()
    return [QueueItem(*row[:8], row[8].split(","), *row[9:]) for row in rows]


def open_items(db_url: str, limit: int = 25, offset: int = 0) -> QueuePage:
    """One page of the open queue, most urgent first (the page is chosen on the queue index, then joined)."""
    with session_scope(db_url) as db:
        total = db.exec(select(func.count()).select_from(ReviewItem).where(ReviewItem.resolved_at.is_(None))).one()
        ids = (select(ReviewItem.id).where(ReviewItem.resolved_at.is_(None)).order_by(*OPEN_ORDER)
               .limit(limit).offset(offset)).scalar_subquery()
        items = _items(db, select(*_COLUMNS).where(ReviewItem.id.in_(ids)).order_by(*OPEN_ORDER))
    return QueuePage(items, total, offset)


def recently_settled(db_url: str, limit: int = 10) -> list[QueueItem]:
    with session_scope(db_url) as db:
        ids = (select(ReviewItem.id).where(ReviewItem.resolved_at.is_not(None))
               .order_by(ReviewItem.resolved_at.desc()).limit(limit)).scalar_subquery()
        return _items(db, select(*_COLUMNS).where(ReviewItem.id.in_(ids)).order_by(ReviewItem.resolved_at.desc()))


def get_item(db_url: str, item_id: int) -> QueueItem | None:
    with session_scope(db_url) as db:
        found = _items(db, select(*_COLUMNS).where(ReviewItem.id == item_id))
    return found[0] if found else None


def _open_item(db: Session, item_id: int) -> ReviewItem:
    item = db.get(ReviewItem, item_id)
    if item is None:
        raise QueueError(f"Review item {item_id} no longer exists (its profile was deleted).")
    if item.resolved_at is not None:
        raise QueueError(f"Already settled: {item.action} by {item.resolved_by} at {item.resolved_at:%Y-%m-%d %H:%M}.")
    return item


def approve(db_url: str, item_id: int, by: str) -> QueueItem:
    """The value stands as heard: the item is settled and the field is no longer flagged on the profile."""
    with session_scope(db_url) as db:
        item = _open_item(db, item_id)
        item.resolved_at, item.resolved_by, item.action = utcnow(), by, "approved"
        db.add(item)
        profile = db.get(Profile, item.profile_id)
        if item.field in (profile.flagged or []):
            profile.flagged = [name for name in profile.flagged if name != item.field]
            db.add(profile)
    settled = get_item(db_url, item_id)
    assert settled is not None
    return settled


def fix(db_url: str, item_id: int, text: str, by: str, definition: InterviewDefinition) -> str | int:
    """Store staff's value (validated like a spoken answer, the heard one kept as history) and settle the item."""
    with session_scope(db_url) as db:
        item = _open_item(db, item_id)
        profile_id, field = item.profile_id, item.field
    try:
        return correct_field(db_url, profile_id, field, text, by, definition)  # settles the item as "fixed"
    except CorrectionError as exc:
        raise QueueError(str(exc)) from exc
