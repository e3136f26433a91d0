"""`python -m onboarding doctor` against the real local stack (livekit-server, agent worker, SQLite) and the
cloud fakes: good settings give all ok; each bad setting gives its exact failing line and fix."""



from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.fakes.settings import cloud_settings
from harness.testbed import worker_env
from onboarding.ops.checks import Check, admin_password_check
from onboarding.ops.doctor import (
    AGENT_CASE,
    CONCURRENCY_CASE,
    TOKEN_CASE,
    WEBRTC_CASE,
    agent_check,
    browser_access_check,
    concurrency_check,
    exit_code,
    run_checks,
)
from onboarding.ops.processes import free_port
from onboarding.settings import REPO_ROOT, Settings

REAL_PASSWORD = "doctor-test-admin-password"


@pytest.fixture
def good(stack: Settings, tmp_path: Path) -> Settings:
    # one call per worker, within a measured capacity of two (what `make bench` writes), so the capacity line is ok
    measured = tmp_path / "capacity.json"
    measured.write_text(json.dumps({"cloud": {"calls_per_core": 2}, "offline": {"calls_per_worker": 2, "cores": 2}}))
    return stack.model_copy(update={"admin_password": REAL_PASSWORD, "max_jobs_per_worker": 1,
                                    "capacity_path": measured})


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def failing(checks: list[Check]) -> list[str]:
    return [check.line() for check in checks if check.status != "ok"]


def doctor_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "onboarding", "doctor", *args], cwd=REPO_ROOT, text=True,
                          capture_output=True, env={**os.environ, **env}, timeout=60)


def stack_env(settings: Settings) -> dict[str, str]:
    return {**worker_env(settings), "LIVEKIT_RTC_PORT": str(settings.livekit_rtc_port),
            "LIVEKIT_UDP_PORT": str(settings.livekit_udp_port), "ADMIN_PASSWORD": settings.admin_password,
            "CAPACITY_PATH": str(settings.capacity_path)}


async def test_good_settings_all_ok(good: Settings, fake_deepgram, fake_elevenlabs) -> None:
    settings = cloud_settings(good, fake_deepgram, fake_elevenlabs)
    checks = await run_checks(settings)
    assert failing(checks) == []
    named = by_name(checks)
    server = named[f"port {settings.livekit_port}/tcp"].what
    assert "held by livekit-server" in server and "held by livekit-server" in named[
        f"port {settings.livekit_rtc_port}/tcp"].what
    assert f"serves agent '{settings.agent_name}'" in named["agent worker"].what
    assert named["webrtc join"].what.startswith("joined a probe room over WebRTC in ")
    assert named["deepgram"].what == f"DEEPGRAM_API_KEY accepted by 127.0.0.1:{fake_deepgram.port}"
    assert named["elevenlabs"].what == f"ELEVEN_API_KEY accepted by 127.0.0.1:{fake_elevenlabs.port}"
    assert fake_deepgram.served.connections == 1 and fake_elevenlabs.served.rejected == 0
    assert {TOKEN_CASE, WEBRTC_CASE, AGENT_CASE, CONCURRENCY_CASE} <= {check.case for check in checks}
    assert exit_code(checks) == 0


def test_cli_good_stack_exits_zero_with_json(good: Settings) -> None:
    result = doctor_cli(stack_env(good), "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0, result.stdout
    assert report["ok"] is True
    assert {check["status"] for check in report["checks"]} == {"ok"}


def test_cli_bad_setting_names_the_variable(good: Settings) -> None:
    result = doctor_cli({**stack_env(good), "TOKEN_TTL_SECONDS": "5"})
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        "fail  settings           TOKEN_TTL_SECONDS='5': Input should be greater than or equal to 30 → fix: correct "
        "TOKEN_TTL_SECONDS in .env or the environment (see .env.example)")


