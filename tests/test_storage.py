"""Durable call writes against real databases: the recorder never waits on a locked database, its writes wait in
the spool and go in once, in order; a dead process's spool is replayed by another; lost calls are reaped once;
completion is what was stored; transcripts are purged after the retention period; logs carry no personal data."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from livekit.agents import llm
from sqlmodel import select

from harness.cluster import wait_until
from harness.faults import SqliteLock
from models import CallSession, FieldValue, Turn, utcnow
from onboarding.call_records import load_call
from onboarding.db import get_engine, session_scope
from onboarding.interview import FieldUpdate, InterviewState, Outcome, load_definition
from onboarding.logging_setup import JsonFormatter
from onboarding.providers.scripted_llm import ScriptedInterviewer
from onboarding.recorder import CallRecorder, Usage
from onboarding.settings import REPO_ROOT, Settings, get_settings
from onboarding.storage.ops import WORKER_LOST, Applier
from onboarding.storage.reaper import housekeeping, purge_transcripts, reap_lost_calls, replay_orphans
from onboarding.storage.registry import writer_for
from onboarding.storage.spool import decode

DEFINITION = load_definition()
REQUIRED = [spec.name for spec in DEFINITION.fields if spec.required]


def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'calls.db'}"
    get_engine(url)  # the schema exists before any lock is taken
    return url


def heard(field: str, value: object, turn_index: int) -> FieldUpdate:
    return FieldUpdate(field=field, value=value, raw=str(value), confidence=1.0, turn_index=turn_index,
                       previous=None, source="answer")


def short_call(recorder: CallRecorder, answers: dict[str, object]) -> None:
    """The agent asks, the caller answers, each answer becomes a field from its turn."""
    for number, (field, value) in enumerate(answers.items(), 1):
        recorder.add_turn("agent", f"What is your {field}?")
        turn = recorder.add_turn("user", f"It is {value}.", message_id=f"m{number}")
        recorder.add_turn("user", f"It is {value}.", message_id=f"m{number}", metrics={"e2e_latency": 0.5})
        recorder.apply([heard(field, value, number)], {number: turn})


def assert_stored_once_in_order(url: str, room: str, answers: dict[str, object]) -> None:
    record = load_call(url, room)
    expected = []
    for field, value in answers.items():
        expected += [("agent", f"What is your {field}?"), ("user", f"It is {value}.")]
    assert [(t.role, t.text) for t in record.turns] == expected
    assert [t.index for t in record.turns] == list(range(len(expected)))
    assert [t.e2e_latency for t in record.user_turns] == [0.5] * len(answers)
    assert [(v.field, v.value, v.current) for v in record.field_values] == [
        (field, str(value), True) for field, value in answers.items()]
    turns = {t.id: t for t in record.turns}
    assert all(f"It is {v.value}." == turns[v.turn_id].text for v in record.field_values)  # provenance
    assert record.profile.answers == answers


def test_a_locked_database_never_holds_up_the_call_and_loses_nothing(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    answers = {"full_name": "Maria Garcia", "email": "maria@example.com", "team_size": 20}
    with SqliteLock(tmp_path / "calls.db") as lock:
        began = time.monotonic()
        recorder = CallRecorder(url, room_name="onboarding-locked")  # the call starts with the database down
        short_call(recorder, answers)
        recorder.close(Outcome("completed", None, profile_complete=True), required=["full_name", "email"])
        # each write waits up to 1 s on the lock inside the writer; the caller's thread waited on none of them
        assert time.monotonic() - began < 5.0
        assert not recorder.flush(1.5)  # nothing can be in the database yet ...
        assert recorder.finished  # ... but the close, the last write, is on disk: durable
        spooled = decode(writer_for(url).spool_path.read_bytes())
        assert [op["op"] for op in spooled] == ["open", *["turn", "turn", "turn", "fields"] * 3, "close"]
        assert recorder.session_id is None  # ids come from the database, once it takes the open
        lock.release()
    assert recorder.flush(30)
    assert_stored_once_in_order(url, "onboarding-locked", answers)
    record = load_call(url, "onboarding-locked")
    assert (record.call.status, record.profile.completed, record.call.call_key) == ("completed", True,
                                                                                   recorder.call_key)
    assert writer_for(url).spool_path is None or writer_for(url).spool_path.stat().st_size == 0  # emptied


VICTIM = """
import sys
from onboarding.interview import FieldUpdate
from onboarding.recorder import CallRecorder
recorder = CallRecorder(sys.argv[1], room_name=sys.argv[2], worker_id="victim")
for number, name in enumerate(["Maria Garcia", "Tom Baker"], 1):
    recorder.add_turn("agent", "What is your full_name?")
    turn = recorder.add_turn("user", f"It is {name}.", message_id=f"m{number}")
    recorder.add_turn("user", f"It is {name}.", message_id=f"m{number}", metrics={"e2e_latency": 0.5})
    recorder.apply([FieldUpdate("full_name", name, name, 1.0, number, None, "answer")], {number: turn})
