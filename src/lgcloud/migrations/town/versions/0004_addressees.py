"""addressee master: 住登外者, 名寄せ links, per-area contacts (送付先・代理人・口座)

Revision ID: 8d4b2f61c9e3
Revises: 5c1e8d2a7b40
Create Date: 2026-12-07 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lgcloud.db.base import UTCDateTime

revision = "8d4b2f61c9e3"
down_revision = "5c1e8d2a7b40"
branch_labels = None
depends_on = None

PERSON = "persons.addressee_number"


def upgrade() -> None:
    op.create_table(
        "non_residents",
        sa.Column("addressee_number", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kana", sa.String(length=120), nullable=False),
        sa.Column("name_key", sa.String(length=80), nullable=False),
        sa.Column("kana_key", sa.String(length=120), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.Integer(), nullable=True),
        sa.Column("corporate_number", sa.String(length=13), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("address_detail", sa.String(length=200), nullable=False),
        sa.Column("postal_code", sa.String(length=7), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["addressee_number"], [PERSON], name=op.f("fk_non_residents_addressee_number_persons")
        ),
        sa.PrimaryKeyConstraint("addressee_number", name=op.f("pk_non_residents")),
    )
    op.create_index("ix_non_residents_name_key", "non_residents", ["name_key"], unique=False)
    op.create_index("ix_non_residents_kana_key", "non_residents", ["kana_key"], unique=False)
    op.create_table(
        "addressee_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("non_resident", sa.String(length=10), nullable=False),
        sa.Column("resident", sa.String(length=10), nullable=False),
        sa.Column("linked_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("linked_by", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("ended_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=80), nullable=True),
        sa.Column("end_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["non_resident"], [PERSON], name=op.f("fk_addressee_links_non_resident_persons")
        ),
        sa.ForeignKeyConstraint(
            ["resident"], [PERSON], name=op.f("fk_addressee_links_resident_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addressee_links")),
    )
    op.create_index(
        "ix_addressee_links_non_resident", "addressee_links", ["non_resident"], unique=False
    )
    op.create_index("ix_addressee_links_resident", "addressee_links", ["resident"], unique=False)
    op.create_table(
        "area_contacts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("addressee_number", sa.String(length=10), nullable=False),
        sa.Column("area", sa.String(length=20), nullable=False),
        sa.Column("what", sa.String(length=12), nullable=False),
        sa.Column("send_name", sa.String(length=80), nullable=True),
        sa.Column("send_address", sa.String(length=200), nullable=True),
        sa.Column("send_postal_code", sa.String(length=7), nullable=True),
        sa.Column("proxy", sa.String(length=10), nullable=True),
        sa.Column("proxy_role", sa.String(length=20), nullable=True),
        sa.Column("purpose", sa.String(length=12), nullable=True),
        sa.Column("bank_code", sa.String(length=4), nullable=True),
        sa.Column("branch_code", sa.String(length=3), nullable=True),
        sa.Column("account_type", sa.String(length=1), nullable=True),
        sa.Column("account_number", sa.String(length=7), nullable=True),
        sa.Column("holder_kana", sa.String(length=60), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["addressee_number"], [PERSON], name=op.f("fk_area_contacts_addressee_number_persons")
        ),
        sa.ForeignKeyConstraint(["proxy"], [PERSON], name=op.f("fk_area_contacts_proxy_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_area_contacts")),
    )
    op.create_index(
        "ix_area_contacts_person_area",
        "area_contacts",
        ["addressee_number", "area", "what"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_area_contacts_person_area", table_name="area_contacts")
    op.drop_table("area_contacts")
    op.drop_index("ix_addressee_links_resident", table_name="addressee_links")
    op.drop_index("ix_addressee_links_non_resident", table_name="addressee_links")
    op.drop_table("addressee_links")
    op.drop_index("ix_non_residents_kana_key", table_name="non_residents")
    op.drop_index("ix_non_residents_name_key", table_name="non_residents")
    op.drop_table("non_residents")
