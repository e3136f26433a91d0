"""Settings: every one documented in .env.example; bad values fail naming the variable."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from onboarding.settings import REPO_ROOT, Settings


def test_every_setting_is_in_env_example() -> None:
    documented = set(re.findall(r"^([A-Z_]+)=", (REPO_ROOT / ".env.example").read_text(), re.M))
    declared = {name.upper() for name in Settings.model_fields}
    assert declared == documented


def test_env_example_values_are_valid(tmp_path) -> None:
    settings = Settings(_env_file=REPO_ROOT / ".env.example")
    assert settings.uses_local_server
    assert settings.database_url.startswith("sqlite:///")
    assert settings.interview_path == REPO_ROOT / "data" / "interview.toml"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LIVEKIT_URL": "localhost:7880"}, "LIVEKIT_URL"),
        ({"TTS_ENGINE": "espeak"}, "tts_engine"),
        ({"TOKEN_TTL_SECONDS": "5"}, "token_ttl_seconds"),
        ({"LIVEKIT_URL": "wss://example.livekit.cloud"}, "LIVEKIT_API_KEY"),
        ({"WORKER_HEALTH_URL": "worker:8081"}, "WORKER_HEALTH_URL"),
        ({"MAX_CALLS_PER_CLIENT": "-1"}, "max_calls_per_client"),
        ({"STAFF_SESSION_HOURS": "0"}, "staff_session_hours"),
        ({"LIVEKIT_URL": "wss://example.livekit.cloud", "LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "short"},
         "LIVEKIT_API_SECRET"),
    ],
)
def test_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None)
    assert named in str(err.value)


def test_remote_server_with_real_keys_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEKIT_URL", "wss://example.livekit.cloud")
    monkeypatch.setenv("LIVEKIT_API_KEY", "APIabc")
    monkeypatch.setenv("LIVEKIT_API_SECRET", "x" * 40)
    settings = Settings(_env_file=None)
    assert not settings.uses_local_server
    assert settings.livekit_http_url == "https://example.livekit.cloud"
