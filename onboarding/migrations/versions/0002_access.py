"""Access: room grants (who each room name was issued to), staff users and their sessions.

A frozen copy of the tables as models.py defines them at this revision (plain SQLAlchemy types).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def _when(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def schema() -> sa.MetaData:
    meta = sa.MetaData()
    sa.Table(
        "roomgrant", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("room_name", sa.String, nullable=False, unique=True, index=True),
        sa.Column("mode", sa.String, nullable=False),
        sa.Column("identity", sa.String, nullable=False),
        sa.Column("client_address", sa.String),
        sa.Column("credential_hash", sa.String, unique=True, index=True),
        sa.Column("api_key_id", sa.String),
        _when("issued_at"),
        _when("expires_at"),
        sa.Index("ix_roomgrant_client_expires", "client_address", "expires_at"),
    )
    sa.Table(
        "staffuser", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String, nullable=False, unique=True, index=True),
        sa.Column("password_hash", sa.String, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        _when("created_at"),
    )
    sa.Table(
        "staffsession", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String, nullable=False, unique=True, index=True),
        sa.Column("username", sa.String, nullable=False, index=True),
        sa.Column("client_address", sa.String),
        _when("created_at"),
        _when("expires_at"),
    )
    return meta


def upgrade() -> None:
    schema().create_all(op.get_bind())


def downgrade() -> None:
    schema().drop_all(op.get_bind())
