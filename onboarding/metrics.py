"""Prometheus metrics of the agent worker and the dashboard, for a team running calls on several machines.

The names are a contract: deploy/'s Grafana dashboard is built on them. Each process exposes only what it
measures: the worker serves its registry on WORKER_METRICS_PORT (thread-executor jobs run inside the worker
process, so every call counts into the same values), the dashboard at GET /metrics. Both answer the same way:
with METRICS_TOKEN set only a scraper that sends it as a bearer token, without it only this machine. Session and
turn counters are kept by the recorder, which voice and REST calls share, so both doors are counted the same way.

JOB_EXECUTOR=process runs each call in its own process, whose values the worker's port cannot see unless
PROMETHEUS_MULTIPROC_DIR names a directory (prometheus-client's multiprocess mode): then the worker serves the sum
of every job process's values, kept in a subfolder of their own (onboarding/multiproc.py).
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import os
import re
import socket
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    make_wsgi_app,
    multiprocess,
)
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector

from onboarding.settings import Settings

log = logging.getLogger("onboarding.metrics")

# End of the caller's speech → first agent audio: ≈0.4 s with instant models, seconds with a slow cloud hop.
VOICE_TO_VOICE_BUCKETS = (0.3, 0.4, 0.5, 0.6, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0)

# registry=None: each process registers only its own metrics (see worker_registry / dashboard_registry)
ACTIVE_SESSIONS = Gauge("onboarding_active_sessions", "Voice calls in progress on this worker",
                        registry=None, multiprocess_mode="livesum")
REST_SESSIONS_ACTIVE = Gauge("onboarding_rest_sessions_active", "REST push-to-talk calls in progress",
                             registry=None, multiprocess_mode="livesum")
SESSIONS_TOTAL = Counter("onboarding_sessions_total", "Calls ended, by outcome", ["status"], registry=None)
TURNS_TOTAL = Counter("onboarding_turns_total", "Turns stored, by speaker", ["role"], registry=None)
VOICE_TO_VOICE_SECONDS = Histogram(
    "onboarding_voice_to_voice_seconds", "End of the caller's speech to the agent's first audio (livekit e2e_latency)",
    buckets=VOICE_TO_VOICE_BUCKETS, registry=None)
PROVIDER_ERRORS = Counter("onboarding_provider_errors_total", "Errors reported by a cloud provider",
                          ["kind", "provider"], registry=None)
PROVIDER_FALLBACKS = Counter("onboarding_provider_fallbacks_total", "Calls switched to the local provider",
                             ["kind"], registry=None)
DB_WRITE_FAILURES = Counter("onboarding_db_write_failures_total", "Attempts to write a call's records that failed",
                            registry=None)
HTTP_REQUESTS = Counter("onboarding_http_requests_total", "Dashboard HTTP requests, by route template and status",
                        ["route", "status"], registry=None)

# the usage page's month-end forecast against MONTHLY_BUDGET (refreshed by the dashboard's console loop)
MONTH_COST_FORECAST = Gauge("onboarding_month_cost_forecast",
                            "This month's cost at month end at the current rate (pricing.toml display currency)",
                            registry=None)
MONTH_BUDGET = Gauge("onboarding_month_budget", "MONTHLY_BUDGET in the display currency (0 = no budget)",
                     registry=None)
BUDGET_FORECAST_EXCEEDED = Gauge("onboarding_budget_forecast_exceeded",
                                 "1 when the month-end cost forecast passes MONTHLY_BUDGET", registry=None)

SHARED: tuple[Collector, ...] = (SESSIONS_TOTAL, TURNS_TOTAL, DB_WRITE_FAILURES)
WORKER_ONLY: tuple[Collector, ...] = (ACTIVE_SESSIONS, VOICE_TO_VOICE_SECONDS, PROVIDER_ERRORS, PROVIDER_FALLBACKS)
DASHBOARD_ONLY: tuple[Collector, ...] = (HTTP_REQUESTS, REST_SESSIONS_ACTIVE, MONTH_COST_FORECAST, MONTH_BUDGET,
                                         BUDGET_FORECAST_EXCEEDED)
RUNTIME = (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR)


# --- recording (called by the recorder and the provider monitor) --------------------------------
def session_opened(mode: str) -> None:
    (REST_SESSIONS_ACTIVE if mode == "rest" else ACTIVE_SESSIONS).inc()


def session_closed(mode: str, status: str) -> None:
    (REST_SESSIONS_ACTIVE if mode == "rest" else ACTIVE_SESSIONS).dec()
    SESSIONS_TOTAL.labels(status).inc()


def turn_stored(role: str) -> None:
    TURNS_TOTAL.labels(role).inc()


def voice_to_voice(seconds: float | None) -> None:
    if seconds is not None and seconds >= 0:
        VOICE_TO_VOICE_SECONDS.observe(seconds)


def db_write_failed() -> None:
    """One attempt to write a call's records failed (the writer retries it, or sets it aside)."""
    DB_WRITE_FAILURES.inc()


