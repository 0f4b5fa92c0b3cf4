"""Secrets at rest (issue 15, finding 3): the data directory, every database with its WAL,
every key and snapshot is its owner's only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from conftest import TOWN_A, make_ctx, move_in_one
from lgcloud.certificates.service import CertificateKind, issue_certificate
from lgcloud.continuity.centre import take_town_snapshot
from lgcloud.tenancy.platform import Platform


def _open_to_others(root: Path) -> list[str]:
    wide = []
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                continue
            if mode & 0o077:
                wide.append(f"{path.relative_to(root)} {stat.filemode(mode)}")
    if root.stat().st_mode & 0o077:
        wide.append(f". {stat.filemode(root.stat().st_mode)}")
    return wide


@pytest.mark.sqlite_only  # the files are SQLite's (PostgreSQL keeps its own data directory)
def test_the_data_directory_is_its_owners_only(platform: Platform) -> None:
    person = move_in_one(platform, TOWN_A, "佐藤\u3000健")
    issue_certificate(platform, make_ctx(TOWN_A), CertificateKind.RESIDENT, addressee_number=person)
    take_town_snapshot(platform, TOWN_A)
    assert _open_to_others(platform.data_dir) == []


@pytest.mark.sqlite_only
def test_an_older_database_file_opened_wider_is_narrowed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Platform(data).dispose()
    (data / "platform.sqlite").chmod(0o644)
    data.chmod(0o755)
    Platform(data).dispose()
    assert _open_to_others(data) == []
