"""A town node: the town's own down-recovery node and a partner node for other towns.

For a town it **serves**, the node keeps a *replica* (``replicas/<town>.sqlite``): restored
from a verified snapshot, then kept current by applying the centre's journal batches. It
holds the town's recovery key (``recovery/<town>.key``), so it also proves every snapshot
it receives by restoring and verifying it. For a town it **stores** for, it keeps only the
encrypted envelopes (:class:`PartnerStore`); it cannot read them.

Serving read-only never touches the replica: the node serves a *service copy*
(``service/<town>.sqlite``) forked from the replica (case 1) or restored from the stored
envelopes with a key supplied at activation (case 3). Logins, views and issuances at the
node are recorded in that copy's own audit chain and handed back to the centre with any
applications received; the replica keeps following the centre's journal meanwhile.
"""

from __future__ import annotations

import base64
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from pyrage import x25519
from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session

from lgcloud.audit.models import AuditEntry
from lgcloud.certificates import signing
from lgcloud.certificates.models import SigningKey as CertSigningKey
from lgcloud.certificates.service import NODE_SERIES
from lgcloud.certificates.signing import TownKey
from lgcloud.continuity import keys
from lgcloud.continuity.envelope import EnvelopeRefused, open_envelope
from lgcloud.continuity.models import ContinuityEvent, NodeTownState, PendingApplication
from lgcloud.continuity.replica import PartnerStore, apply_batch, replica_position
from lgcloud.continuity.sites import Sites
from lgcloud.continuity.snapshot import restore_and_verify
from lgcloud.core.clock import today_jst, utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.dates import fiscal_year_of
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.core.logging import get_logger
from lgcloud.db.engine import make_engine, sqlite_url
from lgcloud.elections.service import node_checkins
from lgcloud.register.models import NumberSequence, TownInfo
from lgcloud.safety.ledger import node_ledger
from lgcloud.tenancy.models import HostedTown
from lgcloud.tenancy.platform import Platform, Town

log = get_logger("lgcloud.continuity.node")

SERVING_MODES = ("down_recovery", "partner")


