"""End-to-end calls: simulated callers speak over real WebRTC to a real livekit-server and worker."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest

from onboarding.call_records import CallRecord, load_call
from onboarding.personas import PERSONAS
from onboarding.processes import ManagedProcess, free_port
from onboarding.settings import REPO_ROOT, Settings
from onboarding.simcaller import CallScript, SimCaller
from onboarding.testbed import worker_env

pytestmark = pytest.mark.slow


async def settled_call(settings: Settings, room: str, timeout: float = 30.0) -> CallRecord:
    """The stored call once the worker has closed it (polled with a deadline)."""
    deadline = time.monotonic() + timeout
    record = None
    while time.monotonic() < deadline:
        record = await asyncio.to_thread(load_call, settings.database_url, room)
        if record is not None and record.call.status != "in_progress":
            return record
        await asyncio.sleep(0.2)  # poll interval
    raise AssertionError(f"call in {room} still {record.call.status if record else 'missing'} after {timeout}s")


def assert_profile(record: CallRecord, expected: dict) -> None:
    answers = record.profile.answers
    assert {k: answers.get(k) for k in expected} == expected
    for name, value in expected.items():
        assert getattr(record.profile, name) == value


def assert_provenance(record: CallRecord) -> None:
    """Every current value points at the caller turn it came from."""
    turns = {t.id: t for t in record.turns}
    for value in record.current_values().values():
        assert value.turn_id in turns, value
        assert turns[value.turn_id].role == "user"


async def test_full_spoken_onboarding(stack: Settings) -> None:
    persona = PERSONAS[0]
    result = await SimCaller(stack, CallScript(answers=persona.answers)).run()
    assert result.completed, result
    assert result.fields == {k: v for k, v in result.fields.items()} and result.fields["email"] == "maria@example.com"
    record = await settled_call(stack, result.room_name)
    assert record.call.status == "completed" and record.profile.completed
    assert_profile(record, persona.expected)
    assert_provenance(record)
    assert record.user_turns[0].text == "My name is Maria Garcia."
    assert len(record.user_turns) == len(persona.answers)
    assert len(record.agent_turns) == len(persona.answers) + 1  # the greeting, then one reply per answer
    assert "goodbye" in record.agent_turns[-1].text.lower()
    assert record.call.stt_provider.startswith("faster-whisper") and record.call.tts_provider.startswith("piper")
    assert record.call.stt_audio_seconds > 5 and record.call.tts_characters > 200
    assert len(result.latencies) == len(persona.answers)
    assert all(t.e2e_latency and t.e2e_latency > 0 for t in record.agent_turns[1:])


async def test_five_callers_at_once_keep_their_own_answers(stack: Settings) -> None:
    results = await asyncio.gather(*(SimCaller(stack, CallScript(answers=p.answers, timeout=300)).run()
                                     for p in PERSONAS[:5]))
    assert len({r.room_name for r in results}) == 5
    for persona, result in zip(PERSONAS, results, strict=False):
        record = await settled_call(stack, result.room_name)
        assert record.call.status == "completed", (persona.answers[0], record.call.status_reason)
        assert_profile(record, persona.expected)
        assert_provenance(record)
        assert len(record.user_turns) == len(persona.answers)


async def test_caller_who_hangs_up_keeps_partial_profile(stack: Settings) -> None:
    result = await SimCaller(stack, CallScript(answers=PERSONAS[0].answers, hang_up_after=2)).run()
    record = await settled_call(stack, result.room_name)
    assert record.call.status == "abandoned"
    assert "caller left after 2 answers" in record.call.status_reason
    assert [t.text for t in record.user_turns] == ["My name is Maria Garcia.", "Yes."]
    assert record.profile.full_name == "Maria Garcia" and record.profile.email is None
    assert not record.profile.completed


async def test_silence_and_noise_get_a_reprompt(stack: Settings) -> None:
    persona = PERSONAS[1]
    answers = ["<silence>", *persona.answers[:2], "<noise>", *persona.answers[2:]]
    result = await SimCaller(stack, CallScript(answers=answers)).run()
    record = await settled_call(stack, result.room_name)
    assert record.call.status == "completed", record.call.status_reason
    assert_profile(record, persona.expected)
    greeting, reprompt = record.turns[0], record.turns[1]
    assert greeting.role == reprompt.role == "agent"  # the agent spoke again without an answer
    assert "name" in reprompt.text.lower()
    email_question = next(i for i, t in enumerate(record.turns) if "email" in t.text.lower())
    assert record.turns[email_question + 1].role == "agent" or "didn't catch" in record.turns[email_question + 2].text


@pytest.mark.parametrize("url", ["ws://127.0.0.1:{port}", "localhost:7880"])
def test_worker_with_wrong_livekit_url_names_it(livekit_server: Settings, artifacts, url: str) -> None:
    bad_url = url.format(port=free_port())
    env = worker_env(livekit_server.model_copy(update={"worker_http_port": free_port()}), LIVEKIT_URL=bad_url)
    proc = ManagedProcess("agent-worker", [sys.executable, "agent_worker.py"], cwd=REPO_ROOT, env=env,
                          log_path=artifacts / "agent-worker-bad-url.log")
    try:
        code = proc.proc.wait(timeout=60)
    finally:
        proc.stop()
    assert code != 0
    log = proc.log_tail(80)
    assert "LIVEKIT_URL" in log and bad_url in log
