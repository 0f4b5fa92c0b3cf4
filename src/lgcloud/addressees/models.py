"""Addressee tables in the town's database. ``persons`` (the register's) is the one list of
every 宛名番号 issued, resident or not: a 住登外者 has a ``persons`` row and a
``non_residents`` row, no person versions. So every table that points at ``persons`` (taxes,
NHI, seals, the 処理待ち lists) points at any addressee."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lgcloud.db.base import TownBase, UTCDateTime


class NonResident(TownBase):
    """住登外者: a party with a 宛名番号 who is not in the register."""

    __tablename__ = "non_residents"
    addressee_number: Mapped[str] = mapped_column(
        ForeignKey("persons.addressee_number"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(12))  # person / corporation
    name: Mapped[str] = mapped_column(String(80))
    kana: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(80))  # folded for search (register/folding)
    kana_key: Mapped[str] = mapped_column(String(120))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[int | None] = mapped_column(Integer)
    corporate_number: Mapped[str | None] = mapped_column(String(13))
    address: Mapped[str] = mapped_column(String(200))
    address_detail: Mapped[str] = mapped_column(String(200))
    postal_code: Mapped[str] = mapped_column(String(7))
    reason: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_non_residents_name_key", "name_key"),
        Index("ix_non_residents_kana_key", "kana_key"),
    )


class AddresseeLink(TownBase):
    """名寄せ: a 住登外者 and a resident found to be the same person (undone by ending it)."""

    __tablename__ = "addressee_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    non_resident: Mapped[str] = mapped_column(ForeignKey("persons.addressee_number"))
    resident: Mapped[str] = mapped_column(ForeignKey("persons.addressee_number"))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    linked_by: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(200))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(80))
    end_reason: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_addressee_links_non_resident", "non_resident"),
        Index("ix_addressee_links_resident", "resident"),
    )


class AreaContact(TownBase):
    """Per addressee and business area: 送付先 (where notices go), or the 代理人・代納人 who
    acts for them (``proxy`` = the proxy's 宛名番号), or an account (口座)."""

    __tablename__ = "area_contacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    addressee_number: Mapped[str] = mapped_column(ForeignKey("persons.addressee_number"))
    area: Mapped[str] = mapped_column(String(20))
    what: Mapped[str] = mapped_column(String(12))  # mailing / proxy / account
    #: for "mailing" (送付先)
    send_name: Mapped[str | None] = mapped_column(String(80))
    send_address: Mapped[str | None] = mapped_column(String(200))
    send_postal_code: Mapped[str | None] = mapped_column(String(7))
    #: for "proxy" (代理人・代納人・納税管理人)
    proxy: Mapped[str | None] = mapped_column(ForeignKey("persons.addressee_number"))
    proxy_role: Mapped[str | None] = mapped_column(String(20))
    #: for "account" (口座; 全銀: 金融機関4桁, 支店3桁, 預金種目, 口座番号7桁, 名義カナ)
    purpose: Mapped[str | None] = mapped_column(String(12))  # payment / debit
    bank_code: Mapped[str | None] = mapped_column(String(4))
    branch_code: Mapped[str | None] = mapped_column(String(3))
    account_type: Mapped[str | None] = mapped_column(String(1))
    account_number: Mapped[str | None] = mapped_column(String(7))
    holder_kana: Mapped[str | None] = mapped_column(String(60))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_area_contacts_person_area", "addressee_number", "area", "what"),)