recorder.make_durable(0)
print(recorder._writer.spool_path, flush=True)
sys.stdin.read()
"""


def test_the_spool_of_a_killed_process_is_replayed_once_by_another(tmp_path: Path) -> None:
    """A process records a call while the database is locked and is SIGKILLed: its spool holds every write;
    another process replays it in order, once (twice over: no duplicate), and the call, never closed, is reaped."""
    url, spool_dir = sqlite_url(tmp_path), tmp_path / "spool"
    room = "onboarding-killed"
    with SqliteLock(tmp_path / "calls.db"):
        victim = subprocess.Popen([sys.executable, "-c", VICTIM, url, room], cwd=REPO_ROOT, text=True,
                                  env={**os.environ, "SPOOL_DIR": str(spool_dir)},
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        spool = Path(victim.stdout.readline().strip())
        assert spool.parent == spool_dir
        assert replay_orphans(url, spool_dir) == 0  # its owner runs: its lock is held, the file is not touched
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        ops = decode(spool.read_bytes())
        assert len(ops) == 1 + 2 * 4
    assert load_call(url, room) is None
    answers = {"full_name": "Tom Baker"}
    assert replay_orphans(url, spool_dir) == len(ops)
    assert not spool.exists()
    record = load_call(url, room)
    assert [t.text for t in record.turns] == ["What is your full_name?", "It is Maria Garcia.",
                                              "What is your full_name?", "It is Tom Baker."]
    assert [(v.value, v.current) for v in record.field_values] == [("Maria Garcia", False), ("Tom Baker", True)]
    assert record.profile.answers == answers

    # the same ops once more (a process that died after the database took them, before emptying its spool)
    applier = Applier()
    with session_scope(url) as db:
        for op in ops:
            applier.apply(db, op)
    again = load_call(url, room)
    assert [t.id for t in again.turns] == [t.id for t in record.turns]
    assert [v.id for v in again.field_values] == [v.id for v in record.field_values]

    later = utcnow() + timedelta(minutes=5)  # long after its last heartbeat
    assert reap_lost_calls(url, 30, now=later) == [record.call.id]
    closed = load_call(url, room).call
    assert (closed.status, closed.status_reason) == ("failed", WORKER_LOST)
    assert closed.ended_at == record.turns[-1].created_at
    assert closed.agent_seconds == pytest.approx((closed.ended_at - closed.started_at).total_seconds())


def test_reapers_racing_close_a_lost_call_once_and_leave_live_ones(database_url: str) -> None:
    lost = CallRecorder(database_url, room_name="onboarding-lost")
    lost.add_turn("agent", "Hello!")
    live = CallRecorder(database_url, room_name="onboarding-live")
    assert lost.flush() and live.flush()
    writer_for(database_url).untrack(lost.call_key)  # its writer is gone: no more heartbeats
    with session_scope(database_url) as db:
        db.exec(sa.update(CallSession).where(CallSession.id == lost.session_id)
                .values(heartbeat_at=utcnow() - timedelta(seconds=120)))
    results: list[list[int]] = []
    start = threading.Barrier(4)

    def reap() -> None:
        start.wait()
        results.append(reap_lost_calls(database_url, 30))

    reapers = [threading.Thread(target=reap) for _ in range(4)]
    for thread in reapers:
        thread.start()
    for thread in reapers:
        thread.join(30)
    assert sorted(results) == [[], [], [], [lost.session_id]]
    assert load_call(database_url, "onboarding-live").call.status == "in_progress"
    # the lost call's own close, arriving late (say from a spool), still wins over the reaper's guess
    lost.close(Outcome("abandoned", "caller left after 0 answers"))
    assert lost.flush()
    call = load_call(database_url, "onboarding-lost").call
    assert (call.status, call.status_reason) == ("abandoned", "caller left after 0 answers")
    live.close(Outcome("abandoned", "test over"))
    assert live.flush()


@pytest.fixture
def fast_heartbeats(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Writers made from now on touch their calls every 0.5 s (the setting is read when a writer is made)."""
    monkeypatch.setenv("CALL_HEARTBEAT_SECONDS", "0.5")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


