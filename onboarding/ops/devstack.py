"""`make run`: LiveKit server (unless LIVEKIT_URL points elsewhere) + agent worker + dashboard.

Ctrl-C stops all three. Output of each goes to data/logs/<name>.log and the last lines are shown
if one of them fails to start.
"""

from __future__ import annotations

import signal
import sys
import threading

from onboarding.ops.livekit_server import ServerBinaryMissing, ensure_binary, server_command
from onboarding.ops.processes import ManagedProcess
from onboarding.settings import REPO_ROOT, Settings, get_settings, is_local_url

LOG_DIR = REPO_ROOT / "data" / "logs"


def dashboard_env(settings: Settings) -> dict[str, str]:
    """A laptop demo may keep the placeholder admin password; anything reachable by others may not."""
    if settings.admin_password_problem() and settings.uses_local_server and is_local_url(
            f"http://{settings.dashboard_host}"):
        print(f"dev mode: admin login {settings.admin_username}/{settings.admin_password} — set ADMIN_PASSWORD "
              "before exposing the dashboard", flush=True)
        return {"DEV_MODE": "true"}
    return {}


def main() -> None:
    settings = get_settings()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    started: list[ManagedProcess] = []
    exit_code = 0
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        if settings.uses_local_server:
            binary = ensure_binary(settings)
            cmd = server_command(binary, settings, port=settings.livekit_port,
                                 rtc_tcp_port=settings.livekit_rtc_port, udp_port=settings.livekit_udp_port)
            lk = ManagedProcess("livekit-server", cmd, log_path=LOG_DIR / "livekit-server.log")
            started.append(lk)
            lk.wait_ready(f"{settings.livekit_http_url}/", timeout=30)
            print(f"livekit-server  {settings.livekit_url}  (log: data/logs/livekit-server.log)", flush=True)
        else:
            print(f"LIVEKIT_URL={settings.livekit_url} is remote: no local server started", flush=True)
        worker = ManagedProcess("agent-worker", [sys.executable, "agent_worker.py"], cwd=REPO_ROOT,
                                log_path=LOG_DIR / "agent-worker.log")
        started.append(worker)
        # registered, not just listening: a room created before registration would get no agent
        worker.wait_for_output("registered worker", timeout=120)
        print(f"agent worker    agent '{settings.agent_name}'  (log: data/logs/agent-worker.log)", flush=True)
        dashboard = ManagedProcess(
            "dashboard", [sys.executable, "-m", "uvicorn", "dashboard:app", "--host", settings.dashboard_host,
                          "--port", str(settings.dashboard_port)],
            cwd=REPO_ROOT, env=dashboard_env(settings), log_path=LOG_DIR / "dashboard.log")
        started.append(dashboard)
        dashboard.wait_ready(f"http://{settings.dashboard_host}:{settings.dashboard_port}/healthz", timeout=90)
        print(f"dashboard       http://{settings.dashboard_host}:{settings.dashboard_port}/  "
              f"(login {settings.admin_username})", flush=True)
        print("Try a call:     python -m harness.simcaller      Ctrl-C stops everything.", flush=True)
        while not stop.wait(1.0):
            for proc in started:
                if not proc.alive():
                    print(f"{proc.name} exited ({proc.proc.returncode}):\n{proc.log_tail(30)}", file=sys.stderr)
                    stop.set()
                    exit_code = 1
    except (ServerBinaryMissing, RuntimeError, TimeoutError) as exc:
        print(exc, file=sys.stderr)
        exit_code = 1
    finally:
        for proc in reversed(started):
            proc.stop()
        print("stopped.", flush=True)
    sys.exit(exit_code)
