"""A local stack on free ports — livekit-server and agent workers — for the tests and `make bench`."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fastapi import FastAPI

from harness.caller_audio import ROOM_RATE, answer_audio, write_wav
from onboarding.admin.rooms import RoomListing, list_active_rooms
from onboarding.api import install_error_handlers, router
from onboarding.call_records import CallRecord, load_call
from onboarding.ops.livekit_server import ensure_binary, server_command
from onboarding.ops.processes import ManagedProcess, free_port
from onboarding.settings import REPO_ROOT, Settings, get_settings


async def settled_call(settings: Settings, room: str, timeout: float = 30.0) -> CallRecord:
    """The stored call once the worker has closed it. A caller who hangs up learns nothing more from
    the room, so this polls the database (what the dashboard would show) with a deadline."""
    deadline = time.monotonic() + timeout
    record = None
    while time.monotonic() < deadline:
        record = await asyncio.to_thread(load_call, settings.database_url, room)
        if record is not None and record.call.status != "in_progress":
            return record
        await asyncio.sleep(0.2)  # poll interval
    raise AssertionError(f"call in {room} still {record.call.status if record else 'missing'} after {timeout}s")


def start_livekit(base: Settings, log_path: Path) -> tuple[ManagedProcess, Settings]:
    port, tcp, udp = free_port(), free_port(), free_port()
    settings = base.model_copy(update={"livekit_url": f"ws://127.0.0.1:{port}", "livekit_rtc_port": tcp,
                                       "livekit_udp_port": udp,
                                       "worker_metrics_port": 0})  # test workers: metrics only on a free port
    cmd = server_command(ensure_binary(settings), settings, port=port, rtc_tcp_port=tcp, udp_port=udp)
    proc = ManagedProcess("livekit-server", cmd, log_path=log_path)
    proc.wait_ready(f"http://127.0.0.1:{port}/", timeout=30)
    return proc, settings


def worker_env(settings: Settings, **overrides: str) -> dict[str, str]:
    env = {
        "LIVEKIT_URL": settings.livekit_url, "LIVEKIT_API_KEY": settings.livekit_api_key,
        "LIVEKIT_API_SECRET": settings.livekit_api_secret, "DATABASE_URL": settings.database_url,
        "AGENT_NAME": settings.agent_name, "WORKER_HTTP_PORT": str(settings.worker_http_port),
        "WORKER_METRICS_PORT": str(settings.worker_metrics_port),
        "REPROMPT_AFTER_SILENCE_SECONDS": str(settings.reprompt_after_silence_seconds),
        "ENDPOINTING_MIN_DELAY": str(settings.endpointing_min_delay),
        "ENDPOINTING_MAX_DELAY": str(settings.endpointing_max_delay),
        "MAX_JOBS_PER_WORKER": str(settings.max_jobs_per_worker),
        "JOB_EXECUTOR": settings.job_executor, "TTS_ENGINE": settings.tts_engine,
        "AUDIO_CAPTURE": str(settings.audio_capture).lower(), "AUDIO_STORAGE_PATH": str(settings.audio_storage_path),
        "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "LOG_LEVEL": settings.log_level,
    }
    return {**env, **overrides}


RUNNING_WORKERS: list[ManagedProcess] = []  # for a failed test to ask each live worker for its stacks


def start_worker(settings: Settings, log_path: Path, *, wait: bool = True, cpus: list[int] | None = None,
                 command: list[str] | None = None, cwd: Path = REPO_ROOT, **overrides: str) -> ManagedProcess:
    """`cpus`: run the worker (and every process it starts) on these cores only, with taskset; `command` and
    `cwd`: another entry point or checkout (the benchmark's A/B runs)."""
    cmd = command or [sys.executable, "agent_worker.py"]
    if cpus:
        cmd = ["taskset", "-c", ",".join(map(str, cpus)), *cmd]
    proc = ManagedProcess("agent-worker", cmd, cwd=cwd, env=worker_env(settings, **overrides), log_path=log_path)
    RUNNING_WORKERS[:] = [w for w in RUNNING_WORKERS if w.alive()] + [proc]
    if wait:
        proc.wait_for_output("registered worker", timeout=120)
    return proc


def worker_exit(settings: Settings, log_path: Path, timeout: float = 60.0, **overrides: str) -> tuple[int, str]:
    """Start a worker that is expected to refuse to start (a bad setting): its exit code and its log's end."""
    proc = ManagedProcess("agent-worker", [sys.executable, "agent_worker.py"], cwd=REPO_ROOT,
                          env=worker_env(settings.model_copy(update={"worker_http_port": free_port()}), **overrides),
                          log_path=log_path)
    try:
        code = proc.proc.wait(timeout=timeout)
    finally:
        proc.stop()
    return code, proc.log_tail(40)


def stack_settings(base: Settings, database_url: str, agent_name: str, audio_path: Path | None = None) -> Settings:
    """A stack's settings; its clips go to `audio_path` (beside a SQLite file by default), never data/audio."""
    if audio_path is None and database_url.startswith("sqlite:///"):
        audio_path = Path(database_url.removeprefix("sqlite:///")).parent / "audio"
    return base.model_copy(update={"database_url": database_url, "agent_name": agent_name,
                                   "audio_storage_path": audio_path or base.audio_storage_path,
                                   "worker_http_port": free_port(), "worker_metrics_port": free_port(),
                                   "reprompt_after_silence_seconds": 4.0,
                                   "max_jobs_per_worker": 6,  # the tests put up to 5 callers on one worker
                                   # every test caller comes from 127.0.0.1: one address standing for many callers
                                   "max_calls_per_client": 50})


def dashboard_env(settings: Settings, **overrides: str) -> dict[str, str]:
    """The dashboard sees the same server, keys, agent and database as the worker it hands callers to."""
    env = {key: value for key, value in worker_env(settings).items() if key != "WORKER_HTTP_PORT"}
    env.update({"ROOM_PREFIX": settings.room_prefix, "INTERVIEW_PATH": str(settings.interview_path),
                "AGENT_JOIN_TIMEOUT_SECONDS": str(settings.agent_join_timeout_seconds),
                "ADMIN_USERNAME": settings.admin_username, "ADMIN_PASSWORD": settings.admin_password,
                "DEV_MODE": str(settings.dev_mode).lower(), "TALK_PAGE_PUBLIC": str(settings.talk_page_public).lower(),
                "MAX_CALLS_PER_CLIENT": str(settings.max_calls_per_client),
                "WORKER_HEALTH_URL": settings.worker_health_url, "GRADIO_ANALYTICS_ENABLED": "False"})
    return {**env, **overrides}


# Debian's Chromium, driven by PyPI playwright (never `playwright install`); fake media devices for the mic.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--use-fake-device-for-media-stream",
                 "--disable-background-networking", "--autoplay-policy=no-user-gesture-required"]


