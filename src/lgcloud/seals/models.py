"""印鑑登録 tables in a town's database."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from lgcloud.db.base import TownBase, UTCDateTime


class SealRegistration(TownBase):
    """A registered seal: its number, the impression image (PNG) and its status."""

    __tablename__ = "seal_registrations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    registration_number: Mapped[str] = mapped_column(String(20), unique=True)  # 登録番号
    addressee_number: Mapped[str] = mapped_column(ForeignKey("persons.addressee_number"))
    image_png: Mapped[bytes] = mapped_column(LargeBinary)
    registered_on: Mapped[date] = mapped_column(Date)
    abolished_on: Mapped[date | None] = mapped_column(Date)  # 廃止日
    abolition_reason: Mapped[str | None] = mapped_column(String(40))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_seal_registrations_person", "addressee_number"),)
