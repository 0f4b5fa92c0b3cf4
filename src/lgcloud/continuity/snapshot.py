"""Snapshots: a whole town database, as one signed and encrypted SQLite file.

A snapshot is an :mod:`envelope <lgcloud.continuity.envelope>` of kind ``snapshot``:

* **payload** — the town's database as a single SQLite file (rollback journal, vacuumed),
  whatever engine the town runs on. A SQLite file is the one format every node can open
  without a server, check with ``PRAGMA integrity_check`` and serve read-only as it is.
  The ``journal`` table keeps only its last row: the journal is shipped separately, and
  that row records the position the snapshot stands at (its ``committed_at`` is the data's
  as-of time, printed on certificates issued from the copy).
* **header** (the manifest, signed but not encrypted)::

    format          "lgcloud-snapshot/1"
    town            団体コード
    snapshot_seq    the centre's number for this snapshot of the town (increasing)
    schema_version  the Alembic revision of the copy
    taken_at        when the copy was taken (UTC, ISO 8601)
    journal_seq     the last journal entry in the copy (0 if none)
    as_of           that entry's commit time (``taken_at`` if none)
    audit_head      {"seq", "hash"}: the head of the copy's audit chain
    tables          {table: {"rows", "sha256"}}: row counts and content digests

Why a manifest with digests and the audit head: a partner node can check what it stores
(signature, town, order, size) without being able to read it, and the town's own node,
holding the recovery key, proves after decryption that the file is exactly what the centre
signed, table by table, and that its audit chain ends where the centre said it did. A copy
rewritten wholesale (chain recomputed) no longer matches the signed head.

The copy is consistent: on SQLite it is taken with the online backup API (one step, one
read transaction: writers carry on in WAL mode and never appear half-way); on PostgreSQL
every table is read inside one REPEATABLE READ, READ ONLY transaction into a fresh SQLite
file migrated to the same revision, through the models' column types, so the file holds
what a SQLite-hosted town would hold.

Restoring refuses, with a stable reason code and a Japanese message, anything that does
not pass every check; the restored file appears at its destination only after all of them
passed (``os.replace``), so a node never serves a doubtful copy.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pyrage import x25519
from sqlalchemy import Connection, Engine, Table, create_engine, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from lgcloud.audit import service as audit_service
from lgcloud.audit.chain import GENESIS_HASH
from lgcloud.continuity import envelope
from lgcloud.continuity.digests import PAGE_METHOD, page_digests
from lgcloud.continuity.envelope import EnvelopeRefused
from lgcloud.continuity.keys import SigningKey
from lgcloud.core.clock import utcnow
from lgcloud.core.errors import LgcloudError
from lgcloud.core.files import fsync_dir, write_synced
from lgcloud.db import migrate
from lgcloud.db.engine import sqlite_url
from lgcloud.schema import TownBase

FORMAT = "lgcloud-snapshot/1"
KIND = "snapshot"
#: Suffix of the temporary files written next to a destination (never a snapshot's name).
RESTORE_SUFFIX = ".restoring"
#: Rows per batch when copying a table from a server database.
COPY_BATCH = 5000
_SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")


# -- files ------------------------------------------------------------------------------


def _remove_sqlite_file(path: Path) -> None:
    for name in (path.name, *(path.name + s for s in _SQLITE_SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            (path.parent / name).unlink()


def _ro_connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)


def _ro_engine(path: Path) -> Engine:
    """A read-only engine on a SQLite file that changes nothing in it (no WAL switch)."""
    return create_engine(
        "sqlite+pysqlite://", creator=lambda: _ro_connect(path), poolclass=NullPool
    )


# -- taking a snapshot ------------------------------------------------------------------


def _iso_utc(value: object) -> str:
    """A stored UTC time (naive text on SQLite) as ISO 8601 with its zone."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


