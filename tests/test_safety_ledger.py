"""The safety ledger (安否台帳): lists from several shelters join one ledger per town, one
entry per person with the latest report; 候補 decided by clerks and kept; nothing doubled
or lost (issue 18, item 2)."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import TODAY, TOWN_A, follow_journal, make_ctx
from lgcloud.audit.models import AuditEntry
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.generate import evacuees as synthetic
from lgcloud.generate.town import generate_town
from lgcloud.safety import ledger
from lgcloud.safety.models import SafetyEntry, SafetyList, SafetyReport
from lgcloud.tenancy.platform import Platform

COLUMNS = ["受付番号", "氏名", "ふりがな", "生年月日", "年齢", "性別", "住所", "避難所", "状態"]
MORNING = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
NOON = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
EVENING = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def town(platform: Platform) -> Platform:
    generate_town(platform, TOWN_A, residents=300, seed=21, today=TODAY)
    return platform


def _people(platform: Platform) -> list[synthetic.Person]:
    with platform.read_town(TOWN_A) as t:
        return synthetic.source_people(t)


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(COLUMNS)
        for n, row in enumerate(rows, start=1):
            w.writerow([row.get(c, f"R{n}" if c == "受付番号" else "") for c in COLUMNS])
    return path


def _row(p: synthetic.Person, shelter: str, state: str = "無事") -> dict[str, str]:
    """A row any matcher finds: the registered name and birth date."""
    return {"氏名": p.name, "生年月日": p.birth.isoformat(), "避難所": shelter, "状態": state}


def _entry(platform: Platform, number: str) -> SafetyEntry:
    with platform.read_town(TOWN_A) as t:
        entry = t.session.scalar(select(SafetyEntry).where(SafetyEntry.addressee_number == number))
        assert entry is not None
        t.session.expunge(entry)
        return entry


def _count(platform: Platform, model: type) -> int:
    with platform.read_town(TOWN_A) as t:
        return t.session.scalar(select(func.count()).select_from(model)) or 0


def test_one_person_seen_at_three_shelters_is_one_entry_with_the_latest_place(
    town: Platform, tmp_path: Path
) -> None:
    """Lists imported out of order: the entry shows the latest report by the time each
    list speaks of, and keeps all three."""
    p = _people(town)[0]
    lists = [
        (_write(tmp_path / "a.csv", [_row(p, "第一小学校", "負傷")]), MORNING),
        (_write(tmp_path / "c.csv", [_row(p, "総合病院前テント", "要支援")]), EVENING),
        (_write(tmp_path / "b.csv", [_row(p, "公民館")]), NOON),  # imported last, older
    ]
    for path, when in lists:
        result = ledger.import_list(town, TOWN_A, make_ctx(), path, reported_at=when, as_of=TODAY)
        assert (result.rows, result.matched) == (1, 1)
    entry = _entry(town, p.number)
    assert (entry.status, entry.location_kind, entry.location) == (
        "要支援",
        "避難所",
        "総合病院前テント",
    )
    assert entry.reports == 3
    assert entry.reported_at == EVENING
    assert _count(town, SafetyEntry) == 1
    assert _count(town, SafetyReport) == 3


def test_a_list_is_imported_once_and_every_row_is_kept(town: Platform, tmp_path: Path) -> None:
    people = _people(town)
    rows = [
        _row(people[1], "公民館"),
        _row(people[2], "公民館", "けが"),  # a variant of 負傷
        _row(people[3], "公民館", "熱あり"),  # unknown: 不明 with the word kept
        {"氏名": "旅人\u3000太郎", "生年月日": "1977-07-07", "避難所": "公民館"},  # a visitor
        {"生年月日": "1950-01-01", "避難所": "公民館"},  # no name: kept, no entry
    ]
    path = _write(tmp_path / "kominkan.csv", rows)
    result = ledger.import_list(town, TOWN_A, make_ctx(), path, reported_at=NOON, as_of=TODAY)
    assert (result.matched, result.visitors, result.unreadable, result.pending) == (3, 1, 1, 0)
    assert _entry(town, people[2].number).status == "負傷"
    unknown = _entry(town, people[3].number)
    assert unknown.status == "不明"
    with town.read_town(TOWN_A) as t:
        notes = t.session.scalars(select(SafetyReport.note).where(SafetyReport.note != "")).all()
        assert notes == ["状態「熱あり」"]
        (listed,) = t.session.scalars(select(SafetyList)).all()
        assert (listed.rows, listed.complete, listed.shelter) == (5, True, "公民館")
        entries = t.session.scalars(
            select(AuditEntry).where(AuditEntry.action == ledger.ACTION_IMPORT)
        ).all()
        assert len(entries) == 1
        assert set(entries[0].subjects) == {people[i].number for i in (1, 2, 3)}
    assert _count(town, SafetyReport) == 5
    with pytest.raises(RuleViolationError, match="すでに取り込まれています"):
        ledger.import_list(town, TOWN_A, make_ctx(), path, reported_at=NOON)
    assert _count(town, SafetyReport) == 5


def test_a_visitor_on_two_lists_is_one_entry(town: Platform, tmp_path: Path) -> None:
    visitor = {"氏名": "旅人 太郎", "ふりがな": "たびと たろう", "生年月日": "1977-07-07"}
    a = _write(tmp_path / "a.csv", [visitor | {"避難所": "第一小学校"}])
    b = _write(tmp_path / "b.csv", [visitor | {"氏名": "旅人太郎", "避難所": "公民館"}])
    ledger.import_list(town, TOWN_A, make_ctx(), a, reported_at=MORNING)
    ledger.import_list(town, TOWN_A, make_ctx(), b, reported_at=NOON)
    with town.read_town(TOWN_A) as t:
        (entry,) = t.session.scalars(select(SafetyEntry)).all()
        assert entry.addressee_number is None
        assert (entry.reports, entry.location) == (2, "公民館")


def test_a_stopped_import_is_resumed_without_doubling(
    town: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written in chunks: an import stopped after its first chunk leaves the list
    incomplete; the same file again writes the rest, once."""
    people = _people(town)[:7]
    path = _write(tmp_path / "long.csv", [_row(p, "公民館") for p in people])
    monkeypatch.setattr(ledger, "CHUNK", 3)

    def stop(written: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ledger.import_list(town, TOWN_A, make_ctx(), path, on_progress=stop)
    assert _count(town, SafetyReport) == 3
    with town.read_town(TOWN_A) as t:
        assert t.session.scalar(select(SafetyList.complete)) is False
    again = ledger.import_list(town, TOWN_A, make_ctx(), path)
    assert (again.resumed, again.written, again.rows) == (True, 4, 7)
    assert _count(town, SafetyReport) == 7
    assert _count(town, SafetyEntry) == 7
    with town.read_town(TOWN_A) as t:
        assert t.session.scalar(select(SafetyList.complete)) is True


def _pending(platform: Platform) -> SafetyReport:
    with platform.read_town(TOWN_A) as t:
        report = t.session.scalar(select(SafetyReport).where(SafetyReport.decision == "pending"))
        assert report is not None
        t.session.expunge(report)
        return report


def test_a_candidate_confirmed_by_a_clerk_is_kept_across_restarts(
    town: Platform, tmp_path: Path
) -> None:
    p = _people(town)[4]
    family, _, _ = p.name.partition("\u3000")
    # the family name only and the birth date: 候補, never 一致
    path = _write(tmp_path / "a.csv", [{"氏名": family, "生年月日": p.birth.isoformat()}])
    result = ledger.import_list(town, TOWN_A, make_ctx(), path)
    assert result.pending == 1
    report = _pending(town)
    assert p.number in report.candidates.split(";")
    with town.town(TOWN_A) as t:
        ledger.decide(t, make_ctx(), report.id, p.number)
    with town.town(TOWN_A) as t, pytest.raises(RuleViolationError, match="判断済み"):
        ledger.decide(t, make_ctx(), report.id, None)
    town.dispose()  # the server stops; a new process opens the same databases
    again = Platform(town.data_dir, database_url=town.database_url)
    entry = _entry(again, p.number)
    assert entry.reports == 1
    with again.read_town(TOWN_A) as t:
        decided = t.session.get_one(SafetyReport, report.id)
        assert (decided.decision, decided.entry_id, decided.decided_by) == (
            "confirmed",
            entry.id,
            "試験 職員 (T001)",
        )
        (audit,) = t.session.scalars(
            select(AuditEntry).where(AuditEntry.action == ledger.ACTION_DECIDE)
        ).all()
        assert audit.subjects == [p.number]
    again.dispose()


def test_none_of_the_candidates_makes_a_visitor(town: Platform, tmp_path: Path) -> None:
    p = _people(town)[5]
    family, _, _ = p.name.partition("\u3000")
    path = _write(tmp_path / "a.csv", [{"氏名": family, "生年月日": p.birth.isoformat()}])
    ledger.import_list(town, TOWN_A, make_ctx(), path)
    report = _pending(town)
    with town.town(TOWN_A) as t:
        entry = ledger.decide(t, make_ctx(), report.id, None)
        assert entry.addressee_number is None
    with town.town(TOWN_A) as t, pytest.raises(NotFoundError):
        ledger.decide(t, make_ctx(), 999_999, None)


def test_a_clerks_record_is_shown_when_it_is_the_latest(town: Platform, tmp_path: Path) -> None:
    p = _people(town)[6]
    path = _write(tmp_path / "a.csv", [_row(p, "公民館")])
    ledger.import_list(town, TOWN_A, make_ctx(), path, reported_at=NOON)
    with town.town(TOWN_A) as t:
        ledger.record_status(
            t, make_ctx(), p.number, "負傷", "病院", "県立病院", reported_at=EVENING
        )
    assert (_entry(town, p.number).status, _entry(town, p.number).location) == ("負傷", "県立病院")
    with town.town(TOWN_A) as t:  # an older phone call does not hide the newer record
        ledger.record_status(t, make_ctx(), p.number, "無事", "自宅", reported_at=MORNING)
    assert _entry(town, p.number).status == "負傷"
    assert _entry(town, p.number).reports == 3
    with town.town(TOWN_A) as t, pytest.raises(RuleViolationError) as refused:
        ledger.record_status(t, make_ctx(), p.number, "元気", "自宅")
    assert refused.value.field == "status"


@pytest.mark.sqlite_only
def test_the_ledger_replicates_through_the_journal(town: Platform, tmp_path: Path) -> None:
    import sqlite3  # noqa: PLC0415

    from lgcloud.continuity.digests import database_digests  # noqa: PLC0415

    db = town.data_dir / "towns" / f"{TOWN_A}.sqlite"
    replica = tmp_path / "replica.sqlite"
    src, dst = sqlite3.connect(db), sqlite3.connect(replica)
    src.backup(dst)
    src.close()
    dst.close()
    people = _people(town)
    path = _write(tmp_path / "a.csv", [_row(p, "公民館") for p in people[:5]])
    ledger.import_list(town, TOWN_A, make_ctx(), path, reported_at=NOON, as_of=date(2026, 11, 23))
    follow_journal(town.town_engine(TOWN_A), replica, TOWN_A, tmp_path)
    assert database_digests(replica) == database_digests(db)


def test_the_lists_by_district_read_back_with_an_independent_reader(
    town: Platform, tmp_path: Path
) -> None:
    """Every resident of the reference date with their status (未確認 for nobody's word),
    and the unaccounted-for: CSV read back with the csv module, PDF by its text."""
    from pdf_tools import extract_text  # noqa: PLC0415

    people = _people(town)
    seen, hurt = people[0], people[1]
    path = _write(tmp_path / "a.csv", [_row(seen, "公民館"), _row(hurt, "公民館", "負傷")])
    ledger.import_list(town, TOWN_A, make_ctx(), path, reported_at=NOON)
    with town.town(TOWN_A) as t:
        ledger.record_status(t, make_ctx(), people[2].number, "行方不明", "不明")
    data, listed, replaced = ledger.export_ledger(town, TOWN_A, make_ctx(), as_of=TODAY, fmt="csv")
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    rows = list(csv.DictReader(data.decode("utf-8-sig").splitlines()))
    assert (listed, replaced) == (len(people), 0) and len(rows) == len(people)
    status = {r["宛名番号"]: r["安否"] for r in rows}
    assert status[seen.number] == "無事" and status[hurt.number] == "負傷"
    assert status[people[2].number] == "行方不明"
    assert set(status.values()) == {"無事", "負傷", "行方不明", "未確認"}
    districts = [r["行政区"] for r in rows]
    assert districts == sorted(districts)  # grouped by 行政区
    data, listed, _ = ledger.export_ledger(
        town, TOWN_A, make_ctx(), as_of=TODAY, unaccounted=True, fmt="csv"
    )
    missing = {r["宛名番号"] for r in csv.DictReader(data.decode("utf-8-sig").splitlines())}
    assert missing == {p.number for p in people} - {seen.number, hurt.number}
    assert listed == len(people) - 2
    pdf, listed, _ = ledger.export_ledger(
        town, TOWN_A, make_ctx(), as_of=TODAY, unaccounted=True, fmt="pdf"
    )
    text = extract_text(pdf)
    assert "所在不明者一覧" in text and "行方不明" in text
    for district in {p.district for p in people if p.number in missing}:
        assert (district or "（行政区なし）") in text  # a section per 行政区
    with town.read_town(TOWN_A) as t:
        audits = t.session.scalars(
            select(AuditEntry).where(AuditEntry.action == ledger.ACTION_EXPORT)
        ).all()
        assert len(audits) == 3 and len(audits[0].subjects) == len(people)


def test_a_name_no_font_draws_does_not_stop_the_list(town: Platform, tmp_path: Path) -> None:
    from lgcloud.register.models import PersonVersion  # noqa: PLC0415

    with town.town(TOWN_A) as t:
        v = t.session.scalars(select(PersonVersion).where(PersonVersion.is_current)).first()
        assert v is not None
        v.name = "\U000f0000" + v.name  # a private-use plane character: no font has it
    pdf, _, replaced = ledger.export_ledger(town, TOWN_A, make_ctx(), as_of=TODAY, fmt="pdf")
    assert replaced == 1
    assert pdf.startswith(b"%PDF")


def test_the_commands(town: Platform, tmp_path: Path) -> None:
    """import → pending → decide → status → list, as an operator runs them."""
    from typer.testing import CliRunner  # noqa: PLC0415

    from conftest import cli_env  # noqa: PLC0415
    from lgcloud.safety.cli import app  # noqa: PLC0415

    people = _people(town)
    family = people[8].name.partition("\u3000")[0]
    path = _write(
        tmp_path / "a.csv",
        [_row(people[7], "公民館"), {"氏名": family, "生年月日": people[8].birth.isoformat()}],
    )
    runner = CliRunner(env=cli_env(town))
    base = ["--town", TOWN_A, "--data-dir", str(town.data_dir)]
    r = runner.invoke(app, ["import", *base, str(path), "--reported-at", "2026-11-24T09:30"])
    assert r.exit_code == 0, r.output
    assert "候補（職員の判断待ち）" in r.output
    r = runner.invoke(app, ["import", *base, str(path)])
    assert r.exit_code == 2 and "すでに取り込まれています" in r.output
    r = runner.invoke(app, ["import", *base, str(path), "--reported-at", "昨日"])
    assert r.exit_code == 2 and "YYYY-MM-DDTHH:MM" in r.output
    r = runner.invoke(app, ["pending", *base])
    assert r.exit_code == 0 and people[8].number in r.output
    report = _pending(town)
    r = runner.invoke(app, ["decide", *base, str(report.id)])
    assert r.exit_code == 2  # neither --person nor --visitor
    r = runner.invoke(app, ["decide", *base, str(report.id), "--person", people[8].number])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, ["status", *base, people[9].number, "--status", "負傷", "--where", "病院"]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["status", *base, people[9].number, "--status", "x", "--where", "病院"])
    assert r.exit_code == 2 and "状態は" in r.output
    out = tmp_path / "missing.csv"
    r = runner.invoke(app, ["list", *base, "--out", str(out), "--unaccounted"])
    assert r.exit_code == 0, r.output
    numbers = {row["宛名番号"] for row in csv.DictReader(out.read_text("utf-8-sig").splitlines())}
    assert numbers == {p.number for p in people} - {people[i].number for i in (7, 8, 9)}
    pdf = tmp_path / "all.pdf"
    r = runner.invoke(app, ["list", *base, "--out", str(pdf), "--as-of", "2026-11-23"])
    assert r.exit_code == 0 and pdf.read_bytes().startswith(b"%PDF")
    r = runner.invoke(app, ["list", *base, "--out", str(tmp_path / "x.txt")])
    assert r.exit_code == 2 and "pdf か csv" in r.output
    assert _entry(town, people[7].number).reported_at == datetime(2026, 11, 24, 0, 30, tzinfo=UTC)


