"""Initial schema: calls, turns, profiles and field values as models.py defines them when Alembic was adopted.

The schema is a frozen copy (plain SQLAlchemy types, not models.py): a migration must keep meaning what it meant
when it was written. `onboarding.db` also reads `schema()` to bring a database made by the old create_all path
(no alembic_version table, maybe without the columns added since its release) up to this revision before stamping.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _when(name: str, *, nullable: bool = False, index: bool = False) -> sa.Column:
    """A timestamp: timezone-aware (timestamptz on PostgreSQL), as sqlmodel's UTCDateTime maps `datetime`."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, index=index)


def schema() -> sa.MetaData:
    """The four tables with every column and index, as of this revision."""
    meta = sa.MetaData()
    sa.Table(
        "callsession", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("room_name", sa.String, nullable=False, index=True),
        sa.Column("mode", sa.String, nullable=False),
        sa.Column("participant_identity", sa.String),
        sa.Column("user_id", sa.String, index=True),
        sa.Column("worker_id", sa.String),
        sa.Column("status", sa.String, nullable=False, index=True),
        sa.Column("status_reason", sa.String),
        _when("started_at", index=True),
        _when("ended_at", nullable=True),
        sa.Column("stt_provider", sa.String, nullable=False),
        sa.Column("llm_provider", sa.String, nullable=False),
        sa.Column("tts_provider", sa.String, nullable=False),
        sa.Column("agent_seconds", sa.Float, nullable=False),
        sa.Column("stt_audio_seconds", sa.Float, nullable=False),
        sa.Column("tts_characters", sa.Integer, nullable=False),
        sa.Column("llm_input_tokens", sa.Integer, nullable=False),
        sa.Column("llm_output_tokens", sa.Integer, nullable=False),
        sa.Column("usage_detail", sa.JSON),
        sa.Column("provider_fallbacks", sa.JSON),
        sa.Column("stt_billed_seconds", sa.Float),
        sa.Index("ix_callsession_started_ended_mode", "started_at", "ended_at", "mode"),
    )
    sa.Table(
        "turn", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("callsession.id"), nullable=False, index=True),
        sa.Column("index", sa.Integer, nullable=False),
        sa.Column("role", sa.String, nullable=False),
        sa.Column("text", sa.String, nullable=False),
        sa.Column("message_id", sa.String),
        sa.Column("interrupted", sa.Boolean, nullable=False),
        _when("created_at"),
        *(sa.Column(name, sa.Float) for name in (
            "e2e_latency", "transcription_delay", "end_of_turn_delay", "llm_ttft", "tts_ttfb")),
        sa.Index("ix_turn_session_index", "session_id", "index"),
    )
    sa.Table(
        "profile", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("callsession.id"), nullable=False, index=True, unique=True),
        sa.Column("user_id", sa.String, index=True),
        sa.Column("full_name", sa.String),
        sa.Column("email", sa.String, index=True),
        sa.Column("company", sa.String),
        sa.Column("role", sa.String),
        sa.Column("team_size", sa.Integer),
        sa.Column("primary_goal", sa.String),
        sa.Column("phone", sa.String),
        sa.Column("timezone", sa.String),
        sa.Column("answers", sa.JSON),
        sa.Column("flagged", sa.JSON),
        sa.Column("completed", sa.Boolean, nullable=False, index=True),
        _when("created_at", index=True),
        _when("updated_at"),
        _when("reviewed_at", nullable=True, index=True),
        sa.Column("reviewed_by", sa.String),
        sa.Index("ix_profile_completed_created", "completed", "created_at"),
    )
    sa.Table(
        "fieldvalue", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("profile_id", sa.Integer, sa.ForeignKey("profile.id"), nullable=False, index=True),
        sa.Column("field", sa.String, nullable=False),
        sa.Column("value", sa.String, nullable=False),
        sa.Column("raw_text", sa.String, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("turn_id", sa.Integer, sa.ForeignKey("turn.id"), index=True),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.Column("changed_by", sa.String),
        _when("created_at"),
    )
    return meta


def upgrade() -> None:
    schema().create_all(op.get_bind())


def downgrade() -> None:
    schema().drop_all(op.get_bind())