def _backup_sqlite(source: str, dst: Path) -> None:
    """Copy a live SQLite database in a single step (one read transaction on the source, so
    the copy is one committed state of it)."""
    # mode=rw: a missing file is an error, not a new empty database
    src = sqlite3.connect(f"file:{quote(source)}?mode=rw", uri=True, timeout=30)
    try:
        # VACUUM INTO writes a compact copy (live pages only) in one read transaction, so
        # concurrent writers go on (WAL) and the copy needs no VACUUM of its own
        src.execute("VACUUM INTO ?", (str(dst),))
    finally:
        src.close()


def _source_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    return MigrationContext.configure(conn).get_current_revision()


def _copy_from_server(engine: Engine, dst: Path) -> None:
    """Copy every table of a server database (PostgreSQL) into a fresh SQLite file, inside
    one repeatable-read, read-only transaction on the source."""
    with engine.connect() as conn:
        revision = _source_revision(conn)
    if revision is None:
        raise LgcloudError("町村のデータベースにスキーマの版がありません")
    copy = create_engine(sqlite_url(str(dst)), poolclass=NullPool)
    try:
        migrate.upgrade(copy, "town", revision)
        options: dict[str, Any] = {"isolation_level": "SERIALIZABLE"}
        if engine.dialect.name == "postgresql":
            options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        with (
            engine.connect().execution_options(**options) as src,
            src.begin(),
            copy.begin() as out,
        ):
            if _source_revision(src) != revision:
                raise LgcloudError("スナップショットの取得中に町村のスキーマが更新されました")
            present = set(
                out.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")
                .scalars()
                .all()
            )
            unknown = present - set(TownBase.metadata.tables) - {"alembic_version"}
            if unknown:  # a table this code has no model for would be left empty
                raise LgcloudError(f"複写できない表があります: {', '.join(sorted(unknown))}")
            for table in TownBase.metadata.sorted_tables:
                if table.name in present:
                    _copy_table(src, out, table)
    finally:
        copy.dispose()


def _copy_table(src: Connection, out: Connection, table: Table) -> None:
    # the columns of the copy's revision, read through the models' types (UTC times etc.)
    names = {row[1] for row in out.exec_driver_sql(f'PRAGMA table_info("{table.name}")')}
    missing = names - set(table.c.keys())
    if missing:
        raise LgcloudError(f"表 {table.name} に複写できない列があります: {sorted(missing)}")
    stmt = select(*(c for c in table.c if c.name in names))
    if table.name == "journal":  # only the last entry is kept (see the module docstring)
        stmt = stmt.order_by(table.c.seq.desc()).limit(1)
    result = src.execution_options(stream_results=True, yield_per=COPY_BATCH).execute(stmt)
    for part in result.partitions(COPY_BATCH):
        out.execute(insert(table), [dict(row._mapping) for row in part])