# ------------------------------------------------------------ written during a disaster


def test_a_ledger_kept_at_a_node_is_merged_into_the_centre(town: Platform, tmp_path: Path) -> None:
    """A town node serving the town read-only in a disaster keeps the ledger (lists, 候補
    decided there, clerks' records); at hand-back the centre merges it: the same list
    imported at both sites is one list, the latest report wins across sites, a decision
    the centre made otherwise is a 処理待ち item, and receiving it twice changes nothing."""
    import dataclasses  # noqa: PLC0415

    from lgcloud.continuity.handback import receive_handback  # noqa: PLC0415
    from lgcloud.onboarding import onboard_town  # noqa: PLC0415
    from lgcloud.worklist.models import PendingTask  # noqa: PLC0415

    node = Platform(tmp_path / "node")  # a node's copy: SQLite, the same register
    onboard_town(node, TOWN_A, "聖籠町")
    generate_town(node, TOWN_A, residents=300, seed=21, today=TODAY)
    people = _people(town)
    assert [p.number for p in _people(node)] == [p.number for p in people]
    x, y, w, z = people[10], people[11], people[12], people[13]
    at_node = dataclasses.replace(make_ctx(), node="node-153079", mode="down_recovery")

    def family(p: synthetic.Person) -> str:
        return p.name.partition("\u3000")[0]

    list_a = _write(
        tmp_path / "a.csv",
        [
            _row(x, "公民館"),
            {"受付番号": "P1", "氏名": family(y), "生年月日": y.birth.isoformat()},
            {"受付番号": "P2", "氏名": family(w), "生年月日": w.birth.isoformat()},
        ],
    )
    list_b = _write(
        tmp_path / "b.csv",
        [_row(x, "体育館"), {"氏名": "旅人\u3000太郎", "生年月日": "1977-07-07"}],
    )
    # both sites got list A; only the node got list B (at noon)
    ledger.import_list(town, TOWN_A, make_ctx(), list_a, reported_at=MORNING)
    ledger.import_list(node, TOWN_A, at_node, list_a, reported_at=MORNING)
    ledger.import_list(node, TOWN_A, at_node, list_b, reported_at=NOON)
    with node.town(TOWN_A) as t:
        pending = {
            r.receipt: r.id
            for r in t.session.scalars(
                select(SafetyReport).where(SafetyReport.decision == "pending")
            )
        }
        ledger.decide(t, at_node, pending["P1"], y.number)
        ledger.decide(t, at_node, pending["P2"], w.number)
        ledger.record_status(t, at_node, z.number, "負傷", "病院", "県立病院", reported_at=EVENING)
    with town.town(TOWN_A) as t:  # the centre decided P2 otherwise meanwhile
        p2 = t.session.scalar(select(SafetyReport.id).where(SafetyReport.receipt == "P2"))
        assert p2 is not None
        ledger.decide(t, make_ctx(), p2, None)
    with node.read_town(TOWN_A) as t:
        handed = ledger.node_ledger(t, "node-153079")
    assert [len(handed[k]) for k in ("lists", "decisions", "records")] == [2, 2, 1]
    body = {"audit": [], "applications": [], "safety": handed}  # the node's hand-back
    received = receive_handback(town, TOWN_A, "node-153079", body)
    assert received["status"] == "received"
    assert received["safety"] == {
        "lists": 1,
        "lists_known": 1,
        "decisions": 1,
        "decisions_known": 0,
        "records": 1,
        "records_known": 0,
        "conflicts": 1,
    }
    assert (_entry(town, x.number).location, _entry(town, x.number).reports) == ("体育館", 2)
    assert _entry(town, y.number).reports == 1
    assert (_entry(town, z.number).status, _entry(town, z.number).location) == ("負傷", "県立病院")
    with town.read_town(TOWN_A) as t:
        (task,) = t.session.scalars(
            select(PendingTask).where(PendingTask.kind == "safety_conflict")
        ).all()
        assert task.addressee_number == w.number and "P2" in task.summary
    counts = (_count(town, SafetyList), _count(town, SafetyReport), _count(town, SafetyEntry))
    with town.town(TOWN_A) as t:
        again = ledger.receive_node_ledger(t, make_ctx(), "node-153079", handed, TODAY)
    assert again.counts()["lists"] == again.counts()["decisions"] == again.counts()["records"] == 0
    assert (
        _count(town, SafetyList),
        _count(town, SafetyReport),
        _count(town, SafetyEntry),
    ) == counts
    with town.read_town(TOWN_A) as t:
        assert len(t.session.scalars(select(PendingTask)).all()) == 1
    node.dispose()


