"""Prometheus metrics: scraped from the real worker and dashboard during real calls, and the /metrics guard."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import secrets
import sqlite3
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import generate_latest

from harness.personas import PERSONAS
from harness.scrape import Scrape, scrape, wait_for_scrape
from harness.simcaller import CallScript, SimCaller
from harness.testbed import Dashboard, settled_call, stack_settings, start_worker
from models import CallSession, Profile
from onboarding.db import get_engine, session_scope
from onboarding.metrics import _remove_files_of_earlier_runs as remove_files_of_earlier_runs
from onboarding.metrics import (
    dashboard_registry,
    install_dashboard_metrics,
    prometheus_files,
    serve_worker_metrics,
    worker_registry,
)
from onboarding.multiproc import OWN_FOLDER, own_multiprocess_dir
from onboarding.ops.processes import free_port
from onboarding.recorder import CallRecorder
from onboarding.settings import Settings
from onboarding.storage.registry import writer_for

ACTIVE, SESSIONS, TURNS = "onboarding_active_sessions", "onboarding_sessions_total", "onboarding_turns_total"
V2V_COUNT, V2V_SUM = "onboarding_voice_to_voice_seconds_count", "onboarding_voice_to_voice_seconds_sum"
HTTP, REST_ACTIVE = "onboarding_http_requests_total", "onboarding_rest_sessions_active"
DB_FAILURES = "onboarding_db_write_failures_total"


def worker_metrics_url(stack: Settings) -> str:
    return f"http://127.0.0.1:{stack.worker_metrics_port}/metrics"


@pytest.mark.slow
async def test_worker_and_dashboard_metrics_move_during_a_voice_call(stack: Settings, dashboard: Dashboard) -> None:
    worker_url, dashboard_url = worker_metrics_url(stack), f"{dashboard.url}/metrics"
    worker_before = await asyncio.to_thread(scrape, worker_url)
    dashboard_before = await asyncio.to_thread(scrape, dashboard_url)

    async with httpx.AsyncClient(base_url=dashboard.url, timeout=30) as client:
        issued = (await client.post("/api/livekit/token", json={"participantName": "Metrics Caller"})).json()
        unknown_path = f"/no-such-page-{secrets.token_hex(4)}"
        assert (await client.get(unknown_path)).status_code == 404

    # A short call: the name, "Yes." to its read-back, then hang up once the agent answers.
    script = CallScript(answers=PERSONAS[0].answers[:2], hang_up_after=2)
    call = asyncio.create_task(SimCaller(stack, script).run(issued["token"], issued["roomName"]))

    def mid_call(page: Scrape) -> bool:  # the gauge is up only while the call runs
        return (page.value(ACTIVE) >= worker_before.value(ACTIVE) + 1
                and page.value(TURNS, role="user") > worker_before.value(TURNS, role="user")
                and page.value(V2V_COUNT) > worker_before.value(V2V_COUNT))

    try:
        during = await wait_for_scrape(worker_url, mid_call, "an active session, a caller turn and a latency", 120)
        dashboard_during = await asyncio.to_thread(scrape, dashboard_url)
    finally:
        result = await call
    assert during.value(TURNS, role="agent") > worker_before.value(TURNS, role="agent")  # greeting, read-back
    # the dashboard counted the token request under its route template, and the unknown path not by its name
    token_route = {"route": "/api/livekit/token", "status": "200"}
    assert dashboard_during.value(HTTP, **token_route) == dashboard_before.value(HTTP, **token_route) + 1
    routes = dashboard_during.label_values(HTTP, "route")
    assert "/metrics" in routes and not any(unknown_path in route for route in routes), routes

    after = await wait_for_scrape(
        worker_url, lambda p: p.value(SESSIONS, status="abandoned") == worker_before.value(SESSIONS, status="abandoned")
        + 1 and p.value(ACTIVE) == worker_before.value(ACTIVE), "the call counted as abandoned", 60)
    record = await settled_call(stack, result.room_name)
    assert record.call.status == "abandoned", record.call.status_reason
    for status in ("completed", "failed"):
        assert after.value(SESSIONS, status=status) == worker_before.value(SESSIONS, status=status)
    # every stored turn was counted once, and each agent reply's latency went into the histogram
    assert after.value(TURNS, role="user") - worker_before.value(TURNS, role="user") == len(record.user_turns) == 2
    assert after.value(TURNS, role="agent") - worker_before.value(TURNS, role="agent") == len(record.agent_turns)
    latencies = [t.e2e_latency for t in record.agent_turns if t.e2e_latency is not None]
    assert after.value(V2V_COUNT) - worker_before.value(V2V_COUNT) == len(latencies) >= 1
    assert after.value(V2V_SUM) - worker_before.value(V2V_SUM) == pytest.approx(sum(latencies), abs=1e-6)
    assert all(0.1 < latency < 10 for latency in latencies), latencies
    assert after.value(DB_FAILURES) == worker_before.value(DB_FAILURES)
    print(f"voice-to-voice latencies (s): {[round(x, 3) for x in latencies]}")


@pytest.mark.slow
async def test_rest_sessions_count_on_the_dashboard(dashboard: Dashboard) -> None:
    url = f"{dashboard.url}/metrics"
    before = await asyncio.to_thread(scrape, url)
    room = f"{dashboard.settings.room_prefix}metrics-{secrets.token_hex(4)}"
    async with httpx.AsyncClient(base_url=dashboard.url, timeout=120) as client:
        started = await client.post("/api/livekit/agent/start", json={"roomName": room})
        assert started.status_code == 200, started.text
        during = await asyncio.to_thread(scrape, url)
        assert during.value(REST_ACTIVE) == before.value(REST_ACTIVE) + 1
        assert during.value(TURNS, role="agent") == before.value(TURNS, role="agent") + 1  # the greeting
        completed = await client.post("/api/livekit/agent/complete", json={"roomName": room},
                                      headers={"Authorization": f"Bearer {started.json()['sessionToken']}"})
        assert completed.status_code == 200, completed.text
    after = await asyncio.to_thread(scrape, url)
    assert after.value(REST_ACTIVE) == before.value(REST_ACTIVE)
    assert after.value(SESSIONS, status="abandoned") == before.value(SESSIONS, status="abandoned") + 1
    assert after.value(HTTP, route="/api/livekit/agent/start", status="200") == \
        before.value(HTTP, route="/api/livekit/agent/start", status="200") + 1
    assert "onboarding_active_sessions" not in {name for name, _ in after.samples}  # a worker metric only


@pytest.mark.slow
async def test_process_executor_calls_are_summed_through_the_multiprocess_dir(
        livekit_server: Settings, tmp_path: Path, artifacts: Path) -> None:
    """JOB_EXECUTOR=process: the call runs in a job process; the worker's port serves its values all the same.

    The metrics folder is also where the SQLite database lives (PROMETHEUS_MULTIPROC_DIR pointed at data/): the
    worker keeps its metrics files in a subfolder of their own, whose files of earlier runs it clears (so does
    livekit-agents, which empties the folder it is given); the database beside it is never touched."""
    multiproc_dir = tmp_path / "data"
    database = multiproc_dir / "onboarding.db"
    settings = stack_settings(livekit_server, f"sqlite:///{database}", f"onboarding-metrics-process-{os.getpid()}")
    settings = settings.model_copy(update={"job_executor": "process"})
    get_engine(settings.database_url)
    (multiproc_dir / OWN_FOLDER).mkdir()
    stale = multiproc_dir / OWN_FOLDER / "counter_999999.db"  # left by an earlier run: unreadable, cleared at start
    stale.write_bytes(b"not a metrics file")
    worker = start_worker(settings, artifacts / "agent-worker-process.log", PROMETHEUS_MULTIPROC_DIR=str(multiproc_dir))
    try:
        url = worker_metrics_url(settings)
        before = await asyncio.to_thread(scrape, url)
        assert not stale.exists()
        with sqlite3.connect(database) as db:  # still the database the test made, schema and all
            assert db.execute("SELECT version_num FROM alembic_version").fetchall()
        script = CallScript(answers=PERSONAS[0].answers[:2], hang_up_after=2)
        call = asyncio.create_task(SimCaller(settings, script).run())
        try:
            await wait_for_scrape(url, lambda p: p.value(ACTIVE) == 1 and p.value(V2V_COUNT) >= 1,
                                  "an active session and a latency from the job process", 120)
        finally:
            result = await call
        after = await wait_for_scrape(
            url, lambda p: p.value(SESSIONS, status="abandoned") == 1 and p.value(ACTIVE) == 0,
            "the call counted as abandoned", 60)
        record = await settled_call(settings, result.room_name)
        assert before.value(TURNS, role="user") == 0
        assert after.value(TURNS, role="user") == len(record.user_turns) == 2
        assert after.value(TURNS, role="agent") == len(record.agent_turns)
        assert database.exists() and record.call.mode == "voice"  # the call is in the database the folder holds
    finally:
        worker.stop()


def test_metrics_clean_up_removes_only_prometheus_files(tmp_path: Path) -> None:
    """prometheus-client's own names (<type>[_<mode>]_<pid>.db) of other processes go; a database, a file that
    only looks similar and this process's own files stay; the collector reads only the metrics files."""
    decoy = tmp_path / "onboarding.db"
    with sqlite3.connect(decoy) as db:
        db.execute("CREATE TABLE callsession (id INTEGER PRIMARY KEY)")
        db.execute("INSERT INTO callsession VALUES (1)")
    stale = [tmp_path / name for name in ("counter_4242.db", "gauge_livesum_4242.db", "gauge_all_7.db",
                                          "histogram_4242.db", "summary_4242.db")]
    kept = [decoy, tmp_path / "counter_notes.db", tmp_path / "gauge_weird_4242.db", tmp_path / "backup_4242.db",
            tmp_path / f"counter_{os.getpid()}.db"]
    for path in [*stale, *kept[1:]]:
        path.write_bytes(b"")
    remove_files_of_earlier_runs(str(tmp_path))  # what serve_worker_metrics does first (the slow test above)
    assert [p.name for p in stale if p.exists()] == []
    assert [p.name for p in kept if not p.exists()] == []
    with sqlite3.connect(decoy) as db:
        assert db.execute("SELECT id FROM callsession").fetchall() == [(1,)]
    assert set(prometheus_files(str(tmp_path))) == {str(tmp_path / f"counter_{os.getpid()}.db")}


