"""The staff-only routes beside the admin pages, against the real app and its real Gradio login: a turn's audio, the
CSV exports, the webhook re-send; and the embedding origin the token route records for cost per site."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

import dashboard
from harness.caller_audio import tone
from harness.seed_calls import MARIA, digest_all, metered_sessions, talk
from models import Turn, WebhookDelivery
from onboarding.audio.opus import encode_opus
from onboarding.audio.storage import LocalAudioStore, clip_key
from onboarding.db import session_scope
from onboarding.interview import load_definition
from onboarding.settings import Settings
from onboarding.usage.monthly import current_month
from onboarding.webhooks.dispatch import fan_out

DEFINITION = load_definition()
PASSWORD = "a-real-password-for-tests"
SECRET = "test-webhook-secret-0123"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'routes.db'}", admin_password=PASSWORD,
                    audio_storage_path=tmp_path / "audio", webhook_urls="http://127.0.0.1:9/hooks",
                    webhook_secret=SECRET)


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(dashboard.create_app(settings))  # no lifespan: the console loop stays off


def sign_in(client: TestClient) -> None:
    answer = client.post("/admin/login", data={"username": "admin", "password": PASSWORD})
    assert answer.status_code == 200, answer.text


def test_everything_here_needs_a_staff_login(client: TestClient) -> None:
    for method, path in (("get", "/admin/audio/turns/1.ogg"), ("get", "/admin/exports/funnel.csv"),
                         ("post", "/admin/webhooks/deliveries/1/resend")):
        answer = getattr(client, method)(path)
        assert answer.status_code == 401 and "sign in at /admin/" in answer.json()["detail"], path
    client.post("/admin/login", data={"username": "admin", "password": "wrong"})
    assert client.get("/admin/exports/funnel.csv").status_code == 401


def test_a_turns_clip_is_served_to_staff_and_never_cached(client: TestClient, settings: Settings) -> None:
    call = talk(settings.database_url, DEFINITION, MARIA[:2])
    with session_scope(settings.database_url) as db:
        turn = db.exec(select(Turn).where(Turn.session_id == call.session_id, Turn.role == "user")).first()
        key = clip_key(call.recorder.started_at, call.session_id, turn.id, "user")
        clip = encode_opus(tone(1.2), 48_000)
        LocalAudioStore(settings.audio_storage_path).put(key, clip.data)
        turn.audio_key, turn.audio_seconds = key, clip.seconds
        db.add(turn)
        silent = db.exec(select(Turn.id).where(Turn.session_id == call.session_id, Turn.role == "agent")).first()
    sign_in(client)
    answer = client.get(f"/admin/audio/turns/{turn.id}.ogg")
    assert answer.status_code == 200 and answer.content == clip.data
    assert answer.headers["content-type"] == "audio/ogg" and answer.headers["cache-control"] == "no-store"
    part = client.get(f"/admin/audio/turns/{turn.id}.ogg", headers={"Range": "bytes=0-99"})  # the player seeks
    assert part.status_code == 206 and part.content == clip.data[:100]
    missing = client.get(f"/admin/audio/turns/{silent}.ogg")
    assert missing.status_code == 404 and "has no audio" in missing.json()["detail"]


def rows(answer) -> list[list[str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(answer.text)))


def test_csv_exports_of_the_console_pages(client: TestClient, settings: Settings) -> None:
    talk(settings.database_url, DEFINITION, MARIA)
    digest_all(settings.database_url, DEFINITION)
    metered_sessions(settings.database_url, [(datetime.now(UTC).replace(day=1, hour=0, minute=5), 120.0)],
                     user_id="=HYPERLINK(\"http://evil\")", origin="https://app.example.com")
    sign_in(client)
    month = current_month()
    funnel = rows(client.get(f"/admin/exports/funnel.csv?month={month}"))
    assert funnel[0][:3] == ["field", "reached", "answered_first_time"] and funnel[1][:3] == ["full_name", "1", "1"]
    users = rows(client.get(f"/admin/exports/cost-by-user.csv?month={month}"))
    assert users[0][0] == "user_id" and "'=HYPERLINK(\"http://evil\")" in [r[0] for r in users]  # never a formula
    origins = rows(client.get(f"/admin/exports/cost-by-origin.csv?month={month}"))
    assert origins[0][0] == "origin" and "https://app.example.com" in [r[0] for r in origins]
    slow = rows(client.get(f"/admin/exports/slowest-questions.csv?month={month}"))
    assert slow[0] == ["field", "replies", "calls", "mean_seconds", "worst_seconds"] and len(slow) == 9
    log = rows(client.get("/admin/exports/webhook-deliveries.csv"))
    assert log[0][:3] == ["delivery_id", "event_id", "type"]
    assert client.get("/admin/exports/funnel.csv?month=2026-13").status_code == 400
    assert client.get("/admin/exports/everything.csv").status_code == 404


def test_a_delivery_is_resent_from_this_dashboard_only(client: TestClient, settings: Settings) -> None:
    talk(settings.database_url, DEFINITION, MARIA)
    digest_all(settings.database_url, DEFINITION)
    fan_out(settings.database_url, settings.webhook_endpoints)
    with session_scope(settings.database_url) as db:
        delivery = db.exec(select(WebhookDelivery)).one()
        delivery.status, delivery.attempts = "failed", 8
        db.add(delivery)
    sign_in(client)
    refused = client.post(f"/admin/webhooks/deliveries/{delivery.id}/resend", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    answer = client.post(f"/admin/webhooks/deliveries/{delivery.id}/resend",
                         headers={"Origin": "http://testserver"})
    assert answer.json() == {"delivery_id": delivery.id, "status": "pending", "requested_by": "admin"}
    with session_scope(settings.database_url) as db:
        again = db.get(WebhookDelivery, delivery.id)
    assert (again.status, again.attempts) == ("pending", 0)
    assert client.post("/admin/webhooks/deliveries/999/resend").status_code == 404


def test_the_token_records_the_embedding_origin(client: TestClient) -> None:
    def origin_of(headers: dict[str, str]) -> str:
        token = client.post("/api/livekit/token", json={}, headers=headers).json()["token"]
        return jwt.decode(token, options={"verify_signature": False})["attributes"].get("onboarding.origin", "")

    assert origin_of({"Origin": "https://App.Example.com/"}) == "https://app.example.com"
    assert origin_of({"Origin": "javascript:alert(1)"}) == "" and origin_of({}) == ""
