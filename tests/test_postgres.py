"""PostgreSQL: the same persistence and dashboard-data scenarios as on SQLite, migrations, concurrent writers.

Every test of test_profiles_admin.py and test_usage.py that takes their SQLite `db_url` is collected here a second
time with `db_url` pointing at a fresh database on a real PostgreSQL server (tests/conftest.py `postgres`), so the
recorder's writes and the dashboard's queries (JSON array length, case-insensitive search, month ranges, window
functions) are checked on both engines. Tests taking conftest's `database_url` run on both where they are.
The server runs in a time zone far from UTC (see conftest), so a timestamp read back in local time would show.
"""

from __future__ import annotations

import inspect
import selectors
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import ModuleType

import pytest
import sqlalchemy as sa
import test_profiles_admin
import test_usage
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import Session, SQLModel, create_engine, select

from models import CallSession, FieldValue, Profile, Turn
from onboarding.admin.profiles import ProfileFilter, list_profiles
from onboarding.admin.review import mark_reviewed
from onboarding.call_records import load_call
from onboarding.db import current_revisions, dispose_engine, get_engine, normalize_url, session_scope, upgrade_database
from onboarding.settings import REPO_ROOT

SQLITE_ONLY = {"test_a_database_from_before_review_columns_gains_them"}  # builds its database with sqlite3


def _scenarios(*modules: ModuleType) -> dict[str, Callable]:
    """The modules' SQLite tests (`db_url`) and the fixtures they request; `db_url` itself is overridden below.

    Tests taking conftest's `database_url` already run on both engines where they are, so they are left there.
    """
    found: dict[str, Callable] = {}
    for module in modules:
        for name, test in vars(module).items():
            if not name.startswith("test_") or not callable(test) or name in SQLITE_ONLY:
                continue
            if "db_url" not in inspect.signature(test).parameters:
                continue
            assert name not in found, f"{name} is defined in two scenario modules"
            found[name] = test
            _add_fixtures(module, test, found)
    return found


def _add_fixtures(module: ModuleType, requester: Callable, found: dict[str, Callable]) -> None:
    """The module's fixtures `requester` asks for, and the ones those ask for, in turn."""
    for param in inspect.signature(requester).parameters:
        if param != "db_url" and param not in found and hasattr(module, param):
            found[param] = getattr(module, param)
            _add_fixtures(module, found[param], found)


globals().update(_scenarios(test_profiles_admin, test_usage))


@pytest.fixture
def db_url(postgres_url: str) -> str:
    return postgres_url


# ---- URLs and migrations --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "used"), [
    ("postgres://u:p@db:5432/app", "postgresql+psycopg://u:p@db:5432/app"),
    ("postgresql://u@db/app?sslmode=require", "postgresql+psycopg://u@db/app?sslmode=require"),
    ("postgresql+psycopg://u@db/app", "postgresql+psycopg://u@db/app"),
    ("sqlite:///data/onboarding.db", "sqlite:///data/onboarding.db"),
])
def test_hosted_postgres_urls_use_psycopg(given: str, used: str) -> None:
    assert normalize_url(given) == used


def test_plain_postgresql_url_reaches_the_server(postgres_url: str) -> None:
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with session_scope(plain) as db:
        assert db.exec(select(sa.func.count()).select_from(CallSession)).one() == 0
    assert get_engine(plain) is get_engine(postgres_url)


def _schema_drift(url: str) -> list:
    with get_engine(url).connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)


def test_a_new_database_gets_exactly_the_models_schema(database_url: str) -> None:
    assert _schema_drift(database_url) == []
    with get_engine(database_url).connect() as connection:
        assert current_revisions(connection) == {"0005"}  # the newest revision


ADDED_SINCE_FIRST_RELEASE = {"callsession": ["provider_fallbacks", "stt_billed_seconds"],
                             "profile": ["reviewed_at", "reviewed_by"]}
INDEXES_SINCE_FIRST_RELEASE = ["ix_callsession_started_ended_mode", "ix_turn_session_index",
                               "ix_profile_completed_created", "ix_profile_reviewed_at", "ix_fieldvalue_turn_id"]
STARTED = datetime(2025, 6, 1, 12, 30, tzinfo=UTC)


def make_first_release_database(url: str) -> None:
    """What create_all made before Alembic: no alembic_version, no later columns or indexes; one call in it."""
    engine = create_engine(normalize_url(url))
    SQLModel.metadata.create_all(engine)
    with Session(engine) as db:
        call = CallSession(room_name="onboarding-old", status="completed", started_at=STARTED, agent_seconds=61.5,
                           usage_detail=[{"stt": 3.5}])
        db.add(call)
        db.flush()
        turns = [Turn(session_id=call.id, index=i, role=("agent", "user")[i % 2], text=f"turn {i}") for i in range(4)]
        profile = Profile(session_id=call.id, full_name="Maria Garcia", answers={"full_name": "Maria Garcia"},
                          flagged=["email"], completed=True, created_at=STARTED)
        db.add_all([*turns, profile])
        db.flush()
        db.add(FieldValue(profile_id=profile.id, field="full_name", value="Maria Garcia", raw_text="maria garcia",
                          turn_id=turns[1].id))
        db.commit()
    with engine.begin() as connection:
        for index in INDEXES_SINCE_FIRST_RELEASE:
            connection.exec_driver_sql(f"DROP INDEX {index}")
        for table, columns in ADDED_SINCE_FIRST_RELEASE.items():
            for column in columns:
                connection.exec_driver_sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    engine.dispose()


