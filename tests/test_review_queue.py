"""The review queue: what the post-call digest puts in it and in which order, approving and fixing with who and when,
and how the profile page's own corrections and sign-off settle it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from harness.seed_calls import MARIA, digest_all, talk
from models import FieldValue, Profile, ReviewItem, WebhookEvent
from onboarding.admin.profiles import delete_profile
from onboarding.admin.queue import QueueError, approve, fix, open_items, recently_settled
from onboarding.admin.review import correct_field, mark_reviewed
from onboarding.db import session_scope
from onboarding.interview import load_definition

DEFINITION = load_definition()
GARBLED_NAME = ["I don't know", "I don't know", "maria dot garcia at example dot com", "yes", "Acme Robotics"]
REJECTED_NAME = ["My name is Maria Garcia", "no", "Maria Garcia", "yes", *MARIA[2:]]


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'queue.db'}"


def seed(db_url: str, confidence_below: float = 0.7) -> dict[str, int]:
    calls = {"clean": talk(db_url, DEFINITION, MARIA), "garbled": talk(db_url, DEFINITION, GARBLED_NAME),
             "rejected": talk(db_url, DEFINITION, REJECTED_NAME)}
    digest_all(db_url, DEFINITION, confidence_below)
    return {name: call.profile_id for name, call in calls.items()}


def test_the_queue_puts_what_needs_a_human_first(database_url: str) -> None:
    profiles = seed(database_url)
    page = open_items(database_url)
    got = [(i.profile_id, i.field, i.reasons) for i in page.items]
    assert got == [(profiles["garbled"], "full_name", ["flagged"]),
                   (profiles["rejected"], "full_name", ["rejected_read_back"])]
    assert page.open_total == 2
    flagged, rejected = page.items
    assert flagged.value is None and flagged.why == "flagged"  # the interview gave up: nothing was heard
    assert (rejected.value, rejected.heard, rejected.source) == ("Maria Garcia", "Maria Garcia", "confirmation")
    assert rejected.turn_id is not None and rejected.why == "read-back not confirmed"


def test_low_confidence_values_join_below_the_more_urgent(db_url: str) -> None:
    profiles = seed(db_url, confidence_below=0.95)  # the spoken values are heard at 0.9 here
    reasons = [i.reasons for i in open_items(db_url, limit=100).items]
    assert reasons[0] == ["flagged"] and reasons[1] == ["rejected_read_back", "low_confidence"]
    assert all(r == ["low_confidence"] for r in reasons[2:]) and len(reasons) > 5
    clean = [i for i in open_items(db_url, limit=100).items if i.profile_id == profiles["clean"]]
    assert clean and all(i.confidence is not None and i.confidence < 0.95 for i in clean)


def test_approve_and_fix_keep_who_and_when(db_url: str) -> None:
    profiles = seed(db_url)
    flagged, rejected = open_items(db_url).items
    approved = approve(db_url, rejected.id, "alice")
    assert (approved.action, approved.resolved_by) == ("approved", "alice") and approved.resolved_at is not None
    with pytest.raises(QueueError, match="Already settled: approved by alice"):
        approve(db_url, rejected.id, "bob")
    with pytest.raises(QueueError, match="not a valid name"):
        fix(db_url, flagged.id, "12345", "bob", DEFINITION)
    assert fix(db_url, flagged.id, "Maria Garcia", "bob", DEFINITION) == "Maria Garcia"
    assert open_items(db_url).open_total == 0
    settled = recently_settled(db_url)
    assert [(i.field, i.action, i.resolved_by) for i in settled] == [("full_name", "fixed", "bob"),
                                                                     ("full_name", "approved", "alice")]
    with session_scope(db_url) as db:
        garbled = db.get(Profile, profiles["garbled"])
        staff = db.exec(select(FieldValue).where(FieldValue.profile_id == garbled.id, FieldValue.current,
                                                 FieldValue.field == "full_name")).one()
    assert (garbled.full_name, garbled.flagged, staff.source, staff.changed_by) == ("Maria Garcia", [], "staff", "bob")


def test_the_profile_pages_correction_and_sign_off_settle_the_queue(db_url: str) -> None:
    profiles = seed(db_url, confidence_below=0.95)
    correct_field(db_url, profiles["rejected"], "full_name", "Maria Garcia-Lopez", "carol", DEFINITION)
    with session_scope(db_url) as db:
        item = db.exec(select(ReviewItem).where(ReviewItem.profile_id == profiles["rejected"],
                                                ReviewItem.field == "full_name")).one()
    assert (item.action, item.resolved_by) == ("fixed", "carol")
    assert mark_reviewed(db_url, profiles["clean"], "dave") is not None
    left = {i.profile_id for i in open_items(db_url, limit=100).items}
    assert profiles["clean"] not in left and profiles["rejected"] in left  # its other low-confidence fields
    with session_scope(db_url) as db:
        reviewed = db.exec(select(WebhookEvent).where(WebhookEvent.type == "profile.reviewed")).one()
        signed = db.exec(select(ReviewItem).where(ReviewItem.profile_id == profiles["clean"])).all()
    assert reviewed.profile_id == profiles["clean"] and reviewed.payload["data"]["profile"]["reviewed_by"] == "dave"
    assert signed and all((i.action, i.resolved_by) == ("signed_off", "dave") for i in signed)
    assert all(f["review"]["state"] == "signed_off" for f in reviewed.payload["data"]["fields"].values())


def test_deleting_a_profile_takes_its_queue_items_with_it(db_url: str) -> None:
    profiles = seed(db_url)
    assert delete_profile(db_url, profiles["garbled"])
    assert [i.profile_id for i in open_items(db_url).items] == [profiles["rejected"]]
