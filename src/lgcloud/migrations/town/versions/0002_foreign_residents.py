"""foreign-resident items of the register (第30条の45)

Revision ID: 3f7a2c91d0b4
Revises: 69b76afc9b6b
Create Date: 2026-11-28 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "3f7a2c91d0b4"
down_revision = "69b76afc9b6b"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("nationality", sa.String(length=60)),
    ("foreign_category", sa.String(length=20)),
    ("residence_status", sa.String(length=40)),
    ("stay_expires_on", sa.Date()),
    ("residence_card_number", sa.String(length=12)),
)


def upgrade() -> None:
    # ADD COLUMN of nullable columns: no table rebuild on SQLite or PostgreSQL.
    for name, type_ in _COLUMNS:
        op.add_column("person_versions", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("person_versions") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