def test_the_ledger_is_writable_on_a_read_only_copy_and_nothing_else_is(town: Platform) -> None:
    import dataclasses  # noqa: PLC0415

    from lgcloud.trail.journal import check_writable  # noqa: PLC0415

    partner = dataclasses.replace(make_ctx(), node="partner-x", mode="partner")
    for action in (ledger.ACTION_IMPORT, ledger.ACTION_DECIDE, ledger.ACTION_STATUS):
        check_writable(partner, action)
    check_writable(partner, "safety_identity_checked")
    # what the hand-back does not carry is refused there, not lost at the end of serving
    for action in ("record_event", "safety_damage_surveyed", "safety_support_applied"):
        with pytest.raises(RuleViolationError, match="読み取り専用"):
            check_writable(partner, action)


def test_the_same_list_imported_twice_at_once_is_refused_once(
    town: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two clerks import the same file at the same moment: the second is refused with a
    message (not a server error) and nothing of it is written."""
    people = _people(town)
    path = _write(tmp_path / "a.csv", [_row(p, "公民館") for p in people[:3]])
    real = ledger.read_rows

    def meanwhile(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(ledger, "read_rows", real)
        ledger.import_list(town, TOWN_A, make_ctx(), path)  # the other clerk's, first
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ledger, "read_rows", meanwhile)
    with pytest.raises(RuleViolationError, match="同時に取り込まれています"):
        ledger.import_list(town, TOWN_A, make_ctx(), path)
    assert (_count(town, SafetyList), _count(town, SafetyReport)) == (1, 3)
