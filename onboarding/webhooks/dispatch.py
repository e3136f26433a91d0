"""The dispatcher the dashboard runs: one delivery per event and URL, sent signed, retried with exponential backoff.

A delivery is claimed before it is sent (a conditional UPDATE that only one process can win), so several dashboard
processes never send it twice at once; the event id travels as the idempotency key, so a receiver that got a
request whose answer was lost sees the same id on the retry. A 2xx answer is delivered; anything else (an error
status, a timeout, a refused connection) is tried again after WEBHOOK_BACKOFF_SECONDS × 2^(attempt − 1), at most an
hour, until WEBHOOK_MAX_ATTEMPTS; then the delivery is failed and waits for a manual re-send.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from models import WebhookDelivery, WebhookEvent, utcnow
from onboarding.db import session_scope
from onboarding.settings import Settings
from onboarding.webhooks.signing import EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, signature_header

log = logging.getLogger("onboarding.webhooks")
MAX_BACKOFF_SECONDS = 3600.0
CLAIM_SECONDS = 120.0  # a claim a crashed dispatcher left behind expires after this
BATCH = 20
MAX_ANSWERS_KEPT = 20


def body_of(payload: dict[str, Any]) -> bytes:
    """The bytes sent and signed: the same for every attempt of an event."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")


def backoff(settings: Settings, attempts: int) -> float:
    return min(MAX_BACKOFF_SECONDS, settings.webhook_backoff_seconds * 2 ** max(0, attempts - 1))


def fan_out(db_url: str, urls: list[str]) -> int:
    """A delivery row per configured URL for each new event; with no URL configured the event is only logged."""
    created = 0
    with session_scope(db_url) as db:
        events = db.exec(select(WebhookEvent).where(WebhookEvent.fanned_out == False)  # noqa: E712
                         .order_by(WebhookEvent.id).limit(200)).all()
        for event in events:
            for url in urls:
                db.add(WebhookDelivery(event_id=event.id, url=url, next_attempt_at=event.created_at))
                created += 1
            event.fanned_out = True
            db.add(event)
    return created


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    url: str
    event_id: str
    event_type: str
    body: bytes
    attempts: int


def claim_due(db_url: str, now: datetime | None = None, limit: int = BATCH) -> list[Claimed]:
    now = now or utcnow()
    claimed: list[Claimed] = []
    with session_scope(db_url) as db:
        due = db.exec(select(WebhookDelivery.id).where(WebhookDelivery.status == "pending",
                                                       WebhookDelivery.next_attempt_at <= now)
                      .order_by(WebhookDelivery.next_attempt_at).limit(limit)).all()
    for delivery_id in due:
        with session_scope(db_url) as db:
            won = db.exec(update(WebhookDelivery).where(
                WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending",
                or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now),
            ).values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))).rowcount
            if not won:
                continue
            delivery = db.get(WebhookDelivery, delivery_id)
            event = db.get(WebhookEvent, delivery.event_id)
            claimed.append(Claimed(delivery.id, delivery.url, event.event_id, event.type, body_of(event.payload),
                                   delivery.attempts))
    return claimed


async def send(client: httpx.AsyncClient, settings: Settings, item: Claimed) -> tuple[int | None, str | None]:
    """POST one delivery; the answer's status, or None and why nothing usable came back."""
    headers = {"Content-Type": "application/json", "User-Agent": "voice-onboarding-console-webhooks/1",
               EVENT_ID_HEADER: item.event_id, EVENT_TYPE_HEADER: item.event_type,
               SIGNATURE_HEADER: signature_header(settings.webhook_secret, item.body)}
    try:
        response = await client.post(item.url, content=item.body, headers=headers,
                                     timeout=settings.webhook_timeout_seconds)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:300]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"answered {response.status_code}: {response.text[:200]}"


def record_result(db_url: str, settings: Settings, item: Claimed, status_code: int | None, error: str | None) -> str:
    """Store one attempt's outcome and release the claim; returns the delivery's new status."""
    now = utcnow()
    with session_scope(db_url) as db:
        delivery = db.get(WebhookDelivery, item.delivery_id)
        delivery.attempts += 1
        delivery.last_attempt_at, delivery.last_status_code, delivery.last_error = now, status_code, error
        answer = {"at": now.isoformat(), "status_code": status_code, "error": error}
        delivery.answers = [*(delivery.answers or []), answer][-MAX_ANSWERS_KEPT:]
        delivery.claimed_until = None
        if error is None:
            delivery.status, delivery.delivered_at = "delivered", now
        elif delivery.attempts >= settings.webhook_max_attempts:
            delivery.status = "failed"
        else:
            delivery.next_attempt_at = now + timedelta(seconds=backoff(settings, delivery.attempts))
        db.add(delivery)
        return delivery.status


async def dispatch_due(settings: Settings, client: httpx.AsyncClient, now: datetime | None = None) -> int:
    """Fan new events out and send what is due (at `now`), a batch at a time in parallel; returns how many were
    sent."""
    db_url = settings.database_url
    with contextlib.suppress(IntegrityError):  # another dashboard fanned the same event out first
        await asyncio.to_thread(fan_out, db_url, settings.webhook_endpoints)
    claimed = await asyncio.to_thread(claim_due, db_url, now)
    results = await asyncio.gather(*(send(client, settings, item) for item in claimed))
    for item, (status_code, error) in zip(claimed, results, strict=True):
        status = await asyncio.to_thread(record_result, db_url, settings, item, status_code, error)
        log.info("webhook attempt", extra={"event_id": item.event_id, "delivery_id": item.delivery_id,
                                           "status_code": status_code, "status": status})
    return len(claimed)


def resend(db_url: str, delivery_id: int) -> bool:
    """Staff's manual re-send: due now, with a fresh set of attempts (the event id stays the same)."""
    with session_scope(db_url) as db:
        delivery = db.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.status == "cancelled":
            return False
        delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, utcnow()
        delivery.claimed_until = None
        db.add(delivery)
        return True