def test_a_first_release_database_is_upgraded_in_place_without_losing_rows(database_url: str) -> None:
    make_first_release_database(database_url)
    plain = create_engine(normalize_url(database_url))
    assert not {c["name"] for c in sa.inspect(plain).get_columns("profile")} & {"reviewed_at", "reviewed_by"}
    plain.dispose()  # really the old shape

    operator = subprocess.run([sys.executable, "-m", "onboarding", "db", "upgrade", "--url", database_url],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    # adopted and stamped at the baseline, then brought forward
    assert (operator.returncode, operator.stdout.strip()) == (0, "applied 0001, 0005"), operator.stderr
    engine = get_engine(database_url)  # a process opening it now finds it current
    assert upgrade_database(engine) == [] and upgrade_database(engine) == []  # upgrading again changes nothing

    assert _schema_drift(database_url) == []
    record = load_call(database_url, "onboarding-old")
    assert [t.text for t in record.turns] == [f"turn {i}" for i in range(4)]
    assert (record.call.started_at, record.call.agent_seconds, record.call.usage_detail) == (STARTED, 61.5,
                                                                                              [{"stt": 3.5}])
    assert (record.profile.full_name, record.profile.flagged, record.profile.reviewed_at) == (
        "Maria Garcia", ["email"], None)
    assert record.field_values[0].turn_id == record.turns[1].id
    assert mark_reviewed(database_url, record.profile.id, "alice").reviewed_by == "alice"  # new columns writable


def test_a_database_this_code_did_not_make_is_refused(database_url: str) -> None:
    engine = create_engine(normalize_url(database_url))
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE turn (id INTEGER PRIMARY KEY, note VARCHAR)")
    engine.dispose()
    with pytest.raises(RuntimeError, match="no column session_id"):
        get_engine(database_url)
    dispose_engine(database_url)


# ---- several worker processes writing at once -----------------------------------------------------------------

WRITERS, TURNS = 4, 50
# A worker process recording calls: for each "url room turns" line on stdin it records one call, storing each turn
# and then updating it with its metrics as the voice pipeline does, and answers with one line on stdout.
WRITER = """
import sys, time
from onboarding.recorder import CallRecorder
print("ready", flush=True)
for line in sys.stdin:
    url, room, turns = line.split()
    began = time.perf_counter()
    recorder = CallRecorder(url, room_name=room, worker_id=room)
    for i in range(int(turns)):
        role = ("agent", "user")[i % 2]
        recorder.add_turn(role, f"{room} turn {i}", message_id=f"m{i}")
        recorder.add_turn(role, f"{room} turn {i}", message_id=f"m{i}", metrics={"e2e_latency": i / 100})
    recorder.finish("completed", profile_complete=True)
    print(f"{2 * int(turns) + 2} writes in {time.perf_counter() - began:.2f} s", flush=True)
"""


def _line(writer: subprocess.Popen, deadline: float) -> str:
    """The writer's next line, or a failure with its stderr once it exits or the deadline passes."""
    with selectors.DefaultSelector() as selector:
        selector.register(writer.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            writer.kill()
            pytest.fail(f"writer {writer.pid} silent until the deadline")
    line = writer.stdout.readline()
    if not line:
        pytest.fail(f"writer {writer.pid} exited ({writer.wait()}):\n{writer.stderr.read()}")
    return line.strip()


@pytest.fixture(scope="module")
def writers() -> Iterator[list[subprocess.Popen]]:
    """Four writer processes, started once (imports take seconds) and waiting for work."""
    procs = [subprocess.Popen([sys.executable, "-c", WRITER], cwd=REPO_ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(WRITERS)]
    try:
        deadline = time.monotonic() + 120
        assert [_line(proc, deadline) for proc in procs] == ["ready"] * WRITERS
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def test_concurrent_writer_processes_lose_no_turn(database_url: str, writers: list[subprocess.Popen]) -> None:
    """Four processes record a call each at the same moment, on a database that has no tables yet."""
    rooms = [f"onboarding-writer-{n}" for n in range(WRITERS)]
    for writer, room in zip(writers, rooms, strict=True):
        writer.stdin.write(f"{database_url} {room} {TURNS}\n")
        writer.stdin.flush()
    deadline = time.monotonic() + 120
    assert all(_line(writer, deadline).startswith(f"{2 * TURNS + 2} writes in") for writer in writers)

    for room in rooms:
        record = load_call(database_url, room)
        assert record.call.status == "completed" and record.profile.completed
        assert [t.index for t in record.turns] == list(range(TURNS))
        assert [t.text for t in record.turns] == [f"{room} turn {i}" for i in range(TURNS)]
        assert [t.e2e_latency for t in record.turns] == [i / 100 for i in range(TURNS)]
    with session_scope(database_url) as db:
        assert db.exec(select(sa.func.count()).select_from(Turn)).one() == WRITERS * TURNS


def test_the_flagged_filter_copes_with_a_json_null(database_url: str) -> None:
    """PostgreSQL's json_array_length raises on a JSON null (SQLite answers 0): one such row must not break the page."""
    flagged = test_profiles_admin.record_call(database_url, "Sam Jones", "sam@initech.com", "Initech",
                                              room="onboarding-a", flagged=["email"])
    nulled = test_profiles_admin.record_call(database_url, "Li Wei", "li@globex.io", "Globex", room="onboarding-b")
    with session_scope(database_url) as db:
        db.exec(sa.update(Profile).where(Profile.id == nulled.profile_id).values(flagged=sa.JSON.NULL))
    rows = list_profiles(database_url, ProfileFilter(status="flagged")).rows
    assert [row.id for row in rows] == [flagged.profile_id]
