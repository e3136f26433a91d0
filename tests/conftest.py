"""Real processes for real tests: livekit-server and the agent worker on free ports.

Fixtures wait for readiness by polling with a deadline and attach the process log on failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from onboarding.settings import REPO_ROOT, Settings
from onboarding.testbed import stack_settings, start_livekit, start_worker

ARTIFACTS = REPO_ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def livekit_server(artifacts: Path) -> Iterator[Settings]:
    proc, settings = start_livekit(Settings(_env_file=None), artifacts / "livekit-server.log")
    try:
        yield settings
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def stack(livekit_server: Settings, tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[Settings]:
    """LiveKit server + one agent worker + a fresh SQLite database, shared by the voice tests."""
    db = tmp_path_factory.mktemp("db") / "calls.db"
    settings = stack_settings(livekit_server, f"sqlite:///{db}", f"onboarding-test-{os.getpid()}")
    worker = start_worker(settings, artifacts / "agent-worker.log")
    try:
        yield settings
    finally:
        worker.stop()
