"""Replication from the journal: batches, replicas, and what a partner node keeps.

The centre ships a town's journal (``trail.journal``: row images in commit order,
``seq`` without gaps) as *journal batches*: the entries after a position, sealed as a
signed, encrypted envelope of kind ``journal`` (``continuity.envelope``). The header says
which entries the batch holds (``first_seq``..``last_seq``, ``count``) and when the last was
committed, so a node can check order and town before it decrypts anything.

A *replica* is a copy of the town database (restored from a snapshot) kept current by
applying batches. Its position is the highest ``journal.seq`` it holds, because applying a
batch also inserts the batch's journal rows. The design:

* **Ordered.** A batch is applied only if it continues the replica exactly: one ending at or
  before the position is refused as ``replayed``; one starting after ``position + 1`` as
  ``gap``. A batch overlapping the position (another partition of the same journal, e.g. a
  partner's stored batches after a snapshot) applies only its entries after the position:
  the entries are signed by the centre, so the overlapping part is the same.
* **Whole transactions.** A transaction may write several journal entries (a bulk load
  journals each chunk as it goes, and its remaining rows and audit entry in the last entry,
  the one carrying ``audit_seq``); entries of one transaction depend on each other (a
  chunk's rows refer to the load's ``life_events`` row, journalled last). A batch therefore
  ends only at a transaction's end, so a replica's position is always a state the centre
  committed.
* **Resumable.** The position lives in the replica itself, so after any interruption the
  centre (or a partner's store) simply resends from the position the replica reports.
* **Idempotent.** Applying the same batch twice is refused (``replayed``) and changes
  nothing; the replica never holds an entry twice.
* **Atomic.** All changes of a batch, the derived ``audit_subjects`` rows and the journal rows
  themselves are written in one transaction: a batch is applied completely or not at all
  (a node killed mid-batch comes back at the old position), and the position can never
  disagree with the data. Foreign keys are checked at commit (row images within one journal
  entry are in capture order, not in dependency order).

Row images are applied with SQLAlchemy Core (a generated town's load is chunks of 2,000
rows); values are converted back by the column types of ``TownBase.metadata``: ISO text to
``date``/``datetime`` (through ``UTCDateTime``), ``{"base64": ...}`` to bytes. Anything the
replica cannot apply exactly (unknown table or column, a missing row to update or delete,
a constraint) refuses the whole batch as ``apply_failed``. Rows journalled without their
key (audit entries, bulk-loaded rows) take it from the replica's own counter, which gives
the centre's value because the replica holds the same rows in the same order.
``audit_subjects`` is not journalled: it is rebuilt from each inserted audit entry's
``subjects`` exactly as ``audit.service.append_entry`` writes it.

A *partner node* stores the envelopes of the towns it backs up without the town's key
(:class:`PartnerStore`): it checks signature, town, order and digest, refuses replays and
gaps, and writes each envelope atomically next to a small ``state.json``.
"""

from __future__ import annotations

import base64
import fcntl
import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import zstandard
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Table,
    TypeDecorator,
    and_,
    insert,
    select,
    update,
)
from sqlalchemy import delete as sql_delete
from sqlalchemy.exc import StatementError

import lgcloud.schema  # noqa: F401  (every town table in TownBase.metadata)
from lgcloud.continuity import keys
from lgcloud.continuity.envelope import EnvelopeRefused, open_envelope, open_payload, seal
from lgcloud.core.clock import utcnow
from lgcloud.core.files import write_atomically
from lgcloud.core.ids import validate_town_code
from lgcloud.db.base import TownBase
from lgcloud.db.engine import READ_ONLY

FORMAT = "lgcloud-journal/1"
JOURNAL = TownBase.metadata.tables["journal"]
AUDIT_ENTRIES = "audit_entries"
AUDIT_SUBJECTS = TownBase.metadata.tables["audit_subjects"]
#: Tables a batch must never write directly: the replica writes them itself.
DERIVED_TABLES = frozenset({"journal", "audit_subjects"})
OPS = frozenset({"insert", "update", "delete", "insert_many"})
SUBJECT_CHUNK = 5000  # as audit.service.append_entry
INSERT_CHUNK = 2000

