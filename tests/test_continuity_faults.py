"""Fault test of the whole replication path with real processes and SIGKILL.

A writer process keeps recording life events at the centre (each commit is an
acknowledged change). The centre server (shipping continuously, taking a snapshot every
couple of seconds) is killed and restarted several times — mid-write, mid-snapshot and
mid-push land by chance across the kills — and the town's own node is killed mid-apply.
Afterwards every acknowledged change is on the town's replica, the replica passes
integrity_check and equals the centre table by table, and the partner's stored journal
covers everything.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import TOWN_A, TOWN_B, start_lgcloud
from lgcloud.continuity.centre import take_town_snapshot
from lgcloud.continuity.digests import database_digests
from lgcloud.continuity.federation import node_name, write_federation
from lgcloud.continuity.replica import PartnerStore
from lgcloud.continuity.sites import load_sites
from lgcloud.core.ports import free_port
from lgcloud.tenancy.platform import Platform
from test_faults import WRITER

# SQLite files themselves (copies, replicas, town nodes, migrations on files): the
# PostgreSQL pass of ./scripts/test leaves these out
pytestmark = pytest.mark.sqlite_only


def _start(args: list[str], log: Path, url: str) -> subprocess.Popen[bytes]:
    return start_lgcloud(args, log, url)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _max_seq(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT max(seq) FROM journal").fetchone()[0] or 0)
    finally:
        conn.close()


def _recovered_max_seq(path: Path) -> int:
    conn = sqlite3.connect(path)  # read-write, alone: runs WAL recovery if it is needed
    try:
        return int(conn.execute("SELECT max(seq) FROM journal").fetchone()[0] or 0)
    finally:
        conn.close()


@pytest.mark.slow
def test_kills_lose_no_acknowledged_change(platform: Platform, tmp_path: Path) -> None:
    rng = random.Random(7)
    root = tmp_path / "fed"
    centre_port = free_port()
    write_federation(
        root,
        platform,
        towns=[TOWN_A, TOWN_B],
        centre_port=centre_port,
        node_ports=[free_port(), free_port()],
        push_seconds=0.3,
        snapshot_minutes=0.03,  # a snapshot every ~2 s: kills land mid-snapshot too
    )
    sites = load_sites(root / "sites.toml")
    for t in (TOWN_A, TOWN_B):
        take_town_snapshot(platform, t)
    platform.dispose()
    sites_file = str(root / "sites.toml")
    centre_args = ["serve", "--data-dir", str(platform.data_dir), "--sites", sites_file]
    centre_args += ["--port", str(centre_port)]
    node_a = node_name(TOWN_A)

    def node_args(name: str) -> list[str]:
        data = str(root / "nodes" / name)
        return ["node", "serve", "--data-dir", data, "--sites", sites_file, "--node", name,
                "--no-watch"]  # fmt: skip

    centre = _start(centre_args, tmp_path / "centre.log", sites.centre.url)
    nodes = {
        n: _start(node_args(n), tmp_path / f"{n}.log", sites.node(n).url)
        for n in (node_a, node_name(TOWN_B))
    }
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    writer = subprocess.Popen(
        [sys.executable, str(script), str(platform.data_dir), TOWN_A],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == b"started"
        for round_ in range(5):
            time.sleep(rng.uniform(0.4, 1.6))
            _kill(centre)
            if round_ == 2:  # the town node mid-apply
                _kill(nodes[node_a])
                url = sites.node(node_a).url
                nodes[node_a] = _start(node_args(node_a), tmp_path / "na.log", url)
            centre = _start(centre_args, tmp_path / "centre.log", sites.centre.url)
        _kill(writer)  # mid-write at the centre
        # A commit the writer was killed inside can be in the WAL file yet not in its index
        # (the commit never returned): SQLite's recovery, run by the first connection after
        # every process holding the file is gone, makes it visible. So the centre is stopped
        # and the file opened alone before counting: "committed" then includes that change
        # too, and the restarted centre must ship it like any other.
        _kill(centre)
        town_db = platform.data_dir / "towns" / f"{TOWN_A}.sqlite"
        acknowledged = _recovered_max_seq(town_db)  # everything committed
        assert acknowledged > 10
        centre = _start(centre_args, tmp_path / "centre.log", sites.centre.url)
        replica = root / "nodes" / node_a / "replicas" / f"{TOWN_A}.sqlite"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (
            not replica.exists() or _max_seq(replica) < acknowledged
        ):
            time.sleep(0.3)
        assert _max_seq(replica) == acknowledged
        store = PartnerStore(root / "nodes" / node_name(TOWN_B) / "store")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and store.state(TOWN_A)["journal_seq"] < acknowledged:
            time.sleep(0.3)
        _kill(centre)
        _kill(nodes.pop(node_a))
        conn = sqlite3.connect(replica)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
        want = database_digests(town_db)
        got = database_digests(replica)
        assert set(want) == set(got)
        assert [t for t in want if t != "journal" and want[t] != got[t]] == []
        # the partner stored every batch up to the last acknowledged change, without gaps
        assert store.state(TOWN_A)["journal_seq"] == acknowledged
        snapshot, batches = store.latest(TOWN_A)
        assert snapshot is not None and batches
    finally:
        for p in (writer, centre, *nodes.values()):
            if p.poll() is None:
                _kill(p)
        if writer.stdout:
            writer.stdout.close()
