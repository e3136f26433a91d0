"""The housekeeping every worker and dashboard runs: lost calls closed, orphaned spools replayed, old transcripts
purged.

- A call whose writer stopped touching its row (`heartbeat_at`) for CALL_LOST_AFTER_SECONDS — its worker was
  SIGKILLed, ran out of memory, its dashboard crashed — is closed as `failed`, "worker lost", ended at its last
  stored turn, with the usage its last heartbeat wrote (agent time at least to that turn). One conditional
  UPDATE per call: when several reapers race, one wins and the others change nothing.
- The spool file of a process that is gone (its lock is free) is replayed in order and deleted, at start and
  on every round; replays are idempotent.
- With TRANSCRIPT_RETENTION_DAYS, the transcript of a call that ended longer ago is blanked: turn texts and the
  words each field value was heard in; the values, and their links to the turns, stay.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import update
from sqlmodel import Session, select

from models import CallSession, FieldValue, Profile, Turn, utcnow
from onboarding.db import session_scope, writer_engine
from onboarding.settings import Settings
from onboarding.storage.errors import describe, is_transient
from onboarding.storage.ops import WORKER_LOST, Applier, UnknownCall
from onboarding.storage.registry import all_writers
from onboarding.storage.spool import adopted, orphan_candidates

log = logging.getLogger("onboarding.storage")
PURGE_BATCH = 200


def reap_lost_calls(db_url: str, lost_after: float, now: datetime | None = None) -> list[int]:
    """Close the calls in progress whose writer went quiet; the ids this reaper closed."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=lost_after)
    quiet = sa.func.coalesce(CallSession.heartbeat_at, CallSession.started_at) < cutoff
    closed = []
    with session_scope(db_url) as db:
        candidates = db.exec(select(CallSession.id, CallSession.started_at, CallSession.agent_seconds,
                                    CallSession.room_name)
                             .where(CallSession.status == "in_progress", quiet).limit(100)).all()
        for session_id, started_at, agent_seconds, room in candidates:
            last_turn = db.exec(select(sa.func.max(Turn.created_at)).where(Turn.session_id == session_id)).one()
            ended = _aware(last_turn) or started_at
            seconds = max(agent_seconds or 0.0, (ended - started_at).total_seconds())
            result = db.exec(update(CallSession).where(CallSession.id == session_id,
                                                       CallSession.status == "in_progress", quiet)
                             .values(status="failed", status_reason=WORKER_LOST, ended_at=ended,
                                     agent_seconds=seconds))
            if result.rowcount == 1:
                closed.append(session_id)
                log.info("call closed: its worker is gone", extra={"room": room, "session_id": session_id,
                                                                   "status": "failed", "reason": WORKER_LOST})
    return closed


def _aware(moment: datetime | None) -> datetime | None:
    """An aggregate (max) comes back from SQLite as a naive UTC value."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=utcnow().tzinfo)


def purge_transcripts(db_url: str, days: int, now: datetime | None = None) -> int:
    """Blank the transcripts of calls that ended more than `days` ago (0: keep forever); how many calls."""
    if days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    purged = 0
    while True:
        with session_scope(db_url) as db:
            ids = list(db.exec(select(CallSession.id).where(CallSession.status != "in_progress",
                                                            CallSession.ended_at < cutoff,
                                                            CallSession.transcript_purged_at.is_(None))
                               .limit(PURGE_BATCH)))
            if not ids:
                return purged
            db.exec(update(Turn).where(Turn.session_id.in_(ids)).values(text=""))
            profiles = select(Profile.id).where(Profile.session_id.in_(ids))
            db.exec(update(FieldValue).where(FieldValue.profile_id.in_(profiles)).values(raw_text=""))
            db.exec(update(CallSession).where(CallSession.id.in_(ids)).values(transcript_purged_at=utcnow()))
        purged += len(ids)
        log.info("transcripts purged", extra={"calls": len(ids), "retention_days": days})


def replay_orphans(db_url: str, spool_dir: Path) -> int:
    """Replay the spool files other processes left (their lock is free) into the database; how many ops."""
    own = {path for writer in all_writers() if (path := writer.spool_path) is not None}
    replayed = 0
    for path in orphan_candidates(spool_dir, db_url, own):
        with adopted(path) as ops:
            if ops is None:
                continue
            applier = Applier()
            for op in ops:
                replayed += _replay(db_url, applier, op)
            path.unlink(missing_ok=True)  # every op is in (or refused by) the database
        log.info("spool of a stopped process replayed", extra={"spool": path.name, "ops": len(ops)})
    return replayed


def _replay(db_url: str, applier: Applier, op: dict) -> int:
    try:
        with Session(writer_engine(db_url), expire_on_commit=False) as db:
            applier.apply(db, op)
            db.commit()
        return 1
    except Exception as error:
        if is_transient(error):
            raise  # the file stays, whole; the next round tries again
        level = logging.WARNING if isinstance(error, UnknownCall) else logging.ERROR
        log.log(level, "spooled write refused, skipped",
                extra={"op": op.get("op"), "call_key": op.get("call"), "error": describe(error)})
        return 0


def housekeeping(settings: Settings) -> None:
    """One round; each part's failure (the database is down) waits for the next round."""
    url = settings.database_url
    for part, run in (("spool replay", lambda: replay_orphans(url, settings.spool_dir)),
                      ("lost calls", lambda: reap_lost_calls(url, settings.call_lost_after_seconds)),
                      ("retention", lambda: purge_transcripts(url, settings.transcript_retention_days))):
        try:
            run()
        except Exception as error:  # housekeeping never stops the process
            log.warning("housekeeping step failed", extra={"step": part, "error": describe(error)})


class Reaper:
    """Runs `housekeeping` at start and every CALL_HEARTBEAT_SECONDS in a thread of its own."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="call-reaper", daemon=True)

    def start(self) -> Reaper:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            housekeeping(self.settings)
            self._stop.wait(self.settings.call_heartbeat_seconds)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
