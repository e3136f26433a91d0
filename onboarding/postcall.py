"""The post-call digest the dashboard runs on each call the recorder closed: once per call, in one transaction.

It writes the call's funnel rows (CallFieldStat, from onboarding.field_walk), a review item for each field that
needs a human, and — for a completed profile — the profile.completed webhook event, then marks the call digested.
Claiming the call (`digested_at` set only where it is still empty) and writing its rows commit together, so an
event is never lost (a crash rolls the claim back: the next pass digests the call) and never doubled (a second
dashboard finds the call claimed, and the event id is unique per profile).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import CallFieldStat, CallSession, FieldValue, Profile, ReviewItem, Turn, utcnow
from onboarding.db import session_scope
from onboarding.field_walk import FieldWalk, WalkTurn, WalkValue, walk_call
from onboarding.webhooks import events

log = logging.getLogger("onboarding.postcall")
REASONS = ("flagged", "rejected_read_back", "low_confidence", "corrected", "typed")  # most urgent first
BATCH = 100


@dataclass(frozen=True)
class DigestRules:
    fields: list[str]  # the interview's field names, in order
    confidence_below: float


def review_reasons(name: str, current: FieldValue | None, walk: FieldWalk | None, flagged: set[str],
                   rules: DigestRules) -> list[str]:
    """Why a field needs a human, most urgent first; none for a value staff entered."""
    if current is not None and current.source == "staff":
        return []
    found = set()
    if name in flagged:
        found.add("flagged")
    if walk is not None and walk.rejected_read_backs:
        found.add("rejected_read_back")
    if current is not None:
        if current.confidence < rules.confidence_below:
            found.add("low_confidence")
        if current.source == "correction":
            found.add("corrected")
        if current.source == "typed":
            found.add("typed")
    return [reason for reason in REASONS if reason in found]


def _claim(db: Session, call_id: int) -> bool:
    return bool(db.exec(update(CallSession).where(CallSession.id == call_id, CallSession.digested_at.is_(None),
                                                  CallSession.status != "in_progress")
                        .values(digested_at=utcnow())).rowcount)


def digest_call(db: Session, call_id: int, rules: DigestRules) -> bool:
    """Digest one closed call inside the caller's transaction; False when it was not (or no longer) pending."""
    if not _claim(db, call_id):
        return False
    call = db.get(CallSession, call_id)
    profile = db.exec(select(Profile).where(Profile.session_id == call_id)).first()
    turns = [WalkTurn(*row) for row in db.exec(
        select(Turn.role, Turn.created_at, Turn.asked_field, Turn.read_back, Turn.e2e_latency)
        .where(Turn.session_id == call_id).order_by(Turn.index))]
    values = list(db.exec(select(FieldValue).where(FieldValue.profile_id == profile.id))) if profile else []
    flagged = list(profile.flagged or []) if profile else []
    walks = walk_call(turns, [WalkValue(v.field, v.source, v.current) for v in values], rules.fields, flagged,
                      call.status, call.ended_at) or {}
    for walk in walks.values():
        db.add(CallFieldStat(session_id=call_id, started_at=call.started_at, definition_hash=call.definition_hash,
                             **walk.row()))
    if profile is None:
        return True
    current = {v.field: v for v in values if v.current}
    for name in dict.fromkeys([*rules.fields, *current, *flagged]):
        reasons = review_reasons(name, current.get(name), walks.get(name), set(flagged), rules)
        if reasons:
            value = current.get(name)
            db.add(ReviewItem(profile_id=profile.id, field=name, value_id=value.id if value else None,
                              reasons=",".join(reasons), priority=REASONS.index(reasons[0]),
                              confidence=value.confidence if value else 0.0))
    db.flush()
    if profile.completed:
        events.profile_completed(db, profile)
    return True


def pending_calls(db_url: str, limit: int = BATCH) -> list[int]:
    with session_scope(db_url) as db:
        return list(db.exec(select(CallSession.id).where(CallSession.digested_at.is_(None),
                                                         CallSession.status != "in_progress")
                            .order_by(CallSession.id).limit(limit)))


def digest_pending(db_url: str, rules: DigestRules, skip: set[int] | None = None, limit: int = BATCH) -> int:
    """Digest the closed calls not digested yet, one transaction each; returns how many were digested.

    A call whose digest raised is left pending (nothing of it was written) and added to `skip`, so one bad row
    is logged once per process instead of on every pass.
    """
    skip = skip if skip is not None else set()
    done = 0
    for call_id in pending_calls(db_url, limit + len(skip)):
        if call_id in skip:
            continue
        try:
            with session_scope(db_url) as db:
                done += digest_call(db, call_id, rules)
        except IntegrityError:  # another dashboard digested it at the same moment
            continue
        except Exception:
            skip.add(call_id)
            log.exception("post-call digest failed; the call stays pending", extra={"session_id": call_id})
    return done
