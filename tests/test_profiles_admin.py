"""Profiles for staff: listing, search, filters, provenance, corrections, review, export and deletion.

Calls are seeded through the real CallRecorder into a real SQLite file, the way the agent writes them.
"""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime
from pathlib import Path

import gradio as gr
import pytest
from livekit.agents.metrics.usage import LLMModelUsage, STTModelUsage, TTSModelUsage
from sqlalchemy import func, update
from sqlmodel import select

from models import CallSession, FieldValue, Profile, Turn
from onboarding.admin.profiles import ProfileFilter, count_profiles, delete_profile, export_csv, list_profiles
from onboarding.admin.review import (
    CorrectionError,
    correct_field,
    describe_fallback,
    describe_use,
    load_profile_detail,
    mark_reviewed,
)
from onboarding.call import usage_totals
from onboarding.db import session_scope
from onboarding.interview import FieldUpdate, load_definition
from onboarding.providers.cloud import ConnectionMeter
from onboarding.providers.fallback import ProviderMonitor
from onboarding.recorder import CallRecorder
from onboarding.settings import Settings
from pages import profiles as profiles_page

DEFINITION = load_definition()


def record_call(db_url: str, name: str, email: str, company: str, *, room: str, user_id: str | None = None,
                complete: bool = True, flagged: list[str] | None = None) -> CallRecorder:
    """A short call: the agent asks, the caller answers, each answer becomes a field from its turn."""
    rec = CallRecorder(db_url, room_name=room, user_id=user_id)
    answers = [("full_name", f"my name is {name}", name), ("email", email.replace("@", " at "), email),
               ("company", company, company)]
    for spec_name, said, value in answers:
        rec.add_turn("agent", DEFINITION.field(spec_name).question)
        turn_id = rec.add_turn("user", said)
        rec.apply([FieldUpdate(spec_name, value, said, 0.9, 0, None, "answer")], {0: turn_id})
    if flagged:
        rec.set_flagged(flagged)
    rec.finish("completed" if complete else "abandoned", profile_complete=complete)
    assert rec.flush()  # written by the recorder's writer thread
    return rec


def set_created(db_url: str, profile_id: int, moment: datetime) -> None:
    with session_scope(db_url) as db:
        db.exec(update(Profile).where(Profile.id == profile_id).values(created_at=moment))


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'profiles.db'}"


@pytest.fixture
def three(db_url: str) -> dict[str, CallRecorder]:
    calls = {
        "maria": record_call(db_url, "Maria Garcia", "maria@example.com", "Acme", room="onboarding-aaa",
                             user_id="u-100"),
        "li": record_call(db_url, "Li Wei", "li@globex.io", "Globex", room="onboarding-bbb", complete=False),
        "sam": record_call(db_url, "Sam Jones", "sam@initech.com", "Initech", room="onboarding-ccc",
                           flagged=["email"]),
    }
    set_created(db_url, calls["maria"].profile_id, datetime(2025, 1, 10, 12, tzinfo=UTC))
    set_created(db_url, calls["li"].profile_id, datetime(2025, 2, 10, 12, tzinfo=UTC))
    set_created(db_url, calls["sam"].profile_id, datetime(2025, 3, 10, 23, 59, tzinfo=UTC))
    return calls


def names(db_url: str, flt: ProfileFilter) -> list[str | None]:
    return [row.full_name for row in list_profiles(db_url, flt).rows]


def test_pages_have_totals_and_no_overlap(db_url: str) -> None:
    for i in range(23):
        record_call(db_url, f"Person {i:02d}", f"p{i}@example.com", "Acme", room=f"onboarding-{i}")
    first, last = list_profiles(db_url, page=1, page_size=10), list_profiles(db_url, page=3, page_size=10)
    assert (first.total, first.pages, len(first.rows), len(last.rows)) == (23, 3, 10, 3)
    assert last.summary == "page 3 of 3 (23 profiles)"
    everything = [r.id for p in (1, 2, 3) for r in list_profiles(db_url, page=p, page_size=10).rows]
    assert len(set(everything)) == 23
    assert everything == sorted(everything, reverse=True)  # created in order: newest first
    assert list_profiles(db_url, page=99, page_size=10).page == 3  # past the end shows the last page


