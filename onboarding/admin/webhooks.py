"""The webhook delivery log: each event to each URL with its attempts and last answer, newest first; a manual
re-send (the same event id, so a receiver that already has it can tell)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import select

from models import WebhookDelivery, WebhookEvent
from onboarding.db import session_scope
from onboarding.webhooks.dispatch import resend

STATUSES = ("all", "pending", "delivered", "failed", "cancelled")

__all__ = ["STATUSES", "DeliveryRow", "delivery_log", "event_body", "resend", "status_counts"]


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    event_id: str
    event_type: str
    profile_id: int | None
    url: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    answers: list[dict]

    @property
    def answered(self) -> str:
        """Each attempt's answer in turn: "503 → 200", "ConnectError → 200"."""
        return " → ".join(str(a.get("status_code") or (a.get("error") or "no answer").split(":")[0])
                          for a in self.answers or [])


_COLUMNS = (WebhookDelivery.id, WebhookEvent.event_id, WebhookEvent.type, WebhookEvent.profile_id,
            WebhookDelivery.url, WebhookDelivery.status, WebhookDelivery.attempts, WebhookDelivery.last_status_code,
            WebhookDelivery.last_error, WebhookDelivery.next_attempt_at, WebhookDelivery.last_attempt_at,
            WebhookDelivery.delivered_at, WebhookDelivery.created_at, WebhookDelivery.answers)


def delivery_log(db_url: str, status: str = "all", limit: int = 50, offset: int = 0) -> list[DeliveryRow]:
    stmt = select(*_COLUMNS).join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
    if status != "all":
        stmt = stmt.where(WebhookDelivery.status == status)
    stmt = stmt.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit).offset(offset)
    with session_scope(db_url) as db:
        return [DeliveryRow(*row) for row in db.exec(stmt)]


def status_counts(db_url: str) -> dict[str, int]:
    with session_scope(db_url) as db:
        rows = db.exec(select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)).all()
    return {status: int(count) for status, count in rows}


def event_body(db_url: str, delivery_id: int) -> str | None:
    """The JSON a delivery sends, pretty-printed for the page."""
    with session_scope(db_url) as db:
        delivery = db.get(WebhookDelivery, delivery_id)
        if delivery is None:
            return None
        event = db.get(WebhookEvent, delivery.event_id)
        return json.dumps(event.payload, indent=2, ensure_ascii=False)
