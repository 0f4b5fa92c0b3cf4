"""The operator's dated parameter values, in the town's database (the shipped values are
in code, each area's ``parameters.py``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lgcloud.db.base import TownBase, UTCDateTime


class ParameterEntry(TownBase):
    """A value the town's operator set for a parameter, from a date (to a date)."""

    __tablename__ = "parameter_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(80))
    value: Mapped[str] = mapped_column(String(200))
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(200))  # 根拠 (law, ordinance, 議決)
    reason: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_parameter_entries_key", "key", "effective_from"),)