def _count_one_user_turn() -> None:
    """A job process's share: one stored caller turn, into its own file in PROMETHEUS_MULTIPROC_DIR."""
    from onboarding.metrics import turn_stored
    turn_stored("user")


def test_a_job_process_file_not_yet_sized_does_not_fail_the_scrape(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A job process opens its metrics file before it sizes it; a scrape in between once answered 500 (CI).
    Now that file is passed over and the other processes' values are still summed."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    job = multiprocessing.get_context("spawn").Process(target=_count_one_user_turn)
    job.start()
    job.join(60)
    assert job.exitcode == 0
    (tmp_path / "counter_999999.db").write_bytes(b"")  # a process between open() and truncate()
    page = Scrape.parse(generate_latest(worker_registry()).decode())
    assert page.value(TURNS, role="user") == 1.0


def metrics_app(settings: Settings) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    install_dashboard_metrics(app, settings)
    return app


async def get(app: FastAPI, path: str, client_host: str, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(client_host, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://dashboard.test") as client:
        return await client.get(path, headers=headers)


async def test_metrics_answer_only_this_machine_without_a_token() -> None:
    app = metrics_app(Settings(_env_file=None))
    assert (await get(app, "/metrics", "127.0.0.1")).status_code == 200
    assert (await get(app, "/metrics", "::1")).status_code == 200
    remote = await get(app, "/metrics", "203.0.113.7")
    assert remote.status_code == 403 and "METRICS_TOKEN" in remote.text
    proxied = await get(app, "/metrics", "127.0.0.1", {"X-Forwarded-For": "203.0.113.7"})
    assert proxied.status_code == 403


async def test_metrics_token_is_required_from_everyone_once_set() -> None:
    token = secrets.token_urlsafe(24)
    app = metrics_app(Settings(_env_file=None, metrics_token=token))
    for headers in (None, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
        refused = await get(app, "/metrics", "127.0.0.1", headers)
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    allowed = await get(app, "/metrics", "203.0.113.7", {"Authorization": f"Bearer {token}"})
    assert allowed.status_code == 200 and "onboarding_http_requests_total" in allowed.text


async def test_requests_are_counted_by_route_template() -> None:
    app = metrics_app(Settings(_env_file=None))
    before = Scrape.parse((await get(app, "/metrics", "127.0.0.1")).text)
    for item_id in (1, 2, 3):
        assert (await get(app, f"/items/{item_id}", "127.0.0.1")).status_code == 200
    assert (await get(app, "/items/not-a-number", "127.0.0.1")).status_code == 422
    after = Scrape.parse((await get(app, "/metrics", "127.0.0.1")).text)
    assert after.value(HTTP, route="/items/{item_id}", status="200") - \
        before.value(HTTP, route="/items/{item_id}", status="200") == 3
    assert after.value(HTTP, route="/items/{item_id}", status="422") - \
        before.value(HTTP, route="/items/{item_id}", status="422") == 1
    assert not any(route.startswith("/items/") and "{" not in route for route in after.label_values(HTTP, "route"))


def test_a_failed_database_write_is_counted(tmp_path: Path) -> None:
    """A turn for a call row that is gone breaks the foreign key: the write fails, is counted, and is set aside
    (the call's door never sees the error: the recorder writes from its own thread)."""
    url = f"sqlite:///{tmp_path / 'calls.db'}"
    recorder = CallRecorder(url, room_name="onboarding-db-failure")
    assert recorder.flush()
    with session_scope(url) as db:
        db.delete(db.get(Profile, recorder.profile_id))
        db.flush()
        db.delete(db.get(CallSession, recorder.session_id))
    registry = dashboard_registry()  # the recorder's counters are on the dashboard's registry too
    before = registry.get_sample_value(DB_FAILURES)
    recorder.add_turn("user", "hello")
    assert recorder.flush()  # handled: refused, not retried forever
    assert "FOREIGN KEY" in writer_for(url).last_rejection
    assert registry.get_sample_value(DB_FAILURES) == before + 1


def get_worker_metrics(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(url, headers=headers, timeout=10)


def test_the_worker_metrics_port_answers_like_the_dashboard() -> None:
    """The worker's own HTTP server: bearer METRICS_TOKEN once set, else this machine only (not through a proxy)."""
    token = secrets.token_urlsafe(24)
    guarded = serve_worker_metrics(Settings(_env_file=None, worker_metrics_port=free_port(), metrics_token=token))
    for headers in (None, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
        refused = get_worker_metrics(guarded, headers)
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    allowed = get_worker_metrics(guarded, {"Authorization": f"Bearer {token}"})
    assert allowed.status_code == 200 and "onboarding_turns_total" in allowed.text
    local = serve_worker_metrics(Settings(_env_file=None, worker_metrics_port=free_port()))
    assert get_worker_metrics(local).status_code == 200
    proxied = get_worker_metrics(local, {"X-Forwarded-For": "203.0.113.7"})
    assert proxied.status_code == 403 and "METRICS_TOKEN" in proxied.text


@pytest.mark.slow
def test_a_real_worker_keeps_its_metrics_behind_the_token(livekit_server: Settings, tmp_path: Path,
                                                          artifacts: Path) -> None:
    settings = stack_settings(livekit_server, f"sqlite:///{tmp_path / 'calls.db'}",
                              f"onboarding-metrics-token-{os.getpid()}")
    token = secrets.token_urlsafe(24)
    worker = start_worker(settings, artifacts / "agent-worker-token.log", METRICS_TOKEN=token)
    try:
        url = worker_metrics_url(settings)
        assert get_worker_metrics(url).status_code == 401
        assert scrape(url, token).value(TURNS, role="user") == 0  # the metric names are unchanged
    finally:
        worker.stop()
def test_the_worker_keeps_its_metrics_files_in_a_folder_of_their_own(tmp_path: Path) -> None:
    """livekit-agents empties the PROMETHEUS_MULTIPROC_DIR it is given: the worker hands it a subfolder instead."""
    assert own_multiprocess_dir({}) == {}
    change = own_multiprocess_dir({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    assert change == {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / OWN_FOLDER)} and (tmp_path / OWN_FOLDER).is_dir()
    assert own_multiprocess_dir(change) == change  # a job process inheriting it keeps it
