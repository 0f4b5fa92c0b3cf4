"""The three drilled failures of seed 003, end to end: the centre and three town nodes as
separate processes, killed with SIGKILL (``lgcloud drill --case N`` exits 0)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# SQLite files themselves (copies, replicas, town nodes, migrations on files): the
# PostgreSQL pass of ./scripts/test leaves these out
pytestmark = pytest.mark.sqlite_only


@pytest.mark.slow
@pytest.mark.parametrize("case", [1, 2, 3])
def test_drill_passes(case: int, tmp_path: Path) -> None:
    args = ["drill", "--case", str(case), "--residents", "600", "--work-dir", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, "-m", "lgcloud", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "NG" not in result.stdout
    assert result.stdout.count("OK") >= 7