def test_sparse_search_sorts_matches_the_same_way_as_the_index_walk(db_url: str, monkeypatch) -> None:
    for i in range(12):
        record_call(db_url, f"Person {i:02d}", f"p{i}@example.com", "Acme" if i % 3 else "Globex",
                    room=f"onboarding-{i}")
    flt = ProfileFilter(search="acme")
    walked = [[r.id for r in list_profiles(db_url, flt, page=p, page_size=3).rows] for p in (1, 2, 3)]
    monkeypatch.setattr("onboarding.admin.profiles.SORT_INSTEAD_OF_WALK", 0)  # force the scan-and-sort plan
    sorted_ = [[r.id for r in list_profiles(db_url, flt, page=p, page_size=3).rows] for p in (1, 2, 3)]
    assert walked == sorted_ and sum(map(len, walked)) == 8
    assert list_profiles(db_url, ProfileFilter(search="nobody-matches")).rows == []


def test_search_is_case_insensitive_over_name_email_company_room_and_user(
        db_url: str, three: dict[str, CallRecorder]) -> None:
    assert names(db_url, ProfileFilter(search="GARCIA")) == ["Maria Garcia"]
    assert names(db_url, ProfileFilter(search="globex.IO")) == ["Li Wei"]
    assert names(db_url, ProfileFilter(search="initech")) == ["Sam Jones"]
    assert names(db_url, ProfileFilter(search="onboarding-BBB")) == ["Li Wei"]
    assert names(db_url, ProfileFilter(search="u-100")) == ["Maria Garcia"]
    assert names(db_url, ProfileFilter(search=str(three["sam"].profile_id))) == ["Sam Jones"]
    assert names(db_url, ProfileFilter(search="100%")) == []  # wildcards are literal
    assert count_profiles(db_url, ProfileFilter(search="onboarding-")) == 3


def test_status_and_date_filters(db_url: str, three: dict[str, CallRecorder]) -> None:
    assert names(db_url, ProfileFilter(status="completed")) == ["Sam Jones", "Maria Garcia"]
    assert names(db_url, ProfileFilter(status="partial")) == ["Li Wei"]
    assert names(db_url, ProfileFilter(status="flagged")) == ["Sam Jones"]
    assert names(db_url, ProfileFilter(status="reviewed")) == []
    mark_reviewed(db_url, three["sam"].profile_id, "alice")
    assert names(db_url, ProfileFilter(status="reviewed")) == ["Sam Jones"]
    assert names(db_url, ProfileFilter(status="flagged")) == []  # signed off: no longer waiting for review
    assert names(db_url, ProfileFilter(date_from=date(2025, 2, 1))) == ["Sam Jones", "Li Wei"]
    assert names(db_url, ProfileFilter(date_to=date(2025, 3, 10))) == ["Sam Jones", "Li Wei", "Maria Garcia"]
    assert names(db_url, ProfileFilter(date_from=date(2025, 1, 11), date_to=date(2025, 3, 9))) == ["Li Wei"]
    both = ProfileFilter.from_inputs("acme", "completed", "2025-01-01", "2025-01-31")
    assert names(db_url, both) == ["Maria Garcia"]
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        ProfileFilter.from_inputs("", "all", "last tuesday", None)


