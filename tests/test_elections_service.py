"""選挙人名簿管理 on a real town database (SQLite, and PostgreSQL in the suite's second pass):
registration runs previewed then fixed, the roll following the register in the register
change's transaction, check-ins (one per voter, also when two stations scan at once),
閲覧, the juror draw, and the reconciliation of a town node's check-ins."""

from __future__ import annotations

import csv
import io
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from pypdf import PdfReader
from sqlalchemy import select

from conftest import FAMILY_WIFE, TODAY, TOWN_A, make_ctx, record_family
from lgcloud.audit.models import AuditEntry
from lgcloud.core.clock import JST
from lgcloud.core.errors import RuleViolationError
from lgcloud.elections import queries, service
from lgcloud.elections.domain import elector_number_from_code
from lgcloud.elections.models import Checkin, Elector, RegistrationRun
from lgcloud.notices.models import NoticeSent
from lgcloud.register.domain import (
    AddressIn,
    EventKind,
    MoveIn,
    MoveWithin,
    NewPerson,
    Removal,
    Sex,
)
from lgcloud.register.service import record_event
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.models import JournalEntry
from lgcloud.worklist.queries import tasks
from pdf_tools import extract_text, render_png

DECEMBER = date(2026, 12, 1)


def move_in(
    platform: Platform,
    people: list[tuple[str, date]],
    *,
    on: date,
    notified: date | None = None,
    address: str = "大字諏訪山5番地",
    district: str = "諏訪山",
) -> list[str]:
    with platform.town(TOWN_A) as town:
        result = record_event(
            town,
            make_ctx(),
            MoveIn(
                kind=EventKind.DOMESTIC_MOVE_IN,
                effective_date=on,
                notified_date=notified,
                persons=[
                    NewPerson(
                        name=name,
                        kana="センキョ\u3000タロウ",
                        birth_date=born,
                        sex=Sex.MALE,
                        relationship="世帯主" if i == 0 else "子",
                    )
                    for i, (name, born) in enumerate(people)
                ],
                address=AddressIn(address=address, district=district),
                previous_address="新潟県新発田市中央町1番1号",
            ),
            today=TODAY,
        )
    return list(result.subjects)


@pytest.fixture
def town(platform: Platform) -> dict[str, Any]:
    """The 聖籠町 of the tests: two 投票区, a family since 2015 (亀塚), a household since 2010
    with twins of 18 on either side of 1 December 2026, and two recent arrivals."""
    ctx = make_ctx()
    with platform.town(TOWN_A) as t:
        service.set_polling_district(t, ctx, "01", "第1投票区", "諏訪山集落センター")
        service.set_polling_district(t, ctx, "02", "第2投票区", "亀塚公民館")
        service.set_polling_area(t, ctx, "諏訪山", "01")
        service.set_polling_area(t, ctx, "大字亀塚", "02")
    family = record_family(platform, TOWN_A, "選挙")
    parent, turns_18, not_yet = move_in(
        platform,
        [
            ("諏訪\u3000父", date(1975, 5, 5)),
            ("諏訪\u3000兄", date(2008, 12, 2)),  # 18 at the end of 1 December 2026
            ("諏訪\u3000弟", date(2008, 12, 3)),
        ],
        on=date(2010, 4, 1),
    )
    (three_months,) = move_in(platform, [("九月\u3000一日", date(1990, 1, 1))], on=date(2026, 9, 1))
    (late_notice,) = move_in(
        platform,
        [("九月\u3000二日", date(1990, 1, 1))],
        on=date(2026, 8, 25),
        notified=date(2026, 9, 2),  # 第21条: counted from the 転入届
    )
    return {
        **family,
        "parent": parent,
        "turns_18": turns_18,
        "not_yet": not_yet,
        "three_months": three_months,
        "late_notice": late_notice,
    }


def roll_numbers(platform: Platform) -> dict[str, Elector]:
    with platform.read_town(TOWN_A) as t:
        return queries.active_electors(t)


def register_december(platform: Platform) -> service.RunSummary:
    run = service.preview_registration(platform, make_ctx(), reference_date=DECEMBER)
    return service.fix_registration(platform, make_ctx(), run.code)