async def test_wrong_secret(good: Settings) -> None:
    checks = await run_checks(good.model_copy(update={"livekit_api_secret": "not-the-secret-of-this-server-at-all"}))
    assert failing(checks) == [
        f"fail  livekit api        LiveKit server at {good.livekit_url} refused our keys → fix: check LIVEKIT_API_KEY "
        f"and LIVEKIT_API_SECRET  [{TOKEN_CASE}]",
        f"warn  webrtc join        skipped: the server API check failed → fix: fix the livekit api line first  "
        f"[{WEBRTC_CASE}]",
    ]
    assert exit_code(checks) == 1


async def test_unreachable_url(good: Settings) -> None:
    url = f"ws://127.0.0.1:{free_port()}"
    checks = by_name(await run_checks(good.model_copy(update={"livekit_url": url})))
    api = checks["livekit api"]
    assert (api.status, api.fix) == ("fail", "run `make run` or set LIVEKIT_URL")
    assert api.what.startswith(f"LiveKit server not reachable at {url} (")
    assert checks[f"port {url.rsplit(':', 1)[1]}/tcp"].status == "ok"  # free for `make run`


@pytest.fixture
def taken_ports() -> Iterator[tuple[int, int]]:
    """A TCP listener and a bound UDP socket in this (non-livekit) process."""
    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        udp.bind(("127.0.0.1", 0))
        yield tcp.getsockname()[1], udp.getsockname()[1]


async def test_ports_taken_by_another_process(good: Settings, taken_ports: tuple[int, int]) -> None:
    tcp, udp = taken_ports
    checks = await run_checks(good.model_copy(update={"livekit_rtc_port": tcp, "livekit_udp_port": udp}))
    me = f"{psutil.Process().name()} (pid {os.getpid()})"
    assert failing(checks) == [
        f"fail  port {tcp}/tcp     WebRTC over TCP (LIVEKIT_RTC_PORT) is held by {me}, not livekit-server → fix: "
        f"stop that process or set LIVEKIT_RTC_PORT to a free port  [{WEBRTC_CASE}]",
        f"fail  port {udp}/udp     WebRTC media (LIVEKIT_UDP_PORT) is held by {me}, not livekit-server → fix: "
        f"stop that process or set LIVEKIT_UDP_PORT to a free port  [{WEBRTC_CASE}]",
    ]


async def test_missing_models(good: Settings, tmp_path: Path) -> None:
    voice = tmp_path / "voice.onnx"
    checks = await run_checks(good.model_copy(update={"stt_model_dir": str(tmp_path), "piper_voice_path": str(voice)}))
    assert failing(checks) == [
        f"fail  whisper model      STT_MODEL_DIR={tmp_path}: {tmp_path} lacks model.bin, config.json, tokenizer.json "
        "→ fix: point STT_MODEL_DIR at a CTranslate2 Whisper model directory, or leave it empty for tiny.en",
        f"fail  piper voice        PIPER_VOICE_PATH: {voice} is missing → fix: set PIPER_VOICE_PATH to a Piper .onnx "
        "voice (with its .onnx.json beside it), or leave it empty",
    ]


async def test_bad_provider_keys(good: Settings, fake_deepgram, fake_elevenlabs) -> None:
    settings = cloud_settings(good, fake_deepgram, fake_elevenlabs, deepgram_api_key="wrong-dg",
                              eleven_api_key="wrong-xi", google_api_key="some-key",
                              gemini_base_url=f"http://127.0.0.1:{free_port()}")
    checks = await run_checks(settings)
    assert failing(checks) == [
        f"fail  deepgram           DEEPGRAM_API_KEY was refused by 127.0.0.1:{fake_deepgram.port} (401) → fix: set a "
        "valid key, or leave it empty to use local Whisper",
        f"fail  elevenlabs         ELEVEN_API_KEY was refused by 127.0.0.1:{fake_elevenlabs.port} (401) → fix: set a "
        "valid key, or leave it empty to use the local voice",
        f"warn  gemini             Gemini not reachable at {settings.gemini_base_url.removeprefix('http://')} "
        "(ClientConnectorError) → fix: check GEMINI_BASE_URL and the network; calls use the scripted interviewer "
        "meanwhile",
    ]
    assert fake_deepgram.served.rejected == 1 and fake_elevenlabs.served.connections == 0


