"""Agent workers' calls and capacity (WorkerStatus), for the busy signal, the rooms page and doctor.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("workerstatus"):  # a pre-Alembic database made by create_all has it
        return
    op.create_table(
        "workerstatus",
        sa.Column("worker_id", sa.String, primary_key=True),
        sa.Column("agent_name", sa.String, nullable=False, index=True),
        sa.Column("host", sa.String, nullable=False),
        sa.Column("executor", sa.String, nullable=False),
        sa.Column("active_jobs", sa.Integer, nullable=False),
        sa.Column("max_jobs", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("workerstatus")
