"""The disaster victim-support set-up export (seed 004): Shift_JIS, no quoting, four files."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select

from conftest import TODAY, TOWN_A, make_ctx
from lgcloud.generate.town import generate_town
from lgcloud.interchange.victim_support import (
    DISTRICT_COLUMNS,
    FOREIGN_COLUMNS,
    INCOME_COLUMNS,
    RESIDENT_COLUMNS,
    export_victim_support,
)
from lgcloud.register.models import PersonVersion
from lgcloud.tenancy.platform import Platform


def test_victim_support_files(platform: Platform, tmp_path: Path) -> None:
    generate_town(platform, TOWN_A, residents=500, seed=4, today=TODAY)
    with platform.town(TOWN_A) as town:
        report = export_victim_support(town, make_ctx(TOWN_A), tmp_path)
        current = list(
            town.session.scalars(
                select(PersonVersion).where(
                    PersonVersion.is_current.is_(True), PersonVersion.status == "resident"
                )
            )
        )
    foreign = {p.addressee_number: p for p in current if p.nationality is not None}
    assert foreign, "a generated town has foreign residents"
    # every current resident is in exactly one of the two population files
    assert report.files["data_d0101.csv"] == 500 - len(foreign)
    assert report.files["data_d0301.csv"] == len(foreign)
    expected = {
        "data_d0101.csv": RESIDENT_COLUMNS,
        "data_d0301.csv": FOREIGN_COLUMNS,
        "data_d0603.csv": INCOME_COLUMNS,
        "data_cyonei.csv": DISTRICT_COLUMNS,
    }
    for name, columns in expected.items():
        text = (tmp_path / name).read_bytes().decode("cp932")  # strict: all Shift_JIS
        lines = text.split("\r\n")
        assert lines[-1] == ""
        assert lines[0] == ",".join(columns)
        assert '"' not in text  # no quoting character
        assert all(line.count(",") == len(columns) - 1 for line in lines[:-1]), name
    rows = [
        line.split(",")
        for line in (tmp_path / "data_d0101.csv").read_bytes().decode("cp932").split("\r\n")[1:-1]
    ]
    by_number = {r[1]: r for r in rows}
    assert set(by_number) == {p.addressee_number for p in current} - set(foreign)
    foreign_rows = [
        line.split(",")
        for line in (tmp_path / "data_d0301.csv").read_bytes().decode("cp932").split("\r\n")[1:-1]
    ]
    assert {r[1] for r in foreign_rows} == set(foreign)
    for r in foreign_rows:
        p = foreign[r[1]]
        expiry = p.stay_expires_on.isoformat() if p.stay_expires_on else ""
        assert r[-4:] == [
            p.nationality,
            p.foreign_category,
            p.residence_status or "",
            expiry,
        ]
        assert r[4] == p.name  # Roman letters and JIS kanji need no replacement
    # variant kanji and IVS names are replaced by their representative and reported
    variant = [
        p
        for p in current
        if any(0xE0100 <= ord(c) <= 0xE01EF or c in "髙﨑齋邊邉𠮷" for c in p.name)
    ]
    assert variant
    for p in variant:
        printed = by_number[p.addressee_number][4]
        assert not any(0xE0100 <= ord(c) <= 0xE01EF for c in printed)
    with (tmp_path / "replacements.csv").open(encoding="utf-8") as f:
        replaced = list(csv.reader(f))[1:]
    assert {r[1] for r in replaced if r[0] == "data_d0101.csv"} >= {
        p.addressee_number for p in variant
    }
    districts = (tmp_path / "data_cyonei.csv").read_bytes().decode("cp932").split("\r\n")[1:-1]
    codes = {line.split(",")[0] for line in districts}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert {r[12] for r in rows} <= codes | {""}
