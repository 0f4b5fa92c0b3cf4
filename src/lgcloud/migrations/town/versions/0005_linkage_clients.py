"""other systems allowed to pull the linkage API

Revision ID: 2e9c7a5d1f08
Revises: 8d4b2f61c9e3
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lgcloud.db.base import UTCDateTime

revision = "2e9c7a5d1f08"
down_revision = "8d4b2f61c9e3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "linkage_clients",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("grants", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linkage_clients")),
        sa.UniqueConstraint("name", name=op.f("uq_linkage_clients_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_linkage_clients_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("linkage_clients")
