"""Who can take a call: every agent worker's calls and capacity, kept in the database.

LiveKit's server API lists no workers and no loads, so each worker writes its own row (`WorkerStatus`) every few
seconds from its main process; the rows are the one place the dashboard (token route, rooms page) and doctor learn
the capacity of every worker on every machine. A row not refreshed for `STALE_AFTER_SECONDS` is a worker that
stopped. When at least one worker is alive and none has a free slot, the token route answers 503 with
Retry-After and the widget tells the caller, then tries again; with no row at all nothing is known and tokens are
issued as before (a worker without a database, or none started yet).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import delete, select

from models import WorkerStatus
from onboarding.db import session_scope
from onboarding.settings import Settings

log = logging.getLogger("onboarding.capacity")
REPORT_EVERY_SECONDS = 1.0  # a change of load is written within this
REFRESH_EVERY_SECONDS = 5.0  # an unchanged row is rewritten this often, so it is never taken for a dead worker
STALE_AFTER_SECONDS = 15.0
# livekit-agents tells LiveKit its load every 2.5 s, and LiveKit drops a job it routes to a worker it still thinks
# full: a freed slot is offered to callers only once LiveKit has heard of it
FREED_SLOT_HOLD_SECONDS = 3.5


@dataclass(frozen=True)
class WorkerLoad:
    worker_id: str
    agent_name: str
    active_jobs: int
    max_jobs: int
    host: str = ""
    executor: str = ""
    seen_at: datetime | None = None

    @property
    def free(self) -> int:
        return max(0, self.max_jobs - self.active_jobs)


@dataclass(frozen=True)
class Availability:
    workers: list[WorkerLoad]

    @property
    def known(self) -> bool:
        return bool(self.workers)

    @property
    def free(self) -> int:
        return sum(w.free for w in self.workers)

    @property
    def busy(self) -> bool:
        """Every live worker is full. Unknown (no worker row) is not busy: nothing says so."""
        return self.known and self.free == 0


class ShownCalls:
    """The calls a worker's row shows: one more at once, one fewer only FREED_SLOT_HOLD_SECONDS after it ended."""

    def __init__(self, hold: float = FREED_SLOT_HOLD_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.hold, self.clock = hold, clock
        self.shown = 0
        self._fewer_since: float | None = None

    def __call__(self, active: int) -> int:
        if active >= self.shown:
            self.shown, self._fewer_since = active, None
        elif self._fewer_since is None:
            self._fewer_since = self.clock()
        elif self.clock() - self._fewer_since >= self.hold:
            self.shown, self._fewer_since = active, None
        return self.shown


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def report(db_url: str, load: WorkerLoad, started_at: datetime) -> None:
    with session_scope(db_url) as db:
        row = db.get(WorkerStatus, load.worker_id) or WorkerStatus(worker_id=load.worker_id, started_at=started_at)
        row.agent_name, row.host, row.executor = load.agent_name, load.host, load.executor
        row.active_jobs, row.max_jobs, row.seen_at = load.active_jobs, load.max_jobs, datetime.now(UTC)
        db.add(row)


def forget(db_url: str, worker_id: str) -> None:
    with session_scope(db_url) as db:
        db.exec(delete(WorkerStatus).where(WorkerStatus.worker_id == worker_id))


def live_workers(db_url: str, agent_name: str, now: datetime | None = None) -> list[WorkerLoad]:
    """Workers of this agent seen within STALE_AFTER_SECONDS, in order of their id."""
    oldest = (now or datetime.now(UTC)) - timedelta(seconds=STALE_AFTER_SECONDS)
    with session_scope(db_url) as db:
        rows = db.exec(select(WorkerStatus).where(WorkerStatus.agent_name == agent_name)
                       .order_by(WorkerStatus.worker_id)).all()
    return [WorkerLoad(r.worker_id, r.agent_name, r.active_jobs, r.max_jobs, r.host, r.executor, _aware(r.seen_at))
            for r in rows if _aware(r.seen_at) >= oldest]


def availability(settings: Settings) -> Availability:
    """The live workers of AGENT_NAME; a database that cannot be read counts as unknown (logged, not busy)."""
    try:
        return Availability(live_workers(settings.database_url, settings.agent_name))
    except Exception as exc:  # the token route must not fail because the capacity table could not be read
        log.warning("worker capacity unknown: %s", type(exc).__name__)
        return Availability([])


async def report_forever(db_url: str, current: Callable[[], WorkerLoad | None]) -> None:
    """The worker's main process: write its row when its load changes (and every REFRESH_EVERY_SECONDS)."""
    started_at, written, last_write, worker_id = datetime.now(UTC), None, 0.0, None
    loop = asyncio.get_running_loop()
    try:
        while True:
            load = current()
            if load is not None and (load != written or loop.time() - last_write >= REFRESH_EVERY_SECONDS):
                try:
                    await asyncio.to_thread(report, db_url, load, started_at)
                    written, last_write, worker_id = load, loop.time(), load.worker_id
                except Exception as exc:
                    log.warning("could not record this worker's load: %s", type(exc).__name__)
            await asyncio.sleep(REPORT_EVERY_SECONDS)  # poll interval of the worker's own job count
    finally:
        if worker_id is not None:
            try:
                await asyncio.to_thread(forget, db_url, worker_id)
            except Exception:
                log.warning("could not remove this worker's capacity row")


def this_host() -> str:
    return socket.gethostname()
