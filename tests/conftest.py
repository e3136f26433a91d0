"""Real processes for real tests: livekit-server and the agent worker on free ports.

Fixtures wait for readiness by polling with a deadline and attach the process log on failure.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from onboarding.livekit_server import ensure_binary, server_command
from onboarding.processes import ManagedProcess, free_port
from onboarding.settings import REPO_ROOT, Settings

ARTIFACTS = REPO_ROOT / "test-artifacts"


def wait_for_log(proc: ManagedProcess, needle: str, timeout: float) -> None:
    """Readiness by the process's own words, e.g. the worker's 'registered worker'."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in (proc.log_tail(400) or ""):
            return
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited ({proc.proc.returncode}):\n{proc.log_tail()}")
        time.sleep(0.1)  # poll interval
    raise TimeoutError(f"{proc.name}: no '{needle}' after {timeout:.0f}s:\n{proc.log_tail()}")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def livekit_server(artifacts: Path) -> Iterator[Settings]:
    port, tcp, udp = free_port(), free_port(), free_port()
    settings = Settings(livekit_url=f"ws://127.0.0.1:{port}", livekit_rtc_port=tcp, livekit_udp_port=udp)
    cmd = server_command(ensure_binary(settings), settings, port=port, rtc_tcp_port=tcp, udp_port=udp)
    proc = ManagedProcess("livekit-server", cmd, log_path=artifacts / "livekit-server.log")
    try:
        proc.wait_ready(f"http://127.0.0.1:{port}/", timeout=30)
        yield settings
    finally:
        proc.stop()


def worker_env(settings: Settings, **overrides: str) -> dict[str, str]:
    env = {
        "LIVEKIT_URL": settings.livekit_url, "LIVEKIT_API_KEY": settings.livekit_api_key,
        "LIVEKIT_API_SECRET": settings.livekit_api_secret, "DATABASE_URL": settings.database_url,
        "AGENT_NAME": settings.agent_name, "WORKER_HTTP_PORT": str(settings.worker_http_port),
        "REPROMPT_AFTER_SILENCE_SECONDS": str(settings.reprompt_after_silence_seconds),
        "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1",
    }
    return {**env, **overrides}


def start_worker(settings: Settings, log_path: Path, **overrides: str) -> ManagedProcess:
    proc = ManagedProcess("agent-worker", [sys.executable, "agent_worker.py"], cwd=REPO_ROOT,
                          env=worker_env(settings, **overrides), log_path=log_path)
    wait_for_log(proc, "registered worker", timeout=120)
    return proc


@pytest.fixture(scope="session")
def stack(livekit_server: Settings, tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[Settings]:
    """LiveKit server + one agent worker + a fresh SQLite database, shared by the voice tests."""
    db = tmp_path_factory.mktemp("db") / "calls.db"
    settings = livekit_server.model_copy(update={
        "database_url": f"sqlite:///{db}", "agent_name": f"onboarding-test-{os.getpid()}",
        "worker_http_port": free_port(), "reprompt_after_silence_seconds": 4.0,
    })
    worker = start_worker(settings, artifacts / "agent-worker.log")
    try:
        yield settings
    finally:
        worker.stop()
