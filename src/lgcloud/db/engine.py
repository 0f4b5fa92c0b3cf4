"""Engines for town and platform databases.

SQLite files are opened in WAL mode with foreign keys on, and every transaction starts with
``BEGIN IMMEDIATE``: nearly every request writes (views are audited), and taking the write
lock at the start avoids SQLite's lock-upgrade deadlock between two deferred transactions.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.pool import NullPool

from lgcloud.core.logging import get_logger

#: execution option for a read-only transaction:
#: ``engine.connect().execution_options(**{READ_ONLY: True})``
READ_ONLY = "lgcloud_read_only"
_WRITE_BEGAN = "lgcloud_write_began"
#: a write transaction held longer than this is logged (batch work must write in short chunks)
SLOW_WRITE_MS = 200.0

log = get_logger("lgcloud.db")


@dataclass
class WriteLockStats:
    """How long write transactions held their database's write lock (SQLite: from ``BEGIN
    IMMEDIATE`` until the connection is returned after COMMIT or ROLLBACK), in this
    process. Served at ``/metrics``; measured by ``bench/load.py``."""

    count: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0
    over_100ms: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, ms: float, where: str) -> None:
        with self._lock:
            self.count += 1
            self.total_ms += ms
            self.max_ms = max(self.max_ms, ms)
            if ms > 100.0:
                self.over_100ms += 1
        if ms > SLOW_WRITE_MS:
            log.warning("slow_write_transaction", ms=round(ms, 1), database=where)

    def reset(self) -> None:
        with self._lock:
            self.count, self.total_ms, self.max_ms, self.over_100ms = 0, 0.0, 0.0, 0


WRITE_LOCKS = WriteLockStats()


def _install_lock_timing(engine: Engine) -> None:
    """On a server engine a write transaction is timed from its BEGIN (PostgreSQL locks
    rows, not the database: this is the transaction's length)."""

    @event.listens_for(engine, "begin")
    def _began(conn: Any) -> None:
        if not conn.get_execution_options().get(READ_ONLY):
            conn.info[_WRITE_BEGAN] = time.perf_counter()


def _install_checkin(engine: Engine) -> None:
    where = engine.url.database or str(engine.url)

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        began = record.info.pop(_WRITE_BEGAN, None)
        if began is not None:
            WRITE_LOCKS.add((time.perf_counter() - began) * 1000, where)


def _install_sqlite_hooks(engine: Engine, *, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook below decide how transactions start.
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=15000")
        # after a checkpoint, a WAL grown by a bulk load is truncated back to this size
        cur.execute("PRAGMA journal_size_limit=67108864")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Readers that never write (shipping the journal) say so, and then do not take the
        # write lock: in WAL mode they read a consistent state while writers go on.
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN DEFERRED")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            conn.info[_WRITE_BEGAN] = time.perf_counter()  # the lock is held from here


def private_sqlite_file(url: str) -> None:
    """A SQLite database file (and its -wal and -shm) readable by its owner only: created
    0600 when new (SQLite gives the -wal and -shm files the database file's mode), and an
    older file opened wider is narrowed (issue 15: every resident and the clerks' hashes
    were world-readable)."""
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    db = Path(path)
    if not db.exists() and db.parent.is_dir():
        os.close(os.open(db, os.O_CREAT | os.O_WRONLY, 0o600))
    for f in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            if f.stat().st_mode & 0o077:
                f.chmod(0o600)


def make_engine(url: str, *, synchronous: str = "FULL") -> Engine:
    """Create an engine for ``url``; SQLite URLs get WAL, foreign keys and immediate begins,
    and a file only its owner reads (:func:`private_sqlite_file`)."""
    if url.startswith("sqlite"):
        private_sqlite_file(url)
        engine = create_engine(url, poolclass=NullPool if ":memory:" in url else None)
        _install_sqlite_hooks(engine, synchronous=synchronous)
    else:
        # a few connections per town: a server hosts many towns (docs/scaling.md)
        engine = create_engine(url, pool_pre_ping=True, pool_size=3, max_overflow=5)
        _install_lock_timing(engine)
    _install_checkin(engine)
    return engine


def create_server_database(server_url: str, name: str, *, template: str = "template0") -> str:
    """Create database ``name`` on the PostgreSQL server of ``server_url`` (UTF-8, C
    collation; a copy of ``template``) and return its URL. Refuses a name that is not a
    plain identifier."""
    for ident in (name, template):
        if not ident.replace("_", "").isalnum() or not ident.isascii():
            raise ValueError(f"not a database name: {ident!r}")
    url = make_url(server_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                f'CREATE DATABASE "{name}" TEMPLATE "{template}" ENCODING \'UTF8\' '
                "LC_COLLATE 'C' LC_CTYPE 'C'"
            )
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def sync_id_sequences(conn: Connection, tables: Iterable[str]) -> None:
    """On PostgreSQL, move the id sequence of each table past its largest id: rows inserted
    with ids of their own (the generator's) do not advance it, and the next ordinary insert
    would take an id already used. SQLite needs nothing (it takes the largest id + 1)."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        if not table.replace("_", "").isalnum():
            raise ValueError(f"not a table name: {table!r}")
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 (checked above)
            f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table}"
        )


def sqlite_url(path: str) -> str:
    return f"sqlite+pysqlite:///{path}"
