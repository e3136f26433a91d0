"""Rooms page: live rooms from a real livekit-server with real participants joined over WebRTC, the tracks each
publishes, closing rooms, and the banner sentences for a stopped server, wrong keys and a server that never answers."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import gradio as gr
import pytest
from livekit import api, rtc

from harness.testbed import wait_for_rooms
from onboarding.admin.rooms import (
    TABLE_HEADERS,
    RoomListing,
    close_room,
    format_age,
    list_active_rooms,
    table_rows,
)
from onboarding.capacity import WorkerLoad, report
from onboarding.livekit_admin import issue_token, livekit_api, new_room_name
from onboarding.ops.processes import free_port
from onboarding.settings import Settings
from pages import rooms as rooms_page

PROGRESS = {"name": "Maria Garcia", "company": "Acme", "email": ""}  # two of three fields filled so far


@pytest.fixture(scope="module")
def settings(livekit_server: Settings) -> Settings:
    """Our own room prefix on the shared server, so other tests' rooms never show up in these listings.
    The agent name matches no worker: the caller token dispatches it, but nobody answers the dispatch."""
    return livekit_server.model_copy(update={"room_prefix": f"roomstest{os.getpid()}-",
                                             "agent_name": "rooms-test-no-worker"})


def agent_token(settings: Settings, room: str, identity: str, *, kind: str = "agent") -> str:
    grants = api.VideoGrants(room_join=True, room=room, can_update_own_metadata=True, agent=kind == "agent")
    return (api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
            .with_identity(identity).with_kind(kind).with_grants(grants).to_jwt())  # type: ignore[arg-type]


@dataclass
class LiveRoom:
    name: str
    connections: list[rtc.Room]

    async def join(self, settings: Settings, token: str) -> rtc.Room:
        room = rtc.Room()
        await room.connect(settings.livekit_url, token)
        self.connections.append(room)
        return room


@pytest.fixture
async def empty_room(settings: Settings) -> AsyncIterator[LiveRoom]:
    """A room created through the server API; everyone who joined leaves and the room is deleted afterwards."""
    live = LiveRoom(new_room_name(settings), [])
    lk = livekit_api(settings)
    try:
        await lk.room.create_room(api.CreateRoomRequest(name=live.name))
        yield live
    finally:
        for connection in live.connections:
            await connection.disconnect()
        await close_room(settings, live.name)
        await lk.aclose()


@pytest.fixture
async def call_room(settings: Settings, empty_room: LiveRoom) -> LiveRoom:
    """A caller (a real caller token) and an agent publishing its state and interview progress."""
    await empty_room.join(settings, issue_token(settings, room_name=empty_room.name, participant_name="Maria").token)
    agent = await empty_room.join(settings, agent_token(settings, empty_room.name, "agent-onboarding-1"))
    await agent.local_participant.set_attributes({
        "lk.agent.state": "listening", "onboarding.status": "in_progress", "onboarding.asking": "email",
        "onboarding.fields": json.dumps(PROGRESS),
    })
    return empty_room


def has_room(name: str, check: Callable[[Any], bool] = lambda room: True) -> Callable[[RoomListing], bool]:
    return lambda listing: (room := listing.room(name)) is not None and check(room)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP port that accepts connections (the kernel's backlog) but never answers a request."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"ws://127.0.0.1:{listener.getsockname()[1]}"


async def test_listing_splits_callers_from_agents_and_shows_progress(settings: Settings, call_room: LiveRoom) -> None:
    listing = await wait_for_rooms(settings, has_room(call_room.name, lambda r: r.agent_state == "listening"))
    room = listing.room(call_room.name)
    assert room is not None
    assert [p.identity.startswith("caller-") for p in room.callers] == [True]
    assert [p.identity for p in room.agents] == ["agent-onboarding-1"]
    assert (room.interview_status, room.asking, room.fields_filled) == ("in_progress", "email", 2)
    assert listing.banner == "1 active room"
    [row] = table_rows(listing, now=room.created_at + 75)
    assert dict(zip(TABLE_HEADERS, row, strict=True)) == {
        "Room": call_room.name, "Age": "1 min 15 s", "Participants": 2, "Callers": 1, "Agents": 1,
        "Agent state": "listening", "Interview": "in_progress", "Asking": "email", "Fields filled": 2,
        "Tracks": "caller: nothing · agent: nothing"}


async def publish_camera(room: rtc.Room) -> rtc.LocalTrackPublication:
    """A camera track as a browser publishes it: a video source with one grey 320x240 frame in it."""
    source = rtc.VideoSource(320, 240)
    track = rtc.LocalVideoTrack.create_video_track("camera", source)
    publication = await room.local_participant.publish_track(
        track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA))
    source.capture_frame(rtc.VideoFrame(320, 240, rtc.VideoBufferType.RGBA, bytes([128]) * (320 * 240 * 4)))
    return publication


async def test_listing_shows_the_tracks_each_participant_publishes(settings: Settings, empty_room: LiveRoom) -> None:
    caller = await empty_room.join(settings, issue_token(settings, room_name=empty_room.name).token)
    await empty_room.join(settings, agent_token(settings, empty_room.name, "agent-onboarding-1"))
    microphone = rtc.LocalAudioTrack.create_audio_track("microphone", rtc.AudioSource(48000, 1))
    await caller.local_participant.publish_track(
        microphone, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
    camera = await publish_camera(caller)

    def caller_publishes(kinds: set[str]) -> Callable[[RoomListing], bool]:
        return has_room(empty_room.name, lambda r: len(r.participants) == 2 and r.callers[0].publishes == kinds)

    listing = await wait_for_rooms(settings, caller_publishes({"microphone", "camera"}))
    room = listing.room(empty_room.name)
    assert room.callers[0].tracks == ("microphone", "camera") and room.agents[0].tracks == ()
    assert dict(zip(TABLE_HEADERS, table_rows(listing)[0], strict=True))["Tracks"] == (
        "caller: microphone, camera · agent: nothing")

    microphone.mute()  # a muted microphone is still published, and the admin sees that it is muted
    listing = await wait_for_rooms(settings, has_room(
        empty_room.name, lambda r: "microphone (muted)" in r.callers[0].tracks))
    assert listing.room(empty_room.name).tracks_summary == "caller: microphone (muted), camera · agent: nothing"

    await caller.local_participant.unpublish_track(camera.sid)  # camera off: the listing drops it
    await wait_for_rooms(settings, caller_publishes({"microphone"}))


async def test_identity_prefix_marks_an_agent_that_joined_as_standard(settings: Settings, empty_room: LiveRoom) -> None:
    await empty_room.join(settings, issue_token(settings, room_name=empty_room.name).token)
    listing = await wait_for_rooms(settings, has_room(empty_room.name, lambda r: len(r.participants) == 1))
    assert listing.room(empty_room.name).agent_state == "no agent"
    await empty_room.join(settings, agent_token(settings, empty_room.name, "agent-legacy", kind="standard"))
    listing = await wait_for_rooms(settings, has_room(empty_room.name, lambda r: len(r.participants) == 2))
    room = listing.room(empty_room.name)
    assert (len(room.callers), len(room.agents), room.agent_state) == (1, 1, "joined")


async def test_only_onboarding_rooms_are_listed_by_default(settings: Settings, empty_room: LiveRoom) -> None:
    foreign = f"other-{os.getpid()}-{free_port()}"
    lk = livekit_api(settings)
    try:
        await lk.room.create_room(api.CreateRoomRequest(name=foreign))
        ours = await wait_for_rooms(settings, has_room(empty_room.name))
        assert ours.room(foreign) is None
        everything = await list_active_rooms(settings, only_ours=False)
        assert everything.room(foreign) is not None and everything.room(empty_room.name) is not None
    finally:
        await lk.room.delete_room(api.DeleteRoomRequest(room=foreign))
        await lk.aclose()


async def test_closing_a_room_removes_it_and_disconnects_everyone(settings: Settings, call_room: LiveRoom) -> None:
    await wait_for_rooms(settings, has_room(call_room.name))
    caller_dropped = asyncio.Event()
    call_room.connections[0].on("disconnected", lambda *_: caller_dropped.set())
    result = await close_room(settings, call_room.name)
    assert result.ok and call_room.name in result.message
    await asyncio.wait_for(caller_dropped.wait(), 10)
    listing = await wait_for_rooms(settings, lambda listing: listing.room(call_room.name) is None)
    assert listing.banner == "0 active rooms"
    assert (await close_room(settings, call_room.name)).message == f"Room {call_room.name} was already closed"


@pytest.mark.parametrize("name", ["other-room", "", "  ", "PREFIX"])
async def test_rooms_without_our_prefix_are_refused(settings: Settings, empty_room: LiveRoom, name: str) -> None:
    name = settings.room_prefix if name == "PREFIX" else name
    result = await close_room(settings, name)
    assert not result.ok and ("Refused" in result.message or "Type a room name" in result.message)
    assert (await list_active_rooms(settings)).room(empty_room.name) is not None  # nothing was deleted


async def test_unreachable_server_is_a_banner_naming_livekit_url(settings: Settings) -> None:
    down = settings.model_copy(update={"livekit_url": f"ws://127.0.0.1:{free_port()}"})
    listing = await list_active_rooms(down)
    assert listing.rooms == [] and listing.error is not None
    assert "not reachable" in listing.banner and "LIVEKIT_URL" in listing.banner and down.livekit_url in listing.banner
    closed = await close_room(down, f"{settings.room_prefix}abcd")
    assert not closed.ok and "LIVEKIT_URL" in closed.message


async def test_wrong_secret_is_a_banner_naming_the_secret(settings: Settings) -> None:
    wrong = settings.model_copy(update={"livekit_api_secret": "not-the-secret-" + "x" * 32})
    listing = await list_active_rooms(wrong)
    assert listing.error is not None and "LIVEKIT_API_SECRET" in listing.banner
    closed = await close_room(wrong, f"{settings.room_prefix}abcd")
    assert not closed.ok and "LIVEKIT_API_SECRET" in closed.message


async def test_a_server_that_never_answers_times_out(settings: Settings, silent_server: str) -> None:
    silent = settings.model_copy(update={"livekit_url": silent_server})
    listing = await list_active_rooms(silent, timeout=0.5)
    assert listing.error == (f"LiveKit server at {silent_server} did not answer within 0.5 s — is it overloaded, "
                             "or is LIVEKIT_URL pointing at something else?")


@pytest.mark.parametrize(("seconds", "shown"), [(0, "0 s"), (59, "59 s"), (61, "1 min 01 s"), (7322, "2 h 02 min")])
def test_age_reads_like_a_clock(seconds: int, shown: str) -> None:
    assert format_age(seconds) == shown


def page_handler(page: gr.Blocks, elem_id: str, event: str) -> Callable[..., Any]:
    """The function the page registered for `event` on the component with `elem_id` (what a browser triggers)."""
    for block_fn in page.fns.values():
        for target_id, target_event in block_fn.targets:
            if target_event == event and getattr(page.blocks.get(target_id), "elem_id", None) == elem_id:
                return block_fn.fn
    raise AssertionError(f"no {event} handler on #{elem_id}")


def build_page(settings: Settings) -> gr.Blocks:
    with gr.Blocks() as page, gr.Tab("Rooms"):
        rooms_page.build(settings, page)
    return page


async def test_page_builds_in_blocks_and_closes_after_confirmation(settings: Settings, call_room: LiveRoom,
                                                                   tmp_path) -> None:
    settings = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'workers.db'}"})
    report(settings.database_url, WorkerLoad("AW_test", settings.agent_name, 1, 3, "host-a", "process"),
           datetime.now(UTC))
    page = build_page(settings)
    ids = {block.elem_id for block in page.blocks.values() if getattr(block, "elem_id", None)}
    assert {"rooms-banner", "rooms-table", "rooms-refresh", "rooms-close-name", "rooms-close",
            "rooms-confirm", "rooms-confirm-yes", "rooms-confirm-no"} <= ids
    assert any(isinstance(block, gr.Timer) and block.value <= 3 for block in page.blocks.values())
    await wait_for_rooms(settings, has_room(call_room.name))

    banner, rows, workers_banner, workers = await page_handler(page, "rooms-refresh", "click")()
    assert "1 active room" in banner and [row[0] for row in rows] == [call_room.name]
    assert workers_banner == "**1 of 3 call slots in use on 1 worker(s)**"
    assert [row[:6] for row in workers] == [["AW_test", "host-a", "process", 1, 3, 2]]

    row_click = gr.SelectData(None, {"index": [0, 3], "value": 1, "row_value": rows[0]})
    assert page_handler(page, "rooms-table", "select")(row_click) == call_room.name
    pending, question, box, message = page_handler(page, "rooms-close", "click")(call_room.name)
    assert pending == call_room.name and f"Really close **{call_room.name}**?" in question and box["visible"]
    assert page_handler(page, "rooms-confirm-no", "click")()[1]["visible"] is False
    assert (await list_active_rooms(settings)).room(call_room.name) is not None  # cancel closed nothing

    refused = page_handler(page, "rooms-close", "click")("other-room")
    assert refused[0] == "" and refused[2]["visible"] is False and "Refused" in refused[3]

    _, box, message, banner, rows, _, _ = await page_handler(page, "rooms-confirm-yes", "click")(pending)
    assert message == f"Closed room {call_room.name}" and box["visible"] is False
    await wait_for_rooms(settings, lambda listing: listing.room(call_room.name) is None)


async def test_page_banner_says_what_to_do_when_the_server_is_down(settings: Settings) -> None:
    page = build_page(settings.model_copy(update={"livekit_url": f"ws://127.0.0.1:{free_port()}"}))
    banner, rows, _, _ = await page_handler(page, "rooms-refresh", "click")()
    assert "LIVEKIT_URL" in banner and "make run" in banner and rows == []