def _finish_copy(path: Path) -> None:
    """Keep only the last journal entry, make the file self-contained, drop freed pages."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("DELETE FROM journal WHERE seq < (SELECT max(seq) FROM journal)")
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        if free > pages // 20:  # the centre's journal was long: drop the freed pages
            conn.execute("VACUUM")
    finally:
        conn.close()


def build_header(
    path: Path, *, town: str, seq: int, taken_at: datetime, data: bytes | None = None
) -> dict[str, Any]:
    """The manifest of the SQLite copy at ``path`` (without the envelope's own fields);
    ``data``, if given, is the file's bytes (read once by the caller)."""
    conn = _ro_connect(path)
    try:
        revisions = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
        last = conn.execute("SELECT seq, committed_at FROM journal ORDER BY seq DESC LIMIT 1")
        journal = last.fetchone()
        head = conn.execute("SELECT seq, entry_hash FROM audit_head WHERE id = 1").fetchone()
    finally:
        conn.close()
    if len(revisions) != 1:
        raise ValueError(f"the copy has {len(revisions)} Alembic revisions, expected one")
    taken = taken_at.astimezone(UTC).isoformat()
    return {
        "format": FORMAT,
        "town": town,
        "snapshot_seq": seq,
        "schema_version": revisions[0],
        "taken_at": taken,
        "journal_seq": int(journal[0]) if journal else 0,
        "as_of": _iso_utc(journal[1]) if journal else taken,
        "audit_head": (
            {"seq": int(head[0]), "hash": str(head[1])}
            if head
            else {"seq": 0, "hash": GENESIS_HASH}
        ),
        "digest_method": PAGE_METHOD,
        "tables": page_digests(path, data),
    }


def _work_prefix(town: str) -> str:
    return f".snapshot-{town}-"


def remove_stale_work_files(work_dir: Path, town: str) -> list[Path]:
    """Remove the temporary copies a killed :func:`take_snapshot` of ``town`` left in
    ``work_dir`` (plaintext town data). Call it only when no snapshot of the town is being
    taken (e.g. at the start of the centre's snapshot job, under its lock)."""
    removed = []
    for path in sorted(work_dir.glob(f"{_work_prefix(town)}*.sqlite*")):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


def take_snapshot(
    engine: Engine,
    *,
    town: str,
    seq: int,
    recipients: list[x25519.Recipient],
    signer: SigningKey,
    work_dir: Path,
) -> bytes:
    """Copy the town database consistently, describe it and seal it (see the module doc).

    ``engine`` is the town's engine (SQLite file or server); temporary files are made in
    ``work_dir`` and removed, whatever happens short of the process being killed (see
    :func:`remove_stale_work_files`).
    """
    fd, name = tempfile.mkstemp(dir=work_dir, prefix=_work_prefix(town), suffix=".sqlite")
    os.close(fd)
    copy = Path(name)
    try:
        copy.unlink()  # SQLite creates its own file; the name was only reserved
        taken_at = utcnow()
        if engine.dialect.name == "sqlite":
            source = engine.url.database
            if not source or source == ":memory:" or source.startswith("file:"):
                raise ValueError(f"cannot snapshot SQLite database {source!r}: a file path needed")
            _backup_sqlite(source, copy)
        else:
            _copy_from_server(engine, copy)
        _finish_copy(copy)
        payload = copy.read_bytes()
        # compress + encrypt (C, without the GIL) while the manifest is computed
        with ThreadPoolExecutor(max_workers=1) as pool:
            encrypted = pool.submit(envelope.encrypt_payload, payload, recipients)
            header = build_header(copy, town=town, seq=seq, taken_at=taken_at, data=payload)
            sealed = envelope.seal_encrypted(KIND, header, encrypted.result(), signer)
    finally:
        _remove_sqlite_file(copy)
    return sealed


# -- checking and restoring -------------------------------------------------------------


def _check_format(header: dict[str, Any]) -> None:
    if header.get("format") != FORMAT:
        raise EnvelopeRefused(
            "format",
            f"スナップショットの形式が違います（{header.get('format')}、対応している形式は "
            f"{FORMAT}）",
        )


def inspect_snapshot(
    data: bytes, *, centre_public_b64: str, town: str | None = None
) -> dict[str, Any]:
    """The checked manifest of a snapshot, without decrypting it: what a partner node that
    stores the snapshot (and has no recovery key) can see and vouch for."""
    env = envelope.open_envelope(data, kind=KIND, centre_public_b64=centre_public_b64, town=town)
    _check_format(env.header)
    return dict(env.header)


@dataclass
class RestoredSnapshot:
    """A restored, verified town database and what was checked."""

    path: Path
    header: dict[str, Any]
    checks: list[tuple[str, str]]
    seconds: float


def _check_integrity(path: Path | bytes) -> str:
    """SQLite's integrity check of the file, or of the same bytes in memory (so it can run
    while the file is still being written)."""
    try:
        if isinstance(path, bytes):
            if not path.startswith(b"SQLite format 3\x00"):
                raise sqlite3.DatabaseError("file is not a database")
            conn = sqlite3.connect(":memory:")
            conn.deserialize(path)
        else:
            conn = _ro_connect(path)
        try:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise EnvelopeRefused(
            "integrity", f"復号したデータが SQLite データベースとして読めません（{exc}）"
        ) from exc
    if rows != ["ok"]:
        raise EnvelopeRefused(
            "integrity", f"データベースの整合性検査に失敗しました: {'; '.join(map(str, rows[:3]))}"
        )
    return "ok"


def _check_schema(path: Path, header: dict[str, Any]) -> str:
    expected = header.get("schema_version")
    try:
        conn = _ro_connect(path)
        try:
            found = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise EnvelopeRefused(
            "schema",
            "スキーマの版 (alembic_version) がありません: 町村のデータベースではありません",
        ) from exc
    if found != [expected]:
        shown = ", ".join(map(str, found)) or "なし"
        raise EnvelopeRefused(
            "schema", f"スキーマの版が違います（データは {shown}、目録は {expected}）"
        )
    return str(expected)


def _check_digests(path: Path, header: dict[str, Any], data: bytes | None = None) -> str:
    """Row counts and per-table digests of the restored file against the manifest.

    The manifest's digests are :func:`~lgcloud.continuity.digests.page_digests`: each
    table's own pages in the sealed file, which the restored file is byte for byte. (To
    compare a snapshot's *values* with a live database or a replica, use
    :func:`~lgcloud.continuity.digests.database_digests` on both.)"""
    if header.get("digest_method") != PAGE_METHOD:
        raise EnvelopeRefused(
            "digests",
            f"目録のダイジェスト方式 {header.get('digest_method')!r} はこの版では検証できません"
            f"（{PAGE_METHOD}）",
        )
    expected: dict[str, Any] = header.get("tables") or {}
    try:
        found = page_digests(path, data)
    except (sqlite3.DatabaseError, OSError) as exc:
        raise EnvelopeRefused("digests", f"表の内容を読めません（{exc}）") from exc
    for table in sorted(set(expected) | set(found)):
        want, got = expected.get(table), found.get(table)
        if want is None:
            raise EnvelopeRefused("digests", f"目録にない表 {table} がデータにあります")
        if got is None:
            raise EnvelopeRefused("digests", f"目録にある表 {table} がデータにありません")
        if got["rows"] != want["rows"]:
            raise EnvelopeRefused(
                "digests",
                f"表 {table} の行数が目録と違います（データ {got['rows']} 行、目録 "
                f"{want['rows']} 行）",
            )
        if got["sha256"] != want["sha256"]:
            raise EnvelopeRefused(
                "digests",
                f"表 {table} の内容が目録のダイジェストと一致しません（改ざんまたは破損）",
            )
    rows = sum(int(d["rows"]) for d in found.values())
    return f"{len(found)} 表、{rows} 行が一致"


def _check_journal(path: Path, header: dict[str, Any]) -> str:
    conn = _ro_connect(path)
    try:
        last = conn.execute("SELECT max(seq) FROM journal").fetchone()
    finally:
        conn.close()
    found = int(last[0]) if last and last[0] is not None else 0
    if found != header.get("journal_seq"):
        raise EnvelopeRefused(
            "journal",
            f"ジャーナルの位置が目録と違います（データ {found} 番、目録 "
            f"{header.get('journal_seq')} 番）",
        )
    return f"ジャーナル {found} 番まで（{header.get('as_of')} 時点）"


def _check_audit(path: Path, header: dict[str, Any]) -> str:
    engine = _ro_engine(path)
    try:
        with Session(engine) as session:
            report = audit_service.verify(session)
    finally:
        engine.dispose()
    if not report.ok:
        raise EnvelopeRefused(
            "audit_chain", f"監査記録の連鎖が検証できません: {report.problems[0].message}"
        )
    want = header.get("audit_head") or {}
    if (report.head_seq, report.head_hash) != (want.get("seq"), want.get("hash")):
        raise EnvelopeRefused(
            "audit_chain",
            f"監査記録の末尾が目録と一致しません（データ {report.head_seq} 番、目録 "
            f"{want.get('seq')} 番）: 監査記録が書き換えられています",
        )
    return f"{report.entries} 件、末尾 {report.head_seq} 番が目録と一致"


def _check_town(path: Path, town: str) -> str:
    conn = _ro_connect(path)
    try:
        codes = [r[0] for r in conn.execute("SELECT code FROM town_info")]
    finally:
        conn.close()
    if codes != [town]:
        raise EnvelopeRefused(
            "wrong_town",
            f"データベースの町村が違います（{', '.join(codes) or 'なし'}、期待した町村は {town}）",
        )
    return town


def restore_and_verify(
    data: bytes,
    *,
    town: str,
    centre_public_b64: str,
    identities: list[x25519.Identity],
    dest: Path,
    last_seq: int | None = None,
) -> RestoredSnapshot:
    """Check, decrypt and restore a snapshot of ``town`` to the SQLite file ``dest``.

    ``last_seq`` is the number of the newest snapshot already accepted: an older or equal
    one is refused as a replay. Checks, in order: envelope (signature, size, digest, town),
    order, then on the decrypted file ``integrity``, ``schema``, ``digests``, ``journal``,
    ``audit_chain`` and ``town``. Any failure raises :class:`EnvelopeRefused` (or
    :class:`~lgcloud.continuity.keys.RecoveryKeyError` for a recovery key that does not fit) and
    leaves ``dest`` untouched; ``dest`` is replaced only when every check passed.
    """
    started = time.perf_counter()
    env = envelope.open_envelope(data, kind=KIND, centre_public_b64=centre_public_b64, town=town)
    header = env.header
    _check_format(header)
    seq = header.get("snapshot_seq")
    if not isinstance(seq, int):
        raise EnvelopeRefused("format", "スナップショットの番号が目録にありません")
    if last_seq is not None and seq <= last_seq:
        raise EnvelopeRefused(
            "replayed",
            f"古いスナップショットです（番号 {seq}、受け入れ済みの番号 {last_seq}）: "
            "再送または差し替えの可能性があるため使いません",
        )
    checks: list[tuple[str, str]] = [
        ("envelope", f"署名・長さ・ダイジェスト・町村 {town} を確認"),
        ("order", f"番号 {seq}" + ("" if last_seq is None else f"（前回 {last_seq}）")),
    ]
    payload = envelope.open_payload(env, identities)
    checks.append(("decrypt", f"{len(payload)} バイト"))
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=RESTORE_SUFFIX)
    tmp = Path(name)
    try:
        # SQLite's integrity check runs in C without the GIL: in a thread, on the same bytes
        # in memory, while the file is written and the other checks run. Its verdict still
        # comes first.
        with ThreadPoolExecutor(max_workers=1) as pool:
            integrity = pool.submit(_check_integrity, payload)
            later: list[tuple[str, str]] = []
            failure: BaseException | None = None
            try:
                write_synced(fd, payload)
                later.append(("schema", _check_schema(tmp, header)))
                later.append(("digests", _check_digests(tmp, header, payload)))
            except Exception as exc:  # reported after the integrity verdict
                failure = exc
            checks.append(("integrity", integrity.result()))
        del payload
        if failure is not None:
            raise failure
        checks.extend(later)
        checks.append(("journal", _check_journal(tmp, header)))
        checks.append(("audit_chain", _check_audit(tmp, header)))
        checks.append(("town", _check_town(tmp, town)))
        os.replace(tmp, dest)
    except BaseException:
        _remove_sqlite_file(tmp)
        raise
    fsync_dir(dest.parent)
    return RestoredSnapshot(dest, dict(header), checks, time.perf_counter() - started)
