"""Faults injected into real calls: the database made unwritable mid-call (another process holding SQLite's write
lock; a PostgreSQL restart), a worker and a dashboard SIGKILLed mid-call. After each, every turn and field of
the call is stored, in order, none twice, and the call is closed: as it ended, or `failed` "worker lost".

Each fault is proven to have hit: the worker's own failed-write counter rises while it lasts, and the agent kept
answering the caller meanwhile (its event loop never waited on the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from harness.caller_audio import ROOM_RATE, encode_audio, resample, speak
from harness.cluster import wait_until
from harness.faults import SqliteLock
from harness.personas import PERSONAS, Persona, as_heard
from harness.pgserver import PgServer, find_bin_dir, start_postgres
from harness.scrape import scrape
from harness.simcaller import CallScript, SimCaller
from harness.testbed import Dashboard, settled_call, stack_settings, start_dashboard, start_worker
from models import utcnow
from onboarding.call_records import CallRecord, load_call
from onboarding.db import dispose_engine, get_engine
from onboarding.ops.processes import ManagedProcess, free_port
from onboarding.settings import REPO_ROOT, Settings
from onboarding.storage.ops import WORKER_LOST

pytestmark = pytest.mark.slow
FAILURES = "onboarding_db_write_failures_total"


def failed_writes(settings: Settings) -> float:
    return scrape(f"http://127.0.0.1:{settings.worker_metrics_port}/metrics").value(FAILURES)


def stored_user_turns(settings: Settings, room: str) -> int:
    record = load_call(settings.database_url, room)
    return len(record.user_turns) if record else 0


async def answered_twice(caller: SimCaller, settings: Settings) -> str:
    """The caller's room once two of its answers are stored (the call is well under way)."""
    await asyncio.wait_for(caller.greeted.wait(), 120)
    room = caller.result.room_name
    await wait_until(lambda: stored_user_turns(settings, room) >= 2, "two answers stored", timeout=120)
    return room


async def ride_out(caller: SimCaller, settings: Settings, *, at_least: float) -> None:
    """While the database is down: wait until the worker has failed to write and the agent has answered the
    caller at least once more (the call went on), and `at_least` seconds have passed."""
    began, replies, failures = time.monotonic(), len(caller.result.latencies), failed_writes(settings)
    await wait_until(lambda: failed_writes(settings) > failures and len(caller.result.latencies) > replies
                     and time.monotonic() - began >= at_least,
                     "a failed write and a reply to the caller while the database was down", timeout=120)


def assert_whole_call(record: CallRecord, persona: Persona) -> None:
    """Every turn once, in order, every field with its turn, the call closed as completed."""
    assert record.call.status == "completed" and record.profile.completed, record.call.status_reason
    assert [t.role for t in record.turns] == ["agent"] + ["user", "agent"] * len(persona.answers)
    assert [t.index for t in record.turns] == list(range(len(record.turns)))
    assert record.user_turns[0].text == persona.answers[0]
    said = [t.created_at for t in record.turns]
    assert said == sorted(said) and record.call.ended_at >= said[-1]
    expected = as_heard(persona.expected, record.profile.answers)  # "Acme Corp" or Whisper tiny's other hearing
    assert {k: record.profile.answers.get(k) for k in expected} == expected
    values = record.field_values
    assert len({v.seq for v in values}) == len(values)  # none twice
    assert sorted(v.field for v in values if v.current) == sorted(record.profile.answers)
    turns = {t.id: t for t in record.turns}
    for value in values:  # provenance: the caller turn each value was heard in
        assert turns[value.turn_id].role == "user"
        assert value.raw_text.strip(" .").lower() in turns[value.turn_id].text.lower()


def said_between(record: CallRecord, start, end) -> list[str]:
    return [t.text for t in record.turns if start <= t.created_at <= end]


def report(artifacts: Path, fault: str, record: CallRecord, **facts: object) -> None:
    """What was stored after the fault, for the record (test-artifacts/durability-<fault>.json)."""
    summary = {"fault": fault, "status": record.call.status, "reason": record.call.status_reason,
               "turns": len(record.turns), "user_turns": len(record.user_turns),
               "field_values": len(record.field_values), "fields": sorted(record.profile.answers),
               "profile_complete": record.profile.completed, "agent_seconds": round(record.call.agent_seconds, 1),
               **facts}
    (artifacts / f"durability-{fault}.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")


