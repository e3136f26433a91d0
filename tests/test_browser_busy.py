"""The widget when every agent is on a call: it says so, counts down, asks again and gets in once a worker has room.

The worker's side (a real worker with MAX_JOBS_PER_WORKER=1 refusing a second caller through the token route) is
in test_density.py; here the workers' capacity row is written the way a worker writes it, so the widget's wait and
retry can be watched step by step in Chromium.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness.testbed import Dashboard, start_dashboard
from onboarding.capacity import WorkerLoad, report
from onboarding.db import get_engine
from onboarding.settings import Settings

pytestmark = pytest.mark.browser
WIDGET = "[data-voice-onboarding]"
RETRY_SECONDS = 2


@pytest.fixture(scope="module")
def busy_dashboard(livekit_server: Settings, tmp_path_factory: pytest.TempPathFactory,
                   artifacts: Path) -> Iterator[Dashboard]:
    db = tmp_path_factory.mktemp("busy") / "calls.db"
    settings = livekit_server.model_copy(update={
        "database_url": f"sqlite:///{db}", "agent_name": f"onboarding-busy-{os.getpid()}",
        "agent_join_timeout_seconds": 5.0, "admin_password": "busy-test-admin-password"})
    get_engine(settings.database_url)
    proc, url = start_dashboard(settings, artifacts / "dashboard-busy.log", BUSY_RETRY_SECONDS=str(RETRY_SECONDS))
    try:
        yield Dashboard(url=url, settings=settings)
    finally:
        proc.stop()


def worker_row(settings: Settings, active: int) -> None:
    """What a worker with one call slot writes every few seconds (onboarding.capacity.report_forever)."""
    report(settings.database_url, WorkerLoad("AW_busy_test", settings.agent_name, active, 1, "host", "process"),
           datetime.now(UTC))


def test_all_agents_busy_is_said_then_the_caller_gets_in(busy_dashboard: Dashboard, browser, artifacts: Path) -> None:
    worker_row(busy_dashboard.settings, active=1)
    page = browser.new_page()
    page.goto(f"{busy_dashboard.url}/")
    page.wait_for_selector(f"{WIDGET}[data-state=idle]", timeout=30_000)
    page.click(".vo-start")
    page.wait_for_selector(f"{WIDGET}[data-state=busy] .vo-notice[data-busy]", timeout=15_000)
    text = page.inner_text(".vo-notice")
    assert "All agents are busy" in text and f"trying again in {RETRY_SECONDS} s" in text
    assert page.get_attribute(".vo-end", "disabled") is None  # End stops waiting
    page.screenshot(path=str(artifacts / "talk-busy.png"))
    # still full at the next try: the widget says it again rather than failing
    page.wait_for_function("() => document.querySelector('.vo-notice').dataset.busy === '1'", timeout=10_000)
    page.wait_for_selector(f"{WIDGET}[data-state=busy] .vo-notice[data-busy='{RETRY_SECONDS}']", timeout=10_000)
    worker_row(busy_dashboard.settings, active=0)  # the call on that worker ended
    page.wait_for_selector(f"{WIDGET}[data-state=connected]", timeout=15_000)
    assert page.get_attribute(WIDGET, "data-room-name").startswith(busy_dashboard.settings.room_prefix)
    assert page.locator(".vo-notice").is_hidden()
    page.close()


def test_a_caller_can_stop_waiting(busy_dashboard: Dashboard, browser) -> None:
    worker_row(busy_dashboard.settings, active=1)
    page = browser.new_page()
    page.goto(f"{busy_dashboard.url}/")
    page.wait_for_selector(f"{WIDGET}[data-state=idle]", timeout=30_000)
    page.click(".vo-start")
    page.wait_for_selector(f"{WIDGET}[data-state=busy]", timeout=15_000)
    page.click(".vo-end")
    page.wait_for_selector(f"{WIDGET}[data-state=idle]", timeout=5_000)
    assert page.get_attribute(WIDGET, "data-ended-because") == "caller ended"
    assert page.locator(".vo-notice").is_hidden() and page.get_attribute(".vo-start", "disabled") is None
    page.close()
