"""選挙人名簿管理's pure rules (elections/domain.py): ages and periods counted as the law
counts them, eligibility edges, 投票区 from the address, the plan of a registration run,
what a register change does to the roll, check-in rules, 閲覧 purposes, the juror lottery."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest
import segno
from hypothesis import given
from hypothesis import strategies as st

from conftest import person_state
from lgcloud.core.errors import RuleViolationError
from lgcloud.core.ids import format_numbered, is_issuable_sequence
from lgcloud.elections import documents, domain
from lgcloud.elections.domain import (
    Candidate,
    CheckinKind,
    Refusal,
    RollAction,
    Rules,
    attains_age_on,
    period_end,
    plan_registration,
    refusal,
    roll_changes,
    strike_off_due,
)
from lgcloud.register.domain import EventKind, PersonState, RegisterChange, Status

RULES = Rules(voting_age=18, residence_months=3, strike_off_months=4)
REF = date(2026, 12, 1)  # 12月の定時登録の基準日


def cand(
    born: date = date(1980, 1, 1),
    since: date = date(2000, 1, 1),
    *,
    japanese: bool = True,
    resident: bool = True,
    district: str = "諏訪山",
    address: str = "大字諏訪山1番地",
) -> Candidate:
    return Candidate("0000000019", born, resident, japanese, since, district, address)


# ----------------------------------------------------------------- counting periods


def test_an_age_is_attained_the_day_before_the_birthday() -> None:
    assert attains_age_on(date(2008, 12, 2), 18) == date(2026, 12, 1)
    # 29 February: the anniversary in a common year is 1 March, attained on 28 February
    assert attains_age_on(date(2008, 2, 29), 18) == date(2026, 2, 28)
    assert attains_age_on(date(2008, 2, 29), 16) == date(2024, 2, 28)  # leap year: 29 Feb - 1


def test_a_period_of_months_excludes_the_first_day_and_ends_the_day_before() -> None:
    assert period_end(date(2026, 9, 1), 3) == date(2026, 12, 1)
    assert period_end(date(2026, 9, 2), 3) == date(2026, 12, 2)
    # start 30 Nov: no 30 February, so the period ends on the month's last day
    assert period_end(date(2026, 11, 29), 3) == date(2027, 2, 28)
    assert period_end(date(2026, 10, 30), 3) == date(2027, 1, 30)
    assert period_end(date(2026, 8, 1), 4) == date(2026, 12, 1)


@given(st.dates(date(1950, 1, 1), date(2090, 12, 31)), st.integers(1, 24))
def test_a_period_ends_within_its_months_and_never_before_the_act(act: date, months: int) -> None:
    end = period_end(act, months)
    assert end >= act
    shorter = period_end(act, months - 1) if months > 1 else act
    assert shorter < end


# ------------------------------------------------------------------------- eligibility


def test_the_day_someone_turns_18() -> None:
    # born 2 December 2008: 18 at the end of 1 December 2026, so on the roll of 1 December
    assert refusal(cand(born=date(2008, 12, 2)), reference=REF, age_by=REF, rules=RULES) is None
    assert (
        refusal(cand(born=date(2008, 12, 3)), reference=REF, age_by=REF, rules=RULES)
        is Refusal.UNDER_AGE
    )
    # 選挙時登録: the age counts by 選挙期日
    assert (
        refusal(cand(born=date(2008, 12, 10)), reference=REF, age_by=date(2026, 12, 9), rules=RULES)
        is None
    )


def test_exactly_three_months_on_the_register() -> None:
    assert refusal(cand(since=date(2026, 9, 1)), reference=REF, age_by=REF, rules=RULES) is None
    assert (
        refusal(cand(since=date(2026, 9, 2)), reference=REF, age_by=REF, rules=RULES)
        is Refusal.TOO_RECENT
    )


def test_foreign_residents_and_non_residents_are_not_registered() -> None:
    assert refusal(cand(japanese=False), reference=REF, age_by=REF, rules=RULES) is Refusal.FOREIGN
    assert (
        refusal(cand(resident=False), reference=REF, age_by=REF, rules=RULES)
        is Refusal.NOT_RESIDENT
    )


def test_moved_out_three_months_29_days_ago_stays_four_months_struck_after() -> None:
    moved = date(2026, 8, 1)
    assert not strike_off_due(moved, date(2026, 11, 30), RULES)  # 3 months 29 days after
    # four months: the period's last day (第28条第2号「4箇月を経過するに至つたとき」) —
    # not yet passed on 1 December, passed from 2 December
    assert not strike_off_due(moved, date(2026, 12, 1), RULES)
    assert strike_off_due(moved, date(2026, 12, 2), RULES)


def test_regular_reference_dates_are_the_first_of_the_registration_months() -> None:
    months = domain.parse_months("3,6,9,12")
    domain.check_regular_reference(date(2026, 12, 1), months)
    for bad in (date(2026, 12, 2), date(2026, 11, 1)):
        with pytest.raises(RuleViolationError) as e:
            domain.check_regular_reference(bad, months)
        assert e.value.field == "reference_date"
    with pytest.raises(RuleViolationError):
        domain.parse_months("3,13")


# ------------------------------------------------------------------------- 投票区


def test_polling_district_from_district_then_longest_address_prefix() -> None:
    table = {"諏訪山": "01", "大字亀塚": "02", "大字亀塚2番地": "03"}
    assert domain.polling_district_for("諏訪山", "大字亀塚2番地", table) == "01"
    assert domain.polling_district_for("", "大字亀塚2番地5", table) == "03"
    assert domain.polling_district_for("", "大字亀塚9番地", table) == "02"
    assert domain.polling_district_for("蓮野", "大字蓮野1番地", table) is None


def test_a_plan_registers_the_qualified_strikes_the_overdue_and_lists_the_unassigned() -> None:
    people = [
        replace(cand(), addressee_number="A"),
        replace(cand(born=date(2010, 1, 1)), addressee_number="B"),
        replace(cand(), addressee_number="C"),  # already on the roll
        replace(cand(district="", address="大字蓮野1番地"), addressee_number="D"),
        replace(cand(since=date(2026, 10, 1)), addressee_number="E"),
    ]
    plan = plan_registration(
        people,
        registered=["C", "M1", "M2"],
        marked={"M1": date(2026, 7, 31), "M2": date(2026, 8, 1)},
        reference=REF,
        age_by=REF,
        rules=RULES,
        table={"諏訪山": "01"},
    )
    assert plan.register == {"A": "01"}
    assert plan.unassigned == ["D"]
    assert plan.strike == {"M1": "転出後4箇月経過（第28条第2号）"}
    assert plan.refused == {Refusal.UNDER_AGE: 1, Refusal.TOO_RECENT: 1}


# ------------------------------------------------------------ following the register


def state(number: str, **kw: object) -> PersonState:
    return person_state(number, name="選挙\u3000太郎", **kw)


def change(kind: EventKind, before: PersonState, after: PersonState) -> RegisterChange:
    n = after.addressee_number
    return RegisterChange(1, kind, date(2026, 11, 20), date(2026, 11, 23), {n: before}, {n: after})


@pytest.mark.parametrize(
    ("kind", "after", "action", "reason"),
    [
        (EventKind.DEATH, {"status": Status.REMOVED}, RollAction.STRIKE, "死亡"),
        (EventKind.DOMESTIC_MOVE_OUT, {"status": Status.REMOVED}, RollAction.MARK, "転出"),
        (EventKind.FOREIGN_MOVE_OUT, {"status": Status.REMOVED}, RollAction.MARK, "国外転出"),
        (EventKind.EX_OFFICIO_REMOVAL, {"status": Status.REMOVED}, RollAction.MARK, "職権消除"),
        (EventKind.MOVE_WITHIN, {"address": "大字亀塚2番地"}, RollAction.MOVE, "転居"),
        (EventKind.CORRECTION, {"nationality": "韓国"}, RollAction.STRIKE, "日本国籍の喪失"),
    ],
)
def test_register_changes_reach_the_roll(
    kind: EventKind, after: dict[str, object], action: RollAction, reason: str
) -> None:
    before = state("0000000019")
    (c,) = roll_changes(change(kind, before, replace(before, **after)), ["0000000019"])  # type: ignore[arg-type]
    assert (c.action, c.reason, c.on) == (action, reason, date(2026, 11, 20))


def test_people_not_on_the_roll_and_unrelated_changes_do_nothing() -> None:
    before = state("0000000019")
    removed = replace(before, status=Status.REMOVED)
    assert roll_changes(change(EventKind.DEATH, before, removed), []) == []
    renamed = replace(before, name="選挙\u3000次郎")
    assert roll_changes(change(EventKind.CORRECTION, before, renamed), ["0000000019"]) == []


# ------------------------------------------------------------------------------ 受付


def test_checkin_kind_by_day() -> None:
    polling, early = date(2027, 4, 11), date(2027, 4, 3)
    assert domain.checkin_kind_on(polling, polling_day=polling, early_from=early) is (
        CheckinKind.ELECTION_DAY
    )
    assert domain.checkin_kind_on(early, polling_day=polling, early_from=early) is CheckinKind.EARLY
    for day in (date(2027, 4, 2), date(2027, 4, 12)):
        with pytest.raises(RuleViolationError):
            domain.checkin_kind_on(day, polling_day=polling, early_from=early)


def test_who_may_vote_where() -> None:
    ok = {"on_roll": True, "struck": False, "marked": False, "national": False, "polling": "01"}
    domain.check_voter(**ok, station_districts=["01"])  # type: ignore[arg-type]
    domain.check_voter(**ok, station_districts=[])  # type: ignore[arg-type]
    domain.check_voter(**{**ok, "marked": True, "national": True}, station_districts=[])  # type: ignore[arg-type]
    for bad, stations in (
        ({"struck": True}, []),
        ({"marked": True}, []),
        ({}, ["02"]),
    ):
        with pytest.raises(RuleViolationError):
            domain.check_voter(**{**ok, **bad}, station_districts=stations)  # type: ignore[arg-type]


@given(st.integers(1, 10**9 - 1))
def test_a_ticket_code_reads_back_and_a_misread_digit_is_caught(seq: int) -> None:
    if not is_issuable_sequence(seq):  # never issued: no check digit exists
        return
    number = format_numbered(seq)
    assert domain.elector_number_from_code(domain.ticket_code(number)) == number
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    with pytest.raises(RuleViolationError):
        domain.elector_number_from_code(domain.ticket_code(wrong))


def test_inspection_only_for_the_purposes_the_law_allows() -> None:
    domain.check_inspection("public_research", "新潟大学 法学部", ["研究 一郎"], "投票行動の研究")
    for args, field in (
        (("marketing", "株式会社", ["営業 太郎"], "ダイレクトメール"), "purpose"),
        (("confirm_person", " ", ["a"], "確認"), "applicant"),
        (("confirm_person", "本人", [], "確認"), "viewers"),
        (("confirm_person", "本人", ["a"], ""), "reason"),
    ):
        with pytest.raises(RuleViolationError) as e:
            domain.check_inspection(*args)  # type: ignore[arg-type]
        assert e.value.field == field


def test_the_juror_lottery_is_reproducible_from_its_seed() -> None:
    roll = [format_numbered(s) for s in range(1, 400) if is_issuable_sequence(s)][:300]
    first = domain.draw_jurors(roll, 12, "seed-2026")
    assert first == domain.draw_jurors(list(reversed(roll)), 12, "seed-2026")
    assert first != domain.draw_jurors(roll, 12, "seed-2027")
    assert len(set(first)) == 12 and set(first) <= set(roll)
    with pytest.raises(RuleViolationError):
        domain.draw_jurors(roll, 301, "s")


@given(st.integers(1, 10**9 - 1))
def test_the_ticket_qr_svg_draws_exactly_the_encoded_modules(seq: int) -> None:
    """The SVG written by documents.qr (run-length rectangles) against segno's own module
    matrix for the same code: every dark module drawn, nothing else."""
    if not is_issuable_sequence(seq):
        return
    code = domain.ticket_code(format_numbered(seq))
    svg = documents.qr(code)
    drawn = set()
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", svg):
        drawn |= {(int(x) - 4 + i, int(y) - 4) for i in range(int(w))}
    matrix = segno.make_qr(
        code, error="m", version=1, mode="alphanumeric", mask=0, boost_error=False
    ).matrix
    dark = {(x, y) for y, row in enumerate(matrix) for x, v in enumerate(row) if v}
    assert drawn == dark
    assert segno.make_qr(code, error="m").designator.startswith("1-")  # fits version 1
