"""dated legal parameters set by the town's operator; 処理待ち items (the work list)

Revision ID: 5c1e8d2a7b40
Revises: 3f7a2c91d0b4
Create Date: 2026-12-07 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lgcloud.db.base import UTCDateTime

revision = "5c1e8d2a7b40"
down_revision = "3f7a2c91d0b4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parameter_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parameter_entries")),
    )
    op.create_index(
        "ix_parameter_entries_key", "parameter_entries", ["key", "effective_from"], unique=False
    )
    op.create_table(
        "pending_tasks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("area", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("addressee_number", sa.String(length=10), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("proposal", sa.JSON(), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("settled_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("settled_by", sa.String(length=80), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_tasks")),
        sa.UniqueConstraint("code", name=op.f("uq_pending_tasks_code")),
    )
    op.create_index(
        "ix_pending_tasks_area_state", "pending_tasks", ["area", "state", "due_on"], unique=False
    )
    op.create_index("ix_pending_tasks_person", "pending_tasks", ["addressee_number"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_pending_tasks_person", table_name="pending_tasks")
    op.drop_index("ix_pending_tasks_area_state", table_name="pending_tasks")
    op.drop_table("pending_tasks")
    op.drop_index("ix_parameter_entries_key", table_name="parameter_entries")
    op.drop_table("parameter_entries")
