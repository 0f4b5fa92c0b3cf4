"""Audit tables in a town's database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lgcloud.db.base import TownBase, UTCDateTime


class AuditEntry(TownBase):
    """One audited action. ``entry_hash`` covers every other field and ``prev_hash``."""

    __tablename__ = "audit_entries"
    # Storage order; ``seq`` is the chain position and is covered by the hash.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    town_code: Mapped[str] = mapped_column(String(6))
    clerk_id: Mapped[int | None] = mapped_column(Integer)
    clerk_name: Mapped[str] = mapped_column(String(80))
    staff_number: Mapped[str] = mapped_column(String(20), default="")
    action: Mapped[str] = mapped_column(String(40))
    subjects: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(40))
    mode: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_entries_seq", "seq"),
        Index("ix_audit_entries_clerk", "clerk_id", "at"),
        Index("ix_audit_entries_staff", "staff_number", "at"),
    )


class AuditSubject(TownBase):
    """Index of people concerned by an entry, for "who viewed this person?" (not hashed)."""

    __tablename__ = "audit_subjects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_seq: Mapped[int] = mapped_column(Integer)
    addressee_number: Mapped[str] = mapped_column(String(10))

    __table_args__ = (Index("ix_audit_subjects_person", "addressee_number", "entry_seq"),)


class AuditHead(TownBase):
    """The chain's head (one row), updated with each entry; locked while appending."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    entry_hash: Mapped[str] = mapped_column(String(64))
