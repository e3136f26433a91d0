"""Camera and screen share in the voice widget, in headless Chromium against the real stack: the caller's camera
and screen go to livekit-server as tracks (what the rooms page lists), the offline agent keeps the call going,
turning them off unpublishes them, End stops them, and a denied camera is said in words without ending the call.

Chromium's fake device gives a camera (a test pattern); with --use-fake-ui-for-media-stream headless Chromium also
answers getDisplayMedia with a fake 1280x720 screen, so the screen share runs for real too.
The module has its own agent worker, so its log holds this module's calls only.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from harness.browser_caller import reactive_context, wav_base64
from harness.testbed import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Dashboard,
    settled_call,
    stack_settings,
    start_dashboard,
    wait_for_rooms,
)
from harness.testbed import start_worker as start_agent_worker
from onboarding.admin.rooms import RoomListing
from onboarding.db import get_engine
from onboarding.ops.processes import ManagedProcess
from onboarding.settings import Settings

pytestmark = pytest.mark.browser

WIDGET = "[data-voice-onboarding]"
EXCEPTION_MARKERS = ("Traceback", '"exc":', "unhandled exception")


@pytest.fixture(scope="module")
def media_stack(livekit_server: Settings, tmp_path_factory: pytest.TempPathFactory,
                artifacts: Path) -> Iterator[tuple[Dashboard, ManagedProcess]]:
    """A dashboard and an offline agent worker of their own (local STT/TTS, scripted interviewer)."""
    db = tmp_path_factory.mktemp("media") / "calls.db"
    settings = stack_settings(livekit_server, f"sqlite:///{db}", f"media-test-{os.getpid()}").model_copy(
        update={"admin_password": f"media-{os.getpid()}-admin-password",
                "reprompt_after_silence_seconds": 20.0})  # no re-prompts while the test turns the camera on
    get_engine(settings.database_url)
    worker = start_agent_worker(settings, artifacts / "agent-worker-media.log")
    try:
        proc, url = start_dashboard(settings, artifacts / "dashboard-media.log")
        try:
            yield Dashboard(url=url, settings=settings), worker
        finally:
            proc.stop()
    finally:
        worker.stop()


def run_async(coroutine: Any) -> Any:
    """Run a coroutine beside Playwright's sync API, which owns this thread's event loop."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result(timeout=60)


def caller_publishes(room: str, kinds: set[str]) -> Callable[[RoomListing], bool]:
    """The room's caller publishes exactly these kinds of track, as livekit-server lists them."""
    def check(listing: RoomListing) -> bool:
        found = listing.room(room)
        return found is not None and len(found.callers) == 1 and found.callers[0].publishes == kinds
    return check


def talk_page(context, url: str):
    page = context.new_page()
    page.goto(f"{url}/")
    page.wait_for_selector(f"{WIDGET}[data-state=idle]", timeout=30_000)
    return page


def start_call(page) -> str:
    page.click(".vo-start")
    page.wait_for_selector(f"{WIDGET}[data-state=connected]", timeout=30_000)
    return page.get_attribute(WIDGET, "data-room-name")


def agent_turns(page) -> int:
    return int(page.get_attribute(WIDGET, "data-agent-turns") or 0)


def wait_agent_turns(page, more_than: int, timeout: float = 90_000) -> None:
    page.wait_for_function("([sel, n]) => Number(document.querySelector(sel).dataset.agentTurns || 0) > n",
                           arg=[WIDGET, more_than], timeout=timeout)


def preview_playing(page, source: str) -> None:
    """The widget's local preview shows frames (a video element with a size, past HAVE_CURRENT_DATA)."""
    page.wait_for_function("""(source) => { const v = document.querySelector(
        `.vo-preview[data-source="${source}"] video`); return v && v.readyState >= 2 && v.videoWidth > 0; }""",
                           arg=source, timeout=15_000)


def worker_exceptions(worker: ManagedProcess) -> list[str]:
    return [line for line in worker.log_tail(100_000).splitlines() if any(m in line for m in EXCEPTION_MARKERS)]


