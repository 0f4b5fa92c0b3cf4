"""外字: glyphs a town registers for characters no installed font draws

Revision ID: 9c5f2a3b7d41
Revises: 8b4e1f2a9c30
Create Date: 2026-12-07 20:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lgcloud.db.base

revision = "9c5f2a3b7d41"
down_revision = "8b4e1f2a9c30"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registered_glyphs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("text", sa.String(length=16), nullable=False),
        sa.Column("mj_name", sa.String(length=10), nullable=False),
        sa.Column("local_code", sa.String(length=20), nullable=False),
        sa.Column("svg", sa.Text(), nullable=False),
        sa.Column("registered_at", lgcloud.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registered_glyphs")),
        sa.UniqueConstraint("text", name=op.f("uq_registered_glyphs_text")),
    )


def downgrade() -> None:
    op.drop_table("registered_glyphs")
