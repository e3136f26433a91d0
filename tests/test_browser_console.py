"""The console in headless Chromium against the real dashboard: a real call's turn plays with its duration; the review
queue is worked with the keyboard; the funnel shows the seeded calls' numbers; the usage page names the day the plan's
minutes run out; webhooks reach a local receiver signed, a refused one is retried and one is re-sent by hand. The
screenshots go to test-artifacts/ (the README's come from there). Every wait is on page or receiver state.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from harness.personas import PERSONAS
from harness.seed_calls import MARIA, metered_sessions, talk
from harness.simcaller import CallScript, SimCaller
from harness.testbed import Dashboard, clips_stored, start_dashboard
from harness.webhook_receiver import WebhookReceiver
from models import ReviewItem
from onboarding.call_records import CallRecord
from onboarding.db import session_scope
from onboarding.interview import load_definition
from onboarding.settings import Settings
from tests.test_browser_admin import log_in, wait_for_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DEFINITION = load_definition()
SECRET = "browser-webhook-secret-42"
GARBLED_NAME = ["I don't know", "I don't know", "maria dot garcia at example dot com", "yes", "Acme Robotics"]
REJECTED_NAME = ["My name is Maria Garcia", "no", "Maria Garcia", "yes", *MARIA[2:]]
MINUTES_A_DAY, EARLIER_MINUTES_A_DAY = 60, 40  # 1,000 / 60 → the 17th; 1,000 / 40 → the 25th


@dataclass
class Console:
    dashboard: Dashboard
    receiver: WebhookReceiver
    earlier_month: str


def previous_month(now: datetime) -> datetime:
    return (now.replace(day=1) - timedelta(days=1)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[Console]:
    """A dashboard over seeded calls (no LiveKit needed): five interviews through the real interview state and
    recorder (REST mode, so they add no LiveKit minutes), an hour of calls a day so far this month and 40 minutes a
    day all last month, webhooks to a local receiver that refuses its first request."""
    folder = tmp_path_factory.mktemp("console")
    db_url = f"sqlite:///{folder / 'console.db'}"
    for answers in (MARIA, MARIA, GARBLED_NAME, REJECTED_NAME, MARIA[:2]):
        talk(db_url, DEFINITION, answers, mode="rest", user_id="user-7", origin="https://app.example.com")
    now = datetime.now(UTC)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    metered_sessions(db_url, [(month_start + timedelta(days=d, minutes=1), MINUTES_A_DAY * 60.0)
                              for d in range(now.day - 1)] + [(month_start + timedelta(days=now.day - 1), 60.0 * 60)],
                     user_id="big-customer", origin="https://app.example.com", stt_provider="deepgram/nova-3",
                     stt_audio_seconds=1800.0, stt_billed_seconds=3600.0)
    earlier = previous_month(now)
    metered_sessions(db_url, [(earlier + timedelta(days=d, hours=9), EARLIER_MINUTES_A_DAY * 60.0)
                              for d in range((month_start - earlier).days)], user_id="big-customer")
    receiver = WebhookReceiver(SECRET).start()
    receiver.refuse_next(1)
    settings = Settings(_env_file=None, database_url=db_url, admin_password="console-test-password-1",
                        audio_storage_path=folder / "audio")
    proc, url = start_dashboard(settings, artifacts / "dashboard-console.log", WEBHOOK_URLS=receiver.url,
                                WEBHOOK_SECRET=SECRET, WEBHOOK_BACKOFF_SECONDS="1", CONSOLE_POLL_SECONDS="0.5",
                                LIVEKIT_PLAN="free", MONTHLY_BUDGET="5")
    try:
        yield Console(Dashboard(url, settings), receiver, f"{earlier:%Y-%m}")
    finally:
        proc.stop()
        receiver.stop()


def wait_for_chart(page, selector: str) -> None:
    """Until vega-embed has drawn the chart (Gradio's own icons are svgs too, so look inside the embed)."""
    page.wait_for_selector(f"{selector} .vega-embed canvas, {selector} .vega-embed svg", timeout=30_000)


CELL = '[role="gridcell"]'


def rows_of(page, selector: str):
    """The table's rows as Gradio draws them: a virtual grid of role=row / role=gridcell (its <table> is a hidden
    copy kept for sizing columns)."""
    return page.locator(f'{selector} [role="row"][data-index]')


def new_admin(browser, dashboard: Dashboard, height: int = 1000):
    context = browser.new_context(viewport={"width": 1280, "height": height})
    page = log_in(context, dashboard)
    page.get_by_role("tab", name="Profiles").wait_for(timeout=30_000)
    return context, page


def test_review_queue_is_worked_from_the_keyboard(console: Console, browser, artifacts: Path) -> None:
    context, page = new_admin(browser, console.dashboard)
    page.goto(f"{console.dashboard.url}/admin/?tab=review")
    wait_for_text(page, "#queue-count", "2 fields need a human")
    wait_for_text(page, "#queue-item", "flagged")
    page.screenshot(path=str(artifacts / "admin-review.png"), full_page=True)

    page.keyboard.press("f")  # the fix box: type the name the interview gave up on, Enter saves it
    page.keyboard.type("Maria Garcia")
    page.keyboard.press("Enter")
    wait_for_text(page, "#queue-message", "Fixed full_name = 'Maria Garcia'")
    wait_for_text(page, "#queue-count", "1 field needs a human")
    wait_for_text(page, "#queue-item", "read-back not confirmed")
    page.locator("#queue-count").click()  # out of the text box, so the keys act on the queue
    page.keyboard.press("a")
    wait_for_text(page, "#queue-message", "Approved full_name = 'Maria Garcia'")
    wait_for_text(page, "#queue-item", "Nothing needs a human right now")
    wait_for_text(page, "#queue-settled", "approved")
    settled = page.inner_text("#queue-settled")
    assert "fixed" in settled and settled.count("admin") >= 2
    with session_scope(console.dashboard.settings.database_url) as db:
        items = db.exec(select(ReviewItem).order_by(ReviewItem.priority)).all()
    assert [(i.action, i.resolved_by) for i in items] == [("fixed", "admin"), ("approved", "admin")]
    assert all(i.resolved_at is not None for i in items)
    context.close()


def row_cells(page, selector: str, label: str) -> list[str]:
    """The cells of the table row whose first cell is `label`."""
    return page.eval_on_selector_all(
        f'{selector} [role="row"][data-index]', "(rows, label) => rows.map(r => "
        "[...r.querySelectorAll('[role=gridcell]')].map(c => c.innerText.trim())).find(cells => cells[0] === label)"
        " || []", label)


def test_funnel_numbers_are_the_seeded_calls(console: Console, browser, artifacts: Path) -> None:
    context, page = new_admin(browser, console.dashboard, height=1200)
    page.goto(f"{console.dashboard.url}/admin/?tab=funnel")
    wait_for_text(page, "#funnel-summary", "5 calls")
    assert "3 completed profiles: 60% completion" in page.inner_text("#funnel-summary")
    wait_for_chart(page, "#funnel-chart")
    wait_for_text(page, "#funnel-table", "time zone")
    # field: reached, answered first time, re-asked, corrected, skipped, flagged, hung up, median time, median turns
    expected = {
        "name": ["5", "3 (60%)", "2 (40%)", "0 (0%)", "0 (0%)", "1 (20%)", "0 (0%)"],
        "email address": ["5", "4 (80%)", "0 (0%)", "0 (0%)", "0 (0%)", "0 (0%)", "1 (20%)"],
        "company": ["4", "4 (100%)", "0 (0%)", "0 (0%)", "0 (0%)", "0 (0%)", "0 (0%)"],
        "role": ["4", "3 (75%)", "0 (0%)", "0 (0%)", "0 (0%)", "0 (0%)", "1 (25%)"],
        "phone number": ["3", "0 (0%)", "0 (0%)", "0 (0%)", "3 (100%)", "0 (0%)", "0 (0%)"],
        "time zone": ["3", "3 (100%)", "0 (0%)", "0 (0%)", "0 (0%)", "0 (0%)", "0 (0%)"],
    }
    for label, counts in expected.items():
        assert row_cells(page, "#funnel-table", label)[1:8] == counts, label
    assert row_cells(page, "#funnel-table", "name")[9] == "2"  # median caller turns: answer + "yes"
    page.screenshot(path=str(artifacts / "admin-funnel.png"), full_page=True)
    context.close()


def test_usage_names_the_day_the_plans_minutes_run_out(console: Console, browser, artifacts: Path) -> None:
    context, page = new_admin(browser, console.dashboard, height=1300)
    page.goto(f"{console.dashboard.url}/admin/?tab=usage")
    today = datetime.now(UTC).day
    said = "ran out on the 17th" if today >= 17 else "run out on the 17th"  # 60 minutes a day against 1,000
    wait_for_text(page, "#usage-forecast", said)
    assert "the Free plan's 1,000 minutes" in page.inner_text("#usage-forecast")
    wait_for_text(page, "#usage-forecast", "Over budget")  # a €5 budget against 60 minutes a day
    for chart in ("#usage-minutes-chart", "#usage-month-chart", "#usage-concurrency-chart"):
        wait_for_chart(page, chart)
    wait_for_text(page, "#usage-cost-by", "big-customer")
    page.screenshot(path=str(artifacts / "admin-usage.png"), full_page=True)
    page.goto(f"{console.dashboard.url}/admin/?tab=usage&month={console.earlier_month}")  # a shared link's month
    wait_for_text(page, "#usage-forecast", "The Free plan's 1,000 minutes ran out on the 25th")
    context.close()


def test_webhooks_arrive_signed_and_a_refused_one_is_retried(console: Console, browser, artifacts: Path) -> None:
    receiver = console.receiver

    def retried(got) -> bool:
        refused = [r.event_id for r in got if r.answered == 503]
        return bool(refused) and any(r.event_id == refused[0] and r.answered == 200 for r in got)

    got = receiver.wait_for(lambda got: retried(got) and len({r.event_id for r in got if r.answered == 200}) == 3)
    assert all(r.signature_valid for r in got)
    assert {r.payload["type"] for r in got} == {"profile.completed"}
    refused_id = next(r.event_id for r in got if r.answered == 503)
    context, page = new_admin(browser, console.dashboard)
    page.goto(f"{console.dashboard.url}/admin/?tab=webhooks")
    wait_for_text(page, "#webhooks-table", "503 → 200")
    wait_for_text(page, "#webhooks-counts", "delivered: 3")
    page.screenshot(path=str(artifacts / "admin-webhooks.png"), full_page=True)
    rows_of(page, "#webhooks-table").filter(has_text="503 → 200").locator(CELL).first.click()
    wait_for_text(page, "#webhooks-body", "profile.completed")
    page.click("#webhooks-resend")
    wait_for_text(page, "#webhooks-message", "will be sent again")
    again = receiver.wait_for(lambda got: sum(r.event_id == refused_id and r.answered == 200 for r in got) == 2)
    assert all(r.signature_valid for r in again)
    context.close()


def test_a_shared_profiles_link_opens_the_same_view(console: Console, browser) -> None:
    context, page = new_admin(browser, console.dashboard)
    page.goto(f"{console.dashboard.url}/admin/?tab=profiles&status=completed&search=Garcia")
    wait_for_text(page, "#profiles-page", "(3 profiles)")  # the filters came from the link
    rows_of(page, "#profiles-table").first.locator(CELL).nth(1).click()  # a click opens the row
    wait_for_text(page, "#profile-detail", "Profile")
    page.wait_for_function("new URL(location).searchParams.get('profile') !== null")
    opened = page.evaluate("new URL(location).searchParams.get('profile')")
    assert re.fullmatch(r"\d+", opened) and "status=completed" in page.url and "search=Garcia" in page.url
    shared = page.url
    other_context, other = new_admin(browser, console.dashboard)
    other.goto(shared)  # someone else follows the link
    wait_for_text(other, "#profile-detail", f"Profile {opened}:")
    wait_for_text(other, "#profiles-page", "(3 profiles)")
    other_context.close()
    context.close()


def finished_call(dashboard: Dashboard) -> CallRecord:
    """A real spoken call on the stack (Playwright's sync API owns this thread's event loop), with its clips."""
    async def call() -> CallRecord:
        result = await SimCaller(dashboard.settings, CallScript(answers=PERSONAS[0].answers, hang_up_after=3)).run()
        return await clips_stored(dashboard.settings, result.room_name, timeout=60)

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, call()).result()


