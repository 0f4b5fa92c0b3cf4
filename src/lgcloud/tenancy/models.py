"""Platform tables: hosted towns and login sessions (no personal data here)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lgcloud.db.base import PlatformBase, UTCDateTime


class HostedTown(PlatformBase):
    """A town hosted on this platform and where its database lives."""

    __tablename__ = "towns"
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    kana: Mapped[str] = mapped_column(String(80), default="")
    prefecture: Mapped[str] = mapped_column(String(80), default="")
    database_url: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LoginSession(PlatformBase):
    """A login session; only the token's hash is stored. The town is fixed at login."""

    __tablename__ = "sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    town_code: Mapped[str] = mapped_column(String(6))
    clerk_id: Mapped[int] = mapped_column(Integer)
    logged_in_clerk_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