def budget(forecast: float, monthly_budget: float | None) -> None:
    MONTH_COST_FORECAST.set(forecast)
    MONTH_BUDGET.set(monthly_budget or 0)
    BUDGET_FORECAST_EXCEEDED.set(1 if monthly_budget and forecast > monthly_budget else 0)


def provider_error(kind: str, provider: str) -> None:
    PROVIDER_ERRORS.labels(kind, provider).inc()


def provider_fallback(kind: str) -> None:
    PROVIDER_FALLBACKS.labels(kind).inc()


# --- registries -----------------------------------------------------------------------------------
def _registry(collectors: Iterable[Collector]) -> CollectorRegistry:
    registry = CollectorRegistry()
    for collector in (*collectors, *RUNTIME):
        registry.register(collector)
    return registry


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


# prometheus-client's own file names in PROMETHEUS_MULTIPROC_DIR: <type>[_<gauge mode>]_<pid>.db. Anything else in
# the folder (a database someone keeps there) is never read, never deleted.
_GAUGE_MODES = "|".join(sorted(Gauge._MULTIPROC_MODES))
_OWN_FILE = re.compile(rf"^(?:counter|histogram|summary|gauge_(?:{_GAUGE_MODES}))_(\d+)\.db$")


def prometheus_files(path: str) -> dict[str, int]:
    """prometheus-client's files in the folder, with the pid each belongs to."""
    try:
        names = os.listdir(path)
    except FileNotFoundError:
        return {}
    return {os.path.join(path, name): int(match.group(1)) for name in names if (match := _OWN_FILE.match(name))}


def _sized(path: str) -> bool:
    """A job process creates its file empty, then sizes it (prometheus-client's MmapedDict: open, then
    truncate): read in between, the empty file fails the whole scrape. Files only ever grow, so one seen
    with its 8-byte header is safe to read."""
    try:
        return os.path.getsize(path) >= 8
    except FileNotFoundError:  # a live gauge of a process marked dead since the listing
        return False


class _LiveJobProcesses(multiprocess.MultiProcessCollector):
    """Sums the job processes' files; a process that died mid-call no longer counts as an active session."""

    def collect(self) -> Iterable[Any]:
        for path, pid in prometheus_files(self._path).items():
            if os.path.basename(path).startswith("gauge_live") and not _alive(pid):
                with contextlib.suppress(FileNotFoundError):  # two scrapes at once: the other removed it first
                    multiprocess.mark_process_dead(pid, self._path)
        return self.merge([path for path in prometheus_files(self._path) if _sized(path)], accumulate=True)


def _remove_files_of_earlier_runs(path: str) -> None:
    """At worker start no job process runs yet: every metrics file not of this process is left from an earlier
    run. Only prometheus-client's own files go (a database in the same folder stays)."""
    for stale, pid in prometheus_files(path).items():
        if pid != os.getpid():
            os.remove(stale)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_registry() -> CollectorRegistry:
    if multiprocess_dir():
        registry = CollectorRegistry()
        _LiveJobProcesses(registry)
        return registry
    return _registry((*SHARED, *WORKER_ONLY))


@lru_cache
def dashboard_registry() -> CollectorRegistry:
    return _registry((*SHARED, *DASHBOARD_ONLY))


