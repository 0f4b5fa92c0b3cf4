"""Identity integrity: indexes to find who else holds a 住民票コード or a 個人番号

Revision ID: 8b4e1f2a9c30
Revises: 7e2d9b4c1a56
Create Date: 2026-12-07 20:10:00
"""

from __future__ import annotations

from alembic import op

revision = "8b4e1f2a9c30"
down_revision = "7e2d9b4c1a56"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_person_versions_resident_code",
        "person_versions",
        ["resident_code", "is_current"],
        unique=False,
    )
    op.create_index(
        "ix_person_versions_individual_number",
        "person_versions",
        ["individual_number", "is_current"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_person_versions_individual_number", table_name="person_versions")
    op.drop_index("ix_person_versions_resident_code", table_name="person_versions")
