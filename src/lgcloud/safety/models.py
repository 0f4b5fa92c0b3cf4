"""The safety ledger (安否台帳) in a town's database: every shelter list imported, every row
of it as a report, and one entry per person (resident, former resident or visitor) with
the latest status and location the reports gave (docs/safety.md, "The safety ledger")."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lgcloud.db.base import TownBase, UTCDateTime


class SafetyList(TownBase):
    """One shelter list imported (evacuees.csv): the file, when it speaks of, and whether
    all its rows are in (an import writes in short chunks; a stopped one is resumed)."""

    __tablename__ = "safety_lists"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)  # the same file is one list
    shelter: Mapped[str] = mapped_column(String(100))  # the list's 避難所 (most rows')
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the time it speaks of
    as_of: Mapped[date] = mapped_column(Date)  # reference date of ages (the disaster's)
    rows: Mapped[int] = mapped_column(Integer)
    complete: Mapped[bool] = mapped_column(Boolean)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    imported_by: Mapped[str] = mapped_column(String(80))
    #: the site it was imported at: "centre", or a town node / partner serving the town
    #: during a disaster (its lists are handed back to the centre and merged)
    node: Mapped[str] = mapped_column(String(60))


class SafetyEntry(TownBase):
    """The ledger's one entry per person: a person of the register (by 宛名番号) or a
    visitor (by the name and birth written), with what the latest report said."""

    __tablename__ = "safety_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    addressee_number: Mapped[str | None] = mapped_column(
        ForeignKey("persons.addressee_number"), unique=True
    )
    #: a visitor's folded name (or reading) and birth date or age, so the same visitor on
    #: two lists is one entry; None for a person of the register
    visitor_key: Mapped[str | None] = mapped_column(String(240), unique=True)
    name: Mapped[str] = mapped_column(String(120))  # as last written (a visitor's only name)
    kana: Mapped[str] = mapped_column(String(160), default="")
    birth: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))  # 無事 負傷 要支援 行方不明 死亡 不明
    location_kind: Mapped[str] = mapped_column(String(10))  # 避難所 自宅 病院 町外 不明
    location: Mapped[str] = mapped_column(String(200), default="")
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())  # of the status shown
    source: Mapped[str] = mapped_column(String(240))  # the list and 受付番号, or the clerk
    reports: Mapped[int] = mapped_column(Integer)  # how many reports name this person


class SafetyReport(TownBase):
    """One report: a row of a shelter list (as written, with the matcher's verdict) or a
    status a clerk recorded; attached to its person's entry once decided."""

    __tablename__ = "safety_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    list_id: Mapped[int | None] = mapped_column(ForeignKey("safety_lists.id"))
    receipt: Mapped[str] = mapped_column(String(40), default="")  # 受付番号
    name: Mapped[str] = mapped_column(String(120), default="")
    kana: Mapped[str] = mapped_column(String(160), default="")
    birth_text: Mapped[str] = mapped_column(String(40), default="")  # as written
    age_text: Mapped[str] = mapped_column(String(10), default="")
    sex_text: Mapped[str] = mapped_column(String(10), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    state_text: Mapped[str] = mapped_column(String(40), default="")  # 状態 as written
    status: Mapped[str] = mapped_column(String(10))
    location_kind: Mapped[str] = mapped_column(String(10))
    location: Mapped[str] = mapped_column(String(200), default="")
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    verdict: Mapped[str] = mapped_column(String(6), default="")  # 一致 候補 不一致 ("" clerk)
    score: Mapped[int] = mapped_column(Integer, default=0)
    candidates: Mapped[str] = mapped_column(Text, default="")  # 宛名番号;… best first
    #: matched (一致), pending (候補 to decide), confirmed / visitor (a clerk decided),
    #: unreadable (no name to hold on to), clerk (a status a clerk recorded)
    decision: Mapped[str] = mapped_column(String(12))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("safety_entries.id"))
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the site where the clerk decided or recorded it ("centre" or a node's name)
    decided_node: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str] = mapped_column(String(400), default="")

    __table_args__ = (
        Index("ix_safety_reports_list", "list_id", "receipt"),
        Index("ix_safety_reports_entry", "entry_id"),
        Index("ix_safety_reports_decision", "decision"),
    )


class Disaster(TownBase):
    """A disaster the town supports its victims after (its 被災者台帳 and り災証明書)."""

    __tablename__ = "disasters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # the town's own, e.g. 2026-01
    name: Mapped[str] = mapped_column(String(120))  # 令和8年12月豪雨
    occurred_on: Mapped[date] = mapped_column(Date)  # 発災日
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_by: Mapped[str] = mapped_column(String(80))


class DamageSurvey(TownBase):
    """住家の被害認定: one survey of a household's home after a disaster. A later survey of
    the same home (二次調査, 再調査) supersedes the earlier, which is kept."""

    __tablename__ = "damage_surveys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    disaster_id: Mapped[int] = mapped_column(ForeignKey("disasters.id"))
    household_number: Mapped[str] = mapped_column(ForeignKey("households.number"))
    address: Mapped[str] = mapped_column(String(200))  # the home surveyed
    damage_ratio: Mapped[str] = mapped_column(String(8))  # 損害割合 (decimal text, 0–1)
    category: Mapped[str] = mapped_column(String(20))  # DamageCategory
    surveyed_on: Mapped[date] = mapped_column(Date)
    survey_round: Mapped[str] = mapped_column(String(10))  # 一次調査, 二次調査, 再調査
    surveyor: Mapped[str] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(String(400), default="")
    current: Mapped[bool] = mapped_column(Boolean)  # False once a later survey supersedes it
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(80))

    __table_args__ = (Index("ix_damage_surveys_household", "disaster_id", "household_number"),)


class SupportGrant(TownBase):
    """被災者生活再建支援金: one application of a household (基礎支援金 or 加算支援金), its
    amount as the law gave it on the day applied, and the decision."""

    __tablename__ = "support_grants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    disaster_id: Mapped[int] = mapped_column(ForeignKey("disasters.id"))
    household_number: Mapped[str] = mapped_column(ForeignKey("households.number"))
    survey_id: Mapped[int] = mapped_column(ForeignKey("damage_surveys.id"))  # it rests on
    kind: Mapped[str] = mapped_column(String(10))  # SupportKind
    method: Mapped[str | None] = mapped_column(String(10))  # RebuildMethod (加算支援金)
    members: Mapped[int] = mapped_column(Integer)  # household size on the disaster's date
    amount_yen: Mapped[int] = mapped_column(Integer)
    applied_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))  # 申請中 支給決定 不支給
    decided_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(400), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(80))

    __table_args__ = (Index("ix_support_grants_household", "disaster_id", "household_number"),)
