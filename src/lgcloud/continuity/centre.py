"""The centre's side of continuity: recovery keys at onboarding, snapshots, and shipping
snapshots and the journal to every node that should hold a copy of a town.

Shipping is *push*: for each (town, node) the centre sends what the node lacks — the newest
snapshot if the node has an older one, then journal batches after the node's position —
and records what the node acknowledged. Each request carries the node's bearer token; a
node answers with its state for the town, so resuming after any failure is just asking
again (the node refuses replays and gaps with a reason and its position, never half-applies).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, func, select

from lgcloud.audit.models import AuditHead
from lgcloud.audit.service import Anchor
from lgcloud.continuity import keys
from lgcloud.continuity.models import SiteState, SnapshotRecord
from lgcloud.continuity.replica import make_batch
from lgcloud.continuity.sites import Sites
from lgcloud.continuity.snapshot import remove_stale_work_files, take_snapshot
from lgcloud.continuity.status import federation_status, latest_snapshot
from lgcloud.core.clock import utcnow
from lgcloud.core.errors import LgcloudError, RuleViolationError
from lgcloud.core.files import write_atomically
from lgcloud.core.logging import get_logger
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.models import JournalEntry

log = get_logger("lgcloud.continuity")


def signing_key(platform: Platform) -> keys.SigningKey:
    """The centre's continuity signing key (created on first use)."""
    return keys.load_or_create_signing_key(platform.keys_dir / "centre.continuity.pem")


def _recipients(platform: Platform, code: str) -> list[Any]:
    hosted = platform.hosted(code)
    if not hosted.recovery_recipient:
        raise RuleViolationError(
            f"町村 {code} に復旧鍵がありません（lgcloud continuity recovery-key で作成）"
        )
    return keys.recipients_of([hosted.recovery_recipient])


def snapshot_dir(platform: Platform, code: str) -> Path:
    return platform.data_dir / "snapshots" / code


def latest_header(platform: Platform, code: str) -> dict[str, Any] | None:
    """The signed manifest of the town's newest snapshot (its signature checked), or None."""
    from lgcloud.continuity.envelope import open_envelope  # noqa: PLC0415

    with platform.platform_read() as s:
        record = s.scalars(
            select(SnapshotRecord)
            .where(SnapshotRecord.town == code)
            .order_by(SnapshotRecord.seq.desc())
            .limit(1)
        ).first()
    if record is None or not Path(record.path).is_file():
        return None
    data = Path(record.path).read_bytes()
    header = open_envelope(
        data, kind="snapshot", centre_public_b64=signing_key(platform).public_b64, town=code
    ).header
    return dict(header)


def latest_anchor(platform: Platform, code: str) -> Anchor | None:
    """Where the town's audit trail ended at its newest snapshot, from the signed manifest
    (held outside the town's database, and at every node the snapshot was shipped to)."""
    header = latest_header(platform, code)
    if header is None or "audit_head" not in header:
        return None
    head = header["audit_head"]
    return Anchor(
        int(head["seq"]), str(head["hash"]), f"スナップショット {header['snapshot_seq']} 番"
    )


class PositionWentBackError(LgcloudError):
    """A town's journal or audit trail is behind its newest snapshot: rows were removed."""


def check_not_behind(platform: Platform, code: str) -> None:
    """Refuse (and log an alert) when the town's journal or audit trail is behind what its
    newest signed snapshot recorded: a snapshot would sign the shorter trail (issue 15)."""
    header = latest_header(platform, code)
    if header is None:
        return
    with platform.read_town(code) as town:
        journal = town.session.scalar(select(func.max(JournalEntry.seq))) or 0
        head = town.session.get(AuditHead, 1)
    audit_seq = head.seq if head is not None else 0
    anchored = int(header.get("audit_head", {}).get("seq", 0))
    if journal < int(header["journal_seq"]) or audit_seq < anchored:
        log.error(
            "position_went_back",
            town=code,
            journal=journal,
            snapshot_journal=header["journal_seq"],
            audit=audit_seq,
            snapshot_audit=anchored,
        )
        raise PositionWentBackError(
            f"{code}: 仕訳 (journal) {journal} 番・監査記録 {audit_seq} 番が、最新の"
            f"スナップショット {header['snapshot_seq']} 番の {header['journal_seq']} 番・"
            f"{anchored} 番より前に"
            "戻っています。記録が消されたおそれがあるため、スナップショットを取りません"
            " (lgcloud audit verify で確かめてください)"
        )


