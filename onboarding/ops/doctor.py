"""`python -m onboarding doctor`: one line per check, each with its fix, mapped to the original design's
troubleshooting cases. The LiveKit checks live here; settings, database, models and provider keys in doctor_checks.

"Agent not responding" is checked through the worker's health port (livekit-agents' `/` and `/worker`, at
WORKER_HEALTH_URL — by default WORKER_HTTP_PORT on this machine; in compose/Kubernetes the worker's service name):
the LiveKit server API has no list of registered workers, and dispatching a probe job would run a real interview
and record a call.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import socket
import sys
from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import urlparse

import aiohttp
import psutil
from livekit import api, rtc
from pydantic import ValidationError

from onboarding.livekit_admin import describe_error, issue_token, livekit_api
from onboarding.ops.capacity_check import capacity_check
from onboarding.ops.checks import (
    Check,
    admin_password_check,
    database_check,
    local_model_checks,
    provider_checks,
    settings_check,
    settings_errors,
    split_fix,
)
from onboarding.ops.livekit_server import ServerBinaryMissing, find_binary
from onboarding.settings import Settings, is_local_url
from onboarding.usage.pricing import PricingError, load_pricing

TOKEN_CASE = "Failed to get LiveKit token"
WEBRTC_CASE = "WebRTC connection failed"
AGENT_CASE = "Agent not responding"
CONCURRENCY_CASE = "Multiple users can't connect"
API_TIMEOUT = 5.0
WEBRTC_TIMEOUT = 10.0
PROBE_ROOM_PREFIX = "doctor-probe-"  # not ROOM_PREFIX: the rooms page and agent dispatch ignore it


# --- "Failed to get LiveKit token": keys and URL -----------------------------------------------
def token_check(settings: Settings) -> Check:
    """Mint a token the way POST /api/livekit/token does and verify it with the same keys."""
    try:
        issued = issue_token(settings)
        claims = api.TokenVerifier(settings.livekit_api_key, settings.livekit_api_secret).verify(issued.token)
        return Check("ok", "livekit token", f"minted and verified a {settings.token_ttl_seconds} s token for "
                     f"room {claims.video.room} (agent '{settings.agent_name}')", case=TOKEN_CASE)
    except Exception as exc:
        return Check("fail", "livekit token", f"cannot mint a token ({type(exc).__name__}: {exc})",
                     "set LIVEKIT_API_KEY and LIVEKIT_API_SECRET", TOKEN_CASE)


async def server_api_check(settings: Settings) -> Check:
    """List rooms through the server API: proves the URL answers and accepts our keys."""
    lk = livekit_api(settings)
    try:
        rooms = await asyncio.wait_for(lk.room.list_rooms(api.ListRoomsRequest()), API_TIMEOUT)
        return Check("ok", "livekit api", f"{settings.livekit_url} accepted our keys ({len(rooms.rooms)} rooms)",
                     case=TOKEN_CASE)
    except Exception as exc:
        what, fix = split_fix(describe_error(settings, exc, API_TIMEOUT), "check LIVEKIT_URL")
        return Check("fail", "livekit api", what, fix, TOKEN_CASE)
    finally:
        await lk.aclose()


# --- "WebRTC connection failed": binary, ports, a real WebRTC join, browser access -------------
def binary_check(settings: Settings) -> Check:
    try:
        binary = find_binary(settings)
    except ServerBinaryMissing as exc:
        return Check("fail", "livekit-server", str(exc), "set LIVEKIT_SERVER_BIN to the livekit-server binary")
    if binary:
        return Check("ok", "livekit-server", f"binary at {binary}")
    if shutil.which("go") or shutil.which("go", path="/usr/local/go/bin"):
        return Check("warn", "livekit-server", "binary not built yet", "`make run` builds it with Go (a few minutes)")
    return Check("fail", "livekit-server", "binary missing and Go is not installed",
                 "run `make livekit-server` for the ways to install it, or set LIVEKIT_URL to another server")


def port_holder(port: int, kind: str) -> psutil.Process | bool | None:
    """The process bound to a local port (False when free, None when held by a process we may not see)."""
    try:
        connections = psutil.net_connections(kind=kind)
    except psutil.AccessDenied:  # e.g. macOS without root: can we bind it ourselves?
        with socket.socket(type=socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
                return False
            except OSError:
                return None
    for conn in connections:
        if conn.laddr and conn.laddr.port == port and (kind == "udp" or conn.status == psutil.CONN_LISTEN):
            try:
                return psutil.Process(conn.pid) if conn.pid else None
            except psutil.NoSuchProcess:
                return None
    return False


def _describe(proc: psutil.Process | None) -> str:
    try:
        return f"{proc.name()} (pid {proc.pid})" if proc else "another process"
    except psutil.Error:
        return "another process"


def _is_livekit_server(proc: psutil.Process) -> bool:
    try:
        names = [proc.name(), *proc.cmdline()[:1]]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return any(name.rsplit("/", 1)[-1].startswith("livekit-server") for name in names)


def port_checks(settings: Settings, server_up: bool = False) -> list[Check]:
    """Each port the local server uses must be free (for `make run`) or already held by livekit-server.

    livekit-server binds its UDP port only when the first caller connects, so a free UDP port is normal.
    """
    ports = [(settings.livekit_port, "tcp", "LIVEKIT_URL", "signalling"),
             (settings.livekit_rtc_port, "tcp", "LIVEKIT_RTC_PORT", "WebRTC over TCP"),
             (settings.livekit_udp_port, "udp", "LIVEKIT_UDP_PORT", "WebRTC media")]
    checks = []
    for port, kind, variable, role in ports:
        name, holder = f"port {port}/{kind}", port_holder(port, kind)
        if holder is False and server_up and kind == "tcp":
            checks.append(Check("warn", name, f"{role} ({variable}): nothing listens, yet the server answers",
                                f"set {variable} to the running server's port (livekit.yaml rtc.tcp_port)",
                                WEBRTC_CASE))
        elif holder is False:
            state = "not bound until a caller connects" if server_up else "free for the server `make run` starts"
            checks.append(Check("ok", name, f"{role} ({variable}): {state}", case=WEBRTC_CASE))
        elif holder is not None and _is_livekit_server(holder):
            checks.append(Check("ok", name, f"{role} ({variable}): held by livekit-server (pid {holder.pid})",
                                case=WEBRTC_CASE))
        else:
            checks.append(Check("fail", name, f"{role} ({variable}) is held by {_describe(holder)}, not livekit-server",
                                f"stop that process or set {variable} to a free port", WEBRTC_CASE))
    return checks


async def webrtc_check(settings: Settings) -> Check:
    """Join a probe room as a real WebRTC client: the signal connection and ICE over the server's UDP/TCP ports."""
    room_name = f"{PROBE_ROOM_PREFIX}{secrets.token_hex(4)}"
    token = (api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret).with_identity("doctor")
             .with_ttl(timedelta(minutes=1))
             .with_grants(api.VideoGrants(room_join=True, room=room_name, can_publish=False)).to_jwt())
    room = rtc.Room()
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        await asyncio.wait_for(room.connect(settings.livekit_url, token, rtc.RoomOptions(auto_subscribe=False)),
                               WEBRTC_TIMEOUT)
        elapsed_ms = (loop.time() - started) * 1000
        return Check("ok", "webrtc join", f"joined a probe room over WebRTC in {elapsed_ms:.0f} ms",
                     case=WEBRTC_CASE)
    except Exception as exc:
        if settings.uses_local_server:
            fix = (f"check that UDP {settings.livekit_udp_port} and TCP {settings.livekit_rtc_port} reach the server "
                   "and its node IP is right (livekit.yaml rtc.node_ip / use_external_ip)")
        else:
            fix = ("open the server's UDP range (e.g. 50000-60000) and TCP 7881 in the firewall, check its node IP, "
                   "or configure TURN for callers behind strict networks")
        return Check("fail", "webrtc join", f"could not join a probe room ({type(exc).__name__}: {exc})", fix,
                     WEBRTC_CASE)
    finally:
        await room.disconnect()
        lk = livekit_api(settings)
        try:
            await asyncio.wait_for(lk.room.delete_room(api.DeleteRoomRequest(room=room_name)), API_TIMEOUT)
        except Exception:  # the room may never have been created; an empty room closes by itself
            pass
        finally:
            await lk.aclose()