def test_camera_and_screen_go_to_the_room_and_the_agent_keeps_talking(
    media_stack: tuple[Dashboard, ManagedProcess], browser, artifacts: Path,
) -> None:
    dashboard, worker = media_stack
    settings = dashboard.settings
    context = reactive_context(browser, viewport={"width": 1280, "height": 1000})
    page = talk_page(context, dashboard.url)
    assert page.is_disabled(".vo-camera") and page.is_disabled(".vo-screen-share")  # nothing to publish to yet
    room = start_call(page)
    wait_agent_turns(page, 0)  # greeting and first question spoken

    page.click(".vo-camera")
    page.wait_for_selector(".vo-camera[data-camera=on][aria-pressed=true]", timeout=15_000)
    preview_playing(page, "camera")
    run_async(wait_for_rooms(settings, caller_publishes(room, {"microphone", "camera"}), timeout=15))

    page.click(".vo-screen-share")
    page.wait_for_selector(".vo-screen-share[data-screen-share=on]", timeout=15_000)
    preview_playing(page, "screen")
    listing = run_async(wait_for_rooms(settings, caller_publishes(room, {"microphone", "camera", "screen share"}),
                                       timeout=15))
    assert "caller: microphone, camera, screen share" in listing.room(room).tracks_summary
    page.screenshot(path=str(artifacts / "talk-camera-screen.png"), full_page=True)

    # With the camera and the screen in the room, the offline agent still hears the caller and answers.
    turns = agent_turns(page)
    page.evaluate("(clip) => window.__callerMic.say(clip)", wav_base64("Maria Garcia"))
    page.wait_for_selector(".vo-transcript li[data-role=user][data-final=true]", timeout=60_000)
    wait_agent_turns(page, turns)
    assert "garcia" in page.inner_text(".vo-transcript").lower()
    assert page.get_attribute(WIDGET, "data-state") == "connected"

    page.click(".vo-camera")  # camera off: unpublished (not just muted), its preview gone, the screen stays
    page.wait_for_selector(".vo-camera[data-camera=off][aria-pressed=false]", timeout=15_000)
    assert page.locator(".vo-preview[data-source=camera]").count() == 0
    run_async(wait_for_rooms(settings, caller_publishes(room, {"microphone", "screen share"}), timeout=15))

    # End stops the screen track at once (the browser's "sharing your screen" indicator goes away).
    page.evaluate("""() => { const w = document.querySelector('[data-voice-onboarding]').voiceOnboarding;
        window.screenTrack = w.videoPublication('screen').track.mediaStreamTrack; }""")
    page.click(".vo-end")
    page.wait_for_selector(f"{WIDGET}[data-state=idle]", timeout=15_000)
    assert page.evaluate("window.screenTrack.readyState") == "ended"
    assert page.is_disabled(".vo-camera") and page.get_attribute(".vo-screen-share", "data-screen-share") == "off"
    assert page.locator(".vo-previews").is_hidden()

    record = run_async(settled_call(settings, room))
    assert record.call.status != "failed", record.call.status_reason
    assert any("garcia" in turn.text.lower() for turn in record.user_turns)
    assert worker_exceptions(worker) == []
    context.close()


def test_embedding_page_can_hide_the_video_buttons(media_stack: tuple[Dashboard, ManagedProcess], browser) -> None:
    dashboard, _ = media_stack
    page = talk_page(browser, dashboard.url)
    assert page.is_visible(".vo-camera") and page.is_visible(".vo-screen-share")
    page.evaluate("""() => { const root = document.querySelector('[data-voice-onboarding]');
        VoiceOnboarding.unmount(root); root.dataset.camera = 'false'; root.dataset.screenShare = 'false';
        VoiceOnboarding.mount(root); }""")
    page.wait_for_selector(f"{WIDGET}[data-state=idle]", timeout=10_000)
    assert page.is_hidden(".vo-camera") and page.is_hidden(".vo-screen-share")
    page.close()


def test_denied_camera_is_said_in_words_and_the_call_goes_on(
    media_stack: tuple[Dashboard, ManagedProcess], playwright_driver,
) -> None:
    # Without --use-fake-ui-for-media-stream headless Chromium denies what the context was not granted.
    dashboard, worker = media_stack
    chromium = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        page = talk_page(chromium.new_context(permissions=["microphone"]), dashboard.url)
        room = start_call(page)
        page.click(".vo-camera")
        page.wait_for_selector(".vo-notice[data-error=camera-denied]", timeout=15_000)
        assert "Camera access was denied" in page.inner_text(".vo-notice")
        assert page.get_attribute(".vo-camera", "data-camera") == "off" and page.is_enabled(".vo-camera")
        assert page.get_attribute(WIDGET, "data-state") == "connected" and page.is_hidden(".vo-error")
        run_async(wait_for_rooms(dashboard.settings, caller_publishes(room, {"microphone"}), timeout=15))
        page.click(".vo-end")
        page.wait_for_selector(f"{WIDGET}[data-state=idle]", timeout=15_000)
        assert page.is_hidden(".vo-notice") is False  # the sentence stays until the next try or call
        run_async(settled_call(dashboard.settings, room))
    finally:
        chromium.close()
    assert worker_exceptions(worker) == []
