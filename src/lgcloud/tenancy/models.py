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
    #: normal (the centre) | standby (a replica, not served) | down_recovery (a town node
    #: serving its replica's copy read-only) | partner (restored at a partner node, read-only)
    mode: Mapped[str] = mapped_column(String(20), default="normal", server_default="normal")
    #: the time the data is as of, when ``mode`` is not normal
    as_of: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: age recipient (public half of the town's recovery key) snapshots are encrypted to
    recovery_recipient: Mapped[str | None] = mapped_column(String(100))
    #: networks (CIDR, comma-separated) the town's clerks may log in from; empty = anywhere
    login_networks: Mapped[str | None] = mapped_column(String(500))
    #: while a declared emergency lasts, login_networks is not enforced (case 2)
    emergency_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


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
    #: wrong PINs in a row at this terminal: a streak ends the session (auth.service)
    pin_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
