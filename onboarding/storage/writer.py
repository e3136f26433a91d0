"""The ordered writer of a process: call writes leave the caller's thread (a call's event loop) at once.

One `Writer` per database per process, two threads. `submit` only appends to a list and wakes them, so a door
never waits on the disk or the database and never sees their errors. The spooler thread puts what arrived into
the spool (fsync'd) within a millisecond, whatever the database does; the applier thread applies the spooled ops
to the database one at a time, in the order they were submitted.

A write that fails for a reason that passes (locked SQLite, a PostgreSQL restart, a full disk, a connection lost)
is retried with growing pauses, forever, its successors waiting behind it in the spool; one the database refuses
for good (a constraint: the call was deleted meanwhile) is counted, logged and set aside in a `rejected-*.jsonl`
file beside the spool, and the next goes on. Every CALL_HEARTBEAT_SECONDS the applier also touches the rows of
the calls in progress it writes for, so a reaper elsewhere can tell this process is alive. The threads end after
a minute with nothing to do and start again with the next write.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import update
from sqlmodel import Session

from models import CallSession, utcnow
from onboarding import metrics as prom
from onboarding.db import writer_engine
from onboarding.storage.errors import describe, is_transient
from onboarding.storage.ops import Applier, CallIds, Op, UnknownCall
from onboarding.storage.spool import Spool, url_tag

log = logging.getLogger("onboarding.storage")
IDLE_EXIT = 60.0  # seconds with nothing to do before the threads end
MAX_BACKOFF_SECONDS = 5.0


class CallInProgress(Protocol):
    """What the writer needs of a recorder to touch its row (the recorder is one)."""

    call_key: str
    started_at: Any
    session_id: int | None

    def usage_so_far(self) -> dict[str, Any] | None: ...


@dataclass
class Entry:
    op: Op
    ticket: int
    on_applied: Callable[[CallIds | None], None] | None = None  # None: the op was rejected
    on_durable: Callable[[], None] | None = None
    durable: bool = False

    def mark_durable(self) -> None:
        if not self.durable:
            self.durable = True
            if self.on_durable is not None:
                _safely(self.on_durable)


def _safely(callback: Callable[..., None], *args: Any) -> None:
    """A recorder's callback that raises must not stop the writer's threads."""
    try:
        callback(*args)
    except Exception:
        log.exception("call writer callback failed")


class Writer:
    def __init__(self, db_url: str, spool_dir: Path, heartbeat_seconds: float) -> None:
        self.db_url, self.spool_dir, self.heartbeat_seconds = db_url, spool_dir, heartbeat_seconds
        self.healthy = True  # the last database attempt succeeded
        self.last_rejection: str | None = None  # why the latest refused write was refused
        self._cond = threading.Condition()  # guards everything below; never held during file or database I/O
        self._spool_lock = threading.Lock()  # one append (or reset) of the spool file at a time, in order
        self._queue: list[Entry] = []  # submitted, not yet in the spool
        self._pending: deque[Entry] = deque()  # in the spool (or, without one, in memory), not yet applied
        self._calls: dict[str, CallInProgress] = {}
        self._tickets = 0
        self._done = 0  # every ticket up to this one is applied or refused
        self._spool: Spool | None = None
        self._spool_broken = False
        self._threads: dict[str, threading.Thread] = {}
        self._applier = Applier()
        self._retry_at = self._backoff = self._next_heartbeat = 0.0
        self._failed_since = 0.0
        self._failures = 0  # failed attempts so far
        self._last_work = time.monotonic()

    # --- the doors' side (any thread; waits on neither the disk nor the database) -------------------
    def submit(self, op: Op, *, on_applied: Callable[[CallIds | None], None] | None = None,
               on_durable: Callable[[], None] | None = None) -> int:
        with self._cond:
            self._tickets += 1
            self._queue.append(Entry(op, self._tickets, on_applied, on_durable))
            self._last_work = time.monotonic()
            self._ensure_threads()
            self._cond.notify_all()
            return self._tickets

    def track(self, call: CallInProgress) -> None:
        with self._cond:
            self._calls[call.call_key] = call

    def untrack(self, call_key: str) -> None:
        with self._cond:
            self._calls.pop(call_key, None)

    def wait(self, ticket: int, timeout: float, *, give_up_if_failing: bool = False) -> bool:
        """True once the op with this ticket (and every one before it) is applied; False at the timeout, or, with
        `give_up_if_failing`, as soon as an attempt made while waiting fails (the op is safe in the spool). A
        database already failing gets one attempt now rather than after the pause between retries."""
        deadline = time.monotonic() + timeout
        with self._cond:
            failures, poked = self._failures, False
            while self._done < ticket:
                if give_up_if_failing and not self.healthy:
                    if self._failures > failures:
                        return False
                    if not poked:
                        self._retry_at, poked = 0.0, True
                        self._cond.notify_all()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def wait_all(self, timeout: float, *, give_up_if_failing: bool = False) -> bool:
        """`wait` for everything submitted so far."""
        with self._cond:
            ticket = self._tickets
        return self.wait(ticket, timeout, give_up_if_failing=give_up_if_failing)

    def make_durable(self) -> bool:
        """Every op submitted so far on disk when this returns (for a process about to exit). True when all of
        them are in the spool or the database."""
        self._spool_queued()
        with self._cond:
            return all(entry.durable for entry in self._pending)

    def close_spool(self) -> None:
        """At process exit: an empty spool file is removed; one with writes left stays for adoption."""
        with self._spool_lock, self._cond:
            if self._spool is not None:
                self._spool.close()
                self._spool = None
            self._spool_broken = True  # nothing may reopen one now

    def forget_in_child(self) -> None:
        """In a forked child: let go of the parent's spool file (its threads did not come along)."""
        if self._spool is not None:
            self._spool.forget_in_child()

    @property
    def spool_path(self) -> Path | None:
        return self._spool.path if self._spool is not None else None

    # --- two threads: the spooler (memory → disk) and the applier (disk → database) ----------------
    def _ensure_threads(self) -> None:
        for role, target in (("spooler", self._spool_loop), ("applier", self._apply_loop)):
            thread = self._threads.get(role)
            if thread is None or not thread.is_alive():
                thread = threading.Thread(target=target, name=f"call-{role}-{url_tag(self.db_url)}", daemon=True)
                self._threads[role] = thread
                thread.start()

    def _idle(self, now: float) -> bool:
        """Nothing to do for a while (holding the lock): the threads end; the next submit starts them again."""
        return not self._queue and not self._pending and not self._calls and now - self._last_work > IDLE_EXIT

    def _spool_loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    if self._idle(time.monotonic()):
                        self._threads.pop("spooler", None)
                        return
                    self._cond.wait(IDLE_EXIT)
            self._spool_queued()

    def _spool_queued(self) -> None:
        """Move what was submitted into the spool (fsync'd), then hand it to the applier, in order."""
        with self._spool_lock:
            with self._cond:
                batch, self._queue = self._queue, []
            if not batch:
                return
            durable = self._append(batch)
            with self._cond:
                self._pending.extend(batch)
                self._cond.notify_all()
        if durable:
            for entry in batch:
                entry.mark_durable()

    def _append(self, batch: list[Entry]) -> bool:
        if self._spool is None and not self._spool_broken:
            try:
                self._spool = Spool(self.spool_dir, self.db_url)
            except OSError as error:
                self._spool_broken = True
                log.error("no spool: call writes wait in memory until the database takes them — check SPOOL_DIR",
                          extra={"spool_dir": str(self.spool_dir), "error": describe(error)})
        if self._spool is None:
            return False
        try:
            self._spool.append([entry.op for entry in batch])
            return True
        except OSError as error:  # a full disk: they wait in memory and go to the database when it can
            log.error("spool write failed, call writes wait in memory", extra={"error": describe(error)})
            return False

    def _apply_loop(self) -> None:
        while True:
            work = self._next_work()
            if work is None:
                return
            if work == "heartbeat":
                self._heartbeat()
            else:
                self._write(work)

    def _next_work(self) -> Entry | str | None:
        with self._cond:
            while True:
                now = time.monotonic()
                if self._pending and now >= self._retry_at:
                    return self._pending[0]
                if now >= self._next_heartbeat:
                    self._next_heartbeat = now + self.heartbeat_seconds
                    if self._calls and self.healthy:  # while failing, the retries probe the database
                        return "heartbeat"
                if self._idle(now):
                    self._threads.pop("applier", None)
                    break
                wake = min(self._next_heartbeat, self._last_work + IDLE_EXIT + 0.1)
                if self._pending:
                    wake = min(wake, self._retry_at)
                self._cond.wait(max(0.01, wake - now))
        with self._spool_lock, self._cond:  # retiring: the spool is empty; remove it (a new one comes with work)
            if self._spool is not None and not self._pending and not self._queue:
                self._spool.close()
                self._spool = None
        return None

    def _write(self, entry: Entry) -> None:
        try:
            with Session(writer_engine(self.db_url), expire_on_commit=False) as db:
                ids = self._applier.apply(db, entry.op)
                db.commit()
        except Exception as error:  # every failure is either retried or set aside, never raised
            prom.db_write_failed()
            if entry.op["op"] == "open":
                self._applier.forget(entry.op["call"])  # its ids were never committed
            if is_transient(error):
                self._failing(error)
                return
            self._reject(entry, error)
            ids = None
        else:
            self._recovered()
        entry.mark_durable()
        if entry.on_applied is not None:  # before waiters wake: the recorder's ids are set when `flush` returns
            _safely(entry.on_applied, ids)
        with self._spool_lock:
            with self._cond:
                self._pending.popleft()
                self._done = entry.ticket
                self._last_work = time.monotonic()
                drained = not self._pending and not self._queue
                self._cond.notify_all()
            if drained and self._spool is not None:
                try:
                    self._spool.reset()  # everything in it is in the database
                except OSError as error:
                    log.warning("spool not emptied", extra={"error": describe(error)})

    def _failing(self, error: BaseException) -> None:
        with self._cond:
            self._backoff = min(MAX_BACKOFF_SECONDS, self._backoff * 2 or 0.25)
            self._retry_at = time.monotonic() + self._backoff
            first, self.healthy = self.healthy, False
            self._failures += 1
            if first:
                self._failed_since = time.monotonic()
            self._cond.notify_all()  # waiters that give up on a failing database
        if first:
            log.warning("database write failed; call writes are kept in the spool and retried",
                        extra={"error": describe(error), "spool": str(self.spool_path)})

    def _recovered(self) -> None:
        if self.healthy:
            return
        with self._cond:
            self.healthy, self._backoff, self._retry_at = True, 0.0, 0.0
            down, waiting = time.monotonic() - self._failed_since, len(self._pending) - 1
        log.info("database writes resumed", extra={"after_s": round(down, 1), "waiting": waiting})

    def _reject(self, entry: Entry, error: BaseException) -> None:
        """A write the database will never take: kept aside for an operator, and out of the way of the others."""
        if isinstance(error, UnknownCall):
            self._applier.forget(entry.op.get("call", ""))
        log.error("call write refused by the database, set aside",
                  extra={"op": entry.op.get("op"), "call_key": entry.op.get("call"), "error": describe(error)})
        record = {"at": utcnow().isoformat(), "error": describe(error), "op": entry.op}
        try:
            self.spool_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = self.spool_dir / f"rejected-{url_tag(self.db_url)}.jsonl"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, (json.dumps(record, default=str) + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as write_error:
            log.error("could not keep the refused write", extra={"error": describe(write_error)})
        self.last_rejection = record["error"]

    def _heartbeat(self) -> None:
        """Touch each call in progress: still alive, and the usage so far (what a reaper keeps if we die)."""
        with self._cond:
            calls = [c for c in self._calls.values() if c.session_id is not None]
        if not calls:
            return
        now = utcnow()
        try:
            with Session(writer_engine(self.db_url)) as db:
                for call in calls:
                    values: dict[str, Any] = {"heartbeat_at": now,
                                              "agent_seconds": (now - call.started_at).total_seconds()}
                    values.update(call.usage_so_far() or {})
                    db.exec(update(CallSession).where(CallSession.id == call.session_id,
                                                      CallSession.status == "in_progress").values(**values))
                db.commit()
        except Exception as error:  # a missed heartbeat is retried at the next one
            log.debug("heartbeat not written", extra={"error": describe(error)})
