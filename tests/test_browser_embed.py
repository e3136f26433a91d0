"""The drop-in widget on a plain HTML page (not Gradio): one script tag, one element, a whole spoken onboarding
answered through the reactive in-page microphone, ending in the `onboarding-complete` event with the stored profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.browser_caller import converse, reactive_context
from harness.personas import PERSONAS, as_heard
from harness.testbed import Dashboard
from onboarding.call_records import load_call

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDGET = "[data-voice-onboarding]"


def test_plain_page_embeds_the_widget_and_receives_the_profile(dashboard: Dashboard, browser, artifacts: Path) -> None:
    persona = PERSONAS[0]
    context = reactive_context(browser, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    response = page.goto(f"{dashboard.url}/static/embed-example.html")
    assert response.text().count("<script src=") == 1  # the page itself loads only the widget
    page.wait_for_selector(f"{WIDGET}[data-state=idle]", timeout=30_000)
    assert page.evaluate("typeof window.LivekitClient") == "object"  # fetched by the widget from our server
    page.click(".vo-start")
    page.wait_for_selector(f"{WIDGET}[data-state=connected]", timeout=30_000)
    try:
        spoken = converse(page, persona.answer_book, persona.expected)
        page.wait_for_selector("#on-complete:not([hidden])", timeout=60_000)
    finally:
        page.screenshot(path=str(artifacts / "embed-completed.png"), full_page=True)
    profile = json.loads(page.inner_text("#on-complete"))
    room = page.get_attribute(WIDGET, "data-room-name")
    record = load_call(dashboard.settings.database_url, room)
    assert record is not None and record.call.status == "completed"
    assert record.call.user_id == "user_123"  # data-user-id reaches the stored call
    # the event carries the stored profile, and it holds what this caller said
    assert profile["roomName"] == room and profile["fields"] == record.profile.answers
    expected = as_heard(persona.expected, profile["fields"])  # "Acme Corp" or Whisper tiny's other hearing
    assert {k: profile["fields"].get(k) for k in expected} == expected, spoken
    context.close()
