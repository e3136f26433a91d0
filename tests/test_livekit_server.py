"""Finding, building and configuring the local livekit-server."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from onboarding.ops import livekit_server as lks
from onboarding.settings import Settings


def test_config_is_loopback_only_with_our_keys() -> None:
    settings = Settings(_env_file=None, livekit_api_key="k1", livekit_api_secret="s1")
    config = yaml.safe_load(lks.config_body(settings, port=17880, rtc_tcp_port=17881, udp_port=17882))
    assert config["port"] == 17880 and config["bind_addresses"] == ["127.0.0.1"]
    assert config["rtc"]["node_ip"] == "127.0.0.1" and config["rtc"]["use_external_ip"] is False
    assert (config["rtc"]["port_range_start"], config["rtc"]["port_range_end"]) == (17882, 17882)
    assert config["keys"] == {"k1": "s1"}


def test_shipped_livekit_yaml_matches_the_original_design() -> None:
    config = yaml.safe_load(lks.CONFIG_FILE.read_text())
    assert config["port"] == 7880 and config["rtc"]["tcp_port"] == 7881
    assert config["rtc"]["port_range_start"] == config["rtc"]["port_range_end"] == 7882
    assert config["keys"] == {"devkey": "secret"}


def test_binary_is_the_pinned_version() -> None:
    binary = lks.ensure_binary(Settings(_env_file=None))
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True).stdout
    assert lks.LIVEKIT_SERVER_VERSION.lstrip("v") in out


def test_explicit_binary_setting_wins_and_is_checked(tmp_path: Path) -> None:
    with pytest.raises(lks.ServerBinaryMissing, match="LIVEKIT_SERVER_BIN"):
        lks.find_binary(Settings(_env_file=None, livekit_server_bin=str(tmp_path / "nope")))
    fake = tmp_path / "livekit-server"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert lks.find_binary(Settings(_env_file=None, livekit_server_bin=str(fake))) == fake


def test_without_go_the_message_names_the_alternatives(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no go, no livekit-server
    monkeypatch.setattr(lks, "GO_FALLBACK_DIRS", str(tmp_path))
    with pytest.raises(lks.ServerBinaryMissing) as err:
        lks.build_binary()
    message = str(err.value)
    for alternative in ("get.livekit.io", "brew install livekit", "livekit/livekit-server", "LIVEKIT_URL"):
        assert alternative in message
