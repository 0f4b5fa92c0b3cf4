"""Print runs of notices and each notice sent, in the town's database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lgcloud.db.base import TownBase, UTCDateTime


class NoticeRun(TownBase):
    """One batch of notices of one kind (e.g. 令和8年度 個人住民税 納税通知書)."""

    __tablename__ = "notice_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    area: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(120))
    sort_by: Mapped[str] = mapped_column(String(12))
    per_file: Mapped[int] = mapped_column(Integer)
    planned: Mapped[int] = mapped_column(Integer)
    printed: Mapped[int] = mapped_column(Integer)
    #: the notices set aside (a character the font cannot draw): addressee → why
    set_aside: Mapped[dict[str, str]] = mapped_column(JSON)
    files: Mapped[list[str]] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class NoticeSent(TownBase):
    """A notice of a run, against its addressee: where it went and where it is printed."""

    __tablename__ = "notices_sent"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("notice_runs.id"))
    addressee_number: Mapped[str] = mapped_column(ForeignKey("persons.addressee_number"))
    file_no: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)  # 1-based, within the file
    to_name: Mapped[str] = mapped_column(String(80))
    to_address: Mapped[str] = mapped_column(String(400))
    to_postal_code: Mapped[str] = mapped_column(String(7))
    to_send_address: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_notices_sent_person", "addressee_number"),
        Index("ix_notices_sent_run", "run_id", "file_no", "position"),
    )
