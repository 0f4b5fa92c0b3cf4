"""安否確認 service: reading evacuees.csv, accuracy on a generated town, refusals, audit, CLI."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import TODAY, TOWN_A, cli_env, make_ctx
from lgcloud.audit.models import AuditEntry
from lgcloud.core.context import Actor, RequestContext
from lgcloud.core.errors import RuleViolationError
from lgcloud.generate import evacuees as synthetic
from lgcloud.generate.town import generate_town
from lgcloud.interchange.residents import ImportRefusedError
from lgcloud.safety.cli import app as safety_app
from lgcloud.safety.matching import OUTPUT_COLUMNS, Match, Verdict
from lgcloud.safety.service import ACTION, match_evacuees
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.journal import check_writable, finish_write

HEADER = "受付番号,氏名,ふりがな,生年月日,年齢,性別,住所,避難所,状態\r\n"


@pytest.fixture
def town_platform(platform: Platform) -> Platform:
    generate_town(platform, TOWN_A, residents=1200, seed=11, today=TODAY)
    return platform


def read_matches(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert b"\r\n" in raw
    return list(csv.reader(raw.decode("utf-8").splitlines()))


def test_accuracy_on_a_noisy_shelter_list(town_platform: Platform, tmp_path: Path) -> None:
    """Residents and former residents (moved out, died) with every noise class of the
    generator, and visitors: no wrong 一致, nobody of the register missed, and a match
    with someone who is gone says so."""
    with town_platform.town(TOWN_A) as t:
        people = synthetic.source_people(t, former=True)
    rows = synthetic.noisy_evacuees(people, rows=500, today=TODAY, seed=7, former_share=0.05)
    src, out = tmp_path / "evacuees.csv", tmp_path / "matches.csv"
    synthetic.write_evacuees(rows, src)
    with town_platform.town(TOWN_A) as t:
        report = match_evacuees(t, make_ctx(), src, out, today=TODAY)
    table = read_matches(out)
    assert tuple(table[0]) == OUTPUT_COLUMNS
    results = [
        Match(r[0], Verdict(r[1]), r[2], int(r[3]), tuple(c for c in r[4].split(";") if c))
        for r in table[1:]
    ]
    for m in results:
        assert 0 <= m.score <= 100
        assert (m.number != "") == (m.verdict is Verdict.MATCH)
        assert len(m.candidates) <= 5
    acc = synthetic.accuracy(rows, results)
    print(acc, f"recall={acc.recall:.3f} exact={acc.exact_recall:.3f}")
    assert acc.wrong_match == 0  # precision of 一致 is 1.0
    assert acc.visitor_match == 0
    assert acc.recall >= 0.95
    assert acc.exact_recall >= 0.8  # most people need no one to decide
    assert acc.match_by_kind["former"] >= acc.rows_by_kind["former"] // 2
    gone = {p.number for p in people if p.former}
    said = {number for _, number, _ in report.standings}
    truth = {r.values["受付番号"]: r.truth for r in rows}
    assert said == {m.number for m in results if m.number in gone}
    assert all(truth[receipt] == number for receipt, number, _ in report.standings)
    assert all(("済" in why or "死亡" in why) for _, _, why in report.standings)
    assert report.rows == 500
    assert sum(report.counts.values()) == 500
    assert [r for r in report.notes if "氏名" in r[1]]  # the blank rows are reported


def test_audit_names_every_proposed_person(town_platform: Platform, tmp_path: Path) -> None:
    with town_platform.town(TOWN_A) as t:
        people = synthetic.source_people(t)
    rows = synthetic.noisy_evacuees(people, rows=60, today=TODAY, seed=3)
    src, out = tmp_path / "evacuees.csv", tmp_path / "matches.csv"
    synthetic.write_evacuees(rows, src)
    with town_platform.town(TOWN_A) as t:
        report = match_evacuees(t, make_ctx(), src, out, today=TODAY)
    proposed = {
        n for r in read_matches(out)[1:] if r[1] != "不一致" for n in (r[2], *r[4].split(";")) if n
    }
    with town_platform.town(TOWN_A) as t:
        entries = t.session.scalars(select(AuditEntry).where(AuditEntry.action == ACTION)).all()
    assert len(entries) == 1
    entry = entries[0]
    assert set(entry.subjects) == proposed == set(report.subjects)
    assert entry.detail["file"] == "evacuees.csv"
    assert entry.detail["rows"] == 60
    assert entry.detail["一致"] == report.counts["一致"]
    assert len(entry.detail["sha256"]) == 64


def test_allowed_on_a_read_only_copy(town_platform: Platform, tmp_path: Path) -> None:
    src, out = tmp_path / "evacuees.csv", tmp_path / "matches.csv"
    src.write_text(HEADER + "1,さとう,,,,,,,\r\n", encoding="utf-8")
    ctx = RequestContext(TOWN_A, Actor(1, "試験 職員", "T001"), mode="down_recovery")
    with town_platform.town(TOWN_A) as t:
        report = match_evacuees(t, ctx, src, out, today=TODAY)
    assert report.rows == 1
    # the action is allowed because it is an export; anything else would be refused
    assert ACTION.startswith("export_")
    with pytest.raises(RuleViolationError):
        check_writable(ctx, "match_evacuees")


def test_cp932_and_header_only(platform: Platform, tmp_path: Path) -> None:
    out = tmp_path / "matches.csv"
    src = tmp_path / "evacuees.csv"
    src.write_bytes(("状態,受付番号,氏名\r\n無事,1,山田太郎\r\n").encode("cp932"))
    with platform.town(TOWN_A) as t:
        report = match_evacuees(t, make_ctx(), src, out, today=TODAY)
    assert read_matches(out) == [list(OUTPUT_COLUMNS), ["1", "不一致", "", "0", ""]]
    assert report.counts == {"一致": 0, "候補": 0, "不一致": 1}
    src.write_text("受付番号,氏名\n", encoding="utf-8")
    with platform.town(TOWN_A) as t:
        report = match_evacuees(t, make_ctx(), src, out, today=TODAY)
    assert report.rows == 0
    assert read_matches(out) == [list(OUTPUT_COLUMNS)]


@pytest.mark.parametrize(
    ("content", "row", "column", "words"),
    [
        (b"", 1, "", "空のファイル"),
        ("受付番号,氏名,電話\r\n".encode(), 1, "電話", "知らない列"),
        ("受付番号,氏名,氏名\r\n".encode(), 1, "氏名", "重複"),
        ("氏名,ふりがな\r\n山田,やまだ\r\n".encode(), 1, "受付番号", "受付番号の列"),
        (
            (HEADER + "1,山田,,,,,,,\r\n2,田中,,,,,,,\r\n1,佐藤,,,,,,,\r\n").encode(),
            4,
            "受付番号",
            "重複",
        ),
        ((HEADER + "1,山田,,,,,,,\r\n,田中,,,,,,,\r\n").encode(), 3, "受付番号", "空"),
        ((HEADER + "1,山田,,,,,,,,extra\r\n").encode(), 2, "", "列の数"),
        (
            HEADER.encode() + "1,山田\r\n".encode() + "2,田中\r\n".encode("cp932"),
            3,
            "",
            "文字コードが混在",
        ),
        (HEADER.encode() + b"1,\x00\x01\r\n", 2, "", "NUL"),
        ((HEADER + '1,"山田\r\n').encode(), 2, "氏名", "引用符が閉じていません"),
        (  # a quote left open mid-file runs to the end: the hint names where it opened
            (HEADER + '1,"山田,,,,,,,\r\n2,田中,,,,,,,\r\n3,佐藤,,,,,,,\r\n').encode(),
            2,
            "氏名",
            "2 行目で始まる引用符",
        ),
    ],
)
def test_bad_files_are_refused_naming_file_row_column(
    platform: Platform, tmp_path: Path, content: bytes, row: int, column: str, words: str
) -> None:
    folder = tmp_path / "shelter"
    folder.mkdir()
    src, out = folder / "shelter1.csv", folder / "matches.csv"
    src.write_bytes(content)
    with platform.town(TOWN_A) as t, pytest.raises(ImportRefusedError) as caught:
        match_evacuees(t, make_ctx(), src, out, today=TODAY)
    e = caught.value
    assert "shelter1.csv" in e.message
    assert f"{row} 行目" in e.message
    assert words in e.message
    assert [(r.row, r.column) for r in e.rejections] == [(row, column)]
    assert not out.exists()
    assert list(folder.iterdir()) == [src]  # no temporary file left behind
    with platform.town(TOWN_A) as t:
        assert not t.session.scalars(select(AuditEntry).where(AuditEntry.action == ACTION)).all()


def test_cli_match_prints_counts(town_platform: Platform, tmp_path: Path) -> None:
    with town_platform.town(TOWN_A) as t:
        people = synthetic.source_people(t, former=True)
    rows = synthetic.noisy_evacuees(people, rows=60, today=TODAY, seed=5, former_share=0.2)
    src, out = tmp_path / "evacuees.csv", tmp_path / "matches.csv"
    synthetic.write_evacuees(rows, src)
    data_dir = str(town_platform.data_dir)
    args = ["match", "--town", TOWN_A, str(src), "--out", str(out), "--data-dir", data_dir]
    result = CliRunner(env=cli_env(town_platform)).invoke(
        safety_app, [*args, "--as-of", "2026-11-23"]
    )
    assert result.exit_code == 0, result.output
    assert "一致" in result.output
    assert "候補" in result.output
    assert "住民でない人との一致" in result.output  # the former residents, with where they went
    assert len(read_matches(out)) == 61
    result = CliRunner(env=cli_env(town_platform)).invoke(safety_app, [*args, "--as-of", "11/23"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("番号\n", encoding="utf-8")
    result = CliRunner(env=cli_env(town_platform)).invoke(
        safety_app,
        [
            "match",
            "--town",
            TOWN_A,
            str(bad),
            "--out",
            str(tmp_path / "m2.csv"),
            "--data-dir",
            data_dir,
        ],
    )
    assert result.exit_code == 2
    assert not (tmp_path / "m2.csv").exists()


def test_matching_holds_no_write_lock(town_platform: Platform, tmp_path: Path) -> None:
    """match_file runs in a read-only transaction: it completes while another clerk's write
    transaction holds the town's write lock (so a long list never makes searches wait),
    and match_evacuees_in writes matches.csv only with its audit entry."""
    from lgcloud.safety.service import match_evacuees_in, match_file  # noqa: PLC0415

    with town_platform.town(TOWN_A) as t:
        people = synthetic.source_people(t)
    src, out = tmp_path / "e.csv", tmp_path / "matches.csv"
    synthetic.write_evacuees(synthetic.noisy_evacuees(people, rows=50, today=TODAY, seed=9), src)
    with town_platform.town(TOWN_A) as writer:
        finish_write(writer.session, make_ctx(), "view_person", subjects=[people[0].number])
        writer.session.flush()  # this transaction now holds the write lock
        with town_platform.read_town(TOWN_A) as reader:
            report = match_file(reader, src, out, today=TODAY)
    assert report.rows == 50 and out.exists()
    before = _entries(town_platform)
    again = tmp_path / "again.csv"
    match_evacuees_in(town_platform, TOWN_A, make_ctx(), src, again, today=TODAY)
    assert again.read_bytes() == out.read_bytes()
    assert _entries(town_platform) == before + 1


def _entries(p: Platform) -> int:
    with p.town(TOWN_A) as t:
        return len(t.session.scalars(select(AuditEntry).where(AuditEntry.action == ACTION)).all())


def test_the_name_prefilter_changes_no_decision(
    town_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """People born near a row's date are filtered by name in C before scoring: every
    verdict, match and candidate list is the one scoring all of them gives."""
    from lgcloud.safety import matching  # noqa: PLC0415
    from lgcloud.safety.matching import ResidentIndex, read_evacuee  # noqa: PLC0415
    from lgcloud.safety.service import load_residents  # noqa: PLC0415

    with town_platform.read_town(TOWN_A) as t:
        people = synthetic.source_people(t, former=True)
        index = ResidentIndex.build(load_residents(t), TODAY)
    rows = synthetic.noisy_evacuees(people, rows=600, today=TODAY, seed=9)
    evacuees = [read_evacuee(r.values["受付番号"], n, r.values) for n, r in enumerate(rows, 2)]
    monkeypatch.setattr(matching, "_PREFILTER_ABOVE", 0)  # filter every row
    filtered = [index.match(e) for e in evacuees]
    monkeypatch.setattr(matching, "_PREFILTER_ABOVE", 10**9)  # filter none
    scored_all = [index.match(e) for e in evacuees]
    assert [(m.verdict, m.number, m.candidates) for m in filtered] == [
        (m.verdict, m.number, m.candidates) for m in scored_all
    ]
    assert sum(m.verdict is Verdict.MATCH for m in filtered) > 300
