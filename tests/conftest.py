"""Real processes for real tests: livekit-server and the agent worker on free ports.

Fixtures wait for readiness by polling with a deadline and attach the process log on failure.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.fakes.deepgram import FakeDeepgram
from harness.fakes.elevenlabs import FakeElevenLabs
from harness.fakes.gemini import FakeGemini
from harness.fakes.settings import DEEPGRAM_KEY, ELEVEN_KEY, GOOGLE_KEY
from harness.personas import PERSONAS
from harness.pgserver import PgServer, find_bin_dir, start_postgres
from harness.testbed import (
    CHROMIUM,
    CHROMIUM_ARGS,
    RUNNING_WORKERS,
    Dashboard,
    paced_call_wav,
    stack_settings,
    start_dashboard,
    start_livekit,
    start_worker,
)
from onboarding.db import dispose_engine, get_engine
from onboarding.settings import REPO_ROOT, Settings

ARTIFACTS = REPO_ROOT / "test-artifacts"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """When a test fails, every live agent worker writes its threads' stacks into its log (SIGUSR1): a
    worker that stopped answering shows what it waits on."""
    report = yield
    if report.when == "call" and report.failed:
        for worker in RUNNING_WORKERS:
            if worker.alive():
                os.kill(worker.proc.pid, signal.SIGUSR1)
    return report


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def postgres(artifacts: Path) -> Iterator[PgServer]:
    """A real PostgreSQL server for the whole run (Debian binaries, free port, trust auth), in a time zone
    far from UTC so that a timestamp read back in server-local time would show."""
    if find_bin_dir() is None:
        pytest.skip("PostgreSQL is not installed: apt-get install postgresql (make install does)")
    server = start_postgres(artifacts / "postgres.log", settings={"timezone": "Pacific/Auckland"})
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres: PgServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (the schema is created on first use)."""
    url = postgres.create_database()
    yield url
    dispose_engine(url)
    postgres.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each kind: a test taking it runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres_url")


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


@pytest.fixture(scope="session")
def dashboard(stack: Settings, artifacts: Path) -> Iterator[Dashboard]:
    """The real dashboard (uvicorn) talking to the stack's server, agent and database; admin login with
    `dashboard.settings.admin_username` / `admin_password` (a real password: placeholders are refused)."""
    settings = stack.model_copy(update={"admin_password": f"test-{os.getpid()}-admin-password"})
    # Migrate the schema before the first calls: the migration is locked, but an agent waiting on it
    # would join its room late.
    get_engine(settings.database_url)
    proc, url = start_dashboard(settings, artifacts / "dashboard.log")
    try:
        yield Dashboard(url=url, settings=settings)
    finally:
        proc.stop()


# How long the agent takes to answer each of PERSONAS[0]'s answers (Piper "joe", measured): the read-back
# of the name, the email question, the email read-back, then the next questions. The fake microphone
# plays a file, so the answers are placed on a timeline that leaves room for these replies.
PERSONA0_REPLY_SECONDS = [2.5, 2.9, 3.5, 2.0, 1.8, 2.8, 3.0, 3.3, 3.0]
# Greeting and first question (≈ 6.2 s) after the agent has joined and started (≈ 2.5 s after the mic opens).
PERSONA0_FIRST_ANSWER_AT = 10.2


@pytest.fixture(scope="session")
def fake_mic_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PERSONAS[0]'s whole onboarding as one WAV for Chromium's fake microphone."""
    return paced_call_wav(tmp_path_factory.mktemp("mic") / "persona0.wav", PERSONAS[0].answers,
                          first_answer_at=PERSONA0_FIRST_ANSWER_AT, reply_seconds=PERSONA0_REPLY_SECONDS)


# Module scope, not session: while Playwright's sync driver runs it holds an event loop on this thread,
# and the asyncio tests of later modules could not run theirs.
@pytest.fixture(scope="module")
def playwright_driver() -> Iterator:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver, fake_mic_wav: Path) -> Iterator:
    """Debian Chromium, headless, with a fake microphone that plays `fake_mic_wav` (granted without a prompt)."""
    chromium = playwright_driver.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", f"--use-file-for-fake-audio-capture={fake_mic_wav}"],
    )
    try:
        yield chromium
    finally:
        chromium.close()


# --- the cloud fakes: one per service for the whole session (Whisper and the voice load once); each test gets it
# reset to normal service, so a fault set by one test never leaks into the next
@pytest.fixture(scope="session")
def deepgram_server() -> Iterator[FakeDeepgram]:
    fake = FakeDeepgram(DEEPGRAM_KEY).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="session")
def elevenlabs_server() -> Iterator[FakeElevenLabs]:
    fake = FakeElevenLabs(ELEVEN_KEY).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="session")
def gemini_server() -> Iterator[FakeGemini]:
    fake = FakeGemini(GOOGLE_KEY).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_gemini(gemini_server: FakeGemini) -> Iterator[FakeGemini]:
    gemini_server.reset()
    yield gemini_server
    gemini_server.reset()


@pytest.fixture
def fake_deepgram(deepgram_server: FakeDeepgram) -> Iterator[FakeDeepgram]:
    deepgram_server.reset()
    yield deepgram_server
    deepgram_server.reset()


@pytest.fixture
def fake_elevenlabs(elevenlabs_server: FakeElevenLabs) -> Iterator[FakeElevenLabs]:
    elevenlabs_server.reset()
    yield elevenlabs_server
    elevenlabs_server.reset()
