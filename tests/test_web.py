"""The widget's server side: its files, livekit-client, the field list and the caller's own stored profile."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from livekit import api

from onboarding.api.widget import LIVEKIT_CLIENT, mount_static
from onboarding.interview import FieldUpdate, load_definition
from onboarding.livekit_admin import issue_token
from onboarding.recorder import CallRecorder
from onboarding.settings import Settings, get_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'web.db'}")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = FastAPI()
    mount_static(app, settings)
    app.dependency_overrides[get_settings] = lambda: settings
    with TestClient(app) as test_client:
        yield test_client


def completed_call(settings: Settings, room: str, identity: str = "caller-1") -> CallRecorder:
    """A completed call in `room` whose caller joined as `identity` (what the worker records)."""
    recorder = CallRecorder(settings.database_url, room_name=room, participant_identity=identity)
    turn = recorder.add_turn("user", "My name is Maria Garcia.")
    heard = {"confidence": 1.0, "turn_index": 1, "previous": None, "source": "answer"}
    recorder.apply([FieldUpdate(field="full_name", value="Maria Garcia", raw="Maria Garcia", **heard),
                    FieldUpdate(field="team_size", value=20, raw="twenty", **heard)], {1: turn})
    recorder.set_flagged(["phone"])
    recorder.finish("completed", profile_complete=True)
    assert recorder.flush()  # written by the recorder's writer thread
    return recorder


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_widget_files_and_livekit_client_are_served_from_the_app(client: TestClient) -> None:
    widget = client.get("/static/voice-widget.js")
    assert widget.status_code == 200 and widget.headers["content-type"].startswith("text/javascript")
    assert "data-voice-onboarding" in widget.text and "onboarding-complete" in widget.text
    assert client.get("/static/voice-widget.css").headers["content-type"].startswith("text/css")
    vendor = client.get("/vendor/livekit-client.umd.js")
    assert vendor.status_code == 200 and len(vendor.content) == LIVEKIT_CLIENT.stat().st_size
    assert "LivekitClient" in vendor.text[:2000]
    assert client.get("/static/../onboarding/settings.py").status_code == 404  # only the files we list


def test_interview_lists_fields_in_asking_order(client: TestClient, settings: Settings) -> None:
    fields = client.get("/api/livekit/interview").json()
    definition = load_definition(settings.interview_path)
    assert [f["name"] for f in fields] == [f.name for f in definition.fields]
    assert fields[0] == {"name": "full_name", "label": "name", "required": True}
    assert any(not f["required"] for f in fields)


def test_profile_for_the_callers_own_room(client: TestClient, settings: Settings) -> None:
    issued = issue_token(settings, participant_name="Maria")
    recorder = completed_call(settings, issued.room_name, issued.identity)
    response = client.get("/api/livekit/profile", params={"roomName": issued.room_name},
                          headers=bearer(issued.token))
    assert response.status_code == 200, response.text
    assert response.json() == {"roomName": issued.room_name, "status": "completed", "completed": True,
                               "profileId": recorder.profile_id,
                               "fields": {"full_name": "Maria Garcia", "team_size": 20}, "flagged": ["phone"]}


def test_profile_refuses_missing_forged_expired_and_other_room_tokens(client: TestClient, settings: Settings) -> None:
    issued = issue_token(settings)
    completed_call(settings, issued.room_name, issued.identity)
    url, params = "/api/livekit/profile", {"roomName": issued.room_name}
    assert client.get(url, params=params, headers=bearer(issued.token)).status_code == 200  # the caller's own

    missing = client.get(url, params=params)
    assert missing.status_code == 401 and "Bearer" in missing.json()["detail"]

    forged = api.AccessToken(settings.livekit_api_key, "another-secret-of-at-least-32-chars!!") \
        .with_identity("x").with_grants(api.VideoGrants(room_join=True, room=issued.room_name)).to_jwt()
    assert client.get(url, params=params, headers=bearer(forged)).status_code == 401

    expired = api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret).with_identity("x") \
        .with_ttl(timedelta(seconds=-120)).with_grants(api.VideoGrants(room_join=True, room=issued.room_name))
    assert client.get(url, params=params, headers=bearer(expired.to_jwt())).status_code == 401

    other_room = issue_token(settings)
    response = client.get(url, params=params, headers=bearer(other_room.token))
    assert response.status_code == 403 and "another room" in response.json()["detail"]

    no_join = api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret).with_identity("x") \
        .with_grants(api.VideoGrants(room_list=True)).to_jwt()
    assert client.get(url, params=params, headers=bearer(no_join)).status_code == 403

    # signed by this server for exactly this room, but for another identity than the call's caller
    stranger = issue_token(settings, room_name=issued.room_name)
    response = client.get(url, params=params, headers=bearer(stranger.token))
    assert response.status_code == 403 and "another caller" in response.json()["detail"]


def test_profile_of_a_room_without_a_call_is_404(client: TestClient, settings: Settings) -> None:
    issued = issue_token(settings)
    response = client.get("/api/livekit/profile", params={"roomName": issued.room_name}, headers=bearer(issued.token))
    assert response.status_code == 404 and issued.room_name in response.json()["detail"]


def test_gradio_helper_calls_on_complete_with_the_stored_profile(settings: Settings) -> None:
    import gradio as gr

    from onboarding.gradio_widget import voice_widget

    received: list[dict] = []
    with gr.Blocks():
        widget = voice_widget(settings, user_id="user_123", on_complete=received.append)
    assert 'data-user-id="user_123"' in widget.value and "onboarding-complete" in widget.js_on_load
    assert "widget.token" in widget.js_on_load  # the page proves the room is its own
    room = f"{settings.room_prefix}gradio-helper"
    caller = issue_token(settings, room_name=room)
    assert widget.onboarding_complete(room, caller.token) is False and received == []  # no call there yet
    completed_call(settings, room, caller.identity)
    # a visitor who knows the room name but holds no token, another room's token, or another identity's: nothing
    assert widget.onboarding_complete(room, "") is False
    assert widget.onboarding_complete(room, issue_token(settings).token) is False
    assert widget.onboarding_complete(room, issue_token(settings, room_name=room).token) is False
    assert received == []
    assert widget.onboarding_complete(room, caller.token) is True
    assert received == [{"roomName": room, "profileId": received[0]["profileId"], "userId": None,
                         "fields": {"full_name": "Maria Garcia", "team_size": 20}, "flagged": ["phone"],
                         "completed": True}]
    assert widget.onboarding_complete("not-our-room", caller.token) is False and len(received) == 1


def test_plain_embed_page_is_one_script_tag_and_one_element(client: TestClient) -> None:
    page = client.get("/static/embed-example.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text.count("<script src=") == 1 and page.text.count("data-voice-onboarding") == 1
