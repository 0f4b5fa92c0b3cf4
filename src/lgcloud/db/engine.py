"""Engines for town and platform databases.

SQLite files are opened in WAL mode with foreign keys on, and every transaction starts with
``BEGIN IMMEDIATE``: nearly every request writes (views are audited), and taking the write
lock at the start avoids SQLite's lock-upgrade deadlock between two deferred transactions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool

#: execution option for a read-only transaction:
#: ``engine.connect().execution_options(**{READ_ONLY: True})``
READ_ONLY = "lgcloud_read_only"


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


def make_engine(url: str, *, synchronous: str = "FULL") -> Engine:
    """Create an engine for ``url``; SQLite URLs get WAL, foreign keys and immediate begins."""
    if url.startswith("sqlite"):
        engine = create_engine(url, poolclass=NullPool if ":memory:" in url else None)
        _install_sqlite_hooks(engine, synchronous=synchronous)
        return engine
    return create_engine(url, pool_pre_ping=True)


def sqlite_url(path: str) -> str:
    return f"sqlite+pysqlite:///{path}"
