"""The outbox's events, each written in the caller's own transaction so an event exists exactly when its cause does.

- profile.completed: by the post-call digest, in the transaction that marks the call digested;
- profile.reviewed: by `mark_reviewed`, with the sign-off;
- profile.deleted: by the deletion itself (onboarding.forget), which also scrubs the profile's earlier events.
The payload carries every field with its provenance (what was heard, confidence, source, turn) and review state.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from models import CallSession, FieldValue, Profile, ReviewItem, WebhookDelivery, WebhookEvent, utcnow

COMPLETED, REVIEWED, DELETED = "profile.completed", "profile.reviewed", "profile.deleted"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _review_state(item: ReviewItem | None) -> dict[str, Any]:
    if item is None:
        return {"state": "not_needed"}
    if item.resolved_at is None:
        return {"state": "pending", "reasons": item.reasons.split(",")}
    return {"state": item.action, "reasons": item.reasons.split(","), "by": item.resolved_by,
            "at": _iso(item.resolved_at)}


def profile_summary(profile: Profile, call: CallSession | None) -> dict[str, Any]:
    """Identifiers only: what a deleted profile's event may still carry."""
    return {"id": profile.id, "session_id": profile.session_id, "user_id": profile.user_id,
            "room_name": call.room_name if call else None}


def profile_payload(db: Session, profile: Profile) -> dict[str, Any]:
    """The profile, its call's outcome and each current field with where it came from and its review state."""
    call = db.get(CallSession, profile.session_id)
    values = db.exec(select(FieldValue).where(FieldValue.profile_id == profile.id, FieldValue.current)
                     .order_by(FieldValue.id)).all()
    items = {item.field: item for item in db.exec(select(ReviewItem).where(ReviewItem.profile_id == profile.id))}
    fields = {
        value.field: {"value": value.value, "heard": value.raw_text, "confidence": value.confidence,
                      "source": value.source, "turn_id": value.turn_id, "changed_by": value.changed_by,
                      "recorded_at": _iso(value.created_at), "review": _review_state(items.get(value.field))}
        for value in values}
    for name, item in items.items():  # flagged with no value heard: still in the payload, as missing
        fields.setdefault(name, {"value": None, "review": _review_state(item)})
    return {
        "profile": {**profile_summary(profile, call), "completed": profile.completed,
                    "created_at": _iso(profile.created_at), "flagged": list(profile.flagged or []),
                    "reviewed_at": _iso(profile.reviewed_at), "reviewed_by": profile.reviewed_by},
        "call": {"status": call.status if call else None, "status_reason": call.status_reason if call else None,
                 "started_at": _iso(call.started_at) if call else None,
                 "ended_at": _iso(call.ended_at) if call else None,
                 "definition_version": call.definition_hash if call else None},
        "fields": fields,
    }


def _event(db: Session, kind: str, profile_id: int, data: dict[str, Any], event_id: str) -> WebhookEvent:
    now = utcnow()
    event = WebhookEvent(event_id=event_id, type=kind, profile_id=profile_id, created_at=now,
                         payload={"id": event_id, "type": kind, "created_at": now.isoformat(), "data": data})
    db.add(event)
    return event


def profile_completed(db: Session, profile: Profile) -> WebhookEvent:
    """Once per profile: the id is fixed, so a second digest of the same call fails its unique check."""
    return _event(db, COMPLETED, profile.id, profile_payload(db, profile), f"evt_completed_{profile.id}")


def profile_reviewed(db: Session, profile: Profile) -> WebhookEvent:
    """Each sign-off is an event of its own (a profile can be reviewed again after a correction)."""
    return _event(db, REVIEWED, profile.id, profile_payload(db, profile), f"evt_{uuid.uuid4().hex}")


def profile_deleted(db: Session, profile: Profile) -> WebhookEvent:
    """The deletion's event, and no personal data left in the outbox: earlier events of the profile keep only its
    identifiers and are no longer sent."""
    call = db.get(CallSession, profile.session_id)
    summary = profile_summary(profile, call)
    earlier = db.exec(select(WebhookEvent).where(WebhookEvent.profile_id == profile.id)).all()
    for event in earlier:
        event.payload = {**{k: event.payload.get(k) for k in ("id", "type", "created_at")},
                         "data": {"profile": summary}, "scrubbed": True}
        event.fanned_out = True  # one not sent yet never will be
        db.add(event)
    if earlier:
        db.exec(update(WebhookDelivery).where(WebhookDelivery.event_id.in_([e.id for e in earlier]),
                                              WebhookDelivery.status == "pending")
                .values(status="cancelled", last_error="profile deleted before delivery"))
    return _event(db, DELETED, profile.id, {"profile": summary}, f"evt_deleted_{profile.id}")