async def test_sqlite_locked_by_another_process_mid_call(stack: Settings, artifacts: Path) -> None:
    persona = PERSONAS[0]
    caller = SimCaller(stack, CallScript(answers=persona.answers))
    call = asyncio.create_task(caller.run())
    room = await answered_twice(caller, stack)
    db_path = Path(stack.database_url.removeprefix("sqlite:///"))
    with SqliteLock(db_path) as lock:
        locked_at = utcnow()
        await ride_out(caller, stack, at_least=8.0)
        during = load_call(stack.database_url, room)  # readers go on; the writes wait in the worker's spool
        held = await asyncio.to_thread(lock.release)
        released_at = utcnow()
    result = await call
    assert result.completed, result
    record = await settled_call(stack, room)
    assert_whole_call(record, persona)
    spoken = said_between(record, locked_at, released_at)
    assert len(spoken) >= 2, (held, spoken)  # turns said while locked, stored after, with when they were said
    assert len(record.turns) > len(during.turns)
    report(artifacts, "sqlite-lock", record, locked_seconds=round(held, 1), turns_said_while_locked=len(spoken),
           turns_in_database_while_locked=len(during.turns))


@pytest.fixture
def own_postgres(artifacts: Path) -> Iterator[PgServer]:
    """A PostgreSQL server of this test's own: it is stopped and started again mid-call."""
    if find_bin_dir() is None:
        pytest.skip("PostgreSQL is not installed: apt-get install postgresql (make install does)")
    server = start_postgres(artifacts / "postgres-restart.log")
    try:
        yield server
    finally:
        server.stop()


def wav(text: str) -> bytes:
    return encode_audio(resample(speak(text), ROOM_RATE, 16000), 16000, "wav")[0]


def personal_words(persona: Persona) -> list[str]:
    """What the caller said and what the profile holds: none of it may be in a log."""
    words = [a for a in persona.answers if a not in ("Yes.", "Skip.")]
    words += [v for v in persona.expected.values() if isinstance(v, str)]
    return [w.strip(".").lower() for w in words]


async def test_postgresql_restart_mid_call_and_no_answer_in_debug_logs(
        livekit_server: Settings, own_postgres: PgServer, artifacts: Path) -> None:
    """A voice call and a REST session through the dashboard, both at LOG_LEVEL=DEBUG, while PostgreSQL is
    stopped and started again. Then: both stored whole, and none of the caller's words in either log."""
    url = own_postgres.create_database()
    settings = stack_settings(livekit_server, url, f"onboarding-pg-restart-{os.getpid()}").model_copy(
        update={"log_level": "DEBUG", "admin_password": f"test-{os.getpid()}-admin-password"})
    get_engine(url)
    logs = {"worker": artifacts / "agent-worker-pg-debug.log", "dashboard": artifacts / "dashboard-pg-debug.log"}
    for path in logs.values():
        path.unlink(missing_ok=True)
    worker = start_worker(settings, logs["worker"])
    dashboard, base = start_dashboard(settings, logs["dashboard"])
    persona, rest_room = PERSONAS[0], f"onboarding-pg-rest-{os.getpid()}"
    name, yes = await asyncio.to_thread(wav, persona.answers[0]), await asyncio.to_thread(wav, "Yes.")
    try:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            started = await http.post("/api/livekit/agent/start", json={"roomName": rest_room})
            assert started.status_code == 200, started.text
            auth = {"Authorization": f"Bearer {started.json()['sessionToken']}"}  # the session's credential
            caller = SimCaller(settings, CallScript(answers=persona.answers))
            call = asyncio.create_task(caller.run())
            room = await answered_twice(caller, settings)
            await asyncio.to_thread(own_postgres.pause)
            stopped_at = utcnow()
            turn = await http.post("/api/livekit/agent/turn", data={"roomName": rest_room},
                                   files={"audio": ("a.wav", name, "audio/wav")}, headers=auth)
            assert turn.status_code == 200, turn.text  # answered while the database is down
            await ride_out(caller, settings, at_least=5.0)
            await asyncio.to_thread(own_postgres.resume)
            started_again_at = utcnow()
            confirmed = await http.post("/api/livekit/agent/turn", data={"roomName": rest_room},
                                        files={"audio": ("a.wav", yes, "audio/wav")}, headers=auth)
            done = await http.post("/api/livekit/agent/complete", json={"roomName": rest_room}, headers=auth)
            result = await call
        assert result.completed, result
        record = await settled_call(settings, room)
        assert_whole_call(record, persona)
        assert len(said_between(record, stopped_at, started_again_at)) >= 2
        await wait_until(lambda: load_call(url, rest_room).call.status != "in_progress",
                         "the REST session's writes replayed, its close last", timeout=60)
        rest = load_call(url, rest_room)
        assert [(t.role, t.text) for t in rest.turns][1:] == [
            ("user", persona.answers[0]), ("agent", turn.json()["response"]),
            ("user", "Yes."), ("agent", confirmed.json()["response"])]
        assert rest.profile.answers == {"full_name": persona.expected["full_name"]}
        assert done.json()["conversationHistory"] == [{"role": t.role, "text": t.text} for t in rest.turns]
        report(artifacts, "postgres-restart", record, down_seconds=(started_again_at - stopped_at).total_seconds(),
               turns_said_while_down=len(said_between(record, stopped_at, started_again_at)),
               rest_turns=len(rest.turns), rest_status=rest.call.status, rest_fields=sorted(rest.profile.answers))
    finally:
        worker.stop()
        dashboard.stop()
        dispose_engine(url)
    for process, path in logs.items():
        text = path.read_text(errors="replace").lower()
        assert '"level": "debug"' in text, process  # really at DEBUG
        leaked = [word for word in personal_words(persona) if word in text]
        assert leaked == [], (process, leaked)


