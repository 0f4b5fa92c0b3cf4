"""The safety ledger (安否台帳): shelter lists, their rows as reports, one entry per person

Revision ID: b2e7f4a5d963
Revises: a1d6e3f4c852
Create Date: 2026-12-07 22:56:35.579596
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lgcloud.db.base

revision = "b2e7f4a5d963"
down_revision = "a1d6e3f4c852"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "safety_lists",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("shelter", sa.String(length=100), nullable=False),
        sa.Column("reported_at", lgcloud.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("imported_at", lgcloud.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=80), nullable=False),
        sa.Column("node", sa.String(length=60), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_lists")),
        sa.UniqueConstraint("sha256", name=op.f("uq_safety_lists_sha256")),
    )
    op.create_table(
        "safety_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("addressee_number", sa.String(length=10), nullable=True),
        sa.Column("visitor_key", sa.String(length=240), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kana", sa.String(length=160), nullable=False),
        sa.Column("birth", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("location_kind", sa.String(length=10), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("reported_at", lgcloud.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=240), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["addressee_number"],
            ["persons.addressee_number"],
            name=op.f("fk_safety_entries_addressee_number_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_entries")),
        sa.UniqueConstraint("addressee_number", name=op.f("uq_safety_entries_addressee_number")),
        sa.UniqueConstraint("visitor_key", name=op.f("uq_safety_entries_visitor_key")),
    )
    op.create_table(
        "safety_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=True),
        sa.Column("receipt", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kana", sa.String(length=160), nullable=False),
        sa.Column("birth_text", sa.String(length=40), nullable=False),
        sa.Column("age_text", sa.String(length=10), nullable=False),
        sa.Column("sex_text", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("state_text", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("location_kind", sa.String(length=10), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("reported_at", lgcloud.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("verdict", sa.String(length=6), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("candidates", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(length=12), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", lgcloud.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_node", sa.String(length=60), nullable=True),
        sa.Column("note", sa.String(length=400), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["safety_entries.id"],
            name=op.f("fk_safety_reports_entry_id_safety_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["list_id"], ["safety_lists.id"], name=op.f("fk_safety_reports_list_id_safety_lists")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_reports")),
    )
    with op.batch_alter_table("safety_reports", schema=None) as batch_op:
        batch_op.create_index("ix_safety_reports_decision", ["decision"], unique=False)
        batch_op.create_index("ix_safety_reports_entry", ["entry_id"], unique=False)
        batch_op.create_index("ix_safety_reports_list", ["list_id", "receipt"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("safety_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_safety_reports_list")
        batch_op.drop_index("ix_safety_reports_entry")
        batch_op.drop_index("ix_safety_reports_decision")

    op.drop_table("safety_reports")
    op.drop_table("safety_entries")
    op.drop_table("safety_lists")