def take_town_snapshot(platform: Platform, code: str) -> SnapshotRecord:
    """Snapshot one town now: envelope file on disk, record in the platform database.
    Refused when the town's journal or audit trail went back behind its newest snapshot."""
    work = platform.data_dir / "tmp" / code
    work.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _snapshot_lock(code):
        check_not_behind(platform, code)
        # a snapshot killed mid-copy leaves plaintext work files: sweep them first
        remove_stale_work_files(work, code)
        with platform.platform_session() as s:
            last = s.scalar(select(func.max(SnapshotRecord.seq)).where(SnapshotRecord.town == code))
        return _take(platform, code, (last or 0) + 1, work)


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _snapshot_lock(code: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(code, threading.Lock())


def _take(platform: Platform, code: str, seq: int, work: Path) -> SnapshotRecord:
    data = take_snapshot(
        platform.town_engine(code),
        town=code,
        seq=seq,
        recipients=_recipients(platform, code),
        signer=signing_key(platform),
        work_dir=work,
    )
    from lgcloud.continuity.envelope import open_envelope  # noqa: PLC0415

    header = open_envelope(
        data, kind="snapshot", centre_public_b64=signing_key(platform).public_b64, town=code
    ).header
    path = snapshot_dir(platform, code) / f"{seq:08d}.lgsnap"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomically(path, data)
    record = SnapshotRecord(
        town=code,
        seq=seq,
        taken_at=datetime.fromisoformat(header["taken_at"]),
        as_of=datetime.fromisoformat(header["as_of"]),
        journal_seq=int(header["journal_seq"]),
        path=str(path),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    with platform.platform_session() as s:
        s.add(record)
    log.info("snapshot_taken", town=code, seq=seq, bytes=len(data))
    return record


@dataclass
class PushResult:
    town: str
    node: str
    snapshot_sent: int | None = None
    batches_sent: int = 0
    bytes_sent: int = 0
    position: int = 0
    error: str | None = None


class Shipper:
    """Pushes snapshots and journal batches from the centre to the nodes of the sites file."""

    def __init__(
        self,
        platform: Platform,
        sites: Sites,
        *,
        timeout: float = 30.0,
        max_entries: int = 500,
    ) -> None:
        self.platform = platform
        self.sites = sites
        self.signer = signing_key(platform)
        self.max_entries = max_entries
        self.client = httpx.Client(timeout=timeout)
        self._stop = threading.Event()

    def close(self) -> None:
        self._stop.set()
        self.client.close()

    def _state(self, town: str, node: str, role: str) -> SiteState:
        with self.platform.platform_session() as s:
            st = s.get(SiteState, (town, node))
            if st is None:
                st = SiteState(
                    town=town,
                    node=node,
                    role=role,
                    snapshot_seq=0,
                    verified_seq=0,
                    journal_seq=0,
                    bytes_sent=0,
                )
                s.add(st)
            return st

    def _record(self, town: str, node: str, reply: dict[str, Any], sent: int) -> None:
        with self.platform.platform_session() as s:
            st = s.get(SiteState, (town, node))
            assert st is not None
            st.snapshot_seq = int(reply.get("snapshot_seq") or 0)
            st.snapshot_at = _dt(reply.get("snapshot_taken_at"))
            st.verified_seq = int(reply.get("verified_seq") or 0)
            st.verified_at = _dt(reply.get("verified_at"))
            st.journal_seq = int(reply.get("journal_seq") or 0)
            st.journal_at = _dt(reply.get("as_of"))
            st.bytes_sent = (st.bytes_sent or 0) + sent
            st.last_contact_at = utcnow()
            st.last_error = None
            if st.role == "serves" and st.verified_seq and st.verified_at:
                snap = s.get(SnapshotRecord, (town, st.verified_seq))
                if snap is not None and snap.verified_at is None:
                    snap.verified_at = st.verified_at
                    snap.verified_by = node

    def _error(self, town: str, node: str, message: str) -> None:
        with self.platform.platform_session() as s:
            st = s.get(SiteState, (town, node))
            if st is not None:
                st.last_error = message[:500]

    def _call(self, node: str, path: str, body: bytes | None = None) -> dict[str, Any]:
        """GET ``path`` at ``node`` (``body`` None) or POST ``body`` there."""
        site = self.sites.node(node)
        r = self.client.request(
            "GET" if body is None else "POST",
            site.url.rstrip("/") + path,
            content=body,
            headers={
                "authorization": f"Bearer {self.sites.token(node)}",
                "content-type": "application/octet-stream",
            },
        )
        reply: dict[str, Any] = r.json()
        if r.status_code not in (200, 409):
            raise RuntimeError(f"{node}: HTTP {r.status_code}: {reply.get('detail')}")
        return reply

    def _needs_snapshot(self, role: str, reply: dict[str, Any], snap: SnapshotRecord) -> bool:
        """The town's own node gets every snapshot (it proves each by a restore). A partner
        gets one when it has none or when its own is older than ``partner_snapshot_days``:
        between them the journal alone keeps it current, so a day costs a partner the day's
        changes, not a copy of the town."""
        held = int(reply.get("snapshot_seq") or 0)
        if held >= snap.seq:
            return False
        if role == "serves" or held == 0:
            return True
        taken = _dt(reply.get("snapshot_taken_at"))
        max_age = self.sites.partner_snapshot_days * 86400
        return taken is None or (utcnow() - taken).total_seconds() > max_age

    def push(self, town: str, node: str, role: str) -> PushResult:
        """Bring ``node``'s copy of ``town`` up to date (snapshot if newer, then journal)."""
        result = PushResult(town, node)
        try:
            self._state(town, node, role)
            snap = latest_snapshot(self.platform, town)
            reply = self._call(node, f"/continuity/{town}/state")
            if snap is not None and self._needs_snapshot(role, reply, snap):
                data = Path(snap.path).read_bytes()
                reply = self._call(node, f"/continuity/{town}/snapshot", data)
                if reply.get("refused"):
                    raise RuntimeError(f"snapshot refused: {reply.get('detail')}")
                result.snapshot_sent = snap.seq
                result.bytes_sent += len(data)
            position = int(reply.get("journal_seq") or 0)
            if reply.get("needs_snapshot"):
                # the node holds no copy to apply the journal to yet
                self._record(town, node, reply, result.bytes_sent)
                result.position = position
                return result
            engine = self.platform.town_engine(town)
            recipients = _recipients(self.platform, town)
            while not self._stop.is_set():
                batch = make_batch(
                    engine,
                    town=town,
                    after_seq=position,
                    recipients=recipients,
                    signer=self.signer,
                    max_entries=self.max_entries,
                )
                if batch is None:
                    break
                reply = self._call(node, f"/continuity/{town}/journal", batch)
                result.bytes_sent += len(batch)
                result.batches_sent += 1
                new_position = int(reply.get("journal_seq") or 0)
                if reply.get("refused") and new_position == position:
                    raise RuntimeError(f"journal refused: {reply.get('detail')}")
                position = new_position
            result.position = position
            self._record(town, node, reply, result.bytes_sent)
        except (httpx.HTTPError, RuntimeError, ValueError) as exc:
            result.error = str(exc)
            self._error(town, node, str(exc))
            log.warning("push_failed", town=town, node=node, error=str(exc))
        return result

    def push_all(self) -> list[PushResult]:
        results = []
        hosted = {t.code for t in self.platform.towns()}
        for town in sorted(hosted):
            for node, role in self.sites.sites_of(town):
                results.append(self.push(town, node, role))
        return results

    def run(self, interval: float | None = None) -> None:
        """Ship forever (until :meth:`close`): journal every ``push_seconds``, snapshots every
        ``snapshot_minutes``."""
        interval = interval or self.sites.push_seconds
        last_report = 0.0
        while not self._stop.is_set():
            if time.monotonic() - last_report > ALERT_LOG_SECONDS:
                federation_status(self.platform, self.sites, log_alerts=True)
                last_report = time.monotonic()
            for t in self.platform.towns():
                snap = latest_snapshot(self.platform, t.code)
                age = (utcnow() - snap.taken_at).total_seconds() if snap else None
                if t.recovery_recipient and (age is None or age > self.sites.snapshot_minutes * 60):
                    try:
                        take_town_snapshot(self.platform, t.code)
                    except Exception as exc:  # keep shipping the other towns
                        log.error("snapshot_failed", town=t.code, error=str(exc))
            self.push_all()
            for t in self.platform.towns():
                try:
                    prune_journal(self.platform, t.code, self.sites)
                except Exception as exc:  # pruning is housekeeping: keep shipping
                    log.error("journal_prune_failed", town=t.code, error=str(exc))
            self._stop.wait(interval)


PRUNE_CHUNK = 2000
#: how often the shipper logs the alerts of every town (a missing copy is never silent)
ALERT_LOG_SECONDS = 600


def prune_journal(platform: Platform, code: str, sites: Sites) -> int:
    """Delete the journal entries every site has acknowledged and the newest snapshot
    covers: nobody can need them again (a new node starts from that snapshot; a partner
    keeps its own copies of the batches it stored). Keeps the town database from growing
    by a copy of every change. Returns the number of entries deleted."""
    names = {node for node, _role in sites.sites_of(code)}
    snap = latest_snapshot(platform, code)
    if not names or snap is None:
        return 0
    with platform.platform_session() as s:
        states = s.scalars(select(SiteState).where(SiteState.town == code)).all()
    acked = {st.node: st.journal_seq for st in states if st.node in names}
    if set(acked) != names:
        return 0  # a site has never acknowledged anything yet
    safe = min(*acked.values(), snap.journal_seq)
    deleted = 0
    while True:  # in chunks: writers wait for one short transaction at a time
        with platform.town(code) as town:
            ids = town.session.scalars(
                select(JournalEntry.seq)
                .where(JournalEntry.seq < safe)
                .order_by(JournalEntry.seq)
                .limit(PRUNE_CHUNK)
            ).all()
            if not ids:
                return deleted
            town.session.execute(delete(JournalEntry).where(JournalEntry.seq <= ids[-1]))
            deleted += len(ids)


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
