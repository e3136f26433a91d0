"""Calls written the way the voice door writes them, without a room: the real interview state answers typed caller
lines, and the real recorder stores every turn, field value, tag and the close, in the same order as
onboarding/call.py (caller turn with its reply, then the agent turn and the field it asks for). For tests that need
known calls on the console's pages (funnel, queue, latency, webhooks) and for the browser tests' seeded dashboard.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models import CallSession
from onboarding.db import session_scope
from onboarding.interview import InterviewDefinition, InterviewState, Outcome
from onboarding.postcall import DigestRules, digest_pending
from onboarding.recorder import CallerTurn, CallRecorder, Usage
from onboarding.turn_tags import asked_field, definition_hash

# A whole onboarding of PERSONAS-like answers for data/interview.toml: name (read back), email (read back), …
MARIA = ["My name is Maria Garcia", "yes", "maria dot garcia at example dot com", "yes", "Acme Robotics",
         "head of growth", "about twenty", "We want faster onboarding for our customers", "skip",
         "London"]


@dataclass
class Latency:
    """The figures livekit-agents puts on each turn (seconds)."""

    end_of_turn: float = 0.35
    stt: float = 0.12
    llm: float = 0.05
    tts: float = 0.2

    @property
    def total(self) -> float:
        return round(self.end_of_turn + self.stt + self.llm + self.tts, 3)


@dataclass
class SeededCall:
    recorder: CallRecorder
    state: InterviewState
    agent_turn_ids: list[int] = field(default_factory=list)  # turn numbers in the call (Turn.index)

    @property
    def session_id(self) -> int:
        return self.recorder.session_id

    @property
    def profile_id(self) -> int:
        return self.recorder.profile_id


def talk(db_url: str, definition: InterviewDefinition, answers: list[str], *, hang_up: bool = False,
         user_id: str | None = None, origin: str | None = None, latency: Latency | None = None,
         room_name: str | None = None, mode: str = "voice") -> SeededCall:
    """One call: the greeting, then each answer in turn until the interview ends (or the answers run out: then the
    caller hangs up, as `hang_up` also forces). `mode="rest"` keeps it out of the LiveKit minutes."""
    latency = latency or Latency()
    state = InterviewState(definition)
    recorder = CallRecorder(db_url, room_name=room_name or f"onboarding-seed{secrets.token_hex(4)}", mode=mode,
                            participant_identity="caller-seed", user_id=user_id, worker_id="seed",
                            providers={"stt": "faster-whisper/tiny.en", "tts": "piper/joe", "llm": "scripted"},
                            definition_hash=definition_hash(definition), origin=origin)
    call = SeededCall(recorder, state)

    def agent_says(text: str, *, reply_to_caller: bool) -> None:
        metrics = ({"e2e_latency": latency.total, "llm_node_ttft": latency.llm, "tts_node_ttfb": latency.tts}
                   if reply_to_caller else {"tts_node_ttfb": latency.tts})
        turn_id = recorder.add_turn("agent", text, metrics=metrics)
        recorder.annotate_turn(turn_id, **asked_field(state))
        call.agent_turn_ids.append(turn_id)

    agent_says(state.opening().text, reply_to_caller=False)
    done = False
    for number, text in enumerate(answers, start=1):
        caller = CallerTurn(text, number, metrics={"end_of_turn_delay": latency.end_of_turn,
                                                   "transcription_delay": latency.stt})
        reply = state.handle(text, number)
        recorder.record_reply(reply, flagged=state.flagged, caller=caller)
        agent_says(reply.text, reply_to_caller=True)
        if reply.done:
            done = True
            break
    if hang_up or not done:
        recorder.close(Outcome("abandoned", f"caller left after {len(answers)} answers"), Usage())
    else:
        recorder.close(state.outcome(), Usage())
    if not recorder.flush():  # the recorder's writer thread stores it: the call is in the database on return
        raise RuntimeError(f"the seeded call in {recorder.room_name} was not stored")
    return call


def digest_all(db_url: str, definition: InterviewDefinition, confidence_below: float = 0.7) -> int:
    """Run the dashboard's post-call digest until nothing is pending."""
    rules, total = DigestRules(definition.names, confidence_below), 0
    while done := digest_pending(db_url, rules):
        total += done
    return total


def metered_sessions(db_url: str, calls: list[tuple[datetime, float]], **columns: object) -> None:
    """Ended voice sessions (start, seconds) as the recorder leaves them, for the usage page's figures; already
    digested (they have no turns to walk)."""
    with session_scope(db_url) as db:
        db.add_all(CallSession(room_name=f"onboarding-usage{i:04d}{secrets.token_hex(2)}", status="completed",
                               started_at=start, ended_at=start + timedelta(seconds=seconds), agent_seconds=seconds,
                               digested_at=start + timedelta(seconds=seconds), **columns)
                   for i, (start, seconds) in enumerate(calls))
