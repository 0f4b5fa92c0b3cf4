"""国民健康保険 tables in a town's database."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lgcloud.db.base import TownBase, UTCDateTime


class NhiHousehold(TownBase):
    """An insured household (国保世帯): its 記号 and its householder (世帯主, possibly 擬制)."""

    __tablename__ = "nhi_households"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    household_number: Mapped[str] = mapped_column(ForeignKey("households.number"))
    symbol: Mapped[str] = mapped_column(String(20))  # 記号
    householder: Mapped[str] = mapped_column(ForeignKey("persons.addressee_number"))
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (Index("ix_nhi_households_household", "household_number"),)


class NhiMember(TownBase):
    """A qualification period of one insured person (被保険者)."""

    __tablename__ = "nhi_members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    nhi_household_id: Mapped[int] = mapped_column(ForeignKey("nhi_households.id"))
    addressee_number: Mapped[str] = mapped_column(ForeignKey("persons.addressee_number"))
    insured_number: Mapped[str] = mapped_column(String(20))  # 番号
    branch: Mapped[str] = mapped_column(String(2))  # 枝番
    qualified_on: Mapped[date] = mapped_column(Date)  # 資格取得日
    disqualified_on: Mapped[date | None] = mapped_column(Date)  # 資格喪失日
    copay_percent: Mapped[int] = mapped_column(Integer)  # 一部負担金の割合 (%)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_nhi_members_person", "addressee_number", "qualified_on"),)
