"""Issued certificates (交付履歴) and the town's signing keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lgcloud.db.base import TownBase, UTCDateTime


class SigningKey(TownBase):
    """A town's Ed25519 public key (the private key is in the town's key file, not here)."""

    __tablename__ = "signing_keys"
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64))  # raw 32 bytes, base64
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean)


class Issuance(TownBase):
    """One issued certificate: who, what, when, the data's as-of time, and its proof."""

    __tablename__ = "issuances"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issue_number: Mapped[str] = mapped_column(String(30), unique=True)  # 交付番号
    verification_code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    addressee_number: Mapped[str | None] = mapped_column(String(10))
    subjects: Mapped[list[str]] = mapped_column(JSON)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    data_as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    clerk_id: Mapped[int | None] = mapped_column(Integer)
    clerk_name: Mapped[str] = mapped_column(String(80))
    node: Mapped[str] = mapped_column(String(40))
    mode: Mapped[str] = mapped_column(String(20))
    pages: Mapped[int] = mapped_column(Integer)
    content_sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)  # Ed25519 over the SHA-256 digest, base64
    key_id: Mapped[str] = mapped_column(String(16))

    __table_args__ = (Index("ix_issuances_person", "addressee_number", "issued_at"),)
