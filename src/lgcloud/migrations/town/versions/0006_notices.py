"""bulk notices: print runs and each notice sent

Revision ID: 6a3f0c8e2b17
Revises: 2e9c7a5d1f08
Create Date: 2026-12-07 15:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lgcloud.db.base import UTCDateTime

revision = "6a3f0c8e2b17"
down_revision = "2e9c7a5d1f08"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("area", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("sort_by", sa.String(length=12), nullable=False),
        sa.Column("per_file", sa.Integer(), nullable=False),
        sa.Column("planned", sa.Integer(), nullable=False),
        sa.Column("printed", sa.Integer(), nullable=False),
        sa.Column("set_aside", sa.JSON(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_runs")),
        sa.UniqueConstraint("code", name=op.f("uq_notice_runs_code")),
    )
    op.create_table(
        "notices_sent",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("addressee_number", sa.String(length=10), nullable=False),
        sa.Column("file_no", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("to_name", sa.String(length=80), nullable=False),
        sa.Column("to_address", sa.String(length=400), nullable=False),
        sa.Column("to_postal_code", sa.String(length=7), nullable=False),
        sa.Column("to_send_address", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["notice_runs.id"], name=op.f("fk_notices_sent_run_id_notice_runs")
        ),
        sa.ForeignKeyConstraint(
            ["addressee_number"],
            ["persons.addressee_number"],
            name=op.f("fk_notices_sent_addressee_number_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices_sent")),
    )
    op.create_index("ix_notices_sent_person", "notices_sent", ["addressee_number"], unique=False)
    op.create_index(
        "ix_notices_sent_run", "notices_sent", ["run_id", "file_no", "position"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_notices_sent_run", table_name="notices_sent")
    op.drop_index("ix_notices_sent_person", table_name="notices_sent")
    op.drop_table("notices_sent")
    op.drop_table("notice_runs")
