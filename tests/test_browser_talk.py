"""The talk page in headless Chromium: a whole spoken onboarding through the voice widget, two tabs at once,
and the errors it must put into words. The whole onboarding answers through a Web Audio microphone that
speaks when the agent has asked (harness.browser_caller); the other calls use Chromium's fake device and a WAV.

Every wait is on DOM state the widget exposes (data-state, data-agent-state, data-filled, ...), never a sleep.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from livekit import api

from harness.browser_caller import converse, reactive_context
from harness.personas import PERSONAS, as_heard
from harness.testbed import CHROMIUM, CHROMIUM_ARGS, Dashboard, start_dashboard
from onboarding.call_records import load_call
from onboarding.livekit_admin import livekit_api
from onboarding.ops.processes import free_port
from onboarding.settings import Settings

pytestmark = pytest.mark.browser

WIDGET = "[data-voice-onboarding]"
CALL_TIMEOUT_MS = 240_000  # the whole spoken interview, ten answers at a speaking pace


def talk_page(context, dashboard_url: str):
    page = context.new_page()
    page.goto(f"{dashboard_url}/")
    page.wait_for_selector(f"{WIDGET}[data-state=idle]", timeout=30_000)
    page.wait_for_selector(".vo-checklist li[data-field=email]", timeout=10_000)
    return page


def record_completion(page) -> None:
    """Keep the widget's `onboarding-complete` and `onboarding-ended` events where the test can read them."""
    page.evaluate("""() => {
        window.onboardingEnded = [];
        document.addEventListener('onboarding-complete', (e) => { window.onboardingComplete = e.detail; });
        document.addEventListener('onboarding-ended', (e) => { window.onboardingEnded.push(e.detail); });
    }""")


@pytest.mark.slow
def test_spoken_onboarding_on_the_talk_page_ends_with_the_stored_profile(
    dashboard: Dashboard, browser, artifacts: Path,
) -> None:
    persona = PERSONAS[0]
    context = reactive_context(browser, viewport={"width": 1280, "height": 900})
    page = talk_page(context, dashboard.url)
    record_completion(page)
    page.click(".vo-start")
    page.wait_for_selector(f"{WIDGET}[data-state=connected]", timeout=30_000)
    page.wait_for_selector(".vo-agent-state[data-agent-state=speaking]", timeout=30_000)
    page.wait_for_selector(".vo-transcript li[data-role=agent]", timeout=30_000)
    page.wait_for_selector(".vo-checklist li[data-field=full_name][data-asking=true]", timeout=30_000)
    try:
        spoken = converse(page, persona.answer_book, persona.expected)
        page.wait_for_selector(f"{WIDGET}[data-state=completed]", timeout=60_000)
    finally:
        page.screenshot(path=str(artifacts / "talk-completed.png"), full_page=True)
    lines = page.eval_on_selector_all(".vo-transcript li[data-final=true]",
                                      "items => items.map(li => [li.dataset.role, li.textContent])")
    room = page.get_attribute(WIDGET, "data-room-name")
    shown = dict(page.eval_on_selector_all(".vo-profile dd", "dds => dds.map(d => [d.dataset.field, d.textContent])"))
    assert page.get_attribute(WIDGET, "data-status") == "completed"
    assert page.locator(".vo-error").is_hidden()  # the agent closing the room after completion is no error

    # What the page shows and what the event carries is what was stored, and it is what this caller said.
    record = load_call(dashboard.settings.database_url, room)
    assert record is not None and record.call.status == "completed", record.call.status_reason if record else room
    stored = record.profile.answers
    expected = as_heard(persona.expected, stored)  # "Acme Corp" or Whisper tiny's other hearing of it
    assert {k: stored.get(k) for k in expected} == expected, (spoken, lines)
    assert shown == {k: str(v) for k, v in stored.items()}, lines
    for name in stored:
        assert page.get_attribute(f".vo-checklist li[data-field={name}]", "data-filled") == "true"
    event = page.evaluate("window.onboardingComplete")
    assert event["roomName"] == room and event["profile"]["fields"] == stored
    assert page.evaluate("window.onboardingEnded") == []  # a completed call is not also "ended"
    assert {"user", "agent"} <= {role for role, _ in lines}
    assert any("maria garcia" in text.lower() for role, text in lines if role == "user")
    assert any("goodbye" in text.lower() for role, text in lines if role == "agent")
    assert page.get_attribute(".vo-meter[data-meter=caller]", "data-heard") == "true"
    assert page.get_attribute(".vo-meter[data-meter=agent]", "data-heard") == "true"
    context.close()