def test_detail_links_each_field_to_the_turn_it_came_from(db_url: str, three: dict[str, CallRecorder]) -> None:
    detail = load_profile_detail(db_url, three["maria"].profile_id, DEFINITION)
    assert [t.index for t in detail.turns] == list(range(6))
    email = next(f for f in detail.fields if f.name == "email")
    heard_in = next(t for t in detail.turns if t.id == email.current.turn_id)
    assert heard_in.role == "user" and heard_in.text == "maria at example.com"
    assert (email.current.value, email.current.raw_text, email.current.source) == (
        "maria@example.com", "maria at example.com", "answer")
    assert next(f for f in detail.fields if f.name == "phone").current is None

    page_html = profiles_page.render_detail(detail)
    transcript = profiles_page.render_transcript(detail)
    links = set(re.findall(r'href="#turn-(\d+)"', page_html))
    anchors = set(re.findall(r'<li id="turn-(\d+)"', transcript))
    highlighted = set(re.findall(r'<li id="turn-(\d+)" class="turn source"', transcript))
    assert links == highlighted == {str(i) for i in detail.source_turn_ids} and len(links) == 3
    assert links < anchors and len(anchors) == 6


def test_staff_correction_keeps_history_and_records_who(db_url: str, three: dict[str, CallRecorder]) -> None:
    pid = three["sam"].profile_id
    stored = correct_field(db_url, pid, "email", "  Sam.Jones@Initech.com ", "alice", DEFINITION)
    assert stored == "sam.jones@initech.com"
    assert correct_field(db_url, pid, "team_size", "12", "bob", DEFINITION) == 12
    with session_scope(db_url) as db:
        profile = db.get(Profile, pid)
        values = list(db.exec(select(FieldValue).where(FieldValue.profile_id == pid, FieldValue.field == "email")
                              .order_by(FieldValue.id)))
    assert (profile.email, profile.answers["email"], profile.team_size, profile.flagged) == (
        "sam.jones@initech.com", "sam.jones@initech.com", 12, [])
    assert [(v.value, v.current, v.source, v.changed_by) for v in values] == [
        ("sam@initech.com", False, "answer", None), ("sam.jones@initech.com", True, "staff", "alice")]
    assert values[1].created_at is not None and values[1].turn_id is None
    detail = load_profile_detail(db_url, pid, DEFINITION)
    email = next(f for f in detail.fields if f.name == "email")
    assert [h.value for h in email.history] == ["sam@initech.com"] and not email.flagged
    assert "staff: alice" in profiles_page.render_detail(detail)


@pytest.mark.parametrize(("field", "text", "expected"), [
    ("email", "sam at nowhere", "not a valid email address"),
    ("team_size", "0", "from 1 to 1000000"),
    ("phone", "12", "not a valid phone number"),
    ("shoe_size", "42", "Unknown field"),
    ("company", "   ", "Enter a value"),
])
def test_invalid_correction_is_refused_with_a_message(
        db_url: str, three: dict[str, CallRecorder], field: str, text: str, expected: str) -> None:
    pid = three["maria"].profile_id
    with pytest.raises(CorrectionError, match=expected):
        correct_field(db_url, pid, field, text, "alice", DEFINITION)
    with session_scope(db_url) as db:
        assert db.exec(select(func.count()).select_from(FieldValue).where(FieldValue.source == "staff")).one() == 0


def test_mark_reviewed_records_who_and_when(db_url: str, three: dict[str, CallRecorder]) -> None:
    before = datetime.now(UTC).replace(tzinfo=None)
    profile = mark_reviewed(db_url, three["li"].profile_id, "alice")
    assert profile.reviewed_by == "alice" and profile.reviewed_at.replace(tzinfo=None) >= before
    assert [r.reviewed_by for r in list_profiles(db_url, ProfileFilter(status="reviewed")).rows] == ["alice"]
    assert mark_reviewed(db_url, 9999, "alice") is None


