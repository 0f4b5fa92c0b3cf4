"""Tables of the resident register (住民記録) in a town's database.

The register keeps full history: every change closes the person's current version
(``valid_to`` = the event's effective date) and adds a new one. A removed resident (除票)
keeps a final version with status ``removed``. "Who lived in household H on date D" is the
set of resident versions of H with ``valid_from <= D < valid_to``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lgcloud.db.base import TownBase, UTCDateTime


class TownInfo(TownBase):
    """The town this database belongs to (one row): lets a restored file prove its owner."""

    __tablename__ = "town_info"
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    kana: Mapped[str] = mapped_column(String(80), default="")
    prefecture: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NumberSequence(TownBase):
    """Next sequence for 宛名番号 / 世帯番号 (locked FOR UPDATE while issuing)."""

    __tablename__ = "number_sequences"
    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer)


class District(TownBase):
    """行政区: a district used to group the all-residents list."""

    __tablename__ = "districts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    kana: Mapped[str] = mapped_column(String(120), default="")


class Household(TownBase):
    """世帯: a household number once issued; membership lives in person versions."""

    __tablename__ = "households"
    number: Mapped[str] = mapped_column(String(10), primary_key=True)
    created_on: Mapped[date] = mapped_column(Date)
    created_event_id: Mapped[int | None] = mapped_column(ForeignKey("life_events.id"))


class Person(TownBase):
    """A person ever recorded in this town (current or removed); state is in versions."""

    __tablename__ = "persons"
    addressee_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    created_event_id: Mapped[int | None] = mapped_column(ForeignKey("life_events.id"))


class LifeEventRecord(TownBase):
    """異動: one life event as it was recorded (the only way the register changes)."""

    __tablename__ = "life_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(30))
    effective_date: Mapped[date] = mapped_column(Date)
    notified_date: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    clerk_id: Mapped[int | None] = mapped_column(Integer)
    clerk_name: Mapped[str] = mapped_column(String(80))
    subjects: Mapped[list[str]] = mapped_column(JSON)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    request_id: Mapped[str] = mapped_column(String(64), default="")


class PersonVersion(TownBase):
    """One person's register record, valid from ``valid_from`` until ``valid_to`` (exclusive)."""

    __tablename__ = "person_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    addressee_number: Mapped[str] = mapped_column(ForeignKey("persons.addressee_number"))
    version_no: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    is_current: Mapped[bool] = mapped_column(Boolean)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("life_events.id"))
    status: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(80))
    kana: Mapped[str] = mapped_column(String(120), default="")
    name_key: Mapped[str] = mapped_column(String(80))
    given_name_key: Mapped[str] = mapped_column(String(80))
    kana_key: Mapped[str] = mapped_column(String(120))
    given_kana_key: Mapped[str] = mapped_column(String(120))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[int] = mapped_column(Integer)
    resident_code: Mapped[str | None] = mapped_column(String(11))
    individual_number: Mapped[str | None] = mapped_column(String(12))  # 個人番号
    household_number: Mapped[str] = mapped_column(ForeignKey("households.number"))
    relationship: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(200))
    address_detail: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(7), default="")
    district: Mapped[str] = mapped_column(String(60), default="")
    resident_since: Mapped[date] = mapped_column(Date)
    settled_on: Mapped[date] = mapped_column(Date)
    notified_on: Mapped[date | None] = mapped_column(Date)
    last_event: Mapped[str] = mapped_column(String(30))
    removed_on: Mapped[date | None] = mapped_column(Date)
    removal_reason: Mapped[str | None] = mapped_column(String(30))
    previous_address: Mapped[str | None] = mapped_column(Text)
    destination_address: Mapped[str | None] = mapped_column(Text)
    honseki: Mapped[str | None] = mapped_column(Text)
    hittousha: Mapped[str | None] = mapped_column(String(80))
    # 外国人住民 (住民基本台帳法 第30条の45); all null for Japanese nationals
    nationality: Mapped[str | None] = mapped_column(String(60))  # 国籍・地域
    foreign_category: Mapped[str | None] = mapped_column(String(20))  # 第30条45規定区分
    residence_status: Mapped[str | None] = mapped_column(String(40))  # 在留資格
    stay_expires_on: Mapped[date | None] = mapped_column(Date)  # 在留期間等の満了の日
    residence_card_number: Mapped[str | None] = mapped_column(String(12))  # 在留カード等番号

    __table_args__ = (
        Index("ux_person_versions_person_version", "addressee_number", "version_no", unique=True),
        Index("ix_person_versions_current_name", "is_current", "name_key"),
        Index("ix_person_versions_current_given", "is_current", "given_name_key"),
        Index("ix_person_versions_current_kana", "is_current", "kana_key"),
        Index("ix_person_versions_current_given_kana", "is_current", "given_kana_key"),
        Index("ix_person_versions_household", "household_number", "valid_from"),
        Index("ix_person_versions_address", "address", "valid_from"),
        Index("ix_person_versions_person_current", "addressee_number", "is_current"),
        # who else holds a 住民票コード / 個人番号 (identity integrity, checked on every write)
        Index("ix_person_versions_resident_code", "resident_code", "is_current"),
        Index("ix_person_versions_individual_number", "individual_number", "is_current"),
    )


class RegisteredGlyph(TownBase):
    """外字: a glyph the town registered for a character, or a base character and variation
    selector, that no installed font draws; certificates draw it, the gaiji table names it."""

    __tablename__ = "registered_glyphs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: the text it draws: one character, or a base and its selector, stored as given
    text: Mapped[str] = mapped_column(String(16), unique=True)
    mj_name: Mapped[str] = mapped_column(String(10), default="")  # MJ文字図形名, if any
    local_code: Mapped[str] = mapped_column(String(20), default="")  # the town's own code
    svg: Mapped[str] = mapped_column(Text)  # an SVG document, drawn one em square
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    registered_by: Mapped[str] = mapped_column(String(80))


class ImportedGlyphName(TownBase):
    """The MJ文字図形名 an imported gaiji table gave a text: kept, so that the town's own
    cp932 exports name the character as the system it came from did."""

    __tablename__ = "imported_glyph_names"
    text: Mapped[str] = mapped_column(String(32), primary_key=True)
    mj_name: Mapped[str] = mapped_column(String(10))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())
