"""Webhooks end to end without a browser: events written with their cause, sent by the real dispatcher over HTTP to a
local receiver that checks the signature as a Stripe-style receiver does, retried with backoff, failed, re-sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from harness.seed_calls import MARIA, digest_all, talk
from harness.webhook_receiver import WebhookReceiver
from models import WebhookDelivery, WebhookEvent, utcnow
from onboarding.admin.profiles import delete_profile
from onboarding.admin.review import mark_reviewed
from onboarding.admin.webhooks import delivery_log, status_counts
from onboarding.db import session_scope
from onboarding.interview import load_definition
from onboarding.postcall import DigestRules, digest_pending
from onboarding.settings import Settings
from onboarding.webhooks.dispatch import backoff, body_of, dispatch_due, resend
from onboarding.webhooks.signing import signature_header, verify

DEFINITION = load_definition()
SECRET = "test-webhook-secret-0123"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(SECRET).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def settings(tmp_path: Path, receiver: WebhookReceiver) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'hooks.db'}", webhook_urls=receiver.url,
                    webhook_secret=SECRET, webhook_backoff_seconds=30, webhook_max_attempts=3)


def later(seconds: float):
    return utcnow() + timedelta(seconds=seconds)


def test_signature_is_checked_over_timestamp_and_body() -> None:
    body = b'{"type":"profile.completed"}'
    header = signature_header(SECRET, body, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify(SECRET, header, body, now=1_700_000_100)
    assert not verify(SECRET, header, body + b" ", now=1_700_000_100)  # another body
    assert not verify("another-secret-value", header, body, now=1_700_000_100)
    assert not verify(SECRET, header, body, now=1_700_000_000 + 3600)  # replayed an hour later
    assert not verify(SECRET, "v1=abc", body) and not verify(SECRET, "", body)


def test_settings_refuse_webhooks_without_a_secret() -> None:
    with pytest.raises(ValueError, match="WEBHOOK_SECRET"):
        Settings(_env_file=None, webhook_urls="https://hooks.example.com/onboarding")
    with pytest.raises(ValueError, match="WEBHOOK_URLS"):
        Settings(_env_file=None, webhook_urls="ftp://hooks.example.com", webhook_secret=SECRET)


async def test_a_completed_profile_is_delivered_once_signed_with_its_fields(settings: Settings,
                                                                        receiver: WebhookReceiver) -> None:
    call = talk(settings.database_url, DEFINITION, MARIA, user_id="user-42")
    talk(settings.database_url, DEFINITION, MARIA[:3])  # abandoned: no event
    digest_all(settings.database_url, DEFINITION)
    async with httpx.AsyncClient() as client:
        assert await dispatch_due(settings, client) == 1
        assert await dispatch_due(settings, client) == 0  # nothing left to send
    [got] = receiver.received
    assert got.signature_valid and got.answered == 200 and got.event_id == f"evt_completed_{call.profile_id}"
    data = got.payload["data"]
    assert got.payload["type"] == "profile.completed" and data["profile"]["user_id"] == "user-42"
    email = data["fields"]["email"]
    assert (email["value"], email["source"], email["review"]) == ("maria.garcia@example.com", "confirmation",
                                                                  {"state": "not_needed"})
    assert email["heard"] and email["turn_id"] and 0 < email["confidence"] <= 1
    assert data["call"]["status"] == "completed" and data["call"]["definition_version"]
    [row] = delivery_log(settings.database_url)
    assert (row.status, row.attempts, row.answered) == ("delivered", 1, "200")


async def test_a_refused_delivery_is_retried_with_backoff_and_the_same_event_id(settings: Settings,
                                                                            receiver: WebhookReceiver) -> None:
    talk(settings.database_url, DEFINITION, MARIA)
    digest_all(settings.database_url, DEFINITION)
    receiver.refuse_next(1)
    async with httpx.AsyncClient() as client:
        assert await dispatch_due(settings, client) == 1  # refused with 503
        [row] = delivery_log(settings.database_url)
        assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 503)
        wait = (row.next_attempt_at.replace(tzinfo=None) - row.last_attempt_at.replace(tzinfo=None)).total_seconds()
        assert wait == pytest.approx(backoff(settings, 1), abs=0.01) == 30
        assert await dispatch_due(settings, client) == 0  # not due yet
        assert await dispatch_due(settings, client, now=later(31)) == 1
    first, second = receiver.received
    assert (first.answered, second.answered) == (503, 200) and first.event_id == second.event_id
    assert first.signature_valid and second.signature_valid
    [row] = delivery_log(settings.database_url)
    assert (row.status, row.attempts, row.answered) == ("delivered", 2, "503 → 200")
    assert backoff(settings, 2) == 60 and backoff(settings, 20) == 3600  # doubling, at most an hour


async def test_a_delivery_that_keeps_failing_is_failed_then_resent_by_hand(settings: Settings,
                                                                       receiver: WebhookReceiver) -> None:
    talk(settings.database_url, DEFINITION, MARIA)
    digest_all(settings.database_url, DEFINITION)
    receiver.refuse_next(3)
    async with httpx.AsyncClient() as client:
        for attempt in range(3):
            assert await dispatch_due(settings, client, now=later(attempt * 200)) == 1
        assert await dispatch_due(settings, client, now=later(10_000)) == 0
        [row] = delivery_log(settings.database_url)
        assert (row.status, row.attempts, row.answered) == ("failed", 3, "503 → 503 → 503")
        assert resend(settings.database_url, row.id)
        assert await dispatch_due(settings, client) == 1
    assert [r.answered for r in receiver.received] == [503, 503, 503, 200]
    assert status_counts(settings.database_url) == {"delivered": 1}


async def test_an_unreachable_receiver_is_an_error_to_retry(settings: Settings) -> None:
    unreachable = settings.model_copy(update={"webhook_urls": "http://127.0.0.1:9/nothing-listens"})
    talk(unreachable.database_url, DEFINITION, MARIA)
    digest_all(unreachable.database_url, DEFINITION)
    async with httpx.AsyncClient() as client:
        assert await dispatch_due(unreachable, client) == 1
    [row] = delivery_log(unreachable.database_url)
    assert row.status == "pending" and row.last_status_code is None and "ConnectError" in row.last_error


async def test_review_and_deletion_send_their_events_and_deletion_scrubs_the_rest(settings: Settings,
                                                                              receiver: WebhookReceiver) -> None:
    call = talk(settings.database_url, DEFINITION, MARIA)
    digest_all(settings.database_url, DEFINITION)
    async with httpx.AsyncClient() as client:
        await dispatch_due(settings, client)  # profile.completed: delivered
        mark_reviewed(settings.database_url, call.profile_id, "alice")
        receiver.refuse_next(1)
        await dispatch_due(settings, client)  # profile.reviewed: refused, waiting for its retry
        assert delete_profile(settings.database_url, call.profile_id)
        await dispatch_due(settings, client, now=later(3600))
    assert [(r.payload["type"], r.answered) for r in receiver.received] == [
        ("profile.completed", 200), ("profile.reviewed", 503), ("profile.deleted", 200)]  # no retry after deletion
    deleted = receiver.received[-1].payload["data"]["profile"]
    assert deleted == {"id": call.profile_id, "session_id": call.session_id, "user_id": None,
                       "room_name": call.recorder.room_name}
    with session_scope(settings.database_url) as db:
        events = db.exec(select(WebhookEvent).order_by(WebhookEvent.id)).all()
        statuses = db.exec(select(WebhookDelivery.status).order_by(WebhookDelivery.id)).all()
    assert [e.type for e in events] == ["profile.completed", "profile.reviewed", "profile.deleted"]
    # nothing personal is left in the outbox: the earlier events keep only the profile's identifiers
    assert all("fields" not in json.dumps(e.payload) and "Maria" not in json.dumps(e.payload) for e in events)
    assert statuses == ["delivered", "cancelled", "delivered"]


async def test_an_event_not_sent_before_the_deletion_is_never_sent(settings: Settings,
                                                                  receiver: WebhookReceiver) -> None:
    call = talk(settings.database_url, DEFINITION, MARIA)
    digest_all(settings.database_url, DEFINITION)
    assert delete_profile(settings.database_url, call.profile_id)
    async with httpx.AsyncClient() as client:
        await dispatch_due(settings, client)
    assert [r.payload["type"] for r in receiver.received] == ["profile.deleted"]


def test_two_dashboards_digesting_at_once_write_one_event(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'race.db'}"
    for _ in range(6):
        talk(db_url, DEFINITION, MARIA)
    rules, start = DigestRules(DEFINITION.names, 0.7), threading.Barrier(2)

    def dashboard() -> None:
        start.wait()
        digest_pending(db_url, rules)

    threads = [threading.Thread(target=dashboard) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with session_scope(db_url) as db:
        events = db.exec(select(func.count()).select_from(WebhookEvent)).one()
        distinct = db.exec(select(func.count(func.distinct(WebhookEvent.profile_id)))).one()
    assert events == distinct == 6


def test_the_body_is_the_same_bytes_on_every_attempt() -> None:
    payload = {"b": [1, 2], "a": "é"}
    assert body_of(payload) == body_of(dict(reversed(payload.items()))) == '{"a":"é","b":[1,2]}'.encode()
