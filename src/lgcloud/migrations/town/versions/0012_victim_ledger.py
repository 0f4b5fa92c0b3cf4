"""被災者台帳: disasters, the damage surveys of households' homes, the 支援金 applied for

Revision ID: c3f8a6b7e074
Revises: b2e7f4a5d963
Create Date: 2026-12-07 23:14:12.478770
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lgcloud.db.base

revision = "c3f8a6b7e074"
down_revision = "b2e7f4a5d963"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disasters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("opened_at", lgcloud.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disasters")),
        sa.UniqueConstraint("code", name=op.f("uq_disasters_code")),
    )
    op.create_table(
        "damage_surveys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("disaster_id", sa.Integer(), nullable=False),
        sa.Column("household_number", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("damage_ratio", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("surveyed_on", sa.Date(), nullable=False),
        sa.Column("survey_round", sa.String(length=10), nullable=False),
        sa.Column("surveyor", sa.String(length=80), nullable=False),
        sa.Column("note", sa.String(length=400), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", lgcloud.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["disaster_id"], ["disasters.id"], name=op.f("fk_damage_surveys_disaster_id_disasters")
        ),
        sa.ForeignKeyConstraint(
            ["household_number"],
            ["households.number"],
            name=op.f("fk_damage_surveys_household_number_households"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_damage_surveys")),
    )
    with op.batch_alter_table("damage_surveys", schema=None) as batch_op:
        batch_op.create_index(
            "ix_damage_surveys_household", ["disaster_id", "household_number"], unique=False
        )

    op.create_table(
        "support_grants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("disaster_id", sa.Integer(), nullable=False),
        sa.Column("household_number", sa.String(length=10), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=True),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("amount_yen", sa.Integer(), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=400), nullable=False),
        sa.Column("recorded_at", lgcloud.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["disaster_id"], ["disasters.id"], name=op.f("fk_support_grants_disaster_id_disasters")
        ),
        sa.ForeignKeyConstraint(
            ["household_number"],
            ["households.number"],
            name=op.f("fk_support_grants_household_number_households"),
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["damage_surveys.id"],
            name=op.f("fk_support_grants_survey_id_damage_surveys"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_grants")),
    )
    with op.batch_alter_table("support_grants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_support_grants_household", ["disaster_id", "household_number"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("support_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_support_grants_household")

    op.drop_table("support_grants")
    with op.batch_alter_table("damage_surveys", schema=None) as batch_op:
        batch_op.drop_index("ix_damage_surveys_household")

    op.drop_table("damage_surveys")
    op.drop_table("disasters")
