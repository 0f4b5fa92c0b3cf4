"""Row counts and content digests of a town database, table by table.

The same function runs on the centre when a snapshot is taken, on a restored copy, and on
a replica built from the journal: equal digests mean equal content. Rows are read in
primary-key order and hashed by value (not by page layout), so two files holding the same
rows in different pages compare equal. Uses the stdlib ``sqlite3`` module on a file: this
is a read of raw values and must not depend on ORM models of any particular version.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

#: Tables that are caches of others and rebuilt on a replica; digested all the same.
SKIP_TABLES = frozenset({"sqlite_sequence", "sqlite_stat1"})


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_names(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    ).fetchall()
    return [r[0] for r in rows if r[0] not in SKIP_TABLES]


def _order_by(conn: sqlite3.Connection, table: str) -> str:
    info = conn.execute(f"PRAGMA table_info({_quote(table)})").fetchall()
    pk = sorted((row[5], row[1]) for row in info if row[5] > 0)
    cols = [name for _, name in pk] or [row[1] for row in info]
    return ", ".join(_quote(c) for c in cols)


def table_digest(conn: sqlite3.Connection, table: str) -> dict[str, Any]:
    h = hashlib.sha256()
    n = 0
    # table and column names come from sqlite_master / PRAGMA table_info, quoted
    sql = f"SELECT * FROM {_quote(table)} ORDER BY {_order_by(conn, table)}"  # noqa: S608
    cur = conn.execute(sql)
    while True:
        rows = cur.fetchmany(5000)
        if not rows:
            break
        n += len(rows)
        for row in rows:
            h.update(repr(row).encode())
            h.update(b"\n")
    return {"rows": n, "sha256": h.hexdigest()}


def database_digests(
    path: Path | str, *, tables: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """``{table: {"rows": n, "sha256": hex}}`` for every table of the SQLite file."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: table_digest(conn, t) for t in (tables or table_names(conn))}
    finally:
        conn.close()