def kill_group(process: ManagedProcess) -> None:
    """SIGKILL the process and its children (the worker's inference process, uvicorn's): no shutdown code runs."""
    os.killpg(process.proc.pid, signal.SIGKILL)
    process.proc.wait()
    process.stop()  # closes its log file


def spool_files_of(pid: int) -> list[Path]:
    return list((REPO_ROOT / "data" / "spool").glob(f"*.{pid}.*.spool"))


async def test_killed_worker_and_dashboard_calls_end_failed_worker_lost(
        stack: Settings, dashboard: Dashboard, artifacts: Path) -> None:
    """A worker dies mid voice call and a dashboard mid REST session (SIGKILL). The stack's worker and dashboard,
    still running, find both calls within a minute and close them as failed, "worker lost", ended at the last
    stored turn, with the usage the last heartbeat wrote; the dead processes' spool files are adopted."""
    victim = stack.model_copy(update={"agent_name": f"onboarding-victim-{os.getpid()}",
                                      "worker_http_port": free_port(), "worker_metrics_port": free_port()})
    worker = start_worker(victim, artifacts / "agent-worker-victim.log")
    rest_dashboard, base = start_dashboard(dashboard.settings, artifacts / "dashboard-victim.log")
    rest_room = f"onboarding-victim-rest-{os.getpid()}"
    caller = SimCaller(victim, CallScript(answers=PERSONAS[1].answers, timeout=600))
    call = asyncio.create_task(caller.run())
    try:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            assert (await http.post("/api/livekit/agent/start", json={"roomName": rest_room})).status_code == 200
        room = await answered_twice(caller, victim)
        await wait_until(lambda: load_call(stack.database_url, room).call.stt_audio_seconds > 0,
                         "a heartbeat with the usage so far", timeout=60)
        # the call is written by its job process (JOB_EXECUTOR=process), the REST session by the dashboard
        pids = [p.pid for p in psutil.Process(worker.proc.pid).children(recursive=True)] + [rest_dashboard.proc.pid]
        assert any(spool_files_of(pid) for pid in pids[:-1]) and spool_files_of(pids[-1])  # each was writing
        kill_group(worker)
        kill_group(rest_dashboard)
        killed = time.monotonic()
    finally:
        for process in (worker, rest_dashboard):
            if process.alive():
                kill_group(process)
        call.cancel()  # its teardown (the caller leaving the room) runs while the reaper is waited for, not before:
        # awaited first, it once took 30 s, which counted against the reaper's minute

    def lost(room_name: str) -> bool:
        return load_call(stack.database_url, room_name).call.status != "in_progress"

    try:
        await wait_until(lambda: lost(room) and lost(rest_room), "both calls closed by a running reaper", timeout=60)
        found_after = time.monotonic() - killed
    finally:
        with contextlib.suppress(BaseException):
            await call
    for room_name in (room, rest_room):
        record = load_call(stack.database_url, room_name)
        assert (record.call.status, record.call.status_reason) == ("failed", WORKER_LOST)
        assert record.call.ended_at == record.turns[-1].created_at  # ended at the last stored turn
        assert record.call.agent_seconds >= (record.call.ended_at - record.call.started_at).total_seconds()
    voice = load_call(stack.database_url, room)
    assert len(voice.user_turns) >= 2 and voice.user_turns[0].text.strip(" .") == PERSONAS[1].answers[0].strip(" .")
    assert voice.call.stt_audio_seconds > 0 and voice.call.tts_characters > 0  # usage still counted
    rest = load_call(stack.database_url, rest_room)
    assert [t.role for t in rest.turns] == ["agent"]  # the greeting
    report(artifacts, "sigkill-worker", voice, found_after_seconds=round(found_after, 1),
           stt_audio_seconds=voice.call.stt_audio_seconds, tts_characters=voice.call.tts_characters)
    report(artifacts, "sigkill-dashboard", rest, found_after_seconds=round(found_after, 1))
    await wait_until(lambda: not any(spool_files_of(pid) for pid in pids), "the dead processes' spools adopted",
                     timeout=60)
    assert found_after < 60
