"""Time in one place, so tests can fix it and all stored times are UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


def today_jst() -> date:
    """Today's date in Japan: the date the register's rules compare against."""
    return datetime.now(JST).date()
