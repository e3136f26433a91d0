"""The minimal dashboard: admin pages behind a login, and a status page that says whether the stack is up."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from onboarding.processes import free_port
from onboarding.settings import Settings
from onboarding.stack_status import stack_checks
from pages.status import render


def test_admin_pages_require_login() -> None:
    from dashboard import create_app

    client = TestClient(create_app())
    assert client.get("/config").status_code == 401
    assert client.post("/login", data={"username": "admin", "password": "wrong"}).status_code >= 400
    assert client.post("/login", data={"username": "admin", "password": "admin"}).status_code == 200
    assert client.get("/config").status_code == 200


def test_pages_load_nothing_from_a_cdn() -> None:
    from dashboard import create_app

    html = TestClient(create_app()).get("/").text
    for cdn in ("fonts.googleapis", "fonts.gstatic", "cdn.jsdelivr", "unpkg.com", "cdnjs"):
        assert cdn not in html


@pytest.mark.slow
async def test_status_says_the_stack_is_up(stack: Settings) -> None:
    checks = await stack_checks(stack)
    assert [(c.name, c.ok) for c in checks] == [("LiveKit server", True), ("Agent worker", True), ("Database", True)]
    assert "The stack is up" in render(checks)


async def test_status_names_what_is_down(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, livekit_url=f"ws://127.0.0.1:{free_port()}", worker_http_port=free_port(),
                        database_url=f"sqlite:///{tmp_path / 'x.db'}")
    livekit, worker, database = await stack_checks(settings)
    assert not livekit.ok and "make run" in livekit.detail and "LIVEKIT_URL" in livekit.detail
    assert not worker.ok and "make run" in worker.detail
    assert database.ok
    assert "Something is not running" in render([livekit, worker, database])
