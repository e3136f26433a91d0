"""Per-call timelines (the figures livekit-agents reports, stored per turn, with fallbacks marked) and the slowest
questions across a month's calls; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import select

from harness.seed_calls import MARIA, Latency, digest_all, talk
from models import CallSession, Turn
from onboarding.admin.latency import call_timeline, slowest_calls, slowest_questions
from onboarding.db import session_scope
from onboarding.interview import load_definition
from onboarding.usage.monthly import current_month
from pages.review import timeline_chart, timeline_rows

DEFINITION = load_definition()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'latency.db'}"


def test_a_calls_timeline_has_every_stage_of_every_reply(database_url: str) -> None:
    latency = Latency(end_of_turn=0.4, stt=0.15, llm=0.08, tts=0.22)
    call = talk(database_url, DEFINITION, MARIA, latency=latency)
    exchanges = call_timeline(database_url, call.session_id)
    assert len(exchanges) == len(MARIA) + 1  # the greeting, then one reply per answer
    greeting, first = exchanges[0], exchanges[1]
    assert greeting.caller_text is None and greeting.voice_to_voice is None and greeting.tts_first_audio == 0.22
    assert (first.caller_text, first.asked_field) == ("My name is Maria Garcia", "full_name")
    assert (first.end_of_turn, first.stt, first.llm_first_token, first.tts_first_audio) == (0.4, 0.15, 0.08, 0.22)
    assert first.voice_to_voice == latency.total == 0.85
    assert [e.asked_field for e in exchanges[1:4]] == ["full_name", "full_name", "email"]  # answer, yes, answer
    assert all(e.fallback is None for e in exchanges)
    chart = timeline_chart(exchanges)
    stages = chart["layer"][0]["data"]["values"]
    assert {r["stage"] for r in stages} == {"end of turn", "STT", "interviewer first token", "TTS first audio"}
    assert len(chart["layer"][1]["data"]["values"]) == len(MARIA)  # a total tick per reply
    assert timeline_rows(exchanges)[1][:7] == ["3", "full_name", "0.400", "0.150", "0.080", "0.220", "0.850"]
    json.dumps(chart)  # a plain spec for the page


def test_a_fallback_is_marked_on_the_reply_it_happened_in(db_url: str) -> None:
    call = talk(db_url, DEFINITION, MARIA)
    with session_scope(db_url) as db:
        turns = db.exec(select(Turn).where(Turn.session_id == call.session_id, Turn.role == "agent")
                        .order_by(Turn.index)).all()
        at = turns[3].created_at - timedelta(microseconds=1)  # just before the fourth agent turn was stored
        db.exec(update(CallSession).where(CallSession.id == call.session_id).values(provider_fallbacks=[
            {"role": "stt", "from": "deepgram/nova-3", "to": "faster-whisper/tiny.en",
             "reason": "APIStatusError 500: outage", "at": at.isoformat()}]))
    exchanges = call_timeline(db_url, call.session_id)
    marked = [e for e in exchanges if e.fallback]
    assert len(marked) == 1 and marked[0].number == turns[3].index + 1
    assert marked[0].fallback == "STT: deepgram/nova-3 → faster-whisper/tiny.en (APIStatusError 500: outage)"
    assert timeline_chart(exchanges)["layer"][2]["data"]["values"][0]["fallback"] == marked[0].fallback


def test_the_slowest_questions_are_ranked_across_calls(database_url: str) -> None:
    calls = [talk(database_url, DEFINITION, MARIA) for _ in range(2)]
    with session_scope(database_url) as db:  # the replies to the company answers took 2 s and 3 s
        for call, seconds in zip(calls, (2.0, 3.0), strict=True):
            turns = db.exec(select(Turn).where(Turn.session_id == call.session_id).order_by(Turn.index)).all()
            after_company = next(i for i, t in enumerate(turns) if t.role == "user" and t.text == "Acme Robotics")
            turns[after_company + 1].e2e_latency = seconds
            db.add(turns[after_company + 1])
    digest_all(database_url, DEFINITION)
    ranked = slowest_questions(database_url, current_month(), DEFINITION)
    top = ranked[0]
    assert (top.field, top.replies, top.calls, top.worst_seconds) == ("company", 2, 2, 3.0)
    assert top.mean_seconds == 2.5 and all(q.mean_seconds < 1 for q in ranked[1:])
    slow = slowest_calls(database_url, current_month())
    assert [c.session_id for c in slow] == [calls[1].session_id, calls[0].session_id]
    assert slow[0].worst_seconds == 3.0 and slow[0].profile_id == calls[1].profile_id
