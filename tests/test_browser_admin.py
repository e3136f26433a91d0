"""The admin pages in headless Chromium, against the real dashboard, livekit-server and worker: login first (a
named staff member's actions carry their name, logout ends the session);
the rooms page lists the rooms of two tabs while they talk; the profiles page then shows both profiles with
their transcripts; the usage page draws its charts. Every wait is on page state, never a sleep.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.testbed import Dashboard, settled_call
from models import Profile
from onboarding.call_records import CallRecord
from onboarding.db import session_scope
from onboarding.recorder import CallRecorder
from onboarding.settings import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDGET = "[data-voice-onboarding]"


def log_in(context, dashboard: Dashboard, password: str | None = None, username: str | None = None):
    page = context.new_page()
    page.goto(f"{dashboard.url}/admin/")  # no session: the login form (/admin/login)
    page.get_by_label("username").fill(username or dashboard.settings.admin_username)
    page.get_by_label("password").fill(password or dashboard.settings.admin_password)
    page.get_by_role("button", name="Login").click()
    return page


def wait_for_text(page, selector: str, text: str, timeout: float = 30_000) -> None:
    """Until the element's rendered text contains `text` (Gradio tables keep hidden copies of cells)."""
    page.wait_for_function("([sel, text]) => (document.querySelector(sel)?.innerText || '').includes(text)",
                           arg=[selector, text], timeout=timeout)


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def settled(dashboard: Dashboard, room: str) -> CallRecord:
    """The stored call once the worker closed it (Playwright's sync API owns this thread's event loop)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, settled_call(dashboard.settings, room, timeout=60)).result()


def test_admin_pages_need_the_login(dashboard: Dashboard, browser, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = log_in(context, dashboard, password="not-the-password")
    page.wait_for_selector("text=Incorrect Credentials", timeout=15_000)
    assert page.get_by_role("tab", name="Profiles").count() == 0
    page.screenshot(path=str(artifacts / "admin-login.png"))
    page = log_in(context, dashboard)
    page.get_by_role("tab", name="Profiles").wait_for(timeout=30_000)
    context.close()


def test_a_named_staff_member_signs_in_reviews_and_logs_out(dashboard: Dashboard, browser) -> None:
    """`users add` makes a person; what they do in the pages carries their name; logging out ends the session."""
    settings = dashboard.settings
    name, password = f"reviewer{os.getpid()}", "a-reviewer-has-a-long-password"
    added = subprocess.run([sys.executable, "-m", "onboarding", "users", "add", name, "--url", settings.database_url],
                           input=f"{password}\n", capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert added.returncode == 0, added.stderr
    recorder = CallRecorder(settings.database_url, room_name=f"onboarding-review-{os.getpid()}")
    recorder.finish("completed", profile_complete=False)
    assert recorder.flush()  # written by the recorder's writer thread

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = log_in(context, dashboard, password=password, username=name)
    wait_for_text(page, "#signed-in", name)
    open_tab(page, "Profiles")
    page.fill("#profile-id input", str(recorder.profile_id))
    page.click("#profile-mark-reviewed")
    wait_for_text(page, "#profile-message", f"marked reviewed by {name}")
    with session_scope(settings.database_url) as db:
        assert db.get(Profile, recorder.profile_id).reviewed_by == name
    page.click("#log-out")
    page.wait_for_url("**/admin/login**", timeout=15_000)
    page.goto(f"{dashboard.url}/admin/")  # the session is over: back to the form
    page.get_by_label("password").wait_for(timeout=15_000)
    assert page.get_by_role("tab", name="Profiles").count() == 0
    context.close()


def test_rooms_then_profiles_of_two_callers(dashboard: Dashboard, browser, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    admin = log_in(context, dashboard)
    admin.get_by_role("tab", name="Rooms").wait_for(timeout=30_000)

    tabs = []
    for _ in range(2):
        tab = context.new_page()
        tab.goto(f"{dashboard.url}/")
        tab.wait_for_selector(f"{WIDGET}[data-state=idle]", timeout=30_000)
        tab.click(".vo-start")
        tabs.append(tab)
    for tab in tabs:
        tab.wait_for_selector(f"{WIDGET}[data-state=connected]", timeout=30_000)
        tab.wait_for_selector(".vo-transcript li[data-role=user][data-final=true]", timeout=90_000)
    rooms = [tab.get_attribute(WIDGET, "data-room-name") for tab in tabs]

    # Rooms: both live rooms, each with its caller and its agent, refreshed by the page's own timer.
    admin.bring_to_front()
    open_tab(admin, "Rooms")
    for room in rooms:
        wait_for_text(admin, "#rooms-table", room)
    wait_for_text(admin, "#rooms-banner", "2 active rooms")
    table = admin.inner_text("#rooms-table")
    assert table.count("listening") + table.count("speaking") + table.count("thinking") >= 2, table
    admin.screenshot(path=str(artifacts / "admin-rooms.png"), full_page=True)

    for tab in tabs:
        tab.click(".vo-end")
        tab.wait_for_selector(f"{WIDGET}[data-state=idle]", timeout=15_000)
    records = [settled(dashboard, room) for room in rooms]
    assert all(len(r.user_turns) >= 1 for r in records)

    # Profiles: both new profiles in the table; each opens with its transcript.
    open_tab(admin, "Profiles")
    admin.click("#profiles-search input, #profiles-search textarea")
    for record in records:
        admin.fill("#profiles-search input, #profiles-search textarea", record.call.room_name)
        admin.keyboard.press("Enter")
        wait_for_text(admin, "#profiles-table", record.call.room_name, timeout=20_000)
        admin.fill("#profile-id input", str(record.profile.id))
        admin.click("#profile-open")
        first_words = record.user_turns[0].text.split()[0]
        wait_for_text(admin, "#transcript", first_words, timeout=20_000)
        agent_words = " ".join(record.agent_turns[0].text.split()[:3])
        assert agent_words in admin.inner_text("#transcript")
    admin.screenshot(path=str(artifacts / "admin-profiles.png"), full_page=True)
    context.close()


def test_usage_page_draws_its_charts(dashboard: Dashboard, browser, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 1200})
    admin = log_in(context, dashboard)
    open_tab(admin, "Usage & cost")
    for chart in ("#usage-minutes-chart", "#usage-concurrency-chart"):  # drawn by vega-embed
        admin.wait_for_selector(f"{chart} .vega-embed canvas, {chart} .vega-embed svg", timeout=30_000)
    wait_for_text(admin, "#usage-recommendation", "Recommended:")
    summary = admin.inner_text("#usage-summary")
    assert "min" in summary.lower(), summary
    admin.screenshot(path=str(artifacts / "admin-usage.png"), full_page=True)
    context.close()
