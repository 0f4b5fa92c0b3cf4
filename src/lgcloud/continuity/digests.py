"""Row counts and content digests of a town database, table by table.

The same function runs on the centre when a snapshot is taken, on a restored copy, and on
a replica built from the journal: equal digests mean equal content. Rows are read in
primary-key order and hashed by value (not by page layout), so two files holding the same
rows in different pages compare equal. Uses the stdlib ``sqlite3`` module on a file: this
is a read of raw values and must not depend on ORM models of any particular version.

Each batch of :data:`BATCH` rows is serialised with pickle (protocol 5, C speed: a
30,000-resident town has ~900,000 rows, and per-row ``repr`` cost twice as much) and fed to
SHA-256. The serialisation depends only on the values and their types: sqlite3 returns ints,
floats, str, bytes and None, fresh objects except CPython's shared empty and one-character
strings and bytes, which pickle's memo handles the same way for the same values. The
method is named in every manifest (:data:`METHOD`) and a verifier refuses another.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

BATCH = 10_000
METHOD = f"sha256/pickle5/{BATCH}"

#: SQLite's own bookkeeping tables, not content.
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
    while rows := cur.fetchmany(BATCH):
        n += len(rows)
        # pickle of plain values from sqlite3, not of untrusted objects: nothing is loaded
        h.update(pickle.dumps(rows, protocol=5))
    return {"rows": n, "sha256": h.hexdigest()}


def database_digests(
    path: Path | str, *, tables: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """``{table: {"rows": n, "sha256": hex}}`` for every table of the SQLite file."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        conn.execute("BEGIN")  # one read transaction: every table of the same state
        names = tables if tables is not None else table_names(conn)
        return {t: table_digest(conn, t) for t in names}
    finally:
        conn.close()


#: files above this size are digested by two processes (the machines have two cores)
PARALLEL_BYTES = 32 << 20


def database_digests_parallel(path: Path) -> dict[str, dict[str, Any]]:
    """:func:`database_digests` of a file nobody writes (a snapshot copy), the tables split
    in two halves of about equal size, one digested in a spawned process. The result is the
    same; only the time halves. Small files are digested in this process."""
    if path.stat().st_size < PARALLEL_BYTES:
        return database_digests(path)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        # the cost is mostly per row (leaf cells), some per page (large values)
        sizes = dict(
            conn.execute(
                "SELECT name, sum(CASE WHEN pagetype = 'leaf' THEN ncell ELSE 0 END)"
                " + 20 * count(*) FROM dbstat GROUP BY name"
            ).fetchall()
        )
        names = table_names(conn)
    except sqlite3.OperationalError:  # no dbstat in this SQLite build
        return database_digests(path)
    finally:
        conn.close()
    halves: tuple[list[str], list[str]] = ([], [])
    weight = [0, 0]
    for name in sorted(names, key=lambda n: -int(sizes.get(n, 1))):
        side = 0 if weight[0] <= weight[1] else 1
        halves[side].append(name)
        weight[side] += int(sizes.get(name, 1))
    # A fresh interpreter, not fork (the caller may be a threaded server) nor
    # multiprocessing's spawn (which re-imports the caller's __main__, e.g. the CLI).
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
        [sys.executable, "-c", _CHILD, str(path), json.dumps(halves[1])],
        stdout=subprocess.PIPE,
    )
    try:
        mine = database_digests(path, tables=halves[0])
        out, _ = child.communicate(timeout=600)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if child.returncode != 0:
        raise RuntimeError(f"digest process failed with exit code {child.returncode}")
    theirs: dict[str, dict[str, Any]] = json.loads(out)
    return {name: {**mine, **theirs}[name] for name in names}


_CHILD = (
    "import json, sys\n"
    "from lgcloud.continuity.digests import database_digests\n"
    "print(json.dumps(database_digests(sys.argv[1], tables=json.loads(sys.argv[2]))))\n"
)


PAGE_METHOD = "sha256/table-pages"


def page_digests(path: Path) -> dict[str, dict[str, Any]]:
    """``{table: {"rows": n, "sha256": hex}}`` over each table's own b-tree and overflow
    pages, read straight from the file (SQLite's ``dbstat`` lists them): the digest of the
    table's stored content *in this file*. Several times faster than :func:`database_digests`
    but layout-dependent, so it compares a file with itself (a restored snapshot with the
    file the centre sealed), never two files written differently. Row counts come from the
    cells of the leaf pages."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        names = table_names(conn)
        pages: dict[str, list[tuple[int, str, int]]] = {n: [] for n in names}
        for name, pageno, pagetype, ncell in conn.execute(
            "SELECT name, pageno, pagetype, ncell FROM dbstat ORDER BY name, pageno"
        ):
            if name in pages:
                pages[name].append((int(pageno), str(pagetype), int(ncell)))
    finally:
        conn.close()
    out: dict[str, dict[str, Any]] = {}
    with open(path, "rb") as f:
        data = f.read()
    view = memoryview(data)
    for name in names:
        h = hashlib.sha256()
        rows = 0
        for pageno, pagetype, ncell in pages[name]:
            start = (pageno - 1) * page_size
            h.update(view[start : start + page_size])
            if pagetype == "leaf":
                rows += ncell
        out[name] = {"rows": rows, "sha256": h.hexdigest()}
    return out