_json_compact: Callable[[Any], str] = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":")
).encode


# --------------------------------------------------------------------------- batches


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def make_batch(
    engine: Engine,
    *,
    town: str,
    after_seq: int,
    recipients: list[Any],  # pyrage.x25519.Recipient
    signer: keys.SigningKey,
    max_entries: int = 500,
    max_bytes: int = 8_000_000,
) -> bytes | None:
    """The journal entries after ``after_seq``, in order, as a sealed ``journal`` envelope.

    Stops at ``max_entries`` entries or before the payload would exceed ``max_bytes``, but
    only at the end of a transaction, and never empty: one transaction may write several
    entries (a bulk load journals each chunk, then its other rows and audit entry in the
    entry that carries ``audit_seq``), and a replica must never stop half-way through one.
    So a batch may exceed the limits by the rest of one transaction. ``after_seq`` must be
    a transaction's end (a replica's position always is). None when nothing is newer.
    """
    if max_entries < 1:
        raise ValueError("max_entries must be at least 1")
    parts: list[bytes] = []
    seqs: list[tuple[int, str | None]] = []  # (seq, committed_at) of each part
    size = len(b'{"entries":[]}')
    complete = kept_size = 0  # parts up to the end of the last whole transaction
    stmt = (
        select(JOURNAL)
        .where(JOURNAL.c.seq > after_seq)
        .order_by(JOURNAL.c.seq)
        .execution_options(yield_per=64)
    )
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        for row in conn.execute(stmt):
            entry = {
                "seq": row.seq,
                "committed_at": _iso(row.committed_at),
                "action": row.action,
                "request_id": row.request_id,
                "audit_seq": row.audit_seq,
                "changes": row.changes,
            }
            part = _json_compact(entry).encode()
            extra = len(part) + (1 if parts else 0)
            if complete and (len(parts) >= max_entries or size + extra > max_bytes):
                break
            if seqs and row.seq != seqs[-1][0] + 1:
                raise ValueError(f"journal of town {town} has a gap after seq {seqs[-1][0]}")
            parts.append(part)
            seqs.append((row.seq, entry["committed_at"]))
            size += extra
            if row.audit_seq is not None:  # finish_write: the transaction's last entry
                complete, kept_size = len(parts), size
        else:
            # the newest committed entry ends its transaction, audited or not
            complete, kept_size = len(parts), size
    if not complete:
        return None
    parts, seqs = parts[:complete], seqs[:complete]
    payload = b'{"entries":[' + b",".join(parts) + b"]}"
    assert len(payload) == kept_size
    header = {
        "format": FORMAT,
        "town": town,
        "first_seq": seqs[0][0],
        "last_seq": seqs[-1][0],
        "count": len(parts),
        "created_at": utcnow().isoformat(),
        "last_committed_at": seqs[-1][1],
    }
    return seal("journal", header, payload, recipients, signer)


def batch_range(header: dict[str, Any]) -> tuple[int, int]:
    """(first_seq, last_seq) of a journal batch's header, checked for consistency."""
    if header.get("format") != FORMAT:
        raise EnvelopeRefused(
            "unsupported_format",
            f"対応していない差分の形式です（{header.get('format')!r}、対応は {FORMAT}）",
        )
    first, last, count = header.get("first_seq"), header.get("last_seq"), header.get("count")
    if not (
        isinstance(first, int)
        and isinstance(last, int)
        and isinstance(count, int)
        and 1 <= first <= last
        and count == last - first + 1
    ):
        raise EnvelopeRefused(
            "malformed",
            f"差分の番号が不正です（first_seq={first!r}, last_seq={last!r}, count={count!r}）",
        )
    return first, last


def _check_order(first: int, last: int, position: int) -> None:
    if last <= position:
        raise EnvelopeRefused(
            "replayed",
            f"既に適用済みのバッチです（{position} 番まで適用済み、このバッチは "
            f"{first}〜{last} 番）",
        )
    if first > position + 1:
        raise EnvelopeRefused(
            "gap",
            f"差分が抜けています（次に必要なのは {position + 1} 番からですが、このバッチは "
            f"{first} 番からです）",
        )


