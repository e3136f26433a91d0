"""The minimal dashboard: admin pages behind a login, and a status page that says whether the stack is up."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from onboarding.admin.status import stack_checks
from onboarding.ops.processes import free_port
from onboarding.settings import Settings
from pages.status import render

_DB_DIR = tempfile.TemporaryDirectory(prefix="dashboard-tests-")  # staff accounts and grants: never data/


def app_with(**overrides: object) -> TestClient:
    from dashboard import create_app

    overrides.setdefault("database_url", f"sqlite:///{Path(_DB_DIR.name) / 'dashboard.db'}")
    return TestClient(create_app(Settings(_env_file=None, **overrides)))


def test_admin_pages_require_login() -> None:
    client = app_with(admin_password="a-real-password-for-tests")
    assert client.get("/admin/config").status_code == 401
    wrong = client.post("/admin/login", data={"username": "admin", "password": "admin"})
    assert wrong.status_code >= 400
    assert client.post("/admin/login", data={"username": "admin", "password": "a-real-password-for-tests"}
                       ).status_code == 200
    config = client.get("/admin/config")
    assert config.status_code == 200 and "Profiles" in config.text and "Usage & cost" in config.text


def test_talk_page_is_public_unless_configured_otherwise() -> None:
    public = app_with(admin_password="a-real-password-for-tests")
    assert public.get("/config").status_code == 200
    private = app_with(admin_password="a-real-password-for-tests", talk_page_public=False)
    assert private.get("/config").status_code == 401


@pytest.mark.parametrize("password", ["", "admin", "changeme", "change-me-too", "short-pass1"])
def test_start_up_refuses_a_placeholder_password_unless_dev_mode(password: str) -> None:
    from dashboard import UnsafeLogin, create_app

    with pytest.raises(UnsafeLogin, match="ADMIN_PASSWORD"):
        create_app(Settings(_env_file=None, admin_password=password))
    assert app_with(admin_password=password, dev_mode=True).get("/healthz").status_code == 200


def test_no_secret_reaches_a_page() -> None:
    secret = "s3cret-that-must-never-leave-the-server-0123456789"
    client = app_with(admin_password="a-real-password-for-tests", livekit_api_secret=secret)
    client.post("/admin/login", data={"username": "admin", "password": "a-real-password-for-tests"})
    for path in ("/", "/config", "/admin/", "/admin/config", "/docs", "/openapi.json", "/static/voice-widget.js"):
        body = client.get(path).text
        assert secret not in body and "a-real-password-for-tests" not in body, path


def test_pages_load_nothing_from_a_cdn() -> None:
    client = app_with(dev_mode=True)
    client.post("/admin/login", data={"username": "admin", "password": "admin"})
    for path in ("/", "/admin/", "/docs", "/static/voice-widget.js"):
        html = client.get(path).text
        for cdn in ("fonts.googleapis", "fonts.gstatic", "cdn.jsdelivr", "unpkg.com", "cdnjs"):
            assert cdn not in html, (path, cdn)


@pytest.mark.slow
async def test_status_says_the_stack_is_up(stack: Settings) -> None:
    checks = await stack_checks(stack)
    assert [(c.name, c.status) for c in checks] == [("livekit api", "ok"), ("agent worker", "ok"), ("database", "ok")]
    assert "The stack is up" in render(checks)


async def test_status_names_what_is_down(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, livekit_url=f"ws://127.0.0.1:{free_port()}", worker_http_port=free_port(),
                        database_url=f"sqlite:///{tmp_path / 'x.db'}")
    livekit, worker, database = await stack_checks(settings)
    assert not livekit.ok and "make run" in livekit.detail and "LIVEKIT_URL" in livekit.detail
    assert not worker.ok and "make run" in worker.detail
    assert database.ok
    assert "Something is not running" in render([livekit, worker, database])


def test_dashboard_shutdown_closes_open_rest_calls_as_abandoned(tmp_path: Path) -> None:
    from dashboard import create_app
    from onboarding.call_records import load_call

    db = f"sqlite:///{tmp_path / 'calls.db'}"
    with TestClient(create_app(Settings(_env_file=None, dev_mode=True, database_url=db))) as client:
        started = client.post("/api/livekit/agent/start", json={"roomName": "onboarding-shutdown-test"})
        assert started.status_code == 200 and started.json()["ready"]
        assert load_call(db, "onboarding-shutdown-test").call.status == "in_progress"
    record = load_call(db, "onboarding-shutdown-test")
    assert record.call.status == "abandoned" and record.call.mode == "rest"


def test_only_configured_sites_may_call_the_api_from_an_embedded_widget() -> None:
    preflight = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    allowed = app_with(dev_mode=True, embed_allowed_origins="https://app.example.com, https://other.example.org/")
    answer = allowed.options("/api/livekit/token", headers=preflight)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "https://app.example.com"
    refused = allowed.options("/api/livekit/token", headers={**preflight, "Origin": "https://evil.example.net"})
    assert "access-control-allow-origin" not in refused.headers
    same_origin_only = app_with(dev_mode=True).options("/api/livekit/token", headers=preflight)
    assert "access-control-allow-origin" not in same_origin_only.headers