def browser_access_check(settings: Settings) -> Check:
    """Browsers allow the microphone only on https:// pages or localhost, and https pages cannot open ws://."""
    host = settings.dashboard_host
    if is_local_url(f"http://{host}"):
        return Check("ok", "browser access", f"dashboard on {host}: browsers on this machine may use the microphone",
                     case=WEBRTC_CASE)
    if settings.uses_local_server:
        return Check("warn", "browser access", f"dashboard listens on {host} but LIVEKIT_URL is {settings.livekit_url}",
                     "browsers on other machines cannot reach a loopback server: set LIVEKIT_URL to an address "
                     "they can reach", WEBRTC_CASE)
    if urlparse(settings.livekit_url).scheme in {"ws", "http"}:
        return Check("warn", "browser access", f"LIVEKIT_URL={settings.livekit_url} is not TLS",
                     "use wss:// — pages served over https cannot open ws://", WEBRTC_CASE)
    return Check("warn", "browser access", f"dashboard listens on {host} over plain http",
                 "serve it over HTTPS (a TLS reverse proxy): browsers on other machines allow the microphone only "
                 "on https pages", WEBRTC_CASE)


# --- "Agent not responding" ---------------------------------------------------------------------
async def agent_check(settings: Settings) -> Check:
    """The worker's health port: up, connected to LiveKit, and serving the agent name tokens dispatch."""
    base = settings.worker_health_base
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=API_TIMEOUT)) as http:
            async with http.get(f"{base}/") as resp:
                health, health_text = resp.status, (await resp.text()).strip()
            async with http.get(f"{base}/worker") as resp:
                info = json.loads(await resp.text())
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
        remote = not settings.uses_local_server
        return Check("warn" if remote else "fail", "agent worker",
                     f"no agent worker answers on {base} "
                     f"({'WORKER_HEALTH_URL' if settings.worker_health_url else 'WORKER_HTTP_PORT'}, "
                     f"{type(exc).__name__})",
                     "start it with `make run` (log: data/logs/agent-worker.log)"
                     + ("; a worker on another machine cannot be seen from here" if remote else ""), AGENT_CASE)
    served = info.get("agent_name", "")
    if health != 200:
        return Check("fail", "agent worker", f"worker on {base} is unhealthy ({health}: {health_text})",
                     "check the worker's LIVEKIT_URL and keys, see data/logs/agent-worker.log", AGENT_CASE)
    if served != settings.agent_name:
        return Check("fail", "agent worker", f"worker on {base} serves agent '{served}', tokens dispatch "
                     f"'{settings.agent_name}'", "set the same AGENT_NAME for the dashboard and the worker",
                     AGENT_CASE)
    return Check("ok", "agent worker", f"worker on {base} serves agent '{served}' "
                 f"({info.get('active_jobs', 0)} active calls, load {info.get('worker_load', 0):.2f})", case=AGENT_CASE)


