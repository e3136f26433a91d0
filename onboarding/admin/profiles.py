"""Profiles for staff: filtered, paged lists, CSV export and deletion, all done in SQL.

Built to stay fast at 100,000+ profiles: the count and the filters run in the database, a page is
chosen on the (created_at, id) index and only its rows are loaded (a "deferred join": the OFFSET walks
the index, not the table), and the export streams the filter in keyset chunks.

The export is CSV text streamed to a staff-only download (onboarding.api.exports), never a file on disk: a file
would sit in a temp or Gradio cache folder, readable by path and surviving the deletion of its profiles. Cells a
spreadsheet would run as a formula (starting with = + - @, tab or CR) get a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, delete, false, func, literal, literal_column, or_, true, tuple_, update
from sqlmodel import select

from models import CallSession, FieldValue, Profile, RoomGrant, Turn
from onboarding.db import get_engine, session_scope
from onboarding.forget import forget_profile

STATUSES = ("all", "completed", "partial", "flagged", "reviewed")
"""flagged = has fields flagged for review and nobody has reviewed the profile yet."""
EXPORT_CHUNK = 2000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets evaluate: OWASP's CSV injection list
SORT_INSTEAD_OF_WALK = 10_000  # index entries; beyond this a sequential scan + sort is cheaper on SQLite
NEWEST_FIRST = (Profile.created_at.desc(), Profile.id.desc())


@dataclass(frozen=True)
class ProfileFilter:
    search: str = ""
    status: str = "all"
    date_from: date | None = None
    date_to: date | None = None  # inclusive

    @classmethod
    def from_inputs(cls, search: str | None, status: str | None, date_from: Any, date_to: Any) -> ProfileFilter:
        """From the page's widgets; a bad date or status raises ValueError saying what is expected."""
        status = (status or "all").lower()
        if status not in STATUSES:
            raise ValueError(f"Unknown status {status!r}: use one of {', '.join(STATUSES)}")
        return cls((search or "").strip(), status, parse_day(date_from, "From"), parse_day(date_to, "To"))


def parse_day(value: Any, label: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value).date()
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ValueError(f"{label} date {value!r} is not a date: use YYYY-MM-DD, e.g. 2025-03-31") from None


@dataclass(frozen=True)
class ProfileRow:
    id: int
    created_at: datetime
    full_name: str | None
    email: str | None
    company: str | None
    user_id: str | None
    room_name: str
    completed: bool
    flagged: list[str]
    reviewed_by: str | None
    reviewed_at: datetime | None

    @property
    def status(self) -> str:
        return "completed" if self.completed else "partial"


@dataclass(frozen=True)
class ProfilePage:
    rows: list[ProfileRow]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def summary(self) -> str:
        return f"page {self.page} of {self.pages} ({self.total} profiles)"


