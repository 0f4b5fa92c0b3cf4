"""Batch commands run at batch priority (nice 10), on the server's machine as in the
server's own batch children: the counter gets the CPU first (issue 11)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import BATCH_COMMANDS
from lgcloud.cli import app as cli

_NICENESS_AFTER = """
import os, sys
os.nice(int(sys.argv[1]))
from lgcloud.core.jobs import as_batch
as_batch()
as_batch()
print(os.nice(0))
"""


@pytest.mark.parametrize(("before", "after"), [(0, 10), (15, 15)])
def test_as_batch_lowers_priority_to_ten_never_raises_it(before: int, after: int) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _NICENESS_AFTER, str(before)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == str(after)


@pytest.mark.parametrize(
    "args",
    [
        ["export", "residents", "--out", "x.csv"],
        ["export", "layouts", "--out-dir", "x"],
        ["import", "residents", "x.csv"],
        ["all-residents-csv", "--out", "x.csv"],
        ["safety", "match", "x.csv", "--out", "y.csv"],
    ],
)
def test_batch_commands_take_batch_priority(args: list[str], tmp_path: Path) -> None:
    BATCH_COMMANDS.clear()
    r = CliRunner().invoke(cli, [*args, "--town", "999999", "--data-dir", str(tmp_path)])
    assert BATCH_COMMANDS == ["as_batch"], r.output
