"""選挙人名簿管理: 投票区, electors, elections, stations, registration runs, check-ins,
閲覧, 裁判員候補者 draws

Revision ID: 7e2d9b4c1a56
Revises: 6a3f0c8e2b17
Create Date: 2026-12-07 17:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lgcloud.db.base

revision = "7e2d9b4c1a56"
down_revision = "6a3f0c8e2b17"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "election_inspections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("purpose", sa.String(length=30), nullable=False),
        sa.Column("applicant", sa.String(length=120), nullable=False),
        sa.Column("viewers", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("polling_code", sa.String(length=8), nullable=False),
        sa.Column("clerk_name", sa.String(length=80), nullable=False),
        sa.Column("recorded_at", lgcloud.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_election_inspections")),
    )
    op.create_table(
        "election_juror_draws",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("roll_size", sa.Integer(), nullable=False),
        sa.Column("drawn", sa.JSON(), nullable=False),
        sa.Column("drawn_at", lgcloud.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("clerk_name", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_election_juror_draws")),
    )
    op.create_table(
        "election_polling_districts",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("place", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_election_polling_districts")),
    )
    op.create_table(
        "elections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("national", sa.Boolean(), nullable=False),
        sa.Column("polling_day", sa.Date(), nullable=False),
        sa.Column("reference_date", sa.Date(), nullable=False),
        sa.Column("registration_date", sa.Date(), nullable=False),
        sa.Column("early_from", sa.Date(), nullable=False),
        sa.Column("created_at", lgcloud.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_elections")),
        sa.UniqueConstraint("code", name=op.f("uq_elections_code")),
    )
    op.create_table(
        "election_checkins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("addressee_number", sa.String(length=10), nullable=False),
        sa.Column("elector_number", sa.String(length=10), nullable=False),
        sa.Column("polling_code", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("station", sa.String(length=80), nullable=False),
        sa.Column("checked_at", lgcloud.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("clerk_name", sa.String(length=80), nullable=False),
        sa.Column("node", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["election_id"],
            ["elections.id"],
            name=op.f("fk_election_checkins_election_id_elections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_election_checkins")),
        sa.UniqueConstraint(
            "election_id", "addressee_number", name=op.f("uq_election_checkins_election_id")
        ),
    )
    op.create_index(
        "ix_election_checkins_time",
        "election_checkins",
        ["election_id", "checked_at"],
        unique=False,
    )
    op.create_table(
        "election_polling_areas",
        sa.Column("area", sa.String(length=80), nullable=False),
        sa.Column("polling_code", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["polling_code"],
            ["election_polling_districts.code"],
            name=op.f("fk_election_polling_areas_polling_code_election_polling_districts"),
        ),
        sa.PrimaryKeyConstraint("area", name=op.f("pk_election_polling_areas")),
    )
    op.create_table(
        "election_registration_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=True),
        sa.Column("reference_date", sa.Date(), nullable=False),
        sa.Column("registration_date", sa.Date(), nullable=False),
        sa.Column("age_by", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("register_position", sa.Integer(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("previewed_at", lgcloud.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("previewed_by", sa.String(length=80), nullable=False),
        sa.Column("fixed_at", lgcloud.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("fixed_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["election_id"],
            ["elections.id"],
            name=op.f("fk_election_registration_runs_election_id_elections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_election_registration_runs")),
        sa.UniqueConstraint("code", name=op.f("uq_election_registration_runs_code")),
    )
    op.create_table(
        "election_stations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("polling_codes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["election_id"],
            ["elections.id"],
            name=op.f("fk_election_stations_election_id_elections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_election_stations")),
        sa.UniqueConstraint("election_id", "code", name=op.f("uq_election_stations_election_id")),
    )
    op.create_table(
        "electors",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("elector_number", sa.String(length=10), nullable=False),
        sa.Column("addressee_number", sa.String(length=10), nullable=False),
        sa.Column("polling_code", sa.String(length=8), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("run_code", sa.String(length=16), nullable=False),
        sa.Column("marked_on", sa.Date(), nullable=True),
        sa.Column("mark_reason", sa.String(length=40), nullable=True),
        sa.Column("struck_on", sa.Date(), nullable=True),
        sa.Column("strike_reason", sa.String(length=60), nullable=True),
        sa.ForeignKeyConstraint(
            ["addressee_number"],
            ["persons.addressee_number"],
            name=op.f("fk_electors_addressee_number_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_electors")),
        sa.UniqueConstraint("elector_number", name=op.f("uq_electors_elector_number")),
    )
    op.create_index(
        "ix_electors_person", "electors", ["addressee_number", "struck_on"], unique=False
    )
    op.create_index("ix_electors_polling", "electors", ["polling_code"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_electors_polling", table_name="electors")
    op.drop_index("ix_electors_person", table_name="electors")
    op.drop_table("electors")
    op.drop_table("election_stations")
    op.drop_table("election_registration_runs")
    op.drop_table("election_polling_areas")
    op.drop_index("ix_election_checkins_time", table_name="election_checkins")
    op.drop_table("election_checkins")
    op.drop_table("elections")
    op.drop_table("election_polling_districts")
    op.drop_table("election_juror_draws")
    op.drop_table("election_inspections")
    # ### end Alembic commands ###
