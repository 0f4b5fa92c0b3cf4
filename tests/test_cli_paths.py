"""A relative ``--data-dir`` works from any folder afterwards (the stored paths are absolute)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lgcloud.cli import app
from lgcloud.interface import commands
from lgcloud.tenancy.platform import Platform


@pytest.mark.sqlite_only  # the stored path is a SQLite file's; PostgreSQL stores a URL
def test_relative_data_dir_is_stored_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    r = runner.invoke(app, ["init-town", "153079", "聖籠町", "--data-dir", "rel"])
    assert r.exit_code == 0, r.output
    commands.close_platforms()
    monkeypatch.chdir(tmp_path / "b")  # another folder, the data directory named absolutely
    data = tmp_path / "a" / "rel"
    out = tmp_path / "b" / "all.csv"
    r = runner.invoke(
        app,
        ["all-residents-csv", "--town", "153079", "--out", str(out), "--data-dir", str(data)],
    )
    assert r.exit_code == 0, r.output
    commands.close_platforms()
    assert out.read_text(encoding="utf-8-sig").startswith("行政区,世帯番号,宛名番号")
    p = Platform(data)
    try:
        (town,) = p.towns()
        assert town.database_url.endswith(f":///{data}/towns/153079.sqlite")
    finally:
        p.dispose()