# --- "Multiple users can't connect" -------------------------------------------------------------
def concurrency_check(settings: Settings) -> Check:
    """LiveKit Cloud caps concurrent sessions per plan; self-hosted servers have no cap but need ports/TURN."""
    per_worker = f"one worker takes up to MAX_JOBS_PER_WORKER={settings.max_jobs_per_worker} calls"
    host = urlparse(settings.livekit_url).hostname or ""
    if not host.endswith(".livekit.cloud"):
        where = "local server" if settings.uses_local_server else "self-hosted server"
        return Check("ok", "concurrency", f"{where}: no plan cap; {per_worker}; callers need UDP "
                     f"{settings.livekit_udp_port} or TCP {settings.livekit_rtc_port} (TURN behind strict NATs)",
                     case=CONCURRENCY_CASE)
    try:
        plans = load_pricing(settings.pricing_path).cloud_plans
    except PricingError as exc:
        return Check("fail", "concurrency", str(exc), "fix PRICING_PATH / data/pricing.toml", CONCURRENCY_CASE)
    caps = ", ".join(f"{plan.name} {plan.max_concurrent}" for _, plan in plans)
    smallest = plans[0][1]
    what = f"LiveKit Cloud caps concurrent sessions by plan ({caps}); {per_worker}"
    if settings.max_jobs_per_worker > smallest.max_concurrent:
        bigger = next((p for _, p in plans if p.max_concurrent >= settings.max_jobs_per_worker), plans[-1][1])
        return Check("warn", "concurrency", what, f"on the {smallest.name} plan callers beyond "
                     f"{smallest.max_concurrent} are refused: use {bigger.name} ({bigger.max_concurrent}) or more",
                     CONCURRENCY_CASE)
    return Check("ok", "concurrency", what, case=CONCURRENCY_CASE)


# --- running and printing -----------------------------------------------------------------------
async def run_checks(settings: Settings) -> list[Check]:
    """Every check, in reading order; the network ones run concurrently."""
    local = settings.uses_local_server
    api_result, agent, providers = await asyncio.gather(server_api_check(settings), agent_check(settings),
                                                        provider_checks(settings))
    webrtc = await webrtc_check(settings) if api_result.status == "ok" else Check(
        "warn", "webrtc join", "skipped: the server API check failed", "fix the livekit api line first", WEBRTC_CASE)
    checks = [settings_check(settings), admin_password_check(settings), token_check(settings), api_result]
    if local:
        checks += [binary_check(settings), *port_checks(settings, server_up=api_result.status == "ok")]
    checks += [webrtc, browser_access_check(settings), agent, concurrency_check(settings),
               await asyncio.to_thread(capacity_check, settings)]
    checks += [*providers, *await asyncio.to_thread(local_model_checks, settings),
               await asyncio.to_thread(database_check, settings)]
    return checks


def exit_code(checks: Sequence[Check]) -> int:
    return 1 if any(check.status == "fail" for check in checks) else 0


def render(checks: Sequence[Check]) -> str:
    counts = {status: sum(c.status == status for c in checks) for status in ("fail", "warn", "ok")}
    summary = f"{counts['fail']} failed, {counts['warn']} warnings, {counts['ok']} ok"
    return "\n".join([*(check.line() for check in checks), summary])


def main(as_json: bool = False) -> int:
    try:
        settings = Settings()
    except ValidationError as exc:
        checks = settings_errors(exc)
    else:
        checks = asyncio.run(run_checks(settings))
    if as_json:
        print(json.dumps({"ok": exit_code(checks) == 0, "checks": [c.as_dict() for c in checks]}, indent=2))
    else:
        print(render(checks))
    sys.stdout.flush()
    return exit_code(checks)
