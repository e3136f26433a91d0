"""Alembic environment, run by `onboarding.db` (no alembic.ini): `python -m onboarding db upgrade|current|revision`.

`onboarding.db` passes an open connection, already inside the transaction that holds the migration lock, in
`config.attributes["connection"]`, so the version check, the migrations and the version stamp are one unit.
Logging is left as the application configured it.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import models  # noqa: F401  (registers the tables, for `revision --autogenerate`)

connection = context.config.attributes.get("connection")
applied: list[str] = context.config.attributes.setdefault("applied", [])
if connection is None or context.is_offline_mode():
    raise SystemExit("Run migrations with `python -m onboarding db upgrade` (it connects to DATABASE_URL).")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters a table by copying it
    compare_type=True,
    # tells the caller which revisions ran (not stamps)
    on_version_apply=lambda *, step, **_: None if step.is_stamp else applied.append(step.up_revision_id),
)
with context.begin_transaction():
    context.run_migrations()