def test_a_regular_run_is_previewed_then_fixed(platform: Platform, town: dict[str, Any]) -> None:
    run = service.preview_registration(platform, make_ctx(), reference_date=DECEMBER)
    assert run.registration_date == date(2026, 12, 2)  # 施行令第3条: 登録月の2日
    assert run.to_register == 5 and run.unassigned == []
    assert run.refused == {"under_age": 2, "too_recent": 1}  # the younger twin, the child
    assert roll_numbers(platform) == {}  # nothing on the roll before it is fixed
    fixed = service.fix_registration(platform, make_ctx(), run.code)
    assert fixed.status == "fixed"
    roll = roll_numbers(platform)
    expected = {"head", "wife", "parent", "turns_18", "three_months"}
    assert set(roll) == {town[k] for k in expected}
    assert roll[town["head"]].polling_code == "02" and roll[town["parent"]].polling_code == "01"
    with platform.read_town(TOWN_A) as t:
        lines = queries.roll(t, "01")
        entry = t.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "electors_registered")
        ).one()
    assert [r.name for r in lines][:1] == ["諏訪\u3000父"]  # names from the register
    assert set(entry.subjects) == {town[k] for k in expected}
    # run again: nobody new (and a fixed run cannot be fixed twice)
    again = service.preview_registration(platform, make_ctx(), reference_date=DECEMBER)
    assert again.to_register == 0
    with pytest.raises(RuleViolationError):
        service.fix_registration(platform, make_ctx(), run.code)
    with pytest.raises(RuleViolationError) as e:
        service.preview_registration(platform, make_ctx(), reference_date=date(2026, 11, 1))
    assert e.value.field == "reference_date"


def test_a_stale_or_incomplete_preview_is_not_fixed(
    platform: Platform, town: dict[str, Any]
) -> None:
    run = service.preview_registration(platform, make_ctx(), reference_date=DECEMBER)
    move_in(platform, [("後着\u3000太郎", date(1970, 1, 1))], on=date(2026, 11, 20))
    with pytest.raises(RuleViolationError, match="もう一度プレビュー"):
        service.fix_registration(platform, make_ctx(), run.code)
    move_in(
        platform,
        [("蓮野\u3000太郎", date(1970, 1, 1))],
        on=date(2026, 1, 5),
        address="大字蓮野3番地",
        district="蓮野",
    )
    run = service.preview_registration(platform, make_ctx(), reference_date=DECEMBER)
    assert len(run.unassigned) == 1
    with pytest.raises(RuleViolationError, match="投票区の決まらない方が1人"):
        service.fix_registration(platform, make_ctx(), run.code)
    assert roll_numbers(platform) == {}
    with platform.town(TOWN_A) as t:
        service.set_polling_area(t, make_ctx(), "大字蓮野", "01")
    run = service.preview_registration(platform, make_ctx(), reference_date=DECEMBER)
    assert service.fix_registration(platform, make_ctx(), run.code).to_register == 6


def record(platform: Platform, event: Any) -> None:
    with platform.town(TOWN_A) as t:
        record_event(t, make_ctx(), event, today=TODAY)