def _like(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _is_sqlite(db_url: str) -> bool:
    return get_engine(db_url).dialect.name == "sqlite"


def _flag_count(sqlite: bool) -> ColumnElement[int]:
    """How many fields are flagged. PostgreSQL refuses json_array_length on a JSON null ("cannot get array length of
    a scalar") where SQLite answers 0, so there only arrays are measured (CASE: AND would not guard the call)."""
    if sqlite:
        return func.json_array_length(Profile.flagged)
    return func.json_array_length(case((func.json_typeof(Profile.flagged) == "array", Profile.flagged)))


def _conditions(flt: ProfileFilter, sqlite: bool) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if flt.search:
        pattern = _like(flt.search)
        # SQLite's LIKE already ignores (ASCII) case; ILIKE there would add lower() per row and double the scan.
        matches = [(col.like if sqlite else col.ilike)(pattern, escape="\\") for col in (
            Profile.full_name, Profile.email, Profile.company, Profile.user_id, CallSession.room_name)]
        if flt.search.isdigit():
            matches.append(Profile.id == int(flt.search))
        conds.append(or_(*matches))
    if flt.status == "completed":
        conds.append(Profile.completed == true())
    elif flt.status == "partial":
        conds.append(Profile.completed == false())
    elif flt.status == "flagged":
        conds += [_flag_count(sqlite) > 0, Profile.reviewed_at.is_(None)]
    elif flt.status == "reviewed":
        conds.append(Profile.reviewed_at.is_not(None))
    if flt.date_from:
        conds.append(Profile.created_at >= datetime.combine(flt.date_from, time.min, UTC))
    if flt.date_to:
        conds.append(Profile.created_at < datetime.combine(flt.date_to + timedelta(days=1), time.min, UTC))
    return conds


def _filtered(stmt, flt: ProfileFilter, sqlite: bool):
    """Join the call only when the search needs its room name: the other filters are on profile columns."""
    if flt.search:
        stmt = stmt.join(CallSession, CallSession.id == Profile.session_id)
    return stmt.where(*_conditions(flt, sqlite))


def _page_order(rows_to_walk: float) -> tuple:
    """Newest first; on SQLite, a sparse row-level filter sorts its matches instead of walking the date index.

    Walking ix_profile_created_at reads a table row per index entry: cheap when matches are dense, but a
    search matching a few rows would visit all 100,000 at random. `+created_at` (a no-op) makes SQLite
    scan sequentially and sort the matches, which costs about one scan whatever the match rate.
    """
    if rows_to_walk > SORT_INSTEAD_OF_WALK:
        return literal_column(f"+{Profile.__tablename__}.created_at").desc(), Profile.id.desc()
    return NEWEST_FIRST


_ROW_COLUMNS = (Profile.id, Profile.created_at, Profile.full_name, Profile.email, Profile.company, Profile.user_id,
                CallSession.room_name, Profile.completed, Profile.flagged, Profile.reviewed_by, Profile.reviewed_at)


def count_profiles(db_url: str, flt: ProfileFilter) -> int:
    with session_scope(db_url) as db:
        return db.exec(_filtered(select(func.count()).select_from(Profile), flt, _is_sqlite(db_url))).one()


def list_profiles(db_url: str, flt: ProfileFilter = ProfileFilter(), page: int = 1, page_size: int = 25) -> ProfilePage:
    """One page of profiles matching the filter, newest first, with the total count; pages are 1-based."""
    page_size = max(1, min(page_size, 500))
    sqlite = _is_sqlite(db_url)
    with session_scope(db_url) as db:
        total = db.exec(_filtered(select(func.count()).select_from(Profile), flt, sqlite)).one()
        page = max(1, min(page, max(1, math.ceil(total / page_size))))
        if total == 0:
            return ProfilePage([], 0, 1, page_size)
        offset = (page - 1) * page_size
        order = NEWEST_FIRST
        if sqlite and (flt.search or flt.status == "flagged"):
            everyone = db.exec(select(func.count()).select_from(Profile)).one()
            order = _page_order((offset + page_size) * everyone / total)
        ids = (_filtered(select(Profile.id), flt, sqlite).order_by(*order)
               .limit(page_size).offset(offset)).scalar_subquery()
        result = db.exec(select(*_ROW_COLUMNS).join(CallSession, CallSession.id == Profile.session_id)
                         .where(Profile.id.in_(ids)).order_by(*NEWEST_FIRST))
        rows = [ProfileRow(*row) for row in result]
    return ProfilePage(rows, total, page, page_size)


def _export_value(answers: dict[str, Any], name: str) -> Any:
    value = answers.get(name)
    return "" if value is None else value


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: a string that would start a formula gets a leading apostrophe."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_START) else value


def export_csv(db_url: str, flt: ProfileFilter, field_names: list[str]) -> Iterator[str]:
    """Every profile matching the filter (not just the page) as CSV text, a chunk of lines at a time, read in keyset
    chunks (one short transaction each); nothing is written to disk."""
    header = ["profile_id", "created_at", "status", "call_status", "room_name", "user_id", *field_names,
              "flagged", "reviewed_at", "reviewed_by"]
    columns = (Profile.id, Profile.created_at, Profile.completed, CallSession.status, CallSession.room_name,
               Profile.user_id, Profile.answers, Profile.flagged, Profile.reviewed_at, Profile.reviewed_by)
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def lines() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(header)
    yield lines()
    after: tuple[datetime, int] | None = None
    sqlite = _is_sqlite(db_url)
    while True:
        with session_scope(db_url) as db:
            stmt = select(*columns).join(CallSession, CallSession.id == Profile.session_id)
            stmt = stmt.where(*_conditions(flt, sqlite))
            if after is not None:
                # typed bind: the datetime must be stored-format to compare (and seek the index) correctly
                stmt = stmt.where(tuple_(Profile.created_at, Profile.id)
                                  < tuple_(literal(after[0], Profile.created_at.type), literal(after[1])))
            chunk = db.exec(stmt.order_by(*NEWEST_FIRST).limit(EXPORT_CHUNK)).all()
        for pid, created, completed, call_status, room, user_id, answers, flagged, rev_at, rev_by in chunk:
            answers = answers or {}
            writer.writerow([safe_cell(cell) for cell in (
                pid, created.isoformat(), "completed" if completed else "partial", call_status, room, user_id or "",
                *(_export_value(answers, n) for n in field_names), ";".join(flagged or []),
                rev_at.isoformat() if rev_at else "", rev_by or "")])
        yield lines()
        if len(chunk) < EXPORT_CHUNK:
            return
        after = (chunk[-1][1], chunk[-1][0])


def delete_profile(db_url: str, profile_id: int) -> bool:
    """Remove a profile and everything derived from it in one transaction (data-protection requests): its field
    values, transcript and call; the room's grant keeps only the room name (so it is never handed out again) and
    loses the caller's identity, address and credential. CSV exports are never stored, so none is left behind.

    Returns False when there was no such profile. Field values go first: they reference the turns.
    """
    with session_scope(db_url) as db:
        profile = db.get(Profile, profile_id)
        if profile is None:
            return False
        session_id = profile.session_id
        room = db.exec(select(CallSession.room_name).where(CallSession.id == session_id)).first()
        db.exec(update(RoomGrant).where(RoomGrant.room_name == room)
                .values(identity="", client_address=None, credential_hash=None, api_key_id=None))
        forget_profile(db, profile)  # its audio, queue items, funnel rows; the profile.deleted webhook
        db.exec(delete(FieldValue).where(FieldValue.profile_id == profile_id))
        db.exec(delete(FieldValue).where(FieldValue.turn_id.in_(select(Turn.id).where(Turn.session_id == session_id))))
        db.exec(delete(Profile).where(Profile.id == profile_id))
        db.exec(delete(Turn).where(Turn.session_id == session_id))
        db.exec(delete(CallSession).where(CallSession.id == session_id))
    return True