@pytest.mark.slow
def test_two_tabs_talk_to_two_agents_at_once(dashboard: Dashboard, browser, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tabs = [talk_page(context, dashboard.url) for _ in range(2)]
    for tab in tabs:
        tab.click(".vo-start")
    for tab in tabs:
        tab.wait_for_selector(f"{WIDGET}[data-state=connected]", timeout=30_000)
        tab.wait_for_selector(".vo-agent-state[data-agent-state=listening], "
                              ".vo-agent-state[data-agent-state=speaking]", timeout=45_000)
        tab.wait_for_selector(".vo-transcript li[data-role=agent]", timeout=45_000)
    rooms = [tab.get_attribute(WIDGET, "data-room-name") for tab in tabs]
    assert rooms[0] != rooms[1] and all(rooms)
    for index, tab in enumerate(tabs):
        tab.screenshot(path=str(artifacts / f"talk-tab-{index + 1}.png"), full_page=True)
    for tab in tabs:
        tab.click(".vo-end")
        tab.wait_for_selector(f"{WIDGET}[data-state=idle]", timeout=10_000)
    for room in rooms:  # the agent records a call when it has joined the room and found its caller
        record = load_call(dashboard.settings.database_url, room)
        assert record is not None and record.call.participant_identity.startswith("caller-")
    context.close()


# --- errors in words: a LiveKit server but no agent for it, so nothing here waits on speech ------------------
@pytest.fixture(scope="module")
def agentless_dashboard(livekit_server: Settings, tmp_path_factory: pytest.TempPathFactory,
                        artifacts: Path) -> Iterator[Dashboard]:
    """A dashboard whose tokens dispatch an agent nobody serves, with a short agent-join timeout."""
    db = tmp_path_factory.mktemp("agentless") / "calls.db"
    settings = livekit_server.model_copy(update={"database_url": f"sqlite:///{db}", "agent_name": "nobody-serves-this",
                                                 "agent_join_timeout_seconds": 3.0,
                                                 "admin_password": "agentless-test-admin-password"})
    proc, url = start_dashboard(settings, artifacts / "dashboard-agentless.log")
    try:
        yield Dashboard(url=url, settings=settings)
    finally:
        proc.stop()


def set_widget_attributes(page, **attributes: str) -> None:
    """Re-mount the talk page's widget with other data-* attributes, as a page embedding it would set them."""
    page.evaluate("""(attrs) => { const root = document.querySelector('[data-voice-onboarding]');
        VoiceOnboarding.unmount(root); Object.assign(root.dataset, attrs); VoiceOnboarding.mount(root); }""",
                  attributes)
    page.wait_for_selector(f"{WIDGET}[data-state=idle]", timeout=10_000)


def expect_error(page, kind: str, timeout: float = 15_000) -> str:
    page.wait_for_selector(f"{WIDGET}[data-state=error] .vo-error[data-error={kind}]", timeout=timeout)
    return page.inner_text(".vo-error")


def test_unreachable_token_server_is_said_in_words(agentless_dashboard: Dashboard, browser, artifacts: Path) -> None:
    page = talk_page(browser, agentless_dashboard.url)
    dead = f"http://127.0.0.1:{free_port()}/api/livekit/token"
    set_widget_attributes(page, tokenUrl=dead)
    page.click(".vo-start")
    text = expect_error(page, "server-unreachable")
    assert "server is unreachable" in text and dead in text
    assert page.get_attribute(".vo-start", "disabled") is None  # the caller can try again
    page.screenshot(path=str(artifacts / "talk-error-unreachable.png"))
    page.close()


def test_a_token_server_that_refuses_is_said_in_words(agentless_dashboard: Dashboard, browser) -> None:
    page = talk_page(browser, agentless_dashboard.url)
    set_widget_attributes(page, tokenUrl="/api/livekit/no-such-route")
    page.click(".vo-start")
    assert "could not start a call: it answered 404" in expect_error(page, "server-error")
    page.close()


def test_unreachable_livekit_server_is_said_in_words(livekit_server: Settings, tmp_path: Path, browser) -> None:
    dead = livekit_server.model_copy(update={"livekit_url": f"ws://127.0.0.1:{free_port()}",
                                             "database_url": f"sqlite:///{tmp_path / 'calls.db'}",
                                             "admin_password": "unreachable-test-admin-password"})
    proc, url = start_dashboard(dead, tmp_path / "dashboard.log")
    try:
        page = talk_page(browser, url)
        page.click(".vo-start")
        assert "could not connect to the voice server" in expect_error(page, "server-unreachable")
        page.close()
    finally:
        proc.stop()


def test_agent_that_never_joins_is_said_in_words(agentless_dashboard: Dashboard, browser) -> None:
    page = talk_page(browser, agentless_dashboard.url)
    page.click(".vo-start")
    page.wait_for_selector(f"{WIDGET}[data-state=connected]", timeout=15_000)
    assert "did not join within 3 seconds" in expect_error(page, "agent-timeout")
    page.close()


def test_a_dropped_call_is_said_in_words(agentless_dashboard: Dashboard, browser) -> None:
    page = talk_page(browser, agentless_dashboard.url)
    record_completion(page)
    set_widget_attributes(page, agentTimeout="120")
    page.click(".vo-start")
    page.wait_for_selector(f"{WIDGET}[data-state=connected]", timeout=15_000)
    room = page.get_attribute(WIDGET, "data-room-name")

    async def close_room() -> None:  # what a server restart or an admin closing the room looks like
        lk = livekit_api(agentless_dashboard.settings)
        try:
            await lk.room.delete_room(api.DeleteRoomRequest(room=room))
        finally:
            await lk.aclose()

    with ThreadPoolExecutor(1) as thread:  # Playwright's sync API owns this thread's event loop
        thread.submit(asyncio.run, close_room()).result(timeout=15)
    assert "call dropped" in expect_error(page, "call-dropped")
    page.wait_for_function("window.onboardingEnded.length === 1", timeout=10_000)
    ended = page.evaluate("window.onboardingEnded")
    assert ended == [{"status": "dropped", "reason": "call-dropped", "roomName": room}]
    page.close()


def test_every_other_end_is_onboarding_ended_not_complete(agentless_dashboard: Dashboard, browser) -> None:
    """Honest completion: the caller hanging up, an agent that never came and a denied start each fire
    `onboarding-ended` with their status; `onboarding-complete` never fires."""
    page = talk_page(browser, agentless_dashboard.url)
    record_completion(page)
    set_widget_attributes(page, agentTimeout="120")
    page.click(".vo-start")
    page.wait_for_selector(f"{WIDGET}[data-state=connected]", timeout=15_000)
    room = page.get_attribute(WIDGET, "data-room-name")
    page.click(".vo-end")
    page.wait_for_function("window.onboardingEnded.length === 1", timeout=10_000)
    set_widget_attributes(page, agentTimeout="2")
    page.click(".vo-start")
    expect_error(page, "agent-timeout")
    page.wait_for_function("window.onboardingEnded.length === 2", timeout=10_000)
    second = page.get_attribute(WIDGET, "data-room-name")
    set_widget_attributes(page, tokenUrl="/api/livekit/no-such-route")
    page.click(".vo-start")
    expect_error(page, "server-error")
    page.wait_for_function("window.onboardingEnded.length === 3", timeout=10_000)
    assert page.evaluate("window.onboardingEnded") == [
        {"status": "abandoned", "reason": "caller ended", "roomName": room},
        {"status": "failed", "reason": "agent-timeout", "roomName": second},
        {"status": "failed", "reason": "server-error", "roomName": None},
    ]
    assert page.evaluate("window.onboardingComplete === undefined")
    page.close()


def test_denied_microphone_is_said_in_words(agentless_dashboard: Dashboard, playwright_driver) -> None:
    # Without --use-fake-ui-for-media-stream headless Chromium answers the permission prompt with "deny".
    denying = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        page = talk_page(denying, agentless_dashboard.url)
        page.click(".vo-start")
        assert "Microphone access was denied" in expect_error(page, "mic-denied")
        assert page.get_attribute(WIDGET, "data-room-name") is None  # no room is made for a caller who can't speak
    finally:
        denying.close()


@pytest.mark.slow
def test_a_typed_correction_in_the_widget_is_stored_as_typed_and_said(dashboard: Dashboard, browser) -> None:
    """During a call the caller types their email into the widget: a refused value says why and stores nothing;
    a valid one is stored as typed by the caller (normalised), shown on the field, and the agent says so."""
    context = reactive_context(browser, viewport={"width": 1280, "height": 900})
    page = talk_page(context, dashboard.url)
    page.click(".vo-start")
    page.wait_for_selector(f"{WIDGET}[data-state=connected]", timeout=30_000)
    page.wait_for_selector(".vo-checklist li[data-field=full_name][data-asking=true]", timeout=45_000)
    email = ".vo-checklist li[data-field=email]"
    page.fill(f"{email} .vo-correct input", "maria@")
    page.click(f"{email} .vo-correct-send")
    page.wait_for_selector(f"{email}[data-correction=refused]", timeout=15_000)
    assert "valid email" in page.inner_text(f"{email} .vo-correct-error")
    page.fill(f"{email} .vo-correct input", "Maria.Garcia@Example.com")
    page.click(f"{email} .vo-correct-send")
    page.wait_for_selector(f"{email}[data-correction=saved][data-filled=true]", timeout=15_000)
    assert page.inner_text(f"{email} .vo-field-value") == "maria.garcia@example.com"
    page.wait_for_function("""() => [...document.querySelectorAll('.vo-transcript li[data-role=agent]')]
        .some((li) => li.textContent.includes('you typed your email address'))""", timeout=30_000)
    room = page.get_attribute(WIDGET, "data-room-name")
    page.click(".vo-end")
    page.wait_for_selector(f"{WIDGET}[data-state=idle]", timeout=10_000)
    record = load_call(dashboard.settings.database_url, room)
    assert record is not None
    [typed] = [v for v in record.field_values if v.field == "email"]
    assert (typed.value, typed.source, typed.raw_text) == (
        "maria.garcia@example.com", "typed", "Maria.Garcia@Example.com")
    assert typed.turn_id is None  # typed, not heard in any turn
    context.close()