async def test_heartbeats_keep_a_call_alive_and_carry_its_usage(tmp_path: Path, fast_heartbeats: None) -> None:
    url = sqlite_url(tmp_path)
    recorder = CallRecorder(url, room_name="onboarding-beating")
    recorder.note_usage(Usage(stt_audio_seconds=4.5, tts_characters=120))
    assert await asyncio.to_thread(recorder.flush)
    first = load_call(url, "onboarding-beating").call.heartbeat_at

    def beaten() -> bool:
        call = load_call(url, "onboarding-beating").call
        return call.heartbeat_at > first and call.stt_audio_seconds == 4.5

    await wait_until(beaten, "a heartbeat with the usage so far", timeout=30, interval=0.05)
    call = load_call(url, "onboarding-beating").call
    assert (call.stt_audio_seconds, call.tts_characters) == (4.5, 120) and call.agent_seconds > 0
    assert reap_lost_calls(url, 30) == []
    recorder.close(Outcome("abandoned", "test over"))
    assert await asyncio.to_thread(recorder.flush)


def test_completion_is_what_was_stored(tmp_path: Path) -> None:
    """The interview says complete; the profile is complete only if every required value is in the database."""
    url = sqlite_url(tmp_path)
    told = Outcome("completed", None, profile_complete=True)
    partial = CallRecorder(url, room_name="onboarding-partial")
    short_call(partial, {"full_name": "Maria Garcia"})
    partial.close(told, required=["full_name", "email"])
    whole = CallRecorder(url, room_name="onboarding-whole")
    short_call(whole, {"full_name": "Maria Garcia", "email": "maria@example.com"})
    whole.close(told, required=["full_name", "email"])
    assert partial.flush() and whole.flush()
    assert not load_call(url, "onboarding-partial").profile.completed
    assert load_call(url, "onboarding-whole").profile.completed


def test_a_reply_the_hook_did_not_take_is_reported_again_on_retry() -> None:
    """The recorder's hook raised at the caller's "Yes." to a read-back: the retried inference returns the cached
    reply AND reports it, so the confirmed name is recorded, once (it used to be dropped for good)."""
    state = InterviewState(DEFINITION)
    seen: list[tuple[str | None, list[str]]] = []
    fail_at = {"m2"}

    def hook(message, reply) -> None:
        if message is not None and message.id in fail_at:
            fail_at.discard(message.id)
            raise RuntimeError("hook failed")
        seen.append((message.id if message else None, [u.field for u in reply.updates]))

    interviewer = ScriptedInterviewer(state, hook)
    ctx = llm.ChatContext()
    ctx.add_message(role="assistant", content=interviewer.reply_for(ctx).text)  # the opening
    ctx.add_message(role="user", content="My name is Maria Garcia.", id="m1")
    ctx.add_message(role="assistant", content=interviewer.reply_for(ctx).text)  # the read-back
    ctx.add_message(role="user", content="Yes.", id="m2")
    with pytest.raises(RuntimeError):
        interviewer.reply_for(ctx)
    confirmed = interviewer.reply_for(ctx)
    assert interviewer.reply_for(ctx) is confirmed
    assert seen == [(None, []), ("m1", []), ("m2", ["full_name"])]
    assert state.values == {"full_name": "Maria Garcia"}


