"""Clerk accounts live in the town's database: a restored town brings its own logins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lgcloud.db.base import TownBase, UTCDateTime


class Clerk(TownBase):
    """A town's staff account. ``roles`` is a space-separated list of role names."""

    __tablename__ = "clerks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    staff_number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    roles: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Quick-switch PIN failures lock only the PIN, so a colleague at a shared terminal
    # cannot lock someone out of their password login by typing wrong PINs.
    pin_failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    pin_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