# --------------------------------------------------------------------------- replicas


@dataclass(frozen=True)
class ApplyResult:
    first_seq: int
    last_seq: int
    applied: int  # entries applied (fewer than the batch holds when it overlapped)
    position: int  # the replica's position afterwards


def _position(conn: Connection) -> tuple[int, datetime | None]:
    row = conn.execute(
        select(JOURNAL.c.seq, JOURNAL.c.committed_at).order_by(JOURNAL.c.seq.desc()).limit(1)
    ).first()
    if row is None:
        return 0, None
    return int(row.seq), row.committed_at


def replica_position(engine: Engine) -> tuple[int, datetime | None]:
    """The replica's position: its highest journal seq and that entry's commit time (the
    replica's as-of time); ``(0, None)`` for an empty journal."""
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        return _position(conn)


def _malformed(detail: str) -> EnvelopeRefused:
    return EnvelopeRefused("malformed", f"差分の内容が不正です（{detail}）")


def _decode_entries(payload: bytes, first: int, last: int) -> list[dict[str, Any]]:
    """The payload's entries, checked to be exactly ``first..last`` and well formed."""
    try:
        doc = json.loads(payload)
    except ValueError as exc:
        raise _malformed("JSON として読めません") from exc
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise _malformed("entries がありません")
    seqs = [e.get("seq") if isinstance(e, dict) else None for e in entries]
    if seqs != list(range(first, last + 1)):
        raise _malformed(f"記録の番号が {first}〜{last} 番の連番ではありません")
    for e in entries:
        seq = e["seq"]
        if not (
            isinstance(e.get("committed_at"), str)
            and isinstance(e.get("action"), str)
            and isinstance(e.get("request_id"), str)
            and (e.get("audit_seq") is None or isinstance(e.get("audit_seq"), int))
            and isinstance(e.get("changes"), list)
        ):
            raise _malformed(f"第 {seq} 番の記録の項目が足りないか型が違います")
        for change in e["changes"]:
            if not isinstance(change, dict) or change.get("op") not in OPS:
                raise _malformed(f"第 {seq} 番の記録に不明な変更があります")
            table = change.get("table")
            if table in DERIVED_TABLES:
                raise _malformed(f"第 {seq} 番の記録が表 {table} を直接変更しています")
            if change["op"] == "insert_many":
                ok = isinstance(change.get("columns"), list) and isinstance(
                    change.get("rows"), list
                )
            else:
                ok = isinstance(change.get("row"), dict)
            if not ok:
                raise _malformed(f"第 {seq} 番の記録の変更の形が違います")
    return entries


Converter = Callable[[Any], Any]