def test_the_roll_follows_the_register_in_the_same_transaction(
    platform: Platform, town: dict[str, Any]
) -> None:
    register_december(platform)
    with platform.read_town(TOWN_A) as t:
        before = max(t.session.scalars(select(JournalEntry.seq)))
    record(
        platform,
        Removal(
            kind=EventKind.DEATH,
            effective_date=date(2026, 11, 20),
            members=[town["head"]],
            relationships={town["wife"]: "世帯主"},
        ),
    )
    with platform.read_town(TOWN_A) as t:
        (journal,) = t.session.scalars(select(JournalEntry).where(JournalEntry.seq > before))
        head = t.session.scalars(
            select(Elector).where(Elector.addressee_number == town["head"])
        ).one()
    assert {"person_versions", "electors"} <= {c["table"] for c in journal.changes}
    assert (head.struck_on, head.strike_reason) == (date(2026, 11, 20), "死亡")
    # 転出: marked; struck off by the first run four months after
    record(
        platform,
        Removal(
            kind=EventKind.DOMESTIC_MOVE_OUT,
            effective_date=date(2026, 11, 21),
            members=[town["parent"]],
            destination_address="東京都港区芝公園1番地",
            relationships={town["turns_18"]: "世帯主"},
        ),
    )
    marked = roll_numbers(platform)[town["parent"]]
    assert (marked.marked_on, marked.mark_reason) == (date(2026, 11, 21), "転出")
    march = service.preview_registration(platform, make_ctx(), reference_date=date(2027, 3, 1))
    assert march.to_strike == 0  # 3 months 8 days
    june = service.preview_registration(platform, make_ctx(), reference_date=date(2027, 6, 1))
    assert june.to_strike == 1
    service.fix_registration(platform, make_ctx(), june.code)
    assert town["parent"] not in roll_numbers(platform)
    # 転居: the 投票区 of the new address, or a 処理待ち item when the table lacks it
    record(
        platform,
        MoveWithin(
            effective_date=date(2026, 11, 22),
            members=[town["turns_18"], town["not_yet"]],
            address=AddressIn(address="大字亀塚8番地", district="亀塚"),
        ),
    )
    assert roll_numbers(platform)[town["turns_18"]].polling_code == "02"
    record(
        platform,
        MoveWithin(
            effective_date=date(2026, 11, 23),
            members=[town["turns_18"], town["not_yet"]],
            address=AddressIn(address="大字蓮野1番地", district="蓮野"),
        ),
    )
    assert roll_numbers(platform)[town["turns_18"]].polling_code == "02"  # kept, not guessed
    with platform.read_town(TOWN_A) as t:
        found = [x for x in tasks(t, "elections", today=TODAY) if x.kind == "polling_unassigned"]
    # both brothers: the younger one came on the roll in June
    assert {x.addressee_number for x in found} == {town["turns_18"], town["not_yet"]}


# ------------------------------------------------------------------------------ 受付


def election(platform: Platform, *, national: bool = False) -> str:
    ctx = make_ctx()
    with platform.town(TOWN_A) as t:
        service.create_election(
            t,
            ctx,
            code="2027-town",
            name="聖籠町長選挙",
            national=national,
            polling_day=date(2027, 4, 11),
            reference_date=date(2027, 4, 5),
            registration_date=date(2027, 4, 6),
            early_from=date(2027, 4, 6),
        )
        service.add_station(t, ctx, "2027-town", code="S1", name="第1投票所", polling_codes=["01"])
        service.add_station(t, ctx, "2027-town", code="S2", name="第2投票所", polling_codes=["02"])
        service.add_station(t, ctx, "2027-town", code="E", name="期日前投票所", polling_codes=[])
    return "2027-town"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=JST)


POLLING = date(2027, 4, 11)


def test_one_check_in_per_voter_refused_with_where_and_when(
    platform: Platform, town: dict[str, Any]
) -> None:
    register_december(platform)
    code = election(platform)
    number = roll_numbers(platform)[town["parent"]].elector_number
    first = service.check_in(
        platform,
        make_ctx(),
        election_code=code,
        station_code="E",
        elector_number=number,
        now=at(date(2027, 4, 8), 9, 30),
    )
    assert (first.kind, first.name) == ("early", "諏訪\u3000父")
    with pytest.raises(RuleViolationError) as e:
        service.check_in(
            platform,
            make_ctx(),
            election_code=code,
            station_code="S1",
            addressee_number=town["parent"],
            now=at(POLLING, 8),
        )
    assert "2027-04-08 09:30 期日前投票所（期日前投票）" in str(e.value)
    # election day: only at the station of one's 投票区
    with pytest.raises(RuleViolationError, match="投票区ではありません"):
        service.check_in(
            platform,
            make_ctx(),
            election_code=code,
            station_code="S1",
            addressee_number=town["wife"],
            now=at(POLLING, 8),
        )
    service.check_in(
        platform,
        make_ctx(),
        election_code=code,
        station_code="S2",
        addressee_number=town["wife"],
        now=at(POLLING, 8, 5),
    )
    with platform.read_town(TOWN_A) as t:
        e = queries.election(t, code)
        turnout = {x.polling_code: x for x in queries.turnout(t, e)}
    assert (turnout["01"].voted, turnout["01"].by_hour) == (1, {-1: 1})
    assert (turnout["02"].voted, turnout["02"].by_hour, turnout["02"].electors) == (1, {8: 1}, 2)


