"""Wrong PINs in a row at a terminal: a streak ends the session

Revision ID: d4a9b8c7f185
Revises: ec4faa0c8f31
Create Date: 2026-12-07 23:21:51.479464
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d4a9b8c7f185"
down_revision = "ec4faa0c8f31"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pin_failures", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("pin_failures")