def _to_datetime(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _to_date(value: Any) -> Any:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _to_bytes(value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("base64"), str):
        return base64.b64decode(value["base64"], validate=True)
    if value is None:
        return None
    raise ValueError("binary value is not {'base64': ...}")


def _converter(column: Column[Any]) -> Converter | None:
    type_ = column.type
    if isinstance(type_, TypeDecorator):  # UTCDateTime: its impl knows the Python type
        type_ = type_.impl_instance
    try:
        python_type = type_.python_type
    except NotImplementedError:
        return None
    if python_type is datetime:
        return _to_datetime
    if python_type is date:
        return _to_date
    if python_type is bytes:
        return _to_bytes
    return None


class _ApplyError(Exception):
    """A change the replica cannot apply exactly."""


class _Applier:
    """Applies row images on one connection, batching consecutive inserts of a table."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._converters: dict[str, dict[str, Converter | None]] = {}
        self._pending_table: Table | None = None
        self._pending_keys: tuple[str, ...] = ()
        self._pending: list[dict[str, Any]] = []
        self.where = ""

    def table(self, name: Any) -> Table:
        table = TownBase.metadata.tables.get(name) if isinstance(name, str) else None
        if table is None:
            raise _ApplyError(f"この版のデータベースにない表です: {name!r}")
        return table

    def converters(self, table: Table, columns: Sequence[str]) -> list[Converter | None]:
        known = self._converters.get(table.name)
        if known is None:
            known = {c.name: _converter(c) for c in table.columns}
            self._converters[table.name] = known
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise _ApplyError(f"表 {table.name} にない列です: {', '.join(map(str, unknown))}")
        return [known[c] for c in columns]

    def convert(self, table: Table, row: dict[str, Any]) -> dict[str, Any]:
        converters = self.converters(table, list(row))
        return {
            key: conv(value) if conv is not None else value
            for (key, value), conv in zip(row.items(), converters, strict=True)
        }

    def convert_many(
        self, table: Table, columns: list[str], rows: list[list[Any]]
    ) -> list[dict[str, Any]]:
        active = [
            (name, c)
            for name, c in zip(columns, self.converters(table, columns), strict=True)
            if c is not None
        ]
        out: list[dict[str, Any]] = []
        for values in rows:
            if len(values) != len(columns):
                raise _ApplyError(
                    f"列の数が違います（{len(values)} 列、見出しは {len(columns)} 列）"
                )
            row = dict(zip(columns, values, strict=True))
            for name, conv in active:
                row[name] = conv(row[name])
            out.append(row)
        return out

    def apply_entry(self, entry: dict[str, Any]) -> None:
        for change in entry["changes"]:
            table = self.table(change["table"])
            self.where = f"第 {entry['seq']} 番の記録、表 {table.name}、{change['op']}"
            op = change["op"]
            if op == "insert":
                row = self.convert(table, change["row"])
                keys_ = tuple(row)
                if table is not self._pending_table or keys_ != self._pending_keys:
                    self.flush()
                    self._pending_table, self._pending_keys = table, keys_
                self._pending.append(row)
                continue
            self.flush()
            if op == "insert_many":
                self.insert_rows(table, self.convert_many(table, change["columns"], change["rows"]))
            else:
                self.by_primary_key(table, op, self.convert(table, change["row"]))
        self.flush()

    def flush(self) -> None:
        if self._pending_table is not None and self._pending:
            self.insert_rows(self._pending_table, self._pending)
        self._pending_table, self._pending_keys, self._pending = None, (), []

    def insert_rows(self, table: Table, rows: list[dict[str, Any]]) -> None:
        for i in range(0, len(rows), INSERT_CHUNK):
            self.conn.execute(insert(table), rows[i : i + INSERT_CHUNK])
        if table.name == AUDIT_ENTRIES:
            for row in rows:
                self.insert_subjects(row)

    def insert_subjects(self, row: dict[str, Any]) -> None:
        """The ``audit_subjects`` rows of an audit entry, exactly as ``append_entry`` writes
        them: one per distinct subject, in the entry's order."""
        subjects = list(dict.fromkeys(row.get("subjects") or []))
        for i in range(0, len(subjects), SUBJECT_CHUNK):
            self.conn.execute(
                insert(AUDIT_SUBJECTS),
                [
                    {"entry_seq": row["seq"], "addressee_number": s}
                    for s in subjects[i : i + SUBJECT_CHUNK]
                ],
            )

    def by_primary_key(self, table: Table, op: str, row: dict[str, Any]) -> None:
        pk = list(table.primary_key.columns)
        missing = [c.name for c in pk if c.name not in row]
        if missing:
            raise _ApplyError(f"主キー {', '.join(missing)} がありません")
        where = and_(*(c == row[c.name] for c in pk))
        if op == "update":
            values = {k: v for k, v in row.items() if k not in {c.name for c in pk}}
            result = self.conn.execute(update(table).where(where).values(values))
        else:
            result = self.conn.execute(sql_delete(table).where(where))
        if result.rowcount != 1:
            raise _ApplyError(f"対象の行がありません（{result.rowcount} 行が該当）")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, StatementError):
        # the cause only: the statement's parameters are residents' data, not for logs
        exc = exc.orig if exc.orig is not None else exc
        if isinstance(exc, StatementError):
            return type(exc).__name__
    if isinstance(exc, _ApplyError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"[:300]


def apply_batch(
    engine: Engine,
    data: bytes,
    *,
    town: str,
    centre_public_b64: str,
    identities: Sequence[Any],  # pyrage.x25519.Identity
) -> ApplyResult:
    """Apply a journal batch to the replica behind ``engine``, all or nothing.

    Raises :class:`EnvelopeRefused` (the replica unchanged) for a batch that is not the
    centre's, not this town's, damaged, already applied (``replayed``), not continuing the
    replica (``gap``), malformed, or that cannot be applied exactly (``apply_failed``).
    """
    envelope = open_envelope(data, kind="journal", centre_public_b64=centre_public_b64, town=town)
    first, last = batch_range(envelope.header)
    position, _ = replica_position(engine)
    _check_order(first, last, position)
    try:
        payload = open_payload(envelope, list(identities))
    except keys.RecoveryKeyError as exc:
        raise EnvelopeRefused("wrong_key", exc.message) from exc
    except zstandard.ZstdError as exc:
        raise EnvelopeRefused("malformed", f"差分を展開できません（{exc}）") from exc
    entries = _decode_entries(payload, first, last)
    applier: _Applier | None = None
    try:
        with engine.begin() as conn:
            # under the write lock: another applier may have moved the replica meanwhile
            position, _ = _position(conn)
            _check_order(first, last, position)
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
            todo = [e for e in entries if e["seq"] > position]
            applier = _Applier(conn)
            for entry in todo:
                applier.apply_entry(entry)
            applier.where = "コミット時"
            journal_rows = [
                {
                    "seq": e["seq"],
                    "committed_at": datetime.fromisoformat(e["committed_at"]),
                    "action": e["action"],
                    "request_id": e["request_id"],
                    "audit_seq": e["audit_seq"],
                    "changes": e["changes"],
                }
                for e in todo
            ]
            conn.execute(insert(JOURNAL), journal_rows)
    except EnvelopeRefused:
        raise
    except Exception as exc:
        where = f"（{applier.where}）" if applier is not None and applier.where else ""
        raise EnvelopeRefused(
            "apply_failed",
            f"差分を適用できませんでした{where}: {_describe(exc)}。複製は変更されていません",
        ) from exc
    return ApplyResult(first, last, len(todo), last)


# --------------------------------------------------------------------------- partner store


@dataclass(frozen=True)
class StoredItem:
    """An envelope a partner node has stored."""

    kind: str
    town: str
    path: Path
    first_seq: int  # snapshot: its snapshot_seq; journal: the batch's first entry
    last_seq: int
    bytes: int
    header: dict[str, Any]


_JOURNAL_FILE = re.compile(r"^(\d{12})-(\d{12})\.lgjournal$")


def _int_field(header: dict[str, Any], name: str, *, minimum: int) -> int:
    value = header.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise EnvelopeRefused("malformed", f"ヘッダの {name} が不正です（{value!r}）")
    return value


class PartnerStore:
    """The envelopes a partner node keeps for the towns it stores for, without their keys.

    Layout under ``root``::

        <town>/snapshots/<snapshot_seq:08d>.lgsnap
        <town>/journal/<first:012d>-<last:012d>.lgjournal
        <town>/state.json      last snapshot (seq and header summary), last journal seq,
                               bytes received

    Every envelope is checked (signature, town, length, digest) before it is written;
    nothing is decrypted. Files and the state are written atomically, the state last, so a
    crash leaves at worst an unreferenced file that the next delivery overwrites.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, town: str) -> Path:
        return self.root / validate_town_code(town)

    @contextmanager
    def _locked(self, town: str) -> Iterator[Path]:
        directory = self._dir(town)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with (directory / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield directory
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def state(self, town: str) -> dict[str, Any]:
        """What is stored for ``town`` (an empty state when nothing is)."""
        path = self._dir(town) / "state.json"
        if not path.exists():
            return {"town": town, "snapshot": None, "journal_seq": 0, "bytes_received": 0}
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return state

    def bytes_received(self, town: str) -> int:
        return int(self.state(town)["bytes_received"])

    def store(
        self,
        data: bytes,
        *,
        kind: Literal["snapshot", "journal"],
        town: str,
        centre_public_b64: str,
    ) -> StoredItem:
        """Check and keep one envelope; raises :class:`EnvelopeRefused` (nothing written) for
        a damaged, foreign, misaddressed, replayed or out-of-order one."""
        if kind not in ("snapshot", "journal"):
            raise ValueError(f"unknown kind {kind!r}")
        envelope = open_envelope(data, kind=kind, centre_public_b64=centre_public_b64, town=town)
        header = envelope.header
        with self._locked(town) as directory:
            state = self.state(town)
            snapshot = state["snapshot"]
            # the journal is covered up to here: stored batches or the snapshot's copy
            covered = max(int(state["journal_seq"]), int((snapshot or {}).get("journal_seq") or 0))
            if kind == "snapshot":
                seq = _int_field(header, "snapshot_seq", minimum=1)
                journal_seq = (
                    _int_field(header, "journal_seq", minimum=0)
                    if "journal_seq" in header
                    else None
                )
                if snapshot is not None and seq <= int(snapshot["seq"]):
                    raise EnvelopeRefused(
                        "replayed",
                        f"既に受け取った版より古いスナップショットです（{seq} 版、"
                        f"保管済みは {snapshot['seq']} 版）",
                    )
                first = last = seq
                path = directory / "snapshots" / f"{seq:08d}.lgsnap"
                write_atomically(path, data)
                state["snapshot"] = {
                    "seq": seq,
                    "journal_seq": journal_seq,
                    "as_of": header.get("as_of"),
                    "taken_at": header.get("taken_at"),
                    "file": str(path.relative_to(directory)),
                    "bytes": len(data),
                    "stored_at": utcnow().isoformat(),
                }
            else:
                first, last = batch_range(header)
                if last <= covered:
                    raise EnvelopeRefused(
                        "replayed",
                        f"既に保管済みの差分です（{covered} 番まで保管済み、この差分は "
                        f"{first}〜{last} 番）",
                    )
                if first > covered + 1:
                    raise EnvelopeRefused(
                        "gap",
                        f"差分が抜けています（次に必要なのは {covered + 1} 番からですが、"
                        f"この差分は {first} 番からです）",
                    )
                path = directory / "journal" / f"{first:012d}-{last:012d}.lgjournal"
                write_atomically(path, data)
                state["journal_seq"] = last
                state["last_committed_at"] = header.get("last_committed_at")
            state["town"] = town
            state["bytes_received"] = int(state["bytes_received"]) + len(data)
            state["updated_at"] = utcnow().isoformat()
            write_atomically(
                directory / "state.json",
                json.dumps(state, ensure_ascii=False, indent=1).encode("utf-8"),
            )
        return StoredItem(kind, town, path, first, last, len(data), header)

    def latest(self, town: str) -> tuple[Path | None, list[Path]]:
        """The latest snapshot and the journal batches to apply after it, in order: each
        batch extends what the previous ones (and the snapshot) cover, without gaps."""
        directory = self._dir(town)
        state = self.state(town)
        snapshot = state["snapshot"]
        snapshot_path = directory / snapshot["file"] if snapshot else None
        covered = int((snapshot or {}).get("journal_seq") or 0)
        stored_up_to = int(state["journal_seq"])
        found: list[tuple[int, int, Path]] = []
        journal_dir = directory / "journal"
        if journal_dir.is_dir():
            for p in journal_dir.iterdir():
                m = _JOURNAL_FILE.match(p.name)
                if m:
                    found.append((int(m.group(1)), int(m.group(2)), p))
        chain: list[Path] = []
        # by first seq, the longest first: later overlapping files add nothing
        for first, last, p in sorted(found, key=lambda f: (f[0], -f[1])):
            if last <= covered or last > stored_up_to:
                continue  # covered already, or written but never recorded (crash)
            if first > covered + 1:
                break  # cannot happen for files this store accepted
            chain.append(p)
            covered = last
        return snapshot_path, chain
