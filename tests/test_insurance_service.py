"""国民健康保険 on a real town database: enrolment (記号・番号・枝番), status on a date, loss of
qualification, refusals that change nothing, and the 一部負担金 percentage by age."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from conftest import TODAY, TOWN_A, TOWN_B, as_json, make_ctx
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.insurance.domain import copay_percent
from lgcloud.insurance.parameters import shipped_copay_rules
from lgcloud.insurance.service import (
    end_qualification,
    enroll_household,
    nhi_status,
)
from lgcloud.register.domain import HEAD, AddressIn, EventKind, MoveIn, NewPerson, Removal, Sex
from lgcloud.register.service import record_event
from lgcloud.tenancy.platform import Platform

TABLES = ("nhi_households", "nhi_members", "audit_entries", "audit_subjects", "journal")
QUALIFIED = date(2024, 4, 1)


def move_in(platform: Platform, address: str, *people: NewPerson) -> tuple[str, list[str]]:
    with platform.town(TOWN_A) as town:
        r = record_event(
            town,
            make_ctx(),
            MoveIn(
                kind=EventKind.DOMESTIC_MOVE_IN,
                effective_date=date(2022, 4, 1),
                previous_address="東京都千代田区千代田1番1号",
                address=AddressIn(address=address, postal_code="9570100"),
                persons=list(people),
            ),
            today=TODAY,
        )
    return r.new_households[0], list(r.subjects)


@pytest.fixture
def family(platform: Platform) -> tuple[str, list[str]]:
    """(household, [head, wife, child born 2 April 2021])."""
    return move_in(
        platform,
        "聖籠町大字諏訪山1番地",
        NewPerson(
            name="山田\u3000太郎", birth_date=date(1980, 5, 5), sex=Sex.MALE, relationship=HEAD
        ),
        NewPerson(
            name="山田\u3000花子", birth_date=date(1982, 2, 2), sex=Sex.FEMALE, relationship="妻"
        ),
        NewPerson(
            name="山田\u3000一郎", birth_date=date(2021, 4, 2), sex=Sex.MALE, relationship="子"
        ),
    )


@pytest.fixture
def neighbours(platform: Platform) -> tuple[str, list[str]]:
    """Another household: (household, [head, son])."""
    return move_in(
        platform,
        "聖籠町大字蓮野3番地",
        NewPerson(
            name="佐藤\u3000健", birth_date=date(1955, 3, 1), sex=Sex.MALE, relationship=HEAD
        ),
        NewPerson(
            name="佐藤\u3000誠", birth_date=date(1990, 9, 9), sex=Sex.MALE, relationship="子"
        ),
    )


def snapshot(platform: Platform) -> dict[str, Any]:
    with platform.town(TOWN_A) as town:
        s = town.session
        snap: dict[str, Any] = {
            t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES
        }
        snap["members"] = [tuple(r) for r in s.execute(text("SELECT * FROM nhi_members"))]
        snap["audit_head"] = [tuple(r) for r in s.execute(text("SELECT * FROM audit_head"))]
    return snap


def last_audit_and_journal(platform: Platform) -> tuple[Any, list[dict[str, Any]]]:
    with platform.town(TOWN_A) as town:
        s = town.session
        audit = s.execute(
            text(
                "SELECT seq, action, subjects, detail FROM audit_entries ORDER BY seq DESC LIMIT 1"
            )
        ).one()
        journal = s.execute(
            text("SELECT action, audit_seq, changes FROM journal ORDER BY seq DESC LIMIT 1")
        ).one()
    assert journal.action == audit.action
    assert journal.audit_seq == audit.seq
    return audit, as_json(journal.changes)


def enroll(
    platform: Platform, household: str, householder: str, members: list[str], on: date
) -> Any:
    with platform.town(TOWN_A) as town:
        return enroll_household(
            town,
            make_ctx(),
            household_number=household,
            householder=householder,
            members=members,
            qualified_on=on,
        )


def status(platform: Platform, person: str, on: date) -> Any:
    with platform.town(TOWN_A) as town:
        return nhi_status(town, person, on)


def refuse(platform: Platform, match: str | None = None, **kw: Any) -> None:
    """An enrolment (keyword arguments of enroll_household) that is refused, writing nothing."""
    before = snapshot(platform)
    with pytest.raises(RuleViolationError, match=match) as exc, platform.town(TOWN_A) as town:
        enroll_household(town, make_ctx(), **kw)
    assert exc.value.field in ("members", "householder")
    assert snapshot(platform) == before


def refuse_end(platform: Platform, match: str, person: str, disqualified_on: date) -> None:
    before = snapshot(platform)
    with pytest.raises(RuleViolationError, match=match) as exc, platform.town(TOWN_A) as town:
        end_qualification(town, make_ctx(), person, disqualified_on=disqualified_on)
    assert exc.value.field == "disqualified_on"
    assert snapshot(platform) == before


# -------------------------------------------------------------------------------- 資格取得


def test_enrol_a_household(platform: Platform, family: tuple[str, list[str]]) -> None:
    h, (head, wife, child) = family
    before = snapshot(platform)
    nhi = enroll(platform, h, head, [head, wife, child], QUALIFIED)
    assert nhi.symbol == "15-307"  # from 団体コード 153079
    assert (nhi.household_number, nhi.householder) == (h, head)
    assert (nhi.started_on, nhi.ended_on) == (QUALIFIED, None)
    after = snapshot(platform)
    assert after["nhi_households"] == before["nhi_households"] + 1
    assert after["nhi_members"] == before["nhi_members"] + 3
    assert after["audit_entries"] == before["audit_entries"] + 1
    assert after["journal"] == before["journal"] + 1
    audit, changes = last_audit_and_journal(platform)
    assert audit.action == "nhi_enrolled"
    assert as_json(audit.subjects) == [head, wife, child]
    assert as_json(audit.detail) == {"household_number": h, "qualified_on": "2024-04-01"}
    assert [c["op"] for c in changes if c["table"] == "nhi_households"] == ["insert"]
    assert [c["op"] for c in changes if c["table"] == "nhi_members"] == ["insert"] * 3

    for person, branch, copay in ((head, "01", 30), (wife, "02", 30), (child, "03", 20)):
        st = status(platform, person, QUALIFIED)
        assert st is not None
        assert (st.symbol, st.insured_number, st.branch) == ("15-307", "0000001", branch)
        assert (st.qualified_on, st.disqualified_on) == (QUALIFIED, None)
        assert (st.householder, st.household_number) == (head, h)
        assert st.copay_percent == copay
        assert status(platform, person, date(2024, 3, 31)) is None
        assert status(platform, person, TODAY) == st


def test_each_household_gets_the_next_number(
    platform: Platform, family: tuple[str, list[str]], neighbours: tuple[str, list[str]]
) -> None:
    h1, (head1, wife, _) = family
    h2, (head2, son) = neighbours
    enroll(platform, h1, head1, [wife], QUALIFIED)  # 擬制世帯主: the head is not insured
    enroll(platform, h2, head2, [son, head2], QUALIFIED)
    assert status(platform, head1, QUALIFIED) is None
    w = status(platform, wife, QUALIFIED)
    assert (w.insured_number, w.branch, w.householder) == ("0000001", "01", head1)
    s = status(platform, son, QUALIFIED)
    assert (s.insured_number, s.branch) == ("0000002", "01")
    assert status(platform, head2, QUALIFIED).branch == "02"


def test_persons_of_another_town_are_not_found(
    platform: Platform, family: tuple[str, list[str]]
) -> None:
    h, (head, *_) = family
    with pytest.raises(NotFoundError), platform.town(TOWN_B) as town:
        enroll_household(
            town,
            make_ctx(TOWN_B),
            household_number=h,
            householder=head,
            members=[head],
            qualified_on=QUALIFIED,
        )


# ----------------------------------------------------------------------------- refusals


def test_enrolment_refusals_write_nothing(
    platform: Platform, family: tuple[str, list[str]], neighbours: tuple[str, list[str]]
) -> None:
    h, (head, wife, child) = family
    _, (head2, son) = neighbours
    common = {"household_number": h, "householder": head, "qualified_on": QUALIFIED}
    refuse(platform, "被保険者がいません", members=[], **common)
    refuse(platform, "住民ではありません", members=[head, son], **common)
    refuse(
        platform,
        "同じ住民票世帯",
        household_number=h,
        householder=head2,
        members=[head],
        qualified_on=QUALIFIED,
    )
    enroll(platform, h, head, [head, wife], QUALIFIED)
    refuse(platform, "既に国保の資格", members=[child, wife], **common)
    refuse(platform, "既に国保の資格", members=[head], **{**common, "qualified_on": TODAY})
    # the neighbours' son is insured nowhere, but he is not of this household either
    refuse(platform, "住民ではありません", members=[son], **common)


def test_a_removed_person_cannot_be_enrolled(
    platform: Platform, family: tuple[str, list[str]]
) -> None:
    h, (head, wife, _) = family
    with platform.town(TOWN_A) as town:
        record_event(
            town,
            make_ctx(),
            Removal(
                kind=EventKind.DOMESTIC_MOVE_OUT,
                effective_date=date(2024, 1, 10),
                members=[wife],
                destination_address="新潟県新潟市中央区学校町通1番町602番地1",
            ),
            today=TODAY,
        )
    refuse(
        platform,
        "住民ではありません",
        household_number=h,
        householder=head,
        members=[head, wife],
        qualified_on=QUALIFIED,
    )


def test_enrolment_overlapping_a_later_qualification_is_refused(
    platform: Platform, family: tuple[str, list[str]]
) -> None:
    h, (head, wife, _) = family
    enroll(platform, h, head, [head], date(2026, 6, 1))
    refuse(
        platform,
        household_number=h,
        householder=head,
        members=[head, wife],
        qualified_on=date(2026, 1, 1),
    )


# ------------------------------------------------------------------------------ 資格喪失


def test_end_qualification(platform: Platform, family: tuple[str, list[str]]) -> None:
    h, (head, wife, child) = family
    enroll(platform, h, head, [head, wife, child], QUALIFIED)
    before = snapshot(platform)
    with platform.town(TOWN_A) as town:
        end_qualification(town, make_ctx(), wife, disqualified_on=date(2025, 10, 1))
    after = snapshot(platform)
    assert after["nhi_members"] == before["nhi_members"]
    assert after["audit_entries"] == before["audit_entries"] + 1
    assert after["journal"] == before["journal"] + 1
    audit, changes = last_audit_and_journal(platform)
    assert audit.action == "nhi_disqualified"
    assert as_json(audit.subjects) == [wife]
    assert as_json(audit.detail) == {"disqualified_on": "2025-10-01"}
    (update,) = [c for c in changes if c["table"] == "nhi_members"]
    assert update["op"] == "update"
    assert (update["row"]["addressee_number"], update["row"]["disqualified_on"]) == (
        wife,
        "2025-10-01",
    )

    last_day = status(platform, wife, date(2025, 9, 30))
    assert last_day is not None
    assert last_day.disqualified_on == date(2025, 10, 1)
    assert status(platform, wife, date(2025, 10, 1)) is None
    assert status(platform, wife, TODAY) is None
    assert status(platform, head, TODAY) is not None  # the others keep theirs

    # ending again, or on a day without qualification, is refused
    refuse_end(platform, "資格はありません", wife, date(2025, 12, 1))
    refuse_end(platform, "資格はありません", wife, date(2025, 10, 1))
    # she can be enrolled again from the day she lost it
    enroll(platform, h, head, [wife], date(2025, 10, 1))
    again = status(platform, wife, TODAY)
    assert again is not None
    assert (again.insured_number, again.branch) == ("0000002", "01")
    assert status(platform, wife, date(2025, 9, 30)).insured_number == "0000001"


def test_disqualification_must_be_after_qualification(
    platform: Platform, family: tuple[str, list[str]]
) -> None:
    h, (head, wife, child) = family
    enroll(platform, h, head, [head, wife, child], QUALIFIED)
    refuse_end(platform, "資格取得日より後", child, QUALIFIED)
    refuse_end(platform, "資格はありません", child, date(2024, 3, 31))
    refuse_end(platform, "資格はありません", "9999999991", TODAY)
    with platform.town(TOWN_A) as town:
        end_qualification(town, make_ctx(), child, disqualified_on=date(2024, 4, 2))
    assert status(platform, child, QUALIFIED) is not None
    assert status(platform, child, date(2024, 4, 2)) is None


def test_status_copay_follows_the_date_asked_for(
    platform: Platform, family: tuple[str, list[str]]
) -> None:
    h, (head, wife, child) = family
    enroll(platform, h, head, [head, wife, child], QUALIFIED)
    # born 2 April 2021: 未就学 until 31 March 2028
    assert status(platform, child, date(2028, 3, 31)).copay_percent == 20
    assert status(platform, child, date(2028, 4, 1)).copay_percent == 30


# ---------------------------------------------------------------------- 一部負担金の割合


@pytest.mark.parametrize(
    ("birth", "on", "percent"),
    [
        # 未就学児: until the first 31 March on or after the day before the 6th birthday
        # (年齢計算ニ関スル法律: one turns 6 at the end of the day before the birthday, so
        # children born on 1 April start school a year earlier than those born on 2 April).
        (date(2020, 4, 1), date(2020, 4, 1), 20),
        (date(2020, 4, 1), date(2026, 3, 31), 20),
        (date(2020, 4, 1), date(2026, 4, 1), 30),
        (date(2020, 4, 2), date(2026, 4, 1), 20),
        (date(2020, 4, 2), date(2027, 3, 31), 20),
        (date(2020, 4, 2), date(2027, 4, 1), 30),
        (date(2020, 1, 15), date(2026, 3, 31), 20),
        (date(2020, 1, 15), date(2026, 4, 1), 30),
        (date(2019, 12, 31), date(2026, 3, 31), 20),
        (date(2019, 12, 31), date(2026, 4, 1), 30),
        (date(2020, 2, 29), date(2026, 3, 31), 20),
        (date(2020, 2, 29), date(2026, 4, 1), 30),
        (date(2020, 3, 31), date(2026, 3, 31), 20),
        (date(2020, 3, 31), date(2026, 4, 1), 30),
        # working age
        (date(2000, 6, 15), date(2026, 6, 15), 30),
        (date(1957, 6, 15), date(2026, 6, 14), 30),  # 69
        # 70–74 (高齢受給者), well inside the band
        (date(1955, 3, 1), date(2026, 6, 1), 20),  # 71
        (date(1952, 1, 10), date(2026, 12, 31), 20),  # 74
        (date(1956, 5, 1), date(2026, 5, 1), 20),  # 1日生まれ: from the birthday month
        (date(1956, 5, 10), date(2026, 6, 1), 20),
        # 75: 後期高齢者医療 (not 国保), the function falls back to 30
        (date(1951, 1, 10), date(2026, 1, 10), 30),
    ],
)
def test_copay_percent(birth: date, on: date, percent: int) -> None:
    assert copay_percent(birth, on, shipped_copay_rules(on)) == percent


def test_copay_is_20_percent_only_from_the_month_after_turning_70() -> None:
    RULES = shipped_copay_rules(date(2026, 6, 1))  # noqa: N806
    # born 10 May 1956: turns 70 on 9 May 2026 → 2割 from 1 June 2026
    assert copay_percent(date(1956, 5, 10), date(2026, 5, 20), RULES) == 30
    assert copay_percent(date(1956, 5, 10), date(2026, 6, 1), RULES) == 20