def test_csv_export_holds_every_row_of_the_filter(db_url: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("onboarding.admin.profiles.EXPORT_CHUNK", 4)  # several chunks with a few rows
    for i in range(11):
        record_call(db_url, f"Person {i:02d}", f"p{i}@example.com", "Acme" if i % 2 else "Globex",
                    room=f"onboarding-{i}")
    before = set(tmp_path.iterdir())
    text = "".join(export_csv(db_url, ProfileFilter(search="acme"), DEFINITION.names))
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert set(tmp_path.iterdir()) == before  # streamed: no file written anywhere
    assert len(rows) == 5 == count_profiles(db_url, ProfileFilter(search="acme"))
    assert len({r["profile_id"] for r in rows}) == 5
    assert {r["company"] for r in rows} == {"Acme"}
    assert rows[0]["full_name"] == "Person 09" and rows[0]["email"] == "p9@example.com"
    assert list(rows[0])[:3] == ["profile_id", "created_at", "status"] and "reviewed_by" in rows[0]


def test_delete_removes_profile_transcript_values_and_call_only(db_url: str, three: dict[str, CallRecorder]) -> None:
    gone, kept = three["maria"], three["li"]
    assert delete_profile(db_url, gone.profile_id) is True
    with session_scope(db_url) as db:
        assert db.get(Profile, gone.profile_id) is None and db.get(CallSession, gone.session_id) is None
        assert db.exec(select(func.count()).select_from(Turn).where(Turn.session_id == gone.session_id)).one() == 0
        assert db.exec(select(func.count()).select_from(FieldValue)
                       .where(FieldValue.profile_id == gone.profile_id)).one() == 0
        assert db.exec(select(func.count()).select_from(Turn).where(Turn.session_id == kept.session_id)).one() == 6
        assert db.get(Profile, kept.profile_id) is not None
    assert count_profiles(db_url, ProfileFilter()) == 2
    assert delete_profile(db_url, gone.profile_id) is False


def test_page_builds_inside_a_blocks(db_url: str, three: dict[str, CallRecorder]) -> None:
    settings = Settings(_env_file=None, database_url=db_url)
    with gr.Blocks() as page, gr.Tab("Profiles"):
        profiles_page.build(settings, page)
    ids = {block.elem_id for block in page.blocks.values()}
    assert {"profiles-table", "profile-detail", "transcript", "profiles-export", "profile-delete-confirm"} <= ids
    frame = profiles_page.table_frame(list_profiles(db_url))
    assert list(frame.columns) == profiles_page.COLUMNS and len(frame) == 3


def test_a_database_from_before_review_columns_gains_them(tmp_path: Path) -> None:
    import sqlite3

    from sqlalchemy import inspect

    from onboarding.db import get_engine

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:  # the profile table as the first release created it
        old.execute("CREATE TABLE profile (id INTEGER PRIMARY KEY, session_id INTEGER, user_id VARCHAR, "
                    "full_name VARCHAR, email VARCHAR, company VARCHAR, role VARCHAR, team_size INTEGER, "
                    "primary_goal VARCHAR, phone VARCHAR, timezone VARCHAR, answers JSON, flagged JSON, "
                    "completed BOOLEAN, created_at DATETIME, updated_at DATETIME)")
    engine = get_engine(f"sqlite:///{path}")
    inspector = inspect(engine)
    assert {"reviewed_at", "reviewed_by"} <= {c["name"] for c in inspector.get_columns("profile")}
    assert "ix_profile_completed_created" in {i["name"] for i in inspector.get_indexes("profile")}
    assert "ix_turn_session_index" in {i["name"] for i in inspector.get_indexes("turn")}


def page_text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def test_detail_says_which_providers_served_the_call_and_why_one_fell_back(db_url: str) -> None:
    """A call that started on Deepgram, Gemini and ElevenLabs, and whose Deepgram failed mid-call: recorded by the
    real recorder and provider monitor, with livekit-agents' own per-model usage records."""
    cloud = {"stt": "deepgram/nova-3", "llm": "google/gemini-2.5-flash", "tts": "elevenlabs/eleven_flash_v2_5"}
    rec = CallRecorder(db_url, room_name="onboarding-cloud", providers=cloud)
    turn_id = rec.add_turn("user", "my name is Maria Garcia")
    rec.apply([FieldUpdate("full_name", "Maria Garcia", "my name is Maria Garcia", 0.9, 0, None, "answer")],
              {0: turn_id})
    monitor = ProviderMonitor(_stt_meter=ConnectionMeter(closed_seconds=31.5))  # Deepgram's connection time
    monitor.attach(rec.record_fallbacks)
    monitor._record("stt", cloud["stt"], "faster-whisper/tiny.en", "APIStatusError 500: Internal Server Error")
    monitor.finish()
    rec.finish("completed", usage=usage_totals([
        STTModelUsage(provider="Deepgram", model="nova-3", audio_duration=20.0),
        STTModelUsage(provider="faster-whisper", model="tiny.en", audio_duration=80.4),
        LLMModelUsage(provider="Gemini", model="gemini-2.5-flash", input_tokens=1200, output_tokens=150),
        TTSModelUsage(provider="ElevenLabs", model="eleven_flash_v2_5", characters_count=512),
    ]))
    assert rec.flush()

    detail = load_profile_detail(db_url, rec.profile_id, DEFINITION)
    assert [(u.kind, u.provider, u.fallback, describe_use(u)) for u in detail.providers] == [
        ("stt", "deepgram/nova-3", False, "20.0 s audio, 31.5 s billed"),
        ("stt", "faster-whisper/tiny.en", True, "80.4 s audio, 80.4 s billed"),
        ("llm", "google/gemini-2.5-flash", False, "1,200 input / 150 output tokens"),
        ("tts", "elevenlabs/eleven_flash_v2_5", False, "512 characters"),
    ]
    [fallback] = detail.fallbacks
    stored_at = monitor.fallbacks[0]["at"]
    when = datetime.fromisoformat(stored_at).strftime("%Y-%m-%d %H:%M:%S")
    assert describe_fallback(fallback) == (f"STT: deepgram/nova-3 → faster-whisper/tiny.en at {when} UTC — "
                                           "APIStatusError 500: Internal Server Error")

    text = page_text(profiles_page.render_detail(detail))
    assert ("Kind Provider Metered STT deepgram/nova-3 20.0 s audio, 31.5 s billed "
            "STT faster-whisper/tiny.en (took over) 80.4 s audio, 80.4 s billed "
            "LLM google/gemini-2.5-flash 1,200 input / 150 output tokens "
            "TTS elevenlabs/eleven_flash_v2_5 512 characters") in text
    assert f"⚠ STT: deepgram/nova-3 → faster-whisper/tiny.en at {when} UTC — APIStatusError 500" in text


def test_detail_of_a_local_call_says_nothing_fell_back(db_url: str) -> None:
    local = {"stt": "faster-whisper/tiny.en", "llm": "scripted", "tts": "piper/joe"}
    rec = CallRecorder(db_url, room_name="onboarding-local", providers=local)
    rec.finish("abandoned", usage=usage_totals([
        STTModelUsage(provider="faster-whisper", model="tiny.en", audio_duration=12.0),
        TTSModelUsage(provider="piper", model="joe", characters_count=90),
        LLMModelUsage(provider="scripted", model="scripted"),
    ]))
    assert rec.flush()
    detail = load_profile_detail(db_url, rec.profile_id, DEFINITION)
    assert detail.fallbacks == [] and detail.call.stt_billed_seconds is None
    text = page_text(profiles_page.render_detail(detail))
    assert ("STT faster-whisper/tiny.en 12.0 s audio, 12.0 s billed LLM scripted 0 input / 0 output tokens "
            "TTS piper/joe 90 characters") in text  # local STT bills nothing but the audio it heard, at no cost
    assert "No fallback: every provider served the whole call." in text and "took over" not in text