# --- worker: its own HTTP port ----------------------------------------------------------------------
def serve_worker_metrics(settings: Settings) -> str | None:
    """Start the worker's /metrics server; its URL, or None when off or the port is taken (calls go on)."""
    if settings.worker_metrics_port == 0:
        log.info("worker metrics off (WORKER_METRICS_PORT=0)")
        return None
    if multiprocess_dir():
        _remove_files_of_earlier_runs(multiprocess_dir())
    elif settings.job_executor == "process":
        log.warning("JOB_EXECUTOR=process: calls run in job processes this port cannot see; set "
                    "PROMETHEUS_MULTIPROC_DIR to a directory of its own to export their metrics")
    host, port = settings.worker_metrics_host, settings.worker_metrics_port
    try:
        _serve_guarded(settings, host, port, worker_registry())
    except OSError as exc:
        log.error("worker metrics not served: cannot listen on %s:%s (%s) — set WORKER_METRICS_PORT to a free "
                  "port, or 0 for none", host, port, exc)
        return None
    url = f"http://{host}:{port}/metrics"
    log.info("worker metrics at %s", url)
    return url


# --- dashboard: middleware and GET /metrics -------------------------------------------------------
def route_template(scope: dict[str, Any]) -> str:
    """The matched route's template (mount prefix included), never the raw path: bounded label values."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return "unmatched"
    prefix = scope.get("root_path", "") or ""
    if getattr(route, "routes", None) is not None:  # a mount whose app matched nothing inside (e.g. a 404)
        return f"{prefix or path}/*"
    return f"{prefix}{path}" or "/"


class HttpMetricsMiddleware:
    """Counts every HTTP request by route template and status; an exception counts as a 500."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_and_note_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            HTTP_REQUESTS.labels(route_template(scope), str(status)).inc()


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def refusal_for(settings: Settings, headers: Mapping[str, str], client_host: str | None) -> tuple[int, str] | None:
    """Why a scrape with these (lower-case) headers from this address is refused, or None.

    With METRICS_TOKEN set, a scraper sends `Authorization: Bearer <token>`. Without it the endpoint answers
    only this machine, and not through a proxy on it (which would add X-Forwarded-For / Forwarded).
    """
    if settings.metrics_token:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), settings.metrics_token.encode()):
            return None
        return 401, "send 'Authorization: Bearer <METRICS_TOKEN>' to read the metrics"
    proxied = "x-forwarded-for" in headers or "forwarded" in headers
    if _is_loopback(client_host) and not proxied:
        return None
    return 403, "metrics answer only this machine: set METRICS_TOKEN to let a Prometheus elsewhere scrape them"


def scrape_refusal(settings: Settings, request: Request) -> tuple[int, str] | None:
    """The dashboard's GET /metrics: `refusal_for` the request."""
    return refusal_for(settings, request.headers, request.client.host if request.client else None)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line each."""


def _guarded_app(settings: Settings, registry: CollectorRegistry) -> Callable[..., Iterable[bytes]]:
    """prometheus-client's WSGI app behind the same check as the dashboard's /metrics."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        refusal = refusal_for(settings, headers, environ.get("REMOTE_ADDR"))
        if refusal is None:
            return metrics(environ, start_response)
        status, detail = refusal
        extra = [("WWW-Authenticate", "Bearer")] if status == 401 else []
        start_response(f"{status} {'Unauthorized' if status == 401 else 'Forbidden'}",
                       [("Content-Type", "text/plain; charset=utf-8"), *extra])
        return [f"{detail}\n".encode()]

    return app


def _serve_guarded(settings: Settings, host: str, port: int, registry: CollectorRegistry) -> None:
    class Server(ThreadingWSGIServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    httpd = make_server(host, port, _guarded_app(settings, registry), Server, handler_class=_QuietHandler)
    threading.Thread(target=httpd.serve_forever, name="worker-metrics", daemon=True).start()


def install_dashboard_metrics(app: FastAPI, settings: Settings) -> None:
    """Count the app's requests and serve GET /metrics (add before Gradio's catch-all mount at "/")."""
    app.add_middleware(HttpMetricsMiddleware)
    registry = dashboard_registry()

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint(request: Request) -> Response:
        refusal = scrape_refusal(settings, request)
        if refusal is not None:
            status, detail = refusal
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return Response(f"{detail}\n", status_code=status, media_type="text/plain", headers=headers)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
