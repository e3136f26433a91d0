"""Caller tokens: room-scoped, short-lived, no admin grants, and they dispatch the agent."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from livekit import api

from onboarding.livekit_admin import InvalidRequest, issue_token
from onboarding.settings import Settings, get_settings


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None)


def test_token_is_scoped_to_one_fresh_room(settings: Settings) -> None:
    issued = issue_token(settings, participant_name="Maria")
    claims = api.TokenVerifier(settings.livekit_api_key, settings.livekit_api_secret).verify(issued.token)
    grants = claims.video
    assert issued.room_name.startswith(settings.room_prefix)
    assert grants.room == issued.room_name and grants.room_join
    assert grants.can_publish and grants.can_subscribe and grants.can_publish_data
    assert not (grants.room_admin or grants.room_create or grants.room_list or grants.room_record)
    assert [a.agent_name for a in claims.room_config.agents] == [settings.agent_name]
    assert issue_token(settings).room_name != issued.room_name


@pytest.mark.parametrize(("caller_video", "sources"), [
    (True, ["microphone", "camera", "screen_share"]),
    (False, ["microphone"]),
])
def test_caller_publishes_only_the_sources_allowed(settings: Settings, caller_video: bool, sources: list[str]) -> None:
    issued = issue_token(settings.model_copy(update={"caller_video": caller_video}))
    grants = api.TokenVerifier(settings.livekit_api_key, settings.livekit_api_secret).verify(issued.token).video
    assert list(grants.can_publish_sources) == sources


def test_token_lifetime_follows_setting(settings: Settings) -> None:
    import jwt

    issued = issue_token(settings.model_copy(update={"token_ttl_seconds": 120}))
    payload = jwt.decode(issued.token, options={"verify_signature": False})
    assert abs(payload["exp"] - time.time() - 120) < 5


@pytest.mark.parametrize(
    "room", ["other-room", "onboarding-", "onboarding-UPPER", "onboarding-a/b", "onboarding-" + "a" * 60])
def test_foreign_or_malformed_room_names_are_refused(settings: Settings, room: str) -> None:
    with pytest.raises(InvalidRequest, match="roomName"):
        issue_token(settings, room_name=room)


def test_token_route(settings: Settings, tmp_path) -> None:
    from dashboard import create_app

    client = TestClient(create_app(get_settings().model_copy(update={
        "dev_mode": True, "database_url": f"sqlite:///{tmp_path / 'tokens.db'}"})))  # room grants: not data/
    ok = client.post("/api/livekit/token", json={"participantName": "Maria"})
    assert ok.status_code == 200
    body = ok.json()
    assert set(body) == {"token", "wsUrl", "roomName"} and body["wsUrl"] == get_settings().livekit_url
    bad = client.post("/api/livekit/token", json={"roomName": "not-ours"})
    assert bad.status_code == 400 and "roomName" in bad.json()["detail"]
