"""処理待ち items in the town's database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lgcloud.db.base import TownBase, UTCDateTime


class PendingTask(TownBase):
    """One item of a business area's 処理待ち list."""

    __tablename__ = "pending_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: how pages and links name the item: random, so one town's numbering says nothing
    code: Mapped[str] = mapped_column(String(16), unique=True)
    area: Mapped[str] = mapped_column(String(40))  # the business area that must act
    kind: Mapped[str] = mapped_column(String(60))  # e.g. nhi_loss, linkage_failed
    addressee_number: Mapped[str] = mapped_column(String(10))
    event_id: Mapped[int | None] = mapped_column(Integer)  # the life event that caused it
    summary: Mapped[str] = mapped_column(String(300))  # Japanese, for the list
    proposal: Mapped[dict[str, Any]] = mapped_column(JSON)  # what the rule proposes
    raised_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)  # flagged when still open after this day
    state: Mapped[str] = mapped_column(String(12))  # open / done / dismissed
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    settled_by: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_pending_tasks_area_state", "area", "state", "due_on"),
        Index("ix_pending_tasks_person", "addressee_number"),
    )