def test_transcripts_are_purged_after_the_retention_period(database_url: str) -> None:
    old = CallRecorder(database_url, room_name="onboarding-old")
    short_call(old, {"full_name": "Maria Garcia", "team_size": 20})
    old.close(Outcome("completed", None, profile_complete=False))
    recent = CallRecorder(database_url, room_name="onboarding-recent")
    short_call(recent, {"full_name": "Tom Baker"})
    recent.close(Outcome("abandoned", "caller left after 1 answers"))
    running = CallRecorder(database_url, room_name="onboarding-running")
    short_call(running, {"full_name": "Li Wei"})
    assert old.flush() and recent.flush() and running.flush()
    with session_scope(database_url) as db:
        db.exec(sa.update(CallSession).where(CallSession.id == old.session_id)
                .values(ended_at=utcnow() - timedelta(days=31)))
    assert purge_transcripts(database_url, 0) == 0  # 0 keeps transcripts forever
    settings = Settings(_env_file=None, database_url=database_url, transcript_retention_days=30,
                        spool_dir=Path("/nonexistent-spool"))
    housekeeping(settings)  # what every worker and dashboard runs
    purged = load_call(database_url, "onboarding-old")
    assert [t.text for t in purged.turns] == [""] * 4 and [v.raw_text for v in purged.field_values] == ["", ""]
    assert purged.profile.answers == {"full_name": "Maria Garcia", "team_size": 20}  # the profile stays
    assert [v.value for v in purged.field_values] == ["Maria Garcia", "20"]
    assert all(v.turn_id in {t.id for t in purged.user_turns} for v in purged.field_values)  # provenance links
    assert purged.call.transcript_purged_at is not None
    assert_stored_once_in_order(database_url, "onboarding-recent", {"full_name": "Tom Baker"})
    assert_stored_once_in_order(database_url, "onboarding-running", {"full_name": "Li Wei"})
    assert purge_transcripts(database_url, 30) == 0  # done once
    with session_scope(database_url) as db:
        assert db.exec(select(sa.func.count()).select_from(Turn).where(Turn.text == "")).one() == 4
        assert db.exec(select(sa.func.count()).select_from(FieldValue).where(FieldValue.raw_text == "")).one() == 2
    running.close(Outcome("abandoned", "test over"))
    assert running.flush()


def test_personal_fields_never_reach_a_log_line() -> None:
    """livekit-agents marks personal log fields `lk.pii.*` (the user's transcript at DEBUG): they are dropped."""
    record = logging.makeLogRecord({"name": "livekit.agents", "levelno": logging.DEBUG, "levelname": "DEBUG",
                                    "msg": "received user transcript", "lk.pii.user_transcript": "Maria Garcia",
                                    "language": "en", "lk.pii.arguments": {"value": "maria@example.com"}})
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "received user transcript" and line["language"] == "en"
    assert "Maria" not in json.dumps(line) and "maria@" not in json.dumps(line)


async def test_an_idle_writer_lets_go_of_its_threads_and_spool_and_starts_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("onboarding.storage.writer.IDLE_EXIT", 0.3)
    url = sqlite_url(tmp_path)
    first = CallRecorder(url, room_name="onboarding-idle-1")
    first.close(Outcome("abandoned", "test over"))
    assert await asyncio.to_thread(first.flush)
    writer = writer_for(url)
    spool = writer.spool_path
    assert spool is not None and spool.exists()
    await wait_until(lambda: writer.spool_path is None and not spool.exists()
                     and not any(t.is_alive() for t in writer._threads.values()),
                     "the idle writer's threads ended and its empty spool removed", timeout=30, interval=0.05)
    second = CallRecorder(url, room_name="onboarding-idle-2")  # the next call starts them again
    second.close(Outcome("abandoned", "test over"))
    assert await asyncio.to_thread(second.flush)
    assert load_call(url, "onboarding-idle-2").call.status == "abandoned"
