"""Capacity you can see: workers' rows, the token route's busy answer, the rooms page's worker table and doctor's
capacity line, on a real SQLite database and the real router (the real worker's rows: test_density.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from harness.testbed import rest_app
from models import WorkerStatus
from onboarding.admin.rooms import list_workers
from onboarding.capacity import STALE_AFTER_SECONDS, ShownCalls, WorkerLoad, availability, forget, live_workers, report
from onboarding.db import session_scope
from onboarding.ops.capacity_check import capacity_check
from onboarding.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'capacity.db'}", agent_name="onboarding",
                    busy_retry_seconds=7)


def worker(worker_id: str, active: int, capacity: int, agent: str = "onboarding") -> WorkerLoad:
    return WorkerLoad(worker_id, agent, active, capacity, "host-a", "process")


def test_rows_are_written_replaced_and_forgotten(settings: Settings) -> None:
    started = datetime.now(UTC)
    report(settings.database_url, worker("AW_1", 0, 3), started)
    report(settings.database_url, worker("AW_1", 2, 3), started)
    report(settings.database_url, worker("AW_2", 1, 1, agent="other-agent"), started)
    [only] = live_workers(settings.database_url, "onboarding")
    assert (only.worker_id, only.active_jobs, only.free) == ("AW_1", 2, 1)
    forget(settings.database_url, "AW_1")
    assert live_workers(settings.database_url, "onboarding") == []


def test_busy_only_when_every_live_worker_is_full(settings: Settings) -> None:
    assert not availability(settings).busy and not availability(settings).known  # nothing known: not busy
    started = datetime.now(UTC)
    report(settings.database_url, worker("AW_1", 3, 3), started)
    assert availability(settings).busy
    report(settings.database_url, worker("AW_2", 0, 2), started)
    assert not availability(settings).busy and availability(settings).free == 2
    with session_scope(settings.database_url) as db:  # AW_2 stopped writing: a dead worker is no capacity
        row = db.exec(select(WorkerStatus).where(WorkerStatus.worker_id == "AW_2")).one()
        row.seen_at = datetime.now(UTC) - timedelta(seconds=STALE_AFTER_SECONDS + 1)
        db.add(row)
    assert availability(settings).busy


def test_a_freed_slot_is_shown_once_livekit_knows_of_it() -> None:
    now = [100.0]
    shown = ShownCalls(hold=3.5, clock=lambda: now[0])
    assert shown(1) == 1 and shown(2) == 2  # a new call counts at once
    assert shown(1) == 2  # one ended: LiveKit hears of it at the worker's next status (every 2.5 s)
    now[0] += 2.0
    assert shown(1) == 2 and shown(2) == 2  # back up before the hold ended
    assert shown(1) == 2
    now[0] += 3.5
    assert shown(1) == 1 and shown(0) == 1
    now[0] += 3.5
    assert shown(0) == 0


def test_an_unreadable_database_is_unknown_not_busy(tmp_path: Path) -> None:
    broken = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}")
    (tmp_path / "no").write_text("a file where a directory should be")
    assert not availability(broken).busy


async def post_token(settings: Settings) -> httpx.Response:
    transport = httpx.ASGITransport(app=rest_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://dashboard.test") as client:
        return await client.post("/api/livekit/token", json={"participantName": "Maria"})


async def test_the_token_route_says_busy_with_retry_after_then_issues(settings: Settings) -> None:
    started = datetime.now(UTC)
    report(settings.database_url, worker("AW_1", 1, 1), started)
    busy = await post_token(settings)
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "7"
    assert busy.json() == {"detail": "all agents are busy: try again in 7 s"}
    report(settings.database_url, worker("AW_1", 0, 1), started)  # the call ended
    issued = await post_token(settings)
    assert issued.status_code == 200 and issued.json()["roomName"].startswith(settings.room_prefix)


def test_the_rooms_page_shows_sessions_against_capacity(settings: Settings) -> None:
    assert "No agent worker has reported" in list_workers(settings).banner
    started = datetime.now(UTC)
    report(settings.database_url, worker("AW_1", 2, 3), started)
    report(settings.database_url, worker("AW_2", 3, 3), started)
    listing = list_workers(settings)
    assert [row[:6] for row in listing.rows] == [["AW_1", "host-a", "process", 2, 3, 1],
                                                ["AW_2", "host-a", "process", 3, 3, 0]]
    assert listing.banner == "5 of 6 call slots in use on 2 worker(s)"
    report(settings.database_url, worker("AW_1", 3, 3), started)
    assert "every worker is full" in list_workers(settings).banner


def measured(tmp_path: Path, **sections) -> Path:
    path = tmp_path / "capacity.json"
    path.write_text(json.dumps(sections))
    return path


def test_doctor_compares_the_measured_capacity_with_max_jobs(settings: Settings, tmp_path: Path) -> None:
    cloud = settings.model_copy(update={"deepgram_api_key": "k", "eleven_api_key": "k", "max_jobs_per_worker": 30})
    path = measured(tmp_path, cloud={"calls_per_core": 10}, offline={"calls_per_worker": 5, "cores": 2})
    over = capacity_check(cloud, path, cores=2)
    assert over.status == "warn" and "measured 20 per worker" in over.what
    assert "MAX_JOBS_PER_WORKER=20" in over.fix
    assert capacity_check(cloud.model_copy(update={"max_jobs_per_worker": 20}), path, cores=2).status == "ok"
    offline = capacity_check(settings.model_copy(update={"max_jobs_per_worker": 3}), path, cores=4)
    assert offline.status == "ok" and "measured 10 per worker" in offline.what  # 5 on 2 cores, scaled to 4
    lk_cloud = cloud.model_copy(update={"livekit_url": "wss://demo.livekit.cloud", "livekit_api_key": "APIdemo",
                                        "livekit_api_secret": "s" * 32, "max_jobs_per_worker": 10})
    assert "Ship 20 = 2 worker(s)" in capacity_check(lk_cloud, path, cores=2).what
    missing = capacity_check(settings, tmp_path / "none.json")
    assert missing.status == "warn" and "make bench" in missing.fix


def test_doctor_counts_callers_dialling_together_and_names_the_figure_for_callers_arriving_apart(
        settings: Settings, tmp_path: Path) -> None:
    cloud = settings.model_copy(update={"deepgram_api_key": "k", "eleven_api_key": "k", "max_jobs_per_worker": 8})
    path = measured(tmp_path, cloud={"calls_per_core": 1, "calls_per_core_arriving_apart": 5},
                    offline={"calls_per_worker": 1, "calls_per_worker_arriving_apart": 1, "cores": 2})
    check = capacity_check(cloud, path, cores=2)
    assert check.status == "warn" and "measured 2 per worker" in check.what  # the worst case is the one used
    assert "5 per core when callers arrive a few seconds apart" in check.what
    offline = capacity_check(settings.model_copy(update={"max_jobs_per_worker": 1}), path, cores=2)
    assert "arrive" not in offline.what  # no more apart than together: nothing to add
