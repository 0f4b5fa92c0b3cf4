"""Continuity bookkeeping in the platform database of each node (no personal data)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lgcloud.db.base import PlatformBase, UTCDateTime

# -- continuity bookkeeping in the platform database of each node (no personal data) ---


class SnapshotRecord(PlatformBase):
    """A snapshot the centre took of one of its towns (the envelope file lives on disk)."""

    __tablename__ = "continuity_snapshots"
    town: Mapped[str] = mapped_column(String(6), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    journal_seq: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    #: when the town's own node first proved this snapshot by a restore, and which node
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by: Mapped[str | None] = mapped_column(String(40))


class SiteState(PlatformBase):
    """On the centre: what one node holds of one town, as the node last acknowledged it."""

    __tablename__ = "continuity_sites"
    town: Mapped[str] = mapped_column(String(6), primary_key=True)
    node: Mapped[str] = mapped_column(String(40), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))  # serves | stores
    snapshot_seq: Mapped[int] = mapped_column(Integer, default=0)
    snapshot_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_seq: Mapped[int] = mapped_column(Integer, default=0)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    journal_seq: Mapped[int] = mapped_column(Integer, default=0)
    journal_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bytes_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))


class NodeTownState(PlatformBase):
    """On a town node: a town it serves (replica) or stores for (partner), and its proof."""

    __tablename__ = "continuity_node_towns"
    town: Mapped[str] = mapped_column(String(6), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))  # serves | stores
    snapshot_seq: Mapped[int] = mapped_column(Integer, default=0)
    snapshot_taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    journal_seq: Mapped[int] = mapped_column(Integer, default=0)
    as_of: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_seq: Mapped[int] = mapped_column(Integer, default=0)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verify_detail: Mapped[str | None] = mapped_column(String(1000))
    last_refusal: Mapped[str | None] = mapped_column(String(500))
    #: the next number of this node's own series of issue numbers for the town (kept from
    #: one read-only period to the next, so numbers never repeat)
    next_issue: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: the served copy's last audit entry when it was made: what follows is handed back
    fork_audit_seq: Mapped[int | None] = mapped_column(Integer)


class PendingApplication(PlatformBase):
    """An application received at a node while it serves read-only; handed back to the centre
    for staff to process there (never applied automatically)."""

    __tablename__ = "continuity_pending"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    town: Mapped[str] = mapped_column(String(6))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_by: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(40))
    addressee_number: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    handed_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    centre_id: Mapped[int | None] = mapped_column(Integer)


class ContinuityEvent(PlatformBase):
    """Node-level audit of continuity actions (mode switches, activation, hand-back)."""

    __tablename__ = "continuity_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    town: Mapped[str] = mapped_column(String(6))
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(120))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
