"""The onboarding funnel and the per-call walk behind it: calls seeded through the real interview state and recorder,
digested by the dashboard's post-call digest, counted per field, per month and per interview version."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, update
from sqlmodel import select

from harness.seed_calls import MARIA, digest_all, talk
from models import CallFieldStat, CallSession, Turn
from onboarding.admin.funnel import ALL_VERSIONS, funnel, versions
from onboarding.db import session_scope
from onboarding.field_walk import WalkTurn, WalkValue, walk_call
from onboarding.interview import load_definition
from onboarding.turn_tags import definition_hash
from onboarding.usage.monthly import current_month

DEFINITION = load_definition()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'funnel.db'}"

REJECTED_NAME = ["My name is Maria Garcia", "no", "Maria Garcia", "yes", *MARIA[2:]]


def seed_three(db_url: str) -> None:
    """A whole onboarding; one that hangs up at the email read-back; one that says no to the name's read-back."""
    talk(db_url, DEFINITION, MARIA)
    talk(db_url, DEFINITION, MARIA[:3])
    talk(db_url, DEFINITION, REJECTED_NAME)
    digest_all(db_url, DEFINITION)


def test_funnel_counts_what_each_caller_did_at_each_field(database_url: str) -> None:
    seed_three(database_url)
    data = funnel(database_url, current_month(), DEFINITION)
    assert (data.calls, data.calls_in_funnel, data.completed) == (3, 3, 2)
    assert data.completion_rate == pytest.approx(2 / 3)
    rows = {f.field: f for f in data.fields}
    assert [f.field for f in data.fields] == DEFINITION.names  # the interview's order
    name, email, phone = rows["full_name"], rows["email"], rows["phone"]
    assert (name.reached, name.answered_first_time, name.reasked, name.hung_up) == (3, 2, 1, 0)
    assert (email.reached, email.answered_first_time, email.hung_up, email.skipped) == (3, 2, 1, 0)
    assert (phone.reached, phone.skipped, phone.answered_first_time) == (2, 2, 0)  # "skip" twice
    for later in ("company", "role", "team_size", "primary_goal", "timezone"):
        assert (rows[later].reached, rows[later].answered_first_time) == (2, 2), later
    assert name.median_turns == 2  # answer + "yes" for two callers, four turns for the one who said no
    assert email.median_turns == 2
    assert name.share(name.answered_first_time) == "67%"


def test_a_second_digest_writes_nothing_twice(db_url: str) -> None:
    seed_three(db_url)
    assert digest_all(db_url, DEFINITION) == 0
    with session_scope(db_url) as db:
        rows = db.exec(select(func.count()).select_from(CallFieldStat)).one()
        pending = db.exec(select(func.count()).select_from(CallSession).where(CallSession.digested_at.is_(None))).one()
    assert pending == 0 and rows == 2 + 8 + 8  # the hang-up reached two fields, the others all eight


def test_funnel_per_interview_version_and_month(db_url: str) -> None:
    talk(db_url, DEFINITION, MARIA)
    changed = dataclasses.replace(DEFINITION, greeting="Hello! A few questions to set up your account.")
    talk(db_url, changed, MARIA[:3])
    assert definition_hash(changed) != definition_hash(DEFINITION)
    digest_all(db_url, DEFINITION)
    month = current_month()
    found = {v.hash: v.calls for v in versions(db_url, month)}
    assert found == {definition_hash(DEFINITION): 1, definition_hash(changed): 1}
    new = funnel(db_url, month, DEFINITION, definition_hash(changed))
    old = funnel(db_url, month, DEFINITION, definition_hash(DEFINITION))
    both = funnel(db_url, month, DEFINITION, ALL_VERSIONS)
    assert (new.calls, new.completed, old.calls, old.completed, both.calls) == (1, 0, 1, 1, 2)
    assert {f.field: f.hung_up for f in new.fields}["email"] == 1
    assert {f.field: f.reached for f in old.fields}["timezone"] == 1
    with session_scope(db_url) as db:  # the same rows a month earlier are not this month's
        earlier = datetime.now(UTC).replace(day=1) - timedelta(days=3)
        db.exec(update(CallFieldStat).values(started_at=earlier))
        db.exec(update(CallSession).values(started_at=earlier))
    assert funnel(db_url, month, DEFINITION).calls == 0
    assert funnel(db_url, f"{earlier:%Y-%m}", DEFINITION).calls == 2


def test_calls_without_field_tags_are_counted_apart(db_url: str) -> None:
    """A REST call's agent turns name no field: it counts as a call, not in the per-field rows."""
    call = talk(db_url, DEFINITION, MARIA)
    with session_scope(db_url) as db:
        db.exec(update(Turn).where(Turn.session_id == call.session_id).values(asked_field=None))
    digest_all(db_url, DEFINITION)
    data = funnel(db_url, current_month(), DEFINITION)
    assert (data.calls, data.calls_in_funnel, data.completed) == (1, 0, 1)
    assert all(f.reached == 0 for f in data.fields)


T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_walk_times_each_field_and_finds_rejected_read_backs() -> None:
    turns = [
        WalkTurn("agent", at(0), "full_name"),
        WalkTurn("user", at(5)),
        WalkTurn("agent", at(7), "full_name", read_back=True, e2e_latency=0.6),
        WalkTurn("user", at(9)),  # "no"
        WalkTurn("agent", at(11), "full_name", e2e_latency=0.9),  # asked again
        WalkTurn("user", at(15)),
        WalkTurn("agent", at(17), "full_name", read_back=True, e2e_latency=0.7),
        WalkTurn("user", at(19)),  # "yes"
        WalkTurn("agent", at(20), "email", e2e_latency=1.5),
    ]
    values = [WalkValue("full_name", "confirmation", True)]
    walks = walk_call(turns, values, DEFINITION.names, [], "abandoned", at(30))
    name, email = walks["full_name"], walks["email"]
    assert (name.asks, name.read_backs, name.rejected_read_backs, name.answer_turns) == (2, 2, 1, 4)
    assert name.seconds == 20 and name.replies == [0.6, 0.9, 0.7, 1.5]
    assert name.reasked and not name.answered_first_time and not name.hung_up
    assert email.hung_up and email.seconds == 10 and email.answer_turns == 0
    assert set(walks) == {"full_name", "email"}  # fields never reached have no row
    assert walk_call([WalkTurn("agent", at(0))], [], DEFINITION.names, [], "completed", at(1)) is None