def test_two_stations_scanning_the_same_voters_at_once_exactly_one_wins(
    platform: Platform, town: dict[str, Any]
) -> None:
    """Two stations served by two server processes (two platforms on the same databases:
    no lock of one process orders them) scan each voter at the same moment."""
    register_december(platform)
    code = election(platform, national=True)
    voters = roll_numbers(platform)
    other = Platform(
        platform.data_dir,
        database_url=platform.database_url,
        town_template=platform.town_template,
    )
    outcomes: list[tuple[str, str]] = []
    lock = threading.Lock()

    def scan(server: Platform, elector: Elector, barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            service.check_in(
                server,
                make_ctx(),
                election_code=code,
                station_code="E",
                elector_number=elector.elector_number,
                now=at(date(2027, 4, 7), 10),
            )
            result = "accepted"
        except RuleViolationError as e:
            result = "refused" if "すでに受付済み" in str(e) else str(e)
        with lock:
            outcomes.append((elector.addressee_number, result))

    try:
        for elector in voters.values():
            barrier = threading.Barrier(2)
            threads = [
                threading.Thread(target=scan, args=(server, elector, barrier))
                for server in (platform, other)
            ]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
    finally:
        other.dispose()
    assert sorted(outcomes) == sorted(
        (n, r) for n in voters for r in ("accepted", "refused")
    )  # exactly one per voter, the other refused with where and when
    with platform.read_town(TOWN_A) as t:
        assert len(t.session.scalars(select(Checkin)).all()) == len(voters)


def test_when_the_read_check_misses_the_unique_key_refuses(
    platform: Platform, town: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the test above may or may not hit, forced: the second check-in's read sees
    no first one (as when both read before either commits); its insert is refused by the
    database and the clerk gets the same refusal, with where and when."""
    register_december(platform)
    code = election(platform)
    real = queries.checkin_of
    calls = [0]

    def blind(*args: Any) -> Checkin | None:
        calls[0] += 1
        return None if calls[0] <= 2 else real(*args)

    monkeypatch.setattr(queries, "checkin_of", blind)
    scan = {
        "election_code": code,
        "station_code": "S2",
        "addressee_number": town["wife"],
        "now": at(POLLING, 10),
    }
    service.check_in(platform, make_ctx(), **scan)  # type: ignore[arg-type]
    with pytest.raises(RuleViolationError, match="10:00 第2投票所（当日投票）"):
        service.check_in(platform, make_ctx(), **scan)  # type: ignore[arg-type]
    assert calls[0] == 3


def test_a_node_in_down_recovery_checks_in_and_the_centre_reconciles(
    platform: Platform, town: dict[str, Any]
) -> None:
    register_december(platform)
    code = election(platform)
    roll = roll_numbers(platform)
    node_ctx = make_ctx()
    node_ctx = type(node_ctx)(
        node_ctx.town_code, node_ctx.actor, node="node-seirou", mode="down_recovery"
    )
    # a read-only copy still checks voters in (and still refuses a life event)
    service.check_in(
        platform,
        node_ctx,
        election_code=code,
        station_code="S2",
        addressee_number=town["wife"],
        now=at(POLLING, 9),
    )
    service.check_in(
        platform,
        node_ctx,
        election_code=code,
        station_code="S1",
        addressee_number=town["parent"],
        now=at(POLLING, 9, 1),
    )
    with platform.town(TOWN_A) as t:
        from_node = service.node_checkins(t, "node-seirou")
        t.session.query(Checkin).delete()  # the centre never saw them
    assert [c["addressee_number"] for c in from_node] == [town["wife"], town["parent"]]
    # meanwhile at the centre the parent was checked in at another station
    service.check_in(
        platform,
        make_ctx(),
        election_code=code,
        station_code="S1",
        elector_number=roll[town["parent"]].elector_number,
        now=at(POLLING, 9, 30),
    )
    with platform.town(TOWN_A) as t:
        got = service.receive_node_checkins(t, make_ctx(), "node-seirou", from_node, TODAY)
    assert got == {"received": 1, "skipped": 0, "conflicts": 1}
    with platform.town(TOWN_A) as t:
        again = service.receive_node_checkins(t, make_ctx(), "node-seirou", from_node, TODAY)
    assert again == {"received": 0, "skipped": 1, "conflicts": 1}
    with platform.read_town(TOWN_A) as t:
        conflicts = [x for x in tasks(t, "elections", today=TODAY) if x.kind == "double_checkin"]
        wife = queries.checkin_of(t, queries.election(t, code).id, town["wife"])
    assert {x.addressee_number for x in conflicts} == {town["parent"]}
    assert wife is not None and wife.node == "node-seirou"


# ----------------------------------------------------------------------- 閲覧, 裁判員


def test_an_inspection_is_audited_with_its_purpose_viewers_and_the_people_shown(
    platform: Platform, town: dict[str, Any]
) -> None:
    register_december(platform)
    with platform.town(TOWN_A) as t:
        service.record_inspection(
            t,
            make_ctx(),
            applied_on=TODAY,
            purpose="public_research",
            applicant="新潟大学 法学部",
            viewers=["研究\u3000一郎", "研究\u3000二郎"],
            reason="地方選挙の投票行動の研究",
            polling_code="02",
        )
        with pytest.raises(RuleViolationError):
            service.record_inspection(
                t,
                make_ctx(),
                applied_on=TODAY,
                purpose="marketing",
                applicant="株式会社",
                viewers=["営業"],
                reason="DM",
                polling_code="02",
            )
    with platform.read_town(TOWN_A) as t:
        entry = t.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "view_roll_inspection")
        ).one()
    assert set(entry.subjects) == {town["head"], town["wife"]}
    assert entry.detail["viewers"] == ["研究\u3000一郎", "研究\u3000二郎"]


def test_the_juror_draw_is_recorded_and_redrawn_from_its_seed(
    platform: Platform, town: dict[str, Any]
) -> None:
    register_december(platform)
    with platform.town(TOWN_A) as t:
        drawn = service.draw_jurors(t, make_ctx(), year=2027, count=3)
        seed, result = drawn.seed, list(drawn.drawn)
    with platform.town(TOWN_A) as t:
        redrawn = service.draw_jurors(t, make_ctx(), year=2027, count=3, seed=seed)
    assert redrawn.drawn == result and len(set(result)) == 3
    with platform.read_town(TOWN_A) as t:
        entry = t.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "jurors_drawn")
        ).first()
    assert entry is not None and entry.detail["seed"] == seed


# ------------------------------------------------------------------ printed documents


def test_the_roll_of_a_polling_district_as_csv_and_pdf(
    platform: Platform, town: dict[str, Any]
) -> None:
    register_december(platform)
    body = service.export_roll(platform, make_ctx(), polling_code="02", fmt="csv", as_of=DECEMBER)
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert [(r["宛名番号"], r["投票区"], r["生年月日"]) for r in rows] == [
        (town["head"], "02", "1980-01-02"),
        (town["wife"], "02", "1982-03-04"),
    ]
    assert rows[1]["氏名"] == FAMILY_WIFE  # the IVS kept
    extract = service.export_roll(
        platform, make_ctx(), polling_code="02", fmt="csv", extract=True, as_of=DECEMBER
    )
    assert extract.decode("utf-8-sig").splitlines()[0] == "氏名,住所,生年月日,性別"
    pdf = service.export_roll(platform, make_ctx(), polling_code="02", fmt="pdf", as_of=DECEMBER)
    text = extract_text(pdf).replace(" ", "").replace("\n", "")
    assert "選挙人名簿" in text and "選挙\u3000太郎".replace("\u3000", "") in text.replace(
        "\u3000", ""
    )
    assert "第2投票区" in text and "登録者数2人" in text
    with platform.read_town(TOWN_A) as t:
        exports = t.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "export_electoral_roll")
        ).all()
    assert len(exports) == 3 and set(exports[0].subjects) == {town["head"], town["wife"]}
    with pytest.raises(RuleViolationError):
        service.export_roll(platform, make_ctx(), polling_code="02", fmt="xls", as_of=DECEMBER)


def test_tickets_are_bulk_notices_whose_codes_a_reader_scans_into_a_check_in(
    platform: Platform, town: dict[str, Any], tmp_path: Path
) -> None:
    register_december(platform)
    code = election(platform)
    result = service.issue_tickets(
        platform,
        make_ctx(),
        election_code=code,
        per_household=True,
        out_dir=tmp_path,
        today=TODAY,
        per_file=2,
    )
    # households: the family (head + wife), the 諏訪 household (parent + elder twin), and
    # the arrival of 1 September: three cards
    assert result.printed == 3 and result.set_aside == {}
    pages = [(path, i) for path in result.files for i in range(len(PdfReader(path).pages))]
    assert len(pages) == 3
    with platform.read_town(TOWN_A) as t:
        sent = t.session.scalars(select(NoticeSent)).all()
    assert {s.addressee_number for s in sent} == {
        town["head"],
        town["parent"],
        town["three_months"],
    }
    scanned = []
    for path, i in pages:
        image = render_png(path.read_bytes(), page=i, dpi=200)
        scanned += [b.text for b in zxingcpp.read_barcodes(image)]
    roll = roll_numbers(platform)
    assert sorted(scanned) == sorted(f"E{e.elector_number}" for e in roll.values())
    voter = service.check_in(
        platform,
        make_ctx(),
        election_code=code,
        station_code="E",
        elector_number=elector_number_from_code(scanned[0]),
        now=at(date(2027, 4, 9), 11),
    )
    assert f"E{voter.elector_number}" == scanned[0]


def test_a_run_is_fixed_in_chunks_resumed_after_a_crash_and_rechecked_person_by_person(
    platform: Platform, town: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five people to register, two per transaction. The write of the second chunk fails
    (the process dies): the first two are on the roll, the run stays ``fixing``. Then the
    father of the 諏訪 household dies. Fixing again resumes: the two already there are
    skipped, the father — no longer a resident — is left out and listed, the others are
    registered; one audit entry per chunk, each naming its people."""
    run = service.preview_registration(platform, make_ctx(), reference_date=DECEMBER)
    assert run.to_register == 5
    real = service._next_elector_numbers
    calls = [0]

    def dies_on_the_second_chunk(t: Any, count: int) -> list[str]:
        calls[0] += 1
        if calls[0] == 2:
            raise RuntimeError("killed")
        return real(t, count)

    monkeypatch.setattr(service, "_next_elector_numbers", dies_on_the_second_chunk)
    with pytest.raises(RuntimeError):
        service.fix_registration(platform, make_ctx(), run.code, chunk=2)
    first_two = set(roll_numbers(platform))
    assert len(first_two) == 2
    with platform.read_town(TOWN_A) as t:
        assert (
            t.session.scalars(
                select(RegistrationRun.status).where(RegistrationRun.code == run.code)
            ).one()
            == "fixing"
        )
    monkeypatch.setattr(service, "_next_elector_numbers", real)
    assert town["parent"] not in first_two  # sorted by 宛名番号: his chunk was not written
    record(
        platform,
        Removal(
            kind=EventKind.DEATH,
            effective_date=date(2026, 11, 22),
            members=[town["parent"]],
            relationships={town["turns_18"]: "世帯主"},
        ),
    )
    fixed = service.fix_registration(platform, make_ctx(), run.code, chunk=2)
    assert fixed.status == "fixed"
    roll = roll_numbers(platform)
    assert first_two < set(roll) and town["parent"] not in roll and len(roll) == 4
    with platform.read_town(TOWN_A) as t:
        done = t.session.scalars(select(RegistrationRun).where(RegistrationRun.code == run.code))
        assert done.one().plan["left_out"] == [town["parent"]]
        chunks = t.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "electors_registered")
        ).all()
    assert [len(e.subjects) for e in chunks] == [2, 1, 1]  # then: skipped 2; head left out
