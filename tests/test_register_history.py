"""As-of questions on the register's history: who lived where, and in which household, when.

A household is built over several dated events; every interval between them is asked
about, including the boundary days (a version is valid from ``valid_from`` inclusive to
``valid_to`` exclusive).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

import pytest

from conftest import TODAY, TOWN_A, make_ctx
from lgcloud.core.errors import NotFoundError
from lgcloud.register import queries
from lgcloud.register.domain import (
    HEAD,
    AddressIn,
    Birth,
    Correction,
    CorrectionFields,
    EventKind,
    HeadChange,
    HouseholdSplit,
    MoveIn,
    MoveWithin,
    NewPerson,
    Removal,
    Sex,
    Status,
)
from lgcloud.register.service import AnyEvent, EventResult, record_event
from lgcloud.tenancy.platform import Platform

ADDR_A = "聖籠町大字諏訪山1635番地"
ADDR_B = "聖籠町大字東港五丁目5番地"

MOVE_IN = date(2010, 4, 1)
BIRTH = date(2015, 6, 10)
MOVE = date(2018, 9, 1)
DEATH = date(2020, 2, 15)
SPLIT = date(2022, 7, 1)

DAY = timedelta(days=1)


@dataclass
class Story:
    platform: Platform
    household: str
    split_household: str
    father: str
    mother: str
    grandmother: str
    child: str

    def household_on(self, h: str, on: date) -> list[str]:
        with self.platform.town(TOWN_A) as town:
            return [p.addressee_number for p in queries.household_on(town, h, on)]

    def at_address_on(self, address: str, on: date) -> list[str]:
        with self.platform.town(TOWN_A) as town:
            return [p.addressee_number for p in queries.residents_at_address_on(town, address, on)]

    def relationships_on(self, h: str, on: date) -> dict[str, str]:
        with self.platform.town(TOWN_A) as town:
            return {p.addressee_number: p.relationship for p in queries.household_on(town, h, on)}


def _record(platform: Platform, event: AnyEvent) -> EventResult:
    with platform.town(TOWN_A) as town:
        return record_event(town, make_ctx(), event, today=TODAY)


@pytest.fixture
def story(platform: Platform) -> Story:
    """2010 move-in, 2015 birth, 2018 move within town, 2020 death, 2022 split."""
    r = _record(
        platform,
        MoveIn(
            kind=EventKind.DOMESTIC_MOVE_IN,
            effective_date=MOVE_IN,
            previous_address="新潟県新潟市中央区学校町通1番町602番地1",
            address=AddressIn(address=ADDR_A, postal_code="9570117"),
            persons=[
                NewPerson(
                    name="山田\u3000太郎",
                    birth_date=date(1980, 1, 1),
                    sex=Sex.MALE,
                    relationship=HEAD,
                ),
                NewPerson(
                    name="山田\u3000花子",
                    birth_date=date(1982, 2, 2),
                    sex=Sex.FEMALE,
                    relationship="妻",
                ),
                NewPerson(
                    name="山田\u3000トメ",
                    birth_date=date(1950, 3, 3),
                    sex=Sex.FEMALE,
                    relationship="母",
                ),
            ],
        ),
    )
    (h,) = r.new_households
    father, mother, grandmother = r.subjects
    (child,) = _record(
        platform,
        Birth(
            effective_date=BIRTH,
            household_number=h,
            person=NewPerson(
                name="山田\u3000一郎", birth_date=BIRTH, sex=Sex.MALE, relationship="長男"
            ),
        ),
    ).subjects
    _record(
        platform,
        MoveWithin(
            effective_date=MOVE,
            members=[father, mother, grandmother, child],
            address=AddressIn(address=ADDR_B, postal_code="9570101"),
        ),
    )
    _record(
        platform,
        Removal(
            kind=EventKind.DEATH,
            effective_date=DEATH,
            members=[father],
            relationships={mother: HEAD, grandmother: "夫の母"},
        ),
    )
    r = _record(
        platform,
        HouseholdSplit(
            effective_date=SPLIT, members=[grandmother], relationships={grandmother: HEAD}
        ),
    )
    (split_h,) = r.new_households
    return Story(platform, h, split_h, father, mother, grandmother, child)


def test_household_on_each_interval_and_boundary(story: Story) -> None:
    s = story
    everyone = sorted([s.father, s.mother, s.grandmother, s.child])
    expected: list[tuple[date, list[str]]] = [
        (date(2000, 1, 1), []),
        (MOVE_IN - DAY, []),
        (MOVE_IN, sorted([s.father, s.mother, s.grandmother])),
        (BIRTH - DAY, sorted([s.father, s.mother, s.grandmother])),
        (BIRTH, everyone),
        (MOVE - DAY, everyone),
        (MOVE, everyone),  # a whole-household move keeps the household number
        (DEATH - DAY, everyone),
        (DEATH, sorted([s.mother, s.grandmother, s.child])),
        (SPLIT - DAY, sorted([s.mother, s.grandmother, s.child])),
        (SPLIT, sorted([s.mother, s.child])),
        (TODAY, sorted([s.mother, s.child])),
    ]
    for on, members in expected:
        assert s.household_on(s.household, on) == members, on
    assert s.household_on(s.split_household, SPLIT - DAY) == []
    assert s.household_on(s.split_household, SPLIT) == [s.grandmother]
    assert s.household_on(s.split_household, TODAY) == [s.grandmother]
    assert s.household_on("9999999991", TODAY) == []


def test_residents_at_address_on_each_interval_and_boundary(story: Story) -> None:
    s = story
    first = sorted([s.father, s.mother, s.grandmother])
    four = sorted([s.father, s.mother, s.grandmother, s.child])
    three = sorted([s.mother, s.grandmother, s.child])
    expected: list[tuple[date, list[str], list[str]]] = [
        (MOVE_IN - DAY, [], []),
        (MOVE_IN, first, []),
        (BIRTH - DAY, first, []),
        (BIRTH, four, []),
        (MOVE - DAY, four, []),
        (MOVE, [], four),
        (DEATH - DAY, [], four),
        (DEATH, [], three),
        (SPLIT - DAY, [], three),
        (TODAY, [], []),  # checked separately below: ordered by household
    ]
    for on, at_a, at_b in expected[:-1]:
        assert s.at_address_on(ADDR_A, on) == at_a, on
        assert s.at_address_on(ADDR_B, on) == at_b, on
    # After the split all three still live at B, in two households: ordered by household.
    for on in (SPLIT, TODAY):
        assert s.at_address_on(ADDR_A, on) == []
        assert s.at_address_on(ADDR_B, on) == [*sorted([s.mother, s.child]), s.grandmother]
    assert s.at_address_on("聖籠町大字どこにもない", TODAY) == []


def test_relationships_as_of(story: Story) -> None:
    s = story
    assert s.relationships_on(s.household, DEATH - DAY) == {
        s.father: HEAD,
        s.mother: "妻",
        s.grandmother: "母",
        s.child: "長男",
    }
    assert s.relationships_on(s.household, DEATH) == {
        s.mother: HEAD,
        s.grandmother: "夫の母",
        s.child: "長男",
    }
    assert s.relationships_on(s.split_household, SPLIT) == {s.grandmother: HEAD}


def test_history_is_ordered_and_contiguous(story: Story) -> None:
    s = story
    with s.platform.town(TOWN_A) as town:
        father = queries.history(town, s.father)
        mother = queries.history(town, s.mother)
        grandmother = queries.history(town, s.grandmother)
        child = queries.history(town, s.child)

    assert [(v.last_event, v.valid_from, to) for v, to in father] == [
        (EventKind.DOMESTIC_MOVE_IN, MOVE_IN, MOVE),
        (EventKind.MOVE_WITHIN, MOVE, DEATH),
        (EventKind.DEATH, DEATH, None),
    ]
    assert [v.status for v, _ in father] == [Status.RESIDENT, Status.RESIDENT, Status.REMOVED]
    assert [v.address for v, _ in father] == [ADDR_A, ADDR_B, ADDR_B]
    assert father[-1][0].removed_on == DEATH

    assert [(v.relationship, v.valid_from, to) for v, to in mother] == [
        ("妻", MOVE_IN, MOVE),
        ("妻", MOVE, DEATH),
        (HEAD, DEATH, None),
    ]
    assert [(v.household_number, v.relationship, v.valid_from, to) for v, to in grandmother] == [
        (s.household, "母", MOVE_IN, MOVE),
        (s.household, "母", MOVE, DEATH),
        (s.household, "夫の母", DEATH, SPLIT),
        (s.split_household, HEAD, SPLIT, None),
    ]
    assert [(v.last_event, v.valid_from, to) for v, to in child] == [
        (EventKind.BIRTH, BIRTH, MOVE),
        (EventKind.MOVE_WITHIN, MOVE, None),
    ]
    for versions in (father, mother, grandmother, child):
        for (v, to), (nxt, _) in pairwise(versions):
            assert to == nxt.valid_from
            assert v.valid_from <= nxt.valid_from
        assert versions[-1][1] is None
        # resident_since never changes after entering; settled_on follows the move.
        assert len({v.resident_since for v, _ in versions}) == 1
    assert [v.settled_on for v, _ in child] == [BIRTH, MOVE]


def test_history_of_unknown_person(story: Story) -> None:
    with pytest.raises(NotFoundError), story.platform.town(TOWN_A) as town:
        queries.history(town, "9999999991")


def test_same_day_events_leave_an_empty_interval(story: Story) -> None:
    """Two events on one day: the first version is valid for no day at all."""
    s = story
    day = date(2024, 1, 10)
    _record(
        s.platform,
        Correction(
            effective_date=day,
            member=s.child,
            fields=CorrectionFields(kana="ヤマダ イチロウ"),
            reason="読み仮名の追加",
        ),
    )
    _record(
        s.platform,
        HeadChange(
            effective_date=day,
            household_number=s.household,
            relationships={s.child: HEAD, s.mother: "母"},
        ),
    )
    with s.platform.town(TOWN_A) as town:
        hist = queries.history(town, s.child)
        on_day = queries.household_on(town, s.household, day)
        before = queries.household_on(town, s.household, day - DAY)
    assert [(v.last_event, v.valid_from, to) for v, to in hist[-3:]] == [
        (EventKind.MOVE_WITHIN, MOVE, day),
        (EventKind.CORRECTION, day, day),
        (EventKind.HEAD_CHANGE, day, None),
    ]
    # Exactly one version of each member answers for any date.
    assert sorted(p.addressee_number for p in on_day) == sorted([s.mother, s.child])
    assert {p.addressee_number: p.relationship for p in on_day} == {s.child: HEAD, s.mother: "母"}
    assert {p.addressee_number: p.relationship for p in before} == {s.child: "長男", s.mother: HEAD}


def test_removed_people_are_not_residents_on_or_after_removal(story: Story) -> None:
    s = story
    _record(
        s.platform,
        Removal(
            kind=EventKind.DOMESTIC_MOVE_OUT,
            effective_date=date(2025, 3, 31),
            members=[s.grandmother],
            destination_address="東京都",
        ),
    )
    assert s.household_on(s.split_household, date(2025, 3, 30)) == [s.grandmother]
    assert s.household_on(s.split_household, date(2025, 3, 31)) == []
    assert s.at_address_on(ADDR_B, date(2025, 3, 31)) == sorted([s.mother, s.child])
    with s.platform.town(TOWN_A) as town:
        assert queries.current_household(town, s.split_household) == []
        assert queries.get_person(town, s.grandmother).status is Status.REMOVED