class NodeService:
    """What a town node does for the towns of the sites file (thread-safe per town)."""

    def __init__(self, platform: Platform, sites: Sites, name: str) -> None:
        self.platform = platform
        self.sites = sites
        self.name = name
        self.site = sites.node(name)
        self.root = platform.data_dir
        self.store = PartnerStore(self.root / "store")
        self._engines: dict[str, Engine] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        for d in ("replicas", "service", "recovery", "tmp"):
            (self.root / d).mkdir(mode=0o700, parents=True, exist_ok=True)

    # -- helpers
    def role_of(self, town: str) -> str:
        if town in self.site.serves:
            return "serves"
        if town in self.site.stores:
            return "stores"
        raise NotFoundError(f"このノード（{self.name}）は町村 {town} のデータを扱いません")

    def lock(self, town: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(town, threading.Lock())

    def replica_path(self, town: str) -> Path:
        return self.root / "replicas" / f"{town}.sqlite"

    def service_path(self, town: str) -> Path:
        return self.root / "service" / f"{town}.sqlite"

    def key_path(self, town: str) -> Path:
        return self.root / "recovery" / f"{town}.key"

    def replica_engine(self, town: str) -> Engine:
        with self._guard:
            engine = self._engines.get(town)
            if engine is None:
                engine = make_engine(sqlite_url(str(self.replica_path(town))))
                self._engines[town] = engine
            return engine

    def _own_identity(self, town: str) -> x25519.Identity | None:
        path = self.key_path(town)
        if not path.exists():
            return None
        return keys.load_identity(path.read_bytes())

    def _state_row(self, session: Any, town: str) -> NodeTownState:
        st: NodeTownState | None = session.get(NodeTownState, town)
        if st is None:
            st = NodeTownState(
                town=town, role=self.role_of(town), snapshot_seq=0, journal_seq=0, verified_seq=0
            )
            session.add(st)
        return st

    def state(self, town: str) -> dict[str, Any]:
        self.role_of(town)
        with self.platform.platform_session() as s:
            st = self._state_row(s, town)
            hosted = s.get(HostedTown, town)
            return {
                "node": self.name,
                "town": town,
                "role": st.role,
                "snapshot_seq": st.snapshot_seq,
                "snapshot_taken_at": _iso(st.snapshot_taken_at),
                "journal_seq": st.journal_seq,
                "as_of": _iso(st.as_of),
                "received_at": _iso(st.received_at),
                "verified_seq": st.verified_seq,
                "verified_at": _iso(st.verified_at),
                "verify_detail": st.verify_detail,
                "last_refusal": st.last_refusal,
                "mode": hosted.mode if hosted else "standby",
                "needs_snapshot": st.snapshot_seq == 0,
            }

    def _refusal(self, town: str, exc: EnvelopeRefused) -> dict[str, Any]:
        with self.platform.platform_session() as s:
            self._state_row(s, town).last_refusal = f"{exc.reason}: {exc.message}"[:500]
        log.warning("envelope_refused", town=town, reason=exc.reason, detail=exc.message)
        return {**self.state(town), "refused": exc.reason, "detail": exc.message}

    # -- receiving from the centre
    def receive_snapshot(self, town: str, data: bytes) -> dict[str, Any]:
        role = self.role_of(town)
        with self.lock(town):
            try:
                if role == "stores":
                    header = self.store.store(
                        data, kind="snapshot", town=town, centre_public_b64=self._centre_key()
                    ).header
                    with self.platform.platform_session() as s:
                        st = self._state_row(s, town)
                        st.snapshot_seq = int(header["snapshot_seq"])
                        st.snapshot_taken_at = datetime.fromisoformat(header["taken_at"])
                        st.journal_seq = max(st.journal_seq, int(header["journal_seq"]))
                        st.as_of = datetime.fromisoformat(header["as_of"])
                        st.received_at = utcnow()
                        st.last_refusal = None
                    return self.state(town)
                return self._receive_own_snapshot(town, data)
            except EnvelopeRefused as exc:
                return self._refusal(town, exc)

    def _receive_own_snapshot(self, town: str, data: bytes) -> dict[str, Any]:
        with self.platform.platform_session() as s:
            last = self._state_row(s, town).snapshot_seq
        identity = self._own_identity(town)
        if identity is None:
            # without the key the node can only check the envelope; it stays unverified
            header = open_envelope(
                data, kind="snapshot", centre_public_b64=self._centre_key(), town=town
            ).header
            if int(header["snapshot_seq"]) <= last:
                raise EnvelopeRefused("replayed", "既に受け取った版より古いスナップショットです")
            with self.platform.platform_session() as s:
                st = self._state_row(s, town)
                st.last_refusal = "no_key: 復旧鍵がないため検証できません"
            return self.state(town)
        scratch = self.root / "tmp" / f"{town}.restore.sqlite"
        restored = restore_and_verify(
            data,
            town=town,
            centre_public_b64=self._centre_key(),
            identities=[identity],
            dest=scratch,
            last_seq=last,
        )
        header = restored.header
        replica = self.replica_path(town)
        position = replica_position(self.replica_engine(town))[0] if replica.exists() else -1
        if position < int(header["journal_seq"]):
            # no replica yet, or the snapshot is ahead of it: it becomes the replica
            self._drop_engine(town)
            for suffix in ("-wal", "-shm"):
                Path(str(replica) + suffix).unlink(missing_ok=True)
            scratch.replace(replica)
        else:
            scratch.unlink(missing_ok=True)
        seq, as_of = replica_position(self.replica_engine(town))
        now = utcnow()
        with self.platform.platform_session() as s:
            st = self._state_row(s, town)
            st.snapshot_seq = int(header["snapshot_seq"])
            st.snapshot_taken_at = datetime.fromisoformat(header["taken_at"])
            st.verified_seq = int(header["snapshot_seq"])
            st.verified_at = now
            st.verify_detail = "; ".join(f"{n}: {d}" for n, d in restored.checks)[:1000]
            st.journal_seq = seq
            st.as_of = as_of
            st.received_at = now
            st.last_refusal = None
        log.info("snapshot_verified", town=town, seq=header["snapshot_seq"])
        return self.state(town)

    def receive_journal(self, town: str, data: bytes) -> dict[str, Any]:
        role = self.role_of(town)
        with self.lock(town):
            try:
                if role == "stores":
                    header = self.store.store(
                        data, kind="journal", town=town, centre_public_b64=self._centre_key()
                    ).header
                    with self.platform.platform_session() as s:
                        st = self._state_row(s, town)
                        st.journal_seq = int(header["last_seq"])
                        st.as_of = datetime.fromisoformat(header["last_committed_at"])
                        st.received_at = utcnow()
                        st.last_refusal = None
                    return self.state(town)
                identity = self._own_identity(town)
                if identity is None or not self.replica_path(town).exists():
                    return {**self.state(town), "needs_snapshot": True}
                apply_batch(
                    self.replica_engine(town),
                    data,
                    town=town,
                    centre_public_b64=self._centre_key(),
                    identities=[identity],
                )
                seq, as_of = replica_position(self.replica_engine(town))
                with self.platform.platform_session() as s:
                    st = self._state_row(s, town)
                    st.journal_seq = seq
                    st.as_of = as_of
                    st.received_at = utcnow()
                    st.last_refusal = None
                return self.state(town)
            except EnvelopeRefused as exc:
                return self._refusal(town, exc)

    def _centre_key(self) -> str:
        if not self.sites.centre.public_key:
            raise RuleViolationError("拠点ファイルにクラウドセンターの公開鍵がありません")
        return self.sites.centre.public_key

    def _drop_engine(self, town: str) -> None:
        with self._guard:
            engine = self._engines.pop(town, None)
        if engine is not None:
            engine.dispose()

    # -- serving read-only
    def _event(self, town: str, action: str, actor: str, **detail: Any) -> None:
        with self.platform.platform_session() as s:
            s.add(
                ContinuityEvent(at=utcnow(), town=town, action=action, actor=actor, detail=detail)
            )
        log.warning(action, town=town, actor=actor, **detail)

    def _serve_copy(self, town: str, source: Path, mode: str, as_of: datetime | None) -> None:
        target = self.service_path(town)
        self.platform.forget_town(town)
        for suffix in ("", "-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        if source != target:
            src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
        # Certificates issued here are signed with this node's own key for the town (the
        # town's key never leaves the centre); its public half is registered in the copy and
        # handed back to the centre, so their verification codes verify there too.
        key = self._node_signing_key(town)
        engine = make_engine(sqlite_url(str(target)))
        try:
            with engine.begin() as conn:
                info = conn.execute(select(TownInfo.name, TownInfo.kana, TownInfo.prefecture)).one()
                fork_audit = conn.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()))
                # the node's own series of issue numbers goes on where it stopped last time
                with self.platform.platform_session() as ps:
                    next_issue = self._state_row(ps, town).next_issue or 1
                series = f"issue-{fiscal_year_of(today_jst())}{NODE_SERIES}"
                conn.execute(delete(NumberSequence).where(NumberSequence.name == series))
                conn.execute(insert(NumberSequence).values(name=series, next_value=next_issue))
                conn.execute(update(CertSigningKey).values(active=False))
                conn.execute(delete(CertSigningKey).where(CertSigningKey.key_id == key.key_id))
                conn.execute(
                    insert(CertSigningKey).values(
                        key_id=key.key_id,
                        public_key=base64.b64encode(key.public_raw).decode("ascii"),
                        created_at=utcnow(),
                        active=True,
                    )
                )
        finally:
            engine.dispose()
        with self.platform.platform_session() as s:
            s.add(
                HostedTown(
                    code=town,
                    name=info[0],
                    kana=info[1],
                    prefecture=info[2],
                    database_url=sqlite_url(str(target)),
                    created_at=utcnow(),
                    mode=mode,
                    as_of=as_of,
                )
            )
            st = self._state_row(s, town)
            st.fork_audit_seq = int(fork_audit or 0)

    def _node_signing_key(self, town: str) -> TownKey:
        try:
            return signing.load_key(self.platform.keys_dir, town)
        except NotFoundError:
            return signing.create_key(self.platform.keys_dir, town)

    def switch_to_down_recovery(self, town: str, actor: str) -> dict[str, Any]:
        """Case 1: serve the replica's copy read-only, with its as-of time."""
        if self.role_of(town) != "serves":
            raise RuleViolationError("ダウンリカバリ運用は自町村のノードでのみ行えます")
        with self.lock(town):
            if self.serving_mode(town) is not None:
                return self.state(town)
            if not self.replica_path(town).exists():
                raise RuleViolationError("このノードには町村の複製がまだありません")
            started = time.perf_counter()
            _seq, as_of = replica_position(self.replica_engine(town))
            self._serve_copy(town, self.replica_path(town), "down_recovery", as_of)
            self._event(
                town,
                "down_recovery_started",
                actor,
                as_of=_iso(as_of),
                seconds=round(time.perf_counter() - started, 3),
            )
        return self.state(town)

    def serving_mode(self, town: str) -> str | None:
        with self.platform.platform_session() as s:
            hosted = s.get(HostedTown, town)
            return hosted.mode if hosted else None

    def activate(
        self, town: str, key_data: bytes, phrase: str | None, actor: str
    ) -> dict[str, Any]:
        """Case 3: restore a stored town with its recovery key (used, never stored) and serve it
        read-only. Only the town's own clerks can log in to it."""
        if self.role_of(town) != "stores":
            raise RuleViolationError("この町村はこのノードの連携町村ではありません")
        identity = keys.load_identity(key_data, phrase)
        with self.lock(town):
            if self.serving_mode(town) is not None:
                raise RuleViolationError("この町村は既に起動しています")
            started = time.perf_counter()
            snapshot, batches = self.store.latest(town)
            if snapshot is None:
                raise NotFoundError("このノードにはこの町村のスナップショットがありません")
            scratch = self.root / "tmp" / f"{town}.activate.sqlite"
            restored = restore_and_verify(
                snapshot.read_bytes(),
                town=town,
                centre_public_b64=self._centre_key(),
                identities=[identity],
                dest=scratch,
            )
            engine = make_engine(sqlite_url(str(scratch)))
            try:
                for path in batches:
                    apply_batch(
                        engine,
                        path.read_bytes(),
                        town=town,
                        centre_public_b64=self._centre_key(),
                        identities=[identity],
                    )
                seq, as_of = replica_position(engine)
            finally:
                engine.dispose()
            self._serve_copy(town, scratch, "partner", as_of)
            scratch.unlink(missing_ok=True)
            self._event(
                town,
                "partner_activated",
                actor,
                snapshot_seq=restored.header["snapshot_seq"],
                journal_seq=seq,
                as_of=_iso(as_of),
                seconds=round(time.perf_counter() - started, 3),
            )
        return self.state(town)

    def _keep_issue_series(self, town: str) -> None:
        """Before the served copy goes: remember where the node's issue numbers stopped."""
        engine = make_engine(sqlite_url(str(self.service_path(town))))
        try:
            with engine.connect() as conn:
                used = conn.scalar(
                    select(func.max(NumberSequence.next_value)).where(
                        NumberSequence.name.like(f"issue-%{NODE_SERIES}")
                    )
                )
        finally:
            engine.dispose()
        with self.platform.platform_session() as s:
            st = self._state_row(s, town)
            st.next_issue = max(st.next_issue or 1, int(used or 1))

    def received_activity(self, town: str) -> dict[str, Any]:
        """What happened at the node while serving: audit entries after the fork and the
        applications received — what is handed back to the centre."""
        with self.platform.platform_session() as s:
            st = self._state_row(s, town)
            fork = st.fork_audit_seq or 0
            pending = list(
                s.scalars(
                    select(PendingApplication).where(
                        PendingApplication.town == town, PendingApplication.handed_back_at.is_(None)
                    )
                )
            )
        entries: list[dict[str, Any]] = []
        checkins: list[dict[str, Any]] = []
        safety: dict[str, Any] = {}
        if self.service_path(town).exists():
            engine = make_engine(sqlite_url(str(self.service_path(town))))
            try:
                with engine.connect() as conn:
                    with Session(bind=conn) as session:
                        checkins = node_checkins(Town(town, session), self.name)
                        safety = node_ledger(Town(town, session), self.name)
                    rows = conn.execute(
                        select(AuditEntry.__table__)
                        .where(AuditEntry.seq > fork)
                        .order_by(AuditEntry.seq)
                    ).mappings()
                    for e in rows:
                        entries.append(
                            {
                                "seq": e["seq"],
                                "at": _iso(e["at"]),
                                "clerk": e["clerk_name"],
                                "staff_number": e["staff_number"],
                                "action": e["action"],
                                "subjects": e["subjects"],
                                "purpose": e["purpose"],
                                "node": e["node"],
                                "mode": e["mode"],
                                "entry_hash": e["entry_hash"],
                            }
                        )
            finally:
                engine.dispose()
        key = self._node_signing_key(town)
        return {
            "node": self.name,
            "town": town,
            "signing_key": {
                "key_id": key.key_id,
                "public_key": base64.b64encode(key.public_raw).decode("ascii"),
            },
            "audit": entries,
            "checkins": checkins,
            "safety": safety,
            "applications": [
                {
                    "id": p.id,
                    "received_at": _iso(p.received_at),
                    "received_by": p.received_by,
                    "kind": p.kind,
                    "addressee_number": p.addressee_number,
                    "detail": p.detail,
                }
                for p in pending
            ],
        }

    def stop_serving(self, town: str, actor: str, *, hand_back: bool = True) -> dict[str, Any]:
        """Return to normal: hand back what was received to the centre, then stop serving.
        If the centre cannot be reached, nothing is discarded and the node keeps serving."""
        with self.lock(town):
            mode = self.serving_mode(town)
            if mode is None:
                return self.state(town)
            activity = self.received_activity(town)
            if hand_back:
                r = httpx.post(
                    self.sites.centre.url.rstrip("/") + f"/continuity/{town}/handback",
                    json=activity,
                    headers={
                        "authorization": f"Bearer {self.sites.token(self.name)}",
                        "x-lgcloud-node": self.name,
                    },
                    timeout=30,
                )
                if r.status_code != 200:
                    raise RuleViolationError(
                        f"クラウドセンターへの引き渡しに失敗しました（HTTP {r.status_code}）。"
                        "受け付けた内容はこのノードに残っています"
                    )
                now = utcnow()
                with self.platform.platform_session() as s:
                    for a in activity["applications"]:
                        p = s.get(PendingApplication, a["id"])
                        if p is not None:
                            p.handed_back_at = now
            self._keep_issue_series(town)
            self.platform.forget_town(town, delete_record=True)
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.service_path(town)) + suffix).unlink(missing_ok=True)
            self._event(
                town,
                f"{mode}_ended",
                actor,
                audit_entries=len(activity["audit"]),
                applications=len(activity["applications"]),
                handed_back=hand_back,
            )
        return self.state(town)