async def test_agent_not_responding(good: Settings) -> None:
    port = free_port()
    no_worker = by_name(await run_checks(good.model_copy(update={"worker_http_port": port})))["agent worker"]
    assert no_worker.line() == (
        f"fail  agent worker       no agent worker answers on http://127.0.0.1:{port} (WORKER_HTTP_PORT, "
        f"ClientConnectorError) → fix: start it with `make run` (log: data/logs/agent-worker.log)  [{AGENT_CASE}]")
    other = by_name(await run_checks(good.model_copy(update={"agent_name": "someone-else"})))["agent worker"]
    assert other.line() == (
        f"fail  agent worker       worker on http://127.0.0.1:{good.worker_http_port} serves agent "
        f"'{good.agent_name}', tokens dispatch 'someone-else' → fix: set the same AGENT_NAME for the dashboard and the "
        f"worker  [{AGENT_CASE}]")


async def test_the_worker_is_probed_where_worker_health_url_says(good: Settings) -> None:
    """compose/Kubernetes: the worker is another host; the probe follows WORKER_HEALTH_URL, not 127.0.0.1."""
    elsewhere = f"http://localhost:{good.worker_http_port}/"
    found = await agent_check(good.model_copy(update={"worker_http_port": free_port(),
                                                      "worker_health_url": elsewhere}))
    assert found.status == "ok" and found.what.startswith(f"worker on {elsewhere.rstrip('/')} serves agent")
    port = free_port()
    missing = await agent_check(good.model_copy(update={"worker_health_url": f"http://127.0.0.1:{port}"}))
    assert missing.status == "fail" and f"on http://127.0.0.1:{port} (WORKER_HEALTH_URL, " in missing.what


async def test_database_unreachable(good: Settings) -> None:
    url = f"postgresql+psycopg://doctor:hunter2@127.0.0.1:{free_port()}/onboarding"
    database = by_name(await run_checks(good.model_copy(update={"database_url": url})))["database"]
    assert database.status == "fail"
    assert database.what.startswith(f"postgresql+psycopg://doctor:***@127.0.0.1:{url.rsplit(':', 1)[1]}: "
                                    "OperationalError: ")
    assert "hunter2" not in database.line()


def cloud_url_settings(**overrides) -> Settings:
    return Settings(_env_file=None, livekit_url="wss://demo.livekit.cloud", livekit_api_key="APIdemo",
                    livekit_api_secret="s" * 32, **overrides)


def test_cloud_tier_caps_against_jobs_per_worker() -> None:
    busy = concurrency_check(cloud_url_settings(max_jobs_per_worker=10))
    assert busy.line() == (
        "warn  concurrency        LiveKit Cloud caps concurrent sessions by plan (Free 5, Ship 20, Scale 600); one "
        "worker takes up to MAX_JOBS_PER_WORKER=10 calls → fix: on the Free plan callers beyond 5 are refused: use "
        f"Ship (20) or more  [{CONCURRENCY_CASE}]")
    assert concurrency_check(cloud_url_settings(max_jobs_per_worker=5)).status == "ok"


def test_exposed_dashboard_needs_https_and_a_password() -> None:
    exposed = Settings(_env_file=None, dashboard_host="0.0.0.0")
    assert browser_access_check(exposed).status == "warn"
    assert "browsers on other machines cannot reach a loopback server" in browser_access_check(exposed).fix
    assert browser_access_check(cloud_url_settings(dashboard_host="0.0.0.0")).fix.startswith("serve it over HTTPS")
    assert admin_password_check(exposed).line() == (
        "fail  admin password     ADMIN_PASSWORD is the placeholder 'admin' and the dashboard is reachable from other "
        "machines → fix: set a real password for the admin pages (or DEV_MODE=true for local use)")
    assert admin_password_check(Settings(_env_file=None)).status == "warn"
