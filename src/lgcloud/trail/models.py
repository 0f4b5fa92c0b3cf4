"""The journal: an ordered, append-only log of committed changes per town."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lgcloud.db.base import TownBase, UTCDateTime


class JournalEntry(TownBase):
    """One committed write: its row images, in commit order (``seq`` has no gaps)."""

    __tablename__ = "journal"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    committed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(40))
    request_id: Mapped[str] = mapped_column(String(64))
    audit_seq: Mapped[int | None] = mapped_column(Integer)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