def receive_application(
    platform: Platform,
    ctx: RequestContext,
    *,
    kind: str,
    addressee_number: str | None,
    detail: dict[str, Any],
) -> int:
    """Receive an application while serving read-only (kept for the centre's staff)."""
    with platform.platform_session() as s:
        p = PendingApplication(
            town=ctx.town_code,
            received_at=utcnow(),
            received_by=ctx.actor.label,
            kind=kind,
            addressee_number=addressee_number,
            detail=detail,
        )
        s.add(p)
        s.flush()
        return p.id


class LineWatcher:
    """Watches the centre from a town node; after ``failures`` missed checks in a row it
    switches the towns the node serves to down-recovery (case 1)."""

    def __init__(
        self, node: NodeService, *, interval: float = 1.0, failures: int = 3, timeout: float = 1.0
    ) -> None:
        self.node = node
        self.interval = interval
        self.failures = failures
        self.timeout = timeout
        self._stop = threading.Event()
        self.missed = 0

    def stop(self) -> None:
        self._stop.set()

    def check(self) -> bool:
        try:
            r = httpx.get(self.node.sites.centre.url.rstrip("/") + "/health", timeout=self.timeout)
            return r.status_code == 200
        except httpx.HTTPError:
            return False

    def run(self) -> None:
        while not self._stop.is_set():
            if self.check():
                self.missed = 0
            else:
                self.missed += 1
                if self.missed == self.failures:
                    for town in self.node.site.serves:
                        try:
                            self.node.switch_to_down_recovery(town, "system:line-watcher")
                        except Exception as exc:
                            log.error("auto_switch_failed", town=town, error=str(exc))
            self._stop.wait(self.interval)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