def test_a_turns_audio_plays_with_its_duration(dashboard: Dashboard, browser, artifacts: Path) -> None:
    record = finished_call(dashboard)
    caller_turn = record.user_turns[0]
    name = record.current_values()["full_name"]
    context, page = new_admin(browser, dashboard, height=1200)
    page.goto(f"{dashboard.url}/admin/?tab=profiles&profile={record.profile.id}")
    player = f'#transcript audio[data-turn="{caller_turn.id}"]'
    page.wait_for_selector(player, state="attached", timeout=30_000)
    assert page.locator(f'#profile-detail audio[data-turn="{name.turn_id}"]').count() == 1  # the field's answer
    page.eval_on_selector(player, "a => { a.muted = true; return a.play(); }")
    page.wait_for_function("sel => { const a = document.querySelector(sel); return a && a.readyState >= 1 && "
                           "isFinite(a.duration) && a.duration > 0; }", arg=player, timeout=30_000)
    duration = page.eval_on_selector(player, "a => a.duration")
    assert duration == pytest.approx(caller_turn.audio_seconds, abs=0.1)
    page.locator("#profile-timeline").get_by_text("Latency timeline of this call").click()
    wait_for_chart(page, "#profile-timeline-chart")
    page.screenshot(path=str(artifacts / "admin-profile-audio.png"), full_page=True)
    page.goto(f"{dashboard.url}/admin/?tab=latency")
    wait_for_chart(page, "#latency-chart")
    rows_of(page, "#latency-calls").first.locator(CELL).first.click()
    wait_for_chart(page, "#latency-timeline-chart")
    page.screenshot(path=str(artifacts / "admin-latency.png"), full_page=True)
    context.close()
