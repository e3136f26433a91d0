"""Database engine, sessions and schema migrations: SQLite (WAL) by default, PostgreSQL through DATABASE_URL.

The schema is owned by Alembic (onboarding/migrations); every process brings its database to the newest revision
the first time it opens it, under a lock, so a worker and the dashboard starting together never race. Operators can
run the same step ahead of a deploy: `python -m onboarding db upgrade` (also `current`, `revision -m "…"`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, create_engine

import models  # registers the tables (models.SQLModel.metadata)

log = logging.getLogger("onboarding.db")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"  # the revision a database made by the pre-Alembic create_all path is brought to, then stamped
_PG_MIGRATION_LOCK = 0x6F6E626F  # pg_advisory_xact_lock key: one migrating process per database at a time
_POSTGRES_PREFIXES = ("postgres://", "postgresql://")


def normalize_url(url: str) -> str:
    """`postgres://` and `postgresql://` (as hosting providers hand them out) mean psycopg 3, the driver we ship."""
    for prefix in _POSTGRES_PREFIXES:
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _sqlite_pragmas(busy_ms: int) -> Callable[..., None]:
    """WAL lets the dashboard read while workers write; busy_timeout absorbs writer overlap."""

    def on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return on_connect


# The call writer (onboarding.storage) gives up on one attempt soon and keeps the write in its spool instead:
# a lock held for seconds, or a database host that does not answer, must not hold new writes in memory.
WRITER_BUSY_MS = 1000
WRITER_CONNECT_TIMEOUT_S = 3

_ENGINES: dict[str, Engine] = {}
_WRITER_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(url: str) -> Engine:
    """One engine per URL per process; its schema is brought up to date on first use.

    Calls that start together (thread executor) share one upgrade under a lock; other processes wait on the
    database's own lock (see `upgrade_database`).
    """
    url = normalize_url(url)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _create(url)
            try:
                upgrade_database(engine)
            except BaseException:
                engine.dispose()
                raise
            _ENGINES[url] = engine
        return engine


def writer_engine(url: str) -> Engine:
    """The engine of the call writer: the same database (schema brought up to date first), shorter waits."""
    url = normalize_url(url)
    get_engine(url)
    with _ENGINES_LOCK:
        engine = _WRITER_ENGINES.get(url)
        if engine is None:
            engine = _WRITER_ENGINES[url] = _create(url, busy_ms=WRITER_BUSY_MS,
                                                    connect_timeout=WRITER_CONNECT_TIMEOUT_S)
        return engine


def dispose_engine(url: str) -> None:
    """Close and forget the engines of a URL (before deleting its database file or dropping the database)."""
    url = normalize_url(url)
    with _ENGINES_LOCK:
        engines = [_ENGINES.pop(url, None), _WRITER_ENGINES.pop(url, None)]
    for engine in engines:
        if engine is not None:
            engine.dispose()


def _create(url: str, *, busy_ms: int = 10000, connect_timeout: int = 10) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas(busy_ms))
        return engine
    if url.startswith("postgresql+psycopg://"):
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": connect_timeout})
    return create_engine(url, pool_pre_ping=True)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A short transaction: commit on success, roll back on error."""
    with Session(get_engine(url), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


# ---- migrations -------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def _config(connection: Connection | None = None) -> Config:
    """Alembic configured in code: no alembic.ini to ship or to find at run time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes.update(connection=connection, applied=[])
    return config


def current_revisions(connection: Connection) -> set[str]:
    """The stamped revisions, read directly (a MigrationContext would log two lines on every process start)."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return set()
    return set(connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())


def _is_up_to_date(engine: Engine) -> bool:
    with engine.connect() as connection:
        return current_revisions(connection) == set(_scripts().get_heads())


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A transaction only one process at a time holds: the check, the migrations and the stamp happen in it.

    PostgreSQL: a transaction-scoped advisory lock (DDL is transactional there). SQLite: BEGIN IMMEDIATE takes the
    database's write lock, so a second process waits (busy_timeout) and then finds the schema current.
    """
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
        elif engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield connection
            connection.commit()
        except BaseException:
            connection.rollback()
            raise


def upgrade_database(engine: Engine, revision: str = "heads") -> list[str]:
    """Bring the schema to `revision`; returns the revisions applied (empty when it was already there)."""
    if revision == "heads" and _is_up_to_date(engine):
        return []
    with _migration_lock(engine) as connection:
        adopted = not current_revisions(connection) and _has_legacy_tables(connection)
        if adopted:
            _adopt_legacy_schema(connection)
        config = _config(connection)
        command.upgrade(config, revision)
        applied = ([BASELINE] if adopted else []) + config.attributes["applied"]
    if applied:
        log.info("database schema upgraded", extra={"revisions": applied, "dialect": engine.dialect.name})
    return applied


def _has_legacy_tables(connection: Connection) -> bool:
    return bool(set(sa.inspect(connection).get_table_names()) & set(models.SQLModel.metadata.tables))


def _adopt_legacy_schema(connection: Connection) -> None:
    """A database made by create_all before Alembic: add what the baseline has and it lacks, then stamp it.

    Old releases only ever added nullable columns and indexes, so adding them is safe; a missing NOT NULL column
    would mean a database this code never made, and is refused rather than guessed.
    """
    baseline = _scripts().get_revision(BASELINE).module.schema()
    inspector = sa.inspect(connection)
    for table in baseline.sorted_tables:
        if not inspector.has_table(table.name):
            table.create(connection)
            continue
        existing = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in existing:
                continue
            if not column.nullable:
                raise RuntimeError(f"Table {table.name} has no column {column.name} and it cannot be added safely: "
                                   "this database was not made by this application; migrate it by hand.")
            column_type = column.type.compile(dialect=connection.dialect)
            connection.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {column_type}')
        for index in table.indexes:
            index.create(connection, checkfirst=True)
    command.stamp(_config(connection), BASELINE)
    log.info("pre-Alembic database adopted", extra={"revision": BASELINE})


def run_command(action: str, url: str, message: str | None = None) -> str:
    """`python -m onboarding db upgrade|current|revision -m MSG`: what it did, as one line."""
    engine = _create(normalize_url(url))
    try:
        if action == "upgrade":
            applied = upgrade_database(engine)
            return f"applied {', '.join(applied)}" if applied else "already up to date"
        if action == "current":
            with engine.connect() as connection:
                return ", ".join(sorted(current_revisions(connection))) or "no schema yet"
        if not message:
            raise ValueError("revision needs -m MESSAGE")
        upgrade_database(engine)
        with _migration_lock(engine) as connection:
            config = _config(connection)
            config.set_main_option("file_template", "%%(rev)s_%%(slug)s")  # 0002_add_x.py, like 0001_initial.py
            next_id = f"{max(int(head) for head in _scripts().get_heads()) + 1:04d}"
            command.revision(config, message=message, autogenerate=True, rev_id=next_id)
        return f"wrote revision {next_id}"
    finally:
        engine.dispose()
