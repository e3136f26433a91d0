"""Durable call writes: a stable key per call, unique turns and field values per call, heartbeats, retention mark.

- `callsession.call_key` (unique): the recorder's UUID for a call, so a write replayed from the spool finds its call.
- `turn (session_id, index)` becomes unique: a replayed turn updates its row instead of adding a second one.
- `fieldvalue.seq` with `(profile_id, seq)` unique: a replayed field value stores once.
- `callsession.heartbeat_at`: touched by the writer of a call in progress; a reaper closes calls whose writer died.
- `callsession.transcript_purged_at`: when TRANSCRIPT_RETENTION_DAYS blanked the call's transcript.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("callsession", sa.Column("call_key", sa.String, nullable=True))
    op.create_index("ix_callsession_call_key", "callsession", ["call_key"], unique=True)
    op.add_column("callsession", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("callsession", sa.Column("transcript_purged_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_index("ix_turn_session_index", table_name="turn")
    op.create_index("ix_turn_session_index", "turn", ["session_id", "index"], unique=True)
    op.add_column("fieldvalue", sa.Column("seq", sa.Integer, nullable=True))
    op.create_index("ix_fieldvalue_profile_seq", "fieldvalue", ["profile_id", "seq"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_fieldvalue_profile_seq", table_name="fieldvalue")
    op.drop_index("ix_turn_session_index", table_name="turn")
    op.create_index("ix_turn_session_index", "turn", ["session_id", "index"])
    op.drop_index("ix_callsession_call_key", table_name="callsession")
    with op.batch_alter_table("fieldvalue") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("seq")
    with op.batch_alter_table("callsession") as batch:
        for column in ("transcript_purged_at", "heartbeat_at", "call_key"):
            batch.drop_column(column)
