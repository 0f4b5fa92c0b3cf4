"""The MJ文字図形名 an imported gaiji table gave each text

Revision ID: a1d6e3f4c852
Revises: 9c5f2a3b7d41
Create Date: 2026-12-07 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lgcloud.db.base

revision = "a1d6e3f4c852"
down_revision = "9c5f2a3b7d41"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imported_glyph_names",
        sa.Column("text", sa.String(length=32), nullable=False),
        sa.Column("mj_name", sa.String(length=10), nullable=False),
        sa.Column("imported_at", lgcloud.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("text", name=op.f("pk_imported_glyph_names")),
    )


def downgrade() -> None:
    op.drop_table("imported_glyph_names")
