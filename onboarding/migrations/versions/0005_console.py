"""The console staff and owners use: audio per turn, the field asked per agent turn, the definition version and
embedding origin per call, the post-call digest's review queue and funnel rows, and the webhook outbox.

Idempotent on purpose: a database made by the pre-Alembic create_all path from a newer models.py may already have
some of these columns and tables when it is adopted at 0001 and brought forward, so each step checks first.
Calls closed before this revision are marked digested: their turns carry no field tags to build a funnel from, and
a webhook for every profile ever completed would flood the receivers.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def _when(name: str, *, nullable: bool = False, index: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, index=index)


COLUMNS = {
    "callsession": [
        lambda: sa.Column("definition_hash", sa.String, nullable=True),
        lambda: sa.Column("origin", sa.String, nullable=True),
        lambda: _when("digested_at", nullable=True),
    ],
    "turn": [
        lambda: sa.Column("audio_key", sa.String, nullable=True),
        lambda: sa.Column("audio_seconds", sa.Float, nullable=True),
        lambda: sa.Column("asked_field", sa.String, nullable=True),
        lambda: sa.Column("read_back", sa.Boolean, nullable=False, server_default=sa.false()),
    ],
}
INDEXES = [("ix_callsession_origin", "callsession", ["origin"]),
           ("ix_callsession_digested_at", "callsession", ["digested_at"])]


def tables(meta: sa.MetaData) -> None:
    """The new tables as of this revision (a frozen copy, not models.py)."""
    sa.Table(
        "reviewitem", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("profile_id", sa.Integer, sa.ForeignKey("profile.id"), nullable=False),
        sa.Column("field", sa.String, nullable=False),
        sa.Column("value_id", sa.Integer, sa.ForeignKey("fieldvalue.id")),
        sa.Column("reasons", sa.String, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        _when("created_at"),
        _when("resolved_at", nullable=True),
        sa.Column("resolved_by", sa.String),
        sa.Column("action", sa.String),
        sa.Index("ix_reviewitem_open_queue", "resolved_at", "priority", "confidence", "id"),
        sa.Index("ix_reviewitem_profile_field", "profile_id", "field", unique=True),
    )
    sa.Table(
        "callfieldstat", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("callsession.id"), nullable=False),
        sa.Column("field", sa.String, nullable=False),
        _when("started_at"),
        sa.Column("definition_hash", sa.String),
        *(sa.Column(name, sa.Boolean, nullable=False) for name in (
            "reached", "answered_first_time", "reasked", "corrected", "skipped", "flagged", "hung_up")),
        sa.Column("seconds", sa.Float),
        sa.Column("answer_turns", sa.Integer, nullable=False),
        sa.Column("replies", sa.Integer, nullable=False),
        sa.Column("reply_seconds_total", sa.Float, nullable=False),
        sa.Column("reply_seconds_max", sa.Float),
        sa.Index("ix_callfieldstat_session_field", "session_id", "field", unique=True),
        sa.Index("ix_callfieldstat_started", "started_at", "definition_hash"),
    )
    sa.Table(
        "webhookevent", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.String, nullable=False, unique=True),
        sa.Column("type", sa.String, nullable=False),
        sa.Column("profile_id", sa.Integer, index=True),
        sa.Column("payload", sa.JSON),
        _when("created_at", index=True),
        sa.Column("fanned_out", sa.Boolean, nullable=False, index=True),
    )
    sa.Table(
        "webhookdelivery", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.Integer, sa.ForeignKey("webhookevent.id"), nullable=False),
        sa.Column("url", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        _when("next_attempt_at"),
        _when("claimed_until", nullable=True),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.String),
        _when("last_attempt_at", nullable=True),
        _when("delivered_at", nullable=True),
        _when("created_at", index=True),
        sa.Column("answers", sa.JSON),
        sa.Index("ix_webhookdelivery_due", "status", "next_attempt_at"),
        sa.Index("ix_webhookdelivery_event_url", "event_id", "url", unique=True),
    )


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for table, makers in COLUMNS.items():
        existing = {column["name"] for column in inspector.get_columns(table)}
        for make in makers:
            column = make()
            if column.name not in existing:  # ADD COLUMN: no table rebuild on SQLite (a million turns)
                op.add_column(table, column)
    existing_indexes = {ix["name"] for table in ("callsession",) for ix in inspector.get_indexes(table)}
    for name, table, columns in INDEXES:
        if name not in existing_indexes:
            op.create_index(name, table, columns)
    meta = sa.MetaData()
    meta.reflect(bind, only=["callsession", "profile", "fieldvalue"])  # what the new foreign keys point at
    tables(meta)
    meta.create_all(bind, checkfirst=True)
    # calls closed before this revision have nothing to digest (see the module docstring)
    callsession = sa.table("callsession", sa.column("status", sa.String),
                           sa.column("ended_at", sa.DateTime(timezone=True)),
                           sa.column("digested_at", sa.DateTime(timezone=True)))
    op.execute(callsession.update().where(callsession.c.status != "in_progress", callsession.c.digested_at.is_(None))
               .values(digested_at=sa.func.coalesce(callsession.c.ended_at, sa.func.current_timestamp())))


def downgrade() -> None:
    for name in ("webhookdelivery", "webhookevent", "callfieldstat", "reviewitem"):
        op.drop_table(name)
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
    for table, makers in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for make in makers:
                batch.drop_column(make().name)
