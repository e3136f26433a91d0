"""A local stack on free ports — livekit-server and agent workers — for the tests and `make bench`."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from onboarding.call_records import CallRecord, load_call
from onboarding.livekit_server import ensure_binary, server_command
from onboarding.processes import ManagedProcess, free_port
from onboarding.settings import REPO_ROOT, Settings


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
                                       "livekit_udp_port": udp})
    cmd = server_command(ensure_binary(settings), settings, port=port, rtc_tcp_port=tcp, udp_port=udp)
    proc = ManagedProcess("livekit-server", cmd, log_path=log_path)
    proc.wait_ready(f"http://127.0.0.1:{port}/", timeout=30)
    return proc, settings


def worker_env(settings: Settings, **overrides: str) -> dict[str, str]:
    env = {
        "LIVEKIT_URL": settings.livekit_url, "LIVEKIT_API_KEY": settings.livekit_api_key,
        "LIVEKIT_API_SECRET": settings.livekit_api_secret, "DATABASE_URL": settings.database_url,
        "AGENT_NAME": settings.agent_name, "WORKER_HTTP_PORT": str(settings.worker_http_port),
        "REPROMPT_AFTER_SILENCE_SECONDS": str(settings.reprompt_after_silence_seconds),
        "ENDPOINTING_MIN_DELAY": str(settings.endpointing_min_delay),
        "ENDPOINTING_MAX_DELAY": str(settings.endpointing_max_delay),
        "MAX_JOBS_PER_WORKER": str(settings.max_jobs_per_worker),
        "JOB_EXECUTOR": settings.job_executor, "TTS_ENGINE": settings.tts_engine,
        "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "LOG_LEVEL": settings.log_level,
    }
    return {**env, **overrides}


def start_worker(settings: Settings, log_path: Path, *, wait: bool = True, **overrides: str) -> ManagedProcess:
    proc = ManagedProcess("agent-worker", [sys.executable, "agent_worker.py"], cwd=REPO_ROOT,
                          env=worker_env(settings, **overrides), log_path=log_path)
    if wait:
        proc.wait_for_output("registered worker", timeout=120)
    return proc


def stack_settings(base: Settings, database_url: str, agent_name: str) -> Settings:
    return base.model_copy(update={"database_url": database_url, "agent_name": agent_name,
                                   "worker_http_port": free_port(), "reprompt_after_silence_seconds": 4.0})