@dataclass(frozen=True)
class Dashboard:
    url: str  # e.g. http://127.0.0.1:41234
    settings: Settings  # what the dashboard runs with (server, keys, agent, database)


def start_dashboard(settings: Settings, log_path: Path, **overrides: str) -> tuple[ManagedProcess, str]:
    """`uvicorn dashboard:app` on a free port, ready once /healthz answers; returns the process and base URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "dashboard:app", "--host", "127.0.0.1", "--port", str(port)]
    proc = ManagedProcess("dashboard", cmd, cwd=REPO_ROOT, env=dashboard_env(settings, **overrides),
                          log_path=log_path)
    base_url = f"http://127.0.0.1:{port}"
    proc.wait_ready(f"{base_url}/healthz", timeout=90)
    return proc, base_url


def dashboard_exit(settings: Settings, log_path: Path, timeout: float = 90.0, **overrides: str) -> tuple[int, str]:
    """Start a dashboard that is expected to refuse to start (a bad setting): its exit code and its log's end."""
    cmd = [sys.executable, "-m", "uvicorn", "dashboard:app", "--host", "127.0.0.1", "--port", str(free_port())]
    proc = ManagedProcess("dashboard", cmd, cwd=REPO_ROOT, env=dashboard_env(settings, **overrides),
                          log_path=log_path)
    try:
        code = proc.proc.wait(timeout=timeout)
    finally:
        proc.stop()
    return code, proc.log_tail(40)


def paced_call_wav(path: Path, answers: list[str], *, first_answer_at: float, reply_seconds: list[float],
                   turn_latency: float = 1.3, pause: float = 1.5, tail: float = 120.0, voice: str = "slt") -> Path:
    """A whole call's answers on one timeline, for a microphone that plays a file (Chromium's fake device).

    A file cannot wait for the agent, so each answer starts when the agent should be done with its reply
    to the previous one: previous answer's end + turn latency (end of turn, STT, first TTS audio) + that
    reply's length + a caller's pause. The pause must stay below the agent's re-prompt delay, and the
    long silent tail keeps Chromium from looping back to the first answer before the call has ended.
    """
    pieces, clock = [], 0.0
    for index, answer in enumerate(answers):
        start = first_answer_at if index == 0 else clock + turn_latency + reply_seconds[index - 1] + pause
        pieces.append(np.zeros(int((start - clock) * ROOM_RATE), dtype=np.int16))
        speech = answer_audio(answer, voice)
        pieces.append(speech)
        clock = start + speech.size / ROOM_RATE
    pieces.append(np.zeros(int(tail * ROOM_RATE), dtype=np.int16))
    write_wav(path, np.concatenate(pieces))
    return path


async def wait_for_rooms(settings: Settings, until: Callable[[RoomListing], bool], *, timeout: float = 10.0,
                         interval: float = 0.1) -> RoomListing:
    """Poll the listing until it succeeds and `until` holds; the server applies joins, attributes and deletes
    asynchronously. An error listing never satisfies it (no rooms because the server is down is not "closed")."""
    deadline = time.monotonic() + timeout
    listing = await list_active_rooms(settings)
    while listing.error or not until(listing):
        if time.monotonic() >= deadline:
            raise TimeoutError(f"rooms did not reach the expected state within {timeout:g} s; last: "
                               f"{listing.error or [(r.name, len(r.participants)) for r in listing.rooms]}")
        await asyncio.sleep(interval)  # poll interval
        listing = await list_active_rooms(settings)
    return listing


def rest_app(settings: Settings | None = None) -> FastAPI:
    """The REST routes on a bare app (no Gradio pages): for the tests and the API benchmark."""
    app = FastAPI(title="Voice Onboarding Console REST API")
    app.include_router(router)
    install_error_handlers(app)
    if settings is not None:
        app.dependency_overrides[get_settings] = lambda: settings
    return app


async def clips_stored(settings: Settings, room: str, timeout: float = 30.0) -> CallRecord:
    """The stored call once every turn that was heard or played whole has its audio clip (the worker writes the last
    ones as the call ends; a reply cut off by a hang-up may have played nothing)."""
    deadline = time.monotonic() + timeout
    while True:
        record = await asyncio.to_thread(load_call, settings.database_url, room)
        needed = [t for t in record.turns if t.role == "user" or not t.interrupted] if record else []
        if record is not None and record.call.status != "in_progress" and all(t.audio_key for t in needed):
            return record
        if time.monotonic() >= deadline:
            missing = [(t.index, t.role) for t in needed if not t.audio_key] if record else "no call"
            raise AssertionError(f"turns without a clip in {room} after {timeout}s: {missing}")
        await asyncio.sleep(0.2)  # poll interval
