"""Life events (異動) through the single write path, on a real town database.

Every successful event is checked for its bookkeeping (one life_events row, one audit entry
naming the subjects, one journal entry with the person_versions row images, no journal
gaps); every refusal is checked to have changed nothing at all.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from conftest import TODAY, TOWN_A, as_json, make_ctx
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.core.ids import validate_individual_number, validate_numbered
from lgcloud.register import queries
from lgcloud.register.domain import (
    HEAD,
    AddressIn,
    Birth,
    Correction,
    CorrectionFields,
    EventKind,
    HeadChange,
    HouseholdMerge,
    HouseholdSplit,
    MoveIn,
    MoveWithin,
    NewPerson,
    PersonState,
    Removal,
    Sex,
    Status,
)
from lgcloud.register.service import AnyEvent, EventResult, record_event
from lgcloud.tenancy.platform import Platform

ADDR_1 = "聖籠町大字諏訪山1番地"
ADDR_2 = "聖籠町大字東港二丁目2番地"
ADDR_3 = "聖籠町大字蓮野3番地"
PREVIOUS = "東京都千代田区千代田1番1号"
UNKNOWN = "9999999991"  # a valid-looking number nobody has
COUNTED = (
    "person_versions",
    "persons",
    "households",
    "life_events",
    "audit_entries",
    "audit_subjects",
    "journal",
)


def person(
    name: str, rel: str, born: date = date(1980, 5, 5), sex: Sex = Sex.MALE, **kw: Any
) -> NewPerson:
    return NewPerson(
        name=name, kana=kw.pop("kana", ""), birth_date=born, sex=sex, relationship=rel, **kw
    )


class Desk:
    """A clerk's desk: records events in their own transactions and checks bookkeeping."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.ctx = make_ctx()

    def sql(self, query: str, **params: Any) -> list[tuple[Any, ...]]:
        with self.platform.town(TOWN_A) as town:
            return [tuple(r) for r in town.session.execute(text(query), params)]

    def count(self, table: str) -> int:
        return int(self.sql(f"SELECT count(*) FROM {table}")[0][0])

    def counts(self) -> dict[str, int]:
        with self.platform.town(TOWN_A) as town:
            return {
                t: int(town.session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                for t in COUNTED
            }

    def snapshot(self) -> dict[str, Any]:
        """Everything a refusal must leave untouched (row counts, sequences, versions)."""
        with self.platform.town(TOWN_A) as town:
            s = town.session

            def rows(query: str) -> list[tuple[Any, ...]]:
                return [tuple(r) for r in s.execute(text(query))]

            snap: dict[str, Any] = {t: rows(f"SELECT count(*) FROM {t}") for t in COUNTED}
            snap["sequences"] = rows("SELECT name, next_value FROM number_sequences ORDER BY name")
            snap["versions"] = rows("SELECT * FROM person_versions ORDER BY id")
            snap["audit_head"] = rows("SELECT seq, entry_hash FROM audit_head")
        return snap

    def record(self, event: AnyEvent) -> EventResult:
        before = self.counts()
        with self.platform.town(TOWN_A) as town:
            result = record_event(town, self.ctx, event, today=TODAY)
        self.check_bookkeeping(result, before)
        return result

    def refuse(self, event: AnyEvent, match: str | None = None, field: str | None = None) -> None:
        before = self.snapshot()
        with (
            pytest.raises(RuleViolationError, match=match) as exc,
            self.platform.town(TOWN_A) as town,
        ):
            record_event(town, self.ctx, event, today=TODAY)
        if field is not None:
            assert exc.value.field == field
        assert self.snapshot() == before

    def check_bookkeeping(self, result: EventResult, before: dict[str, int]) -> None:
        after = self.counts()
        for table in ("life_events", "audit_entries", "journal"):
            assert after[table] == before[table] + 1, table
        assert after["person_versions"] == before["person_versions"] + len(result.subjects)
        with self.platform.town(TOWN_A) as town:
            s = town.session
            ev = s.execute(
                text("SELECT id, kind, subjects FROM life_events ORDER BY id DESC LIMIT 1")
            ).one()
            assert ev.id == result.event_id
            assert ev.kind == result.kind.value
            audit = s.execute(
                text(
                    "SELECT seq, action, subjects, detail FROM audit_entries "
                    "ORDER BY seq DESC LIMIT 1"
                )
            ).one()
            assert audit.action == "life_event"
            assert as_json(audit.subjects) == list(result.subjects)
            assert as_json(ev.subjects) == list(result.subjects)
            assert as_json(audit.detail)["event_id"] == result.event_id
            journal = s.execute(
                text(
                    "SELECT seq, action, audit_seq, changes FROM journal ORDER BY seq DESC LIMIT 1"
                )
            ).one()
            assert journal.action == "life_event"
            assert journal.audit_seq == audit.seq
            changes = as_json(journal.changes)
            inserted = {
                c["row"]["addressee_number"]: c["row"]
                for c in changes
                if c["table"] == "person_versions" and c["op"] == "insert"
            }
            assert set(inserted) == set(result.subjects)
            for row in inserted.values():
                assert row["event_id"] == result.event_id
                assert row["is_current"] is True
            assert any(c["table"] == "life_events" and c["op"] == "insert" for c in changes)
            seqs = [r[0] for r in s.execute(text("SELECT seq FROM journal ORDER BY seq"))]
            assert seqs == list(range(1, len(seqs) + 1))

    def get(self, number: str) -> PersonState:
        with self.platform.town(TOWN_A) as town:
            return queries.get_person(town, number)

    def household(self, number: str) -> list[PersonState]:
        with self.platform.town(TOWN_A) as town:
            return queries.current_household(town, number)

    def history(self, number: str) -> list[tuple[PersonState, date | None]]:
        with self.platform.town(TOWN_A) as town:
            return queries.history(town, number)

    def search(self, q: str, *, include_removed: bool = False) -> list[str]:
        with self.platform.town(TOWN_A) as town:
            return [
                p.addressee_number for p in queries.search(town, q, include_removed=include_removed)
            ]

    def heads(self, household: str) -> list[str]:
        return [p.addressee_number for p in self.household(household) if p.relationship == HEAD]

    # -- building blocks
    def family(
        self, address: str = ADDR_1, on: date = date(2010, 4, 1), surname: str = "山田"
    ) -> tuple[str, list[str]]:
        """A household of head, wife and child moving in; returns (household, [h, w, c])."""
        r = self.record(
            MoveIn(
                kind=EventKind.DOMESTIC_MOVE_IN,
                effective_date=on,
                previous_address=PREVIOUS,
                address=AddressIn(address=address, postal_code="9570100", district="第1区"),
                persons=[
                    person(f"{surname}\u3000太郎", HEAD, kana="ヤマダ タロウ"),
                    person(f"{surname}\u3000花子", "妻", date(1982, 2, 2), Sex.FEMALE),
                    person(f"{surname}\u3000一郎", "長男", date(2008, 3, 3)),
                ],
            )
        )
        assert len(r.new_households) == 1
        return r.new_households[0], list(r.subjects)


@pytest.fixture
def desk(platform: Platform) -> Desk:
    return Desk(platform)


@pytest.fixture
def fam(desk: Desk) -> tuple[str, list[str]]:
    return desk.family()


# ------------------------------------------------------------------------- 転入 / 職権記載


@pytest.mark.parametrize("kind", [EventKind.DOMESTIC_MOVE_IN, EventKind.FOREIGN_MOVE_IN])
def test_move_in_creates_a_new_household(desk: Desk, kind: EventKind) -> None:
    r = desk.record(
        MoveIn(
            kind=kind,
            effective_date=date(2021, 4, 1),
            notified_date=date(2021, 4, 5),
            previous_address="アメリカ合衆国" if kind is EventKind.FOREIGN_MOVE_IN else PREVIOUS,
            address=AddressIn(address=ADDR_1, address_detail="ハイツ101", postal_code="9570100"),
            persons=[
                person("佐藤\u3000健", HEAD, resident_code="12345678903"),
                person("佐藤\u3000恵", "妻", sex=Sex.FEMALE),
            ],
        )
    )
    assert r.kind is kind
    (h,) = r.new_households
    validate_numbered(h, "世帯番号")
    head, wife = (desk.get(n) for n in r.subjects)
    for n in r.subjects:
        validate_numbered(n, "宛名番号")
    assert [p.addressee_number for p in desk.household(h)] == list(r.subjects)
    assert head.relationship == HEAD
    assert wife.relationship == "妻"
    assert head.resident_code == "12345678903"
    for p in (head, wife):
        assert p.status is Status.RESIDENT
        assert p.household_number == h
        assert (p.address, p.address_detail, p.postal_code) == (ADDR_1, "ハイツ101", "9570100")
        assert p.resident_since == p.settled_on == p.valid_from == date(2021, 4, 1)
        assert p.notified_on == date(2021, 4, 5)
        assert p.last_event is kind
        assert p.previous_address is not None
    rows = desk.sql("SELECT created_on FROM households WHERE number = :h", h=h)
    assert [str(d) for (d,) in rows] == ["2021-04-01"]  # text on SQLite, a date on PostgreSQL


@pytest.mark.parametrize("kind", [EventKind.DOMESTIC_MOVE_IN, EventKind.FOREIGN_MOVE_IN])
def test_move_in_joining_an_existing_household(
    desk: Desk, fam: tuple[str, list[str]], kind: EventKind
) -> None:
    h, (head, _, _) = fam
    r = desk.record(
        MoveIn(
            kind=kind,
            effective_date=date(2015, 1, 10),
            previous_address="大韓民国ソウル特別市"
            if kind is EventKind.FOREIGN_MOVE_IN
            else PREVIOUS,
            household_number=h,
            persons=[person("山田\u3000トメ", "母", date(1950, 1, 1), Sex.FEMALE)],
        )
    )
    assert r.new_households == ()
    (mother,) = r.subjects
    m = desk.get(mother)
    hp = desk.get(head)
    assert m.household_number == h
    assert (m.address, m.address_detail, m.postal_code, m.district) == (
        hp.address,
        hp.address_detail,
        hp.postal_code,
        hp.district,
    )
    assert m.resident_since == date(2015, 1, 10)
    assert len(desk.household(h)) == 4
    assert desk.heads(h) == [head]


def test_move_in_new_head_into_existing_household_relabels_the_old_head(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    h, (head, wife, child) = fam
    r = desk.record(
        MoveIn(
            kind=EventKind.DOMESTIC_MOVE_IN,
            effective_date=date(2016, 1, 1),
            previous_address=PREVIOUS,
            household_number=h,
            persons=[person("山田\u3000源蔵", HEAD, date(1948, 1, 1))],
            relationships={head: "子", wife: "子の妻", child: "孫"},
        )
    )
    (grandpa,) = set(r.subjects) - {head, wife, child}
    assert set(r.subjects) == {grandpa, head, wife, child}
    assert desk.heads(h) == [grandpa]
    assert desk.get(child).relationship == "孫"


def test_ex_officio_entry_needs_no_previous_address(desk: Desk) -> None:
    r = desk.record(
        MoveIn(
            kind=EventKind.EX_OFFICIO_ENTRY,
            effective_date=date(2019, 9, 9),
            address=AddressIn(address=ADDR_3),
            persons=[person("職権\u3000記載", HEAD)],
            note="職権記載 (住所不定からの記載)",
        )
    )
    p = desk.get(r.subjects[0])
    assert p.last_event is EventKind.EX_OFFICIO_ENTRY
    assert p.previous_address is None
    assert p.household_number == r.new_households[0]


@pytest.mark.parametrize("kind", [EventKind.DOMESTIC_MOVE_IN, EventKind.FOREIGN_MOVE_IN])
def test_move_in_requires_previous_address(desk: Desk, kind: EventKind) -> None:
    desk.refuse(
        MoveIn(
            kind=kind,
            effective_date=date(2020, 1, 1),
            previous_address="   ",
            address=AddressIn(address=ADDR_1),
            persons=[person("転入\u3000太郎", HEAD)],
        ),
        field="previous_address",
    )


def test_move_in_needs_exactly_one_of_household_and_address(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    h, _ = fam
    base = {
        "kind": EventKind.DOMESTIC_MOVE_IN,
        "effective_date": date(2020, 1, 1),
        "previous_address": PREVIOUS,
        "persons": [person("転入\u3000次郎", "同居人")],
    }
    desk.refuse(MoveIn(**base), field="address")
    desk.refuse(
        MoveIn(**base, household_number=h, address=AddressIn(address=ADDR_2)), field="address"
    )


def test_move_in_new_household_without_a_head_is_refused(desk: Desk) -> None:
    desk.refuse(
        MoveIn(
            kind=EventKind.DOMESTIC_MOVE_IN,
            effective_date=date(2020, 1, 1),
            previous_address=PREVIOUS,
            address=AddressIn(address=ADDR_1),
            persons=[person("転入\u3000花子", "妻"), person("転入\u3000一郎", "子")],
        ),
        match="世帯主が 0 人",
    )


def test_move_in_with_two_heads_is_refused(desk: Desk, fam: tuple[str, list[str]]) -> None:
    h, _ = fam
    desk.refuse(
        MoveIn(
            kind=EventKind.DOMESTIC_MOVE_IN,
            effective_date=date(2020, 1, 1),
            previous_address=PREVIOUS,
            household_number=h,
            persons=[person("転入\u3000太郎", HEAD)],
        ),
        match="世帯主が 2 人",
        field="relationships",
    )


def test_move_in_of_someone_born_after_the_move_is_refused(desk: Desk) -> None:
    desk.refuse(
        MoveIn(
            kind=EventKind.DOMESTIC_MOVE_IN,
            effective_date=date(2020, 1, 1),
            previous_address=PREVIOUS,
            address=AddressIn(address=ADDR_1),
            persons=[person("未来\u3000太郎", HEAD, date(2020, 1, 2))],
        ),
        field="persons.birth_date",
    )


def test_move_in_into_unknown_household_is_refused(desk: Desk) -> None:
    desk.refuse(
        MoveIn(
            kind=EventKind.DOMESTIC_MOVE_IN,
            effective_date=date(2020, 1, 1),
            previous_address=PREVIOUS,
            household_number=UNKNOWN,
            persons=[person("転入\u3000太郎", "同居人")],
        ),
        field="household_number",
    )


# ----------------------------------------------------------------------------------- 出生


def test_birth_joins_the_household_at_its_address(desk: Desk, fam: tuple[str, list[str]]) -> None:
    h, (head, _, _) = fam
    born = date(2015, 6, 10)
    r = desk.record(
        Birth(
            effective_date=born,
            notified_date=date(2015, 6, 20),
            household_number=h,
            person=person("山田\u3000二郎", "二男", born, kana="ヤマダ ジロウ"),
        )
    )
    assert r.kind is EventKind.BIRTH
    assert r.new_households == ()
    (baby,) = r.subjects
    b = desk.get(baby)
    hp = desk.get(head)
    assert b.household_number == h
    assert b.relationship == "二男"
    assert (b.address, b.address_detail, b.postal_code, b.district) == (
        hp.address,
        hp.address_detail,
        hp.postal_code,
        hp.district,
    )
    assert b.birth_date == b.resident_since == b.settled_on == b.valid_from == born
    assert b.notified_on == date(2015, 6, 20)
    assert b.last_event is EventKind.BIRTH
    assert b.previous_address is None
    assert len(desk.household(h)) == 4
    # The other members' records are unchanged by the birth.
    assert len(desk.history(head)) == 1


def test_birth_with_effective_date_not_the_birth_date_is_refused(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    h, _ = fam
    desk.refuse(
        Birth(
            effective_date=date(2015, 6, 11),
            household_number=h,
            person=person("山田\u3000二郎", "子", date(2015, 6, 10)),
        ),
        match="生年月日と同じ",
        field="effective_date",
    )


def test_birth_of_a_second_head_is_refused(desk: Desk, fam: tuple[str, list[str]]) -> None:
    h, _ = fam
    d = date(2015, 6, 10)
    desk.refuse(
        Birth(effective_date=d, household_number=h, person=person("山田\u3000二郎", HEAD, d)),
        field="relationships",
    )


def test_birth_into_unknown_household_is_refused(desk: Desk) -> None:
    d = date(2015, 6, 10)
    desk.refuse(
        Birth(effective_date=d, household_number=UNKNOWN, person=person("誰\u3000某", "子", d)),
        field="household_number",
    )


def test_birth_into_a_household_whose_members_all_left_is_refused(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    h, members = fam
    desk.record(
        Removal(
            kind=EventKind.DOMESTIC_MOVE_OUT,
            effective_date=date(2014, 1, 1),
            members=members,
            destination_address="新潟県新潟市中央区1番地",
        )
    )
    assert desk.household(h) == []
    d = date(2015, 6, 10)
    desk.refuse(
        Birth(effective_date=d, household_number=h, person=person("山田\u3000二郎", "子", d)),
        match="現在の世帯員がいません",
    )


# ----------------------------------------------------------------------------------- 転居


def test_whole_household_move_keeps_its_number(desk: Desk, fam: tuple[str, list[str]]) -> None:
    h, members = fam
    r = desk.record(
        MoveWithin(
            effective_date=date(2018, 9, 1),
            members=members,
            address=AddressIn(
                address=ADDR_2, address_detail="コーポ東港202", postal_code="9570101"
            ),
        )
    )
    assert r.new_households == ()
    assert set(r.subjects) == set(members)
    after = desk.household(h)
    assert [p.addressee_number for p in after] == sorted(members)
    for p in after:
        assert (p.address, p.address_detail, p.postal_code) == (ADDR_2, "コーポ東港202", "9570101")
        assert p.settled_on == date(2018, 9, 1)
        assert p.resident_since == date(2010, 4, 1)
        assert p.last_event is EventKind.MOVE_WITHIN
    hist = desk.history(members[0])
    assert [(s.address, to) for s, to in hist] == [(ADDR_1, date(2018, 9, 1)), (ADDR_2, None)]
    assert desk.heads(h) == [members[0]]


def test_part_of_a_household_moving_gets_a_new_household(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    h, (head, wife, child) = fam
    r = desk.record(
        MoveWithin(
            effective_date=date(2026, 4, 1),
            members=[child],
            address=AddressIn(address=ADDR_3),
            relationships={child: HEAD},
        )
    )
    (new_h,) = r.new_households
    assert new_h != h
    validate_numbered(new_h)
    assert [p.addressee_number for p in desk.household(new_h)] == [child]
    assert desk.get(child).relationship == HEAD
    assert desk.get(child).address == ADDR_3
    assert [p.addressee_number for p in desk.household(h)] == sorted([head, wife])
    assert desk.get(head).address == ADDR_1


def test_part_move_without_naming_a_head_is_refused(desk: Desk, fam: tuple[str, list[str]]) -> None:
    _, (_, _, child) = fam
    desk.refuse(
        MoveWithin(
            effective_date=date(2026, 4, 1), members=[child], address=AddressIn(address=ADDR_3)
        ),
        match="世帯主が 0 人",
    )


def test_head_moving_out_of_the_household_without_new_head_is_refused(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    _, (head, _, _) = fam
    desk.refuse(
        MoveWithin(
            effective_date=date(2026, 4, 1), members=[head], address=AddressIn(address=ADDR_3)
        ),
        match="世帯主が 0 人",
    )


def test_moving_into_an_existing_household(desk: Desk, fam: tuple[str, list[str]]) -> None:
    h, (head, wife, child) = fam
    other, (oh, _, _) = desk.family(ADDR_2, surname="田中")
    r = desk.record(
        MoveWithin(
            effective_date=date(2020, 1, 1),
            members=[child],
            address=AddressIn(address=ADDR_2),
            into_household=other,
            relationships={child: "同居人"},
        )
    )
    assert r.new_households == ()
    c = desk.get(child)
    assert c.household_number == other
    assert c.address == ADDR_2
    assert c.relationship == "同居人"
    assert len(desk.household(other)) == 4
    assert desk.heads(other) == [oh]
    assert [p.addressee_number for p in desk.household(h)] == sorted([head, wife])


def test_moving_into_a_household_at_another_address_is_refused(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    _, (_, _, child) = fam
    other, _ = desk.family(ADDR_2, surname="田中")
    desk.refuse(
        MoveWithin(
            effective_date=date(2020, 1, 1),
            members=[child],
            address=AddressIn(address=ADDR_3),
            into_household=other,
            relationships={child: "同居人"},
        ),
        field="address",
    )


def test_moving_into_a_household_as_second_head_is_refused(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    _, (head, wife, child) = fam
    other, _ = desk.family(ADDR_2, surname="田中")
    desk.refuse(
        MoveWithin(
            effective_date=date(2020, 1, 1),
            members=[head, wife, child],
            address=AddressIn(address=ADDR_2),
            into_household=other,
        ),
        match="世帯主が 2 人",
    )


# ------------------------------------------------------------------- 転出 / 死亡 / 職権消除


@pytest.mark.parametrize(
    ("kind", "label"),
    [(EventKind.DOMESTIC_MOVE_OUT, "転出"), (EventKind.FOREIGN_MOVE_OUT, "国外転出")],
)
def test_move_out_keeps_a_removed_record(
    desk: Desk, fam: tuple[str, list[str]], kind: EventKind, label: str
) -> None:
    h, (head, wife, child) = fam
    dest = (
        "新潟県新潟市中央区学校町通1番町602番地1"
        if kind is EventKind.DOMESTIC_MOVE_OUT
        else "フランス共和国"
    )
    r = desk.record(
        Removal(
            kind=kind, effective_date=date(2024, 3, 31), members=[child], destination_address=dest
        )
    )
    assert r.subjects == (child,)
    c = desk.get(child)
    assert c.status is Status.REMOVED
    assert c.removed_on == date(2024, 3, 31)
    assert c.removal_reason == label
    assert c.destination_address == dest
    assert c.household_number == h  # the 除票 remembers the household
    assert [p.addressee_number for p in desk.household(h)] == sorted([head, wife])
    # 除票: found only when asking for removed people too.
    assert child not in desk.search("ヤマダ")
    assert child not in desk.search("山田")
    assert child in desk.search("山田", include_removed=True)
    assert child in desk.search("山田\u3000一郎", include_removed=True)
    assert desk.search(child) == []
    assert desk.search(child, include_removed=True) == [child]
    hist = desk.history(child)
    assert [(s.status, to) for s, to in hist] == [
        (Status.RESIDENT, date(2024, 3, 31)),
        (Status.REMOVED, None),
    ]


@pytest.mark.parametrize("kind", [EventKind.DOMESTIC_MOVE_OUT, EventKind.FOREIGN_MOVE_OUT])
def test_move_out_without_destination_is_refused(
    desk: Desk, fam: tuple[str, list[str]], kind: EventKind
) -> None:
    _, (_, _, child) = fam
    desk.refuse(
        Removal(kind=kind, effective_date=date(2024, 3, 31), members=[child]),
        field="destination_address",
    )
    desk.refuse(
        Removal(
            kind=kind,
            effective_date=date(2024, 3, 31),
            members=[child],
            destination_address=" \u3000",
        ),
        field="destination_address",
    )


def test_death(desk: Desk, fam: tuple[str, list[str]]) -> None:
    h, (head, wife, child) = fam
    desk.record(Removal(kind=EventKind.DEATH, effective_date=date(2020, 2, 15), members=[wife]))
    w = desk.get(wife)
    assert w.status is Status.REMOVED
    assert w.removal_reason == "死亡"
    assert w.removed_on == date(2020, 2, 15)
    assert w.destination_address is None
    assert [p.addressee_number for p in desk.household(h)] == sorted([head, child])


def test_head_leaving_without_naming_a_new_head_is_refused(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    _, (head, _, _) = fam
    desk.refuse(
        Removal(kind=EventKind.DEATH, effective_date=date(2020, 2, 15), members=[head]),
        match="世帯主が 0 人",
        field="relationships",
    )
    desk.refuse(
        Removal(
            kind=EventKind.DOMESTIC_MOVE_OUT,
            effective_date=date(2020, 2, 15),
            members=[head],
            destination_address="東京都",
        ),
        match="世帯主が 0 人",
    )


def test_head_leaving_naming_a_new_head(desk: Desk, fam: tuple[str, list[str]]) -> None:
    h, (head, wife, child) = fam
    r = desk.record(
        Removal(
            kind=EventKind.DEATH,
            effective_date=date(2020, 2, 15),
            members=[head],
            relationships={wife: HEAD, child: "子"},
        )
    )
    assert set(r.subjects) == {head, wife, child}
    assert desk.heads(h) == [wife]
    assert desk.get(child).relationship == "子"
    assert desk.get(wife).valid_from == date(2020, 2, 15)
    assert desk.get(wife).last_event is EventKind.DEATH


def test_whole_household_leaving_needs_no_head(desk: Desk, fam: tuple[str, list[str]]) -> None:
    h, members = fam
    desk.record(
        Removal(
            kind=EventKind.FOREIGN_MOVE_OUT,
            effective_date=date(2020, 2, 15),
            members=members,
            destination_address="カナダ",
        )
    )
    assert desk.household(h) == []
    assert all(desk.get(n).status is Status.REMOVED for n in members)


def test_ex_officio_removal(desk: Desk, fam: tuple[str, list[str]]) -> None:
    _, (_, _, child) = fam
    desk.record(
        Removal(
            kind=EventKind.EX_OFFICIO_REMOVAL,
            effective_date=date(2023, 5, 1),
            members=[child],
            note="実態調査により居住の事実なし",
        )
    )
    c = desk.get(child)
    assert c.status is Status.REMOVED
    assert c.removal_reason == "職権消除"
    assert c.last_event is EventKind.EX_OFFICIO_REMOVAL


# ------------------------------------------------------------------------------- 世帯分離


def test_household_split(desk: Desk, fam: tuple[str, list[str]]) -> None:
    h, (head, wife, child) = fam
    r = desk.record(
        HouseholdSplit(
            effective_date=date(2026, 5, 1),
            members=[child],
            address_detail="離れ",
            relationships={child: HEAD},
        )
    )
    (new_h,) = r.new_households
    c = desk.get(child)
    assert c.household_number == new_h
    assert c.relationship == HEAD
    assert (c.address, c.address_detail) == (ADDR_1, "離れ")
    assert c.last_event is EventKind.HOUSEHOLD_SPLIT
    assert [p.addressee_number for p in desk.household(h)] == sorted([head, wife])


def test_split_keeps_address_detail_by_default(desk: Desk, fam: tuple[str, list[str]]) -> None:
    _, (head, wife, child) = fam
    r = desk.record(
        HouseholdSplit(
            effective_date=date(2026, 5, 1),
            members=[head, wife],
            relationships={head: HEAD, child: HEAD},
        )
    )
    (new_h,) = r.new_households
    assert desk.heads(new_h) == [head]
    assert desk.get(wife).household_number == new_h
    assert desk.get(head).address_detail == ""
    assert desk.heads(desk.get(child).household_number) == [child]


def test_split_of_the_whole_household_is_refused(desk: Desk, fam: tuple[str, list[str]]) -> None:
    _, members = fam
    desk.refuse(
        HouseholdSplit(
            effective_date=date(2026, 5, 1), members=members, relationships={members[0]: HEAD}
        ),
        match="全員の分離",
        field="members",
    )


def test_split_without_a_head_for_the_new_household_is_refused(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    _, (_, _, child) = fam
    desk.refuse(
        HouseholdSplit(effective_date=date(2026, 5, 1), members=[child], relationships={}),
        match="世帯主が 0 人",
    )


def test_split_across_households_is_refused(desk: Desk, fam: tuple[str, list[str]]) -> None:
    _, (_, _, child) = fam
    _, (_, _, other_child) = desk.family(ADDR_1, surname="田中")
    desk.refuse(
        HouseholdSplit(
            effective_date=date(2026, 5, 1),
            members=[child, other_child],
            relationships={child: HEAD, other_child: "同居人"},
        ),
        field="members",
    )


# ------------------------------------------------------------------------------- 世帯合併


def test_household_merge(desk: Desk, fam: tuple[str, list[str]]) -> None:
    h, (head, _, _) = fam
    other, (oh, ow, oc) = desk.family(ADDR_1, surname="田中")
    r = desk.record(
        HouseholdMerge(
            effective_date=date(2021, 1, 1),
            from_household=other,
            into_household=h,
            relationships={oh: "同居人", ow: "同居人", oc: "同居人"},
        )
    )
    assert set(r.subjects) == {oh, ow, oc}
    assert r.new_households == ()
    assert desk.household(other) == []
    assert len(desk.household(h)) == 6
    assert desk.heads(h) == [head]
    assert desk.get(oc).relationship == "同居人"
    assert desk.get(oc).last_event is EventKind.HOUSEHOLD_MERGE


def test_merge_leaving_two_heads_is_refused(desk: Desk, fam: tuple[str, list[str]]) -> None:
    h, _ = fam
    other, _ = desk.family(ADDR_1, surname="田中")
    desk.refuse(
        HouseholdMerge(
            effective_date=date(2021, 1, 1),
            from_household=other,
            into_household=h,
            relationships={},
        ),
        match="世帯主が 2 人",
        field="relationships",
    )


def test_merge_of_households_at_different_addresses_is_refused(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    h, _ = fam
    other, (oh, _, _) = desk.family(ADDR_2, surname="田中")
    desk.refuse(
        HouseholdMerge(
            effective_date=date(2021, 1, 1),
            from_household=other,
            into_household=h,
            relationships={oh: "同居人"},
        ),
        match="同じ住所",
        field="into_household",
    )


def test_merge_with_itself_or_unknown_is_refused(desk: Desk, fam: tuple[str, list[str]]) -> None:
    h, (head, _, _) = fam
    desk.refuse(
        HouseholdMerge(
            effective_date=date(2021, 1, 1),
            from_household=h,
            into_household=h,
            relationships={head: HEAD},
        ),
        field="into_household",
    )
    desk.refuse(
        HouseholdMerge(
            effective_date=date(2021, 1, 1),
            from_household=UNKNOWN,
            into_household=h,
            relationships={},
        ),
        field="from_household",
    )


# ----------------------------------------------------------------------------- 世帯主変更


def test_head_change(desk: Desk, fam: tuple[str, list[str]]) -> None:
    h, (head, wife, child) = fam
    r = desk.record(
        HeadChange(
            effective_date=date(2022, 4, 1),
            household_number=h,
            relationships={wife: HEAD, head: "夫"},
        )
    )
    assert set(r.subjects) == {wife, head}
    assert desk.heads(h) == [wife]
    assert desk.get(head).relationship == "夫"
    assert desk.get(head).last_event is EventKind.HEAD_CHANGE
    assert desk.get(child).relationship == "長男"  # untouched
    assert len(desk.history(child)) == 1


def test_head_change_leaving_two_heads_is_refused(desk: Desk, fam: tuple[str, list[str]]) -> None:
    h, (_, wife, _) = fam
    desk.refuse(
        HeadChange(effective_date=date(2022, 4, 1), household_number=h, relationships={wife: HEAD}),
        match="世帯主が 2 人",
        field="relationships",
    )


def test_head_change_naming_a_non_member_is_refused(desk: Desk, fam: tuple[str, list[str]]) -> None:
    h, (head, _, _) = fam
    _, (oh, _, _) = desk.family(ADDR_2, surname="田中")
    desk.refuse(
        HeadChange(
            effective_date=date(2022, 4, 1),
            household_number=h,
            relationships={oh: HEAD, head: "同居人"},
        ),
        match="世帯員ではありません",
        field="relationships",
    )


# ------------------------------------------------------------------------------- 職権修正


def test_correction_stores_an_ivs_name_byte_identical(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    _, (head, _, _) = fam
    ivs_name = "葛\U000e0100西\u3000太郎"
    desk.record(
        Correction(
            effective_date=date(2023, 1, 1),
            member=head,
            fields=CorrectionFields(name=ivs_name, kana="カサイ タロウ"),
            reason="戸籍照合による氏名の誤記修正",
        )
    )
    p = desk.get(head)
    assert p.name == ivs_name
    assert p.name.encode("utf-8") == ivs_name.encode("utf-8")
    assert p.last_event is EventKind.CORRECTION
    stored = desk.sql(
        "SELECT name FROM person_versions WHERE addressee_number = :n AND is_current", n=head
    )
    assert stored == [(ivs_name,)]
    # Found by the folded name (without the selector) and by the reading.
    assert head in desk.search("葛西")
    assert head in desk.search("カサイ")
    assert head in desk.search(ivs_name)
    # History keeps the old name.
    assert [s.name for s, _ in desk.history(head)] == ["山田\u3000太郎", ivs_name]


def test_correction_of_several_fields(desk: Desk, fam: tuple[str, list[str]]) -> None:
    _, (_, wife, _) = fam
    desk.record(
        Correction(
            effective_date=date(2023, 1, 1),
            notified_date=date(2023, 1, 4),
            member=wife,
            fields=CorrectionFields(
                birth_date=date(1982, 2, 3),
                resident_code="10987654320",
                honseki="新潟県北蒲原郡聖籠町大字諏訪山1635番地4",
                hittousha="山田\u3000源蔵",
                postal_code="9570117",
                district="第2区",
            ),
            reason="届出の誤記",
        )
    )
    w = desk.get(wife)
    assert w.birth_date == date(1982, 2, 3)
    assert w.resident_code == "10987654320"
    assert w.honseki == "新潟県北蒲原郡聖籠町大字諏訪山1635番地4"
    assert w.hittousha == "山田\u3000源蔵"
    assert (w.postal_code, w.district) == ("9570117", "第2区")
    assert w.notified_on == date(2023, 1, 4)
    assert w.address == ADDR_1  # not where they live


def test_correction_requires_a_reason() -> None:
    with pytest.raises(ValidationError, match="reason"):
        Correction(
            effective_date=date(2023, 1, 1), member="0000000019", fields=CorrectionFields(kana="ア")
        )  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="reason"):
        Correction(
            effective_date=date(2023, 1, 1),
            member="0000000019",
            fields=CorrectionFields(kana="ア"),
            reason="",
        )


def test_correction_with_nothing_to_correct_is_refused(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    _, (head, _, _) = fam
    desk.refuse(
        Correction(
            effective_date=date(2023, 1, 1), member=head, fields=CorrectionFields(), reason="誤記"
        ),
        field="fields",
    )


def test_correction_with_bad_resident_code_is_refused(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    _, (head, _, _) = fam
    desk.refuse(
        Correction(
            effective_date=date(2023, 1, 1),
            member=head,
            fields=CorrectionFields(resident_code="123"),
            reason="誤記",
        ),
        field="fields.resident_code",
    )


def test_correction_with_a_wrong_check_digit_is_refused(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    _, (head, _, _) = fam
    desk.refuse(
        Correction(
            effective_date=date(2023, 1, 1),
            member=head,
            fields=CorrectionFields(resident_code="12345678901"),  # 12345678903 is right
            reason="誤記",
        ),
        match="検査数字",
        field="fields.resident_code",
    )


def _move_in(on: date, *persons: NewPerson, address: str = ADDR_2) -> MoveIn:
    return MoveIn(
        kind=EventKind.DOMESTIC_MOVE_IN,
        effective_date=on,
        previous_address=PREVIOUS,
        address=AddressIn(address=address),
        persons=list(persons),
    )


def test_a_resident_code_is_given_to_one_person_only(desk: Desk) -> None:
    """Seed 002: a code given to two people went unnoticed for five years. Refused within
    one event, against a resident, against the dead; a former resident who moved out is
    the same person coming back and keeps their code."""
    code, other = "12345678903", "98765432103"
    first = desk.record(
        _move_in(date(2020, 4, 1), person("佐藤\u3000健", HEAD, resident_code=code))
    ).subjects[0]
    # two new people of one 転入 with one code
    desk.refuse(
        _move_in(
            date(2021, 4, 1),
            person("鈴木\u3000一", HEAD, resident_code=other),
            person("鈴木\u3000二", "妻", sex=Sex.FEMALE, resident_code=other),
        ),
        match="二人",
        field="resident_code",
    )
    # a resident's code on a newcomer, by 転入, by birth and by correction
    desk.refuse(
        _move_in(date(2021, 4, 1), person("鈴木\u3000一", HEAD, resident_code=code)),
        match=f"宛名番号 {first}",
        field="resident_code",
    )
    newcomer = desk.record(
        _move_in(date(2021, 4, 1), person("鈴木\u3000一", HEAD, resident_code=other))
    ).subjects[0]
    desk.refuse(
        Correction(
            effective_date=date(2022, 1, 1),
            member=newcomer,
            fields=CorrectionFields(resident_code=code),
            reason="誤記",
        ),
        match="既に",
        field="resident_code",
    )
    household = desk.get(newcomer).household_number
    desk.refuse(
        Birth(
            effective_date=date(2022, 2, 2),
            household_number=household,
            person=person("鈴木\u3000三", "子", date(2022, 2, 2), resident_code=code),
        ),
        match="既に",
        field="resident_code",
    )
    # the dead keep theirs
    desk.record(Removal(kind=EventKind.DEATH, effective_date=date(2022, 3, 1), members=[first]))
    desk.refuse(
        _move_in(date(2022, 4, 1), person("高橋\u3000一", HEAD, resident_code=code)),
        match="既に",
    )
    # one who moved out and comes back is entered again under the code they kept
    desk.record(
        Removal(
            kind=EventKind.DOMESTIC_MOVE_OUT,
            effective_date=date(2022, 5, 1),
            members=[newcomer],
            destination_address="新潟県新潟市中央区1番地",
        )
    )
    back = desk.record(
        _move_in(date(2023, 5, 1), person("鈴木\u3000一", HEAD, resident_code=other))
    ).subjects[0]
    assert back != newcomer and desk.get(back).resident_code == other


def test_an_individual_number_is_given_to_one_person_only(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    _, (head, wife, _) = fam
    number = "123456789018"  # check digit 8 of 12345678901
    assert validate_individual_number(number) == number
    desk.record(
        Correction(
            effective_date=date(2023, 1, 1),
            member=head,
            fields=CorrectionFields(individual_number=number),
            reason="番号の記載",
        )
    )
    desk.refuse(
        Correction(
            effective_date=date(2023, 1, 2),
            member=wife,
            fields=CorrectionFields(individual_number=number),
            reason="番号の記載",
        ),
        match="個人番号",
        field="individual_number",
    )


def test_correction_making_a_second_head_is_refused(desk: Desk, fam: tuple[str, list[str]]) -> None:
    _, (_, wife, _) = fam
    desk.refuse(
        Correction(
            effective_date=date(2023, 1, 1),
            member=wife,
            fields=CorrectionFields(relationship=HEAD),
            reason="誤記",
        ),
        match="世帯主が 2 人",
    )


def test_correction_of_birth_date_after_residence_is_refused(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    _, (_, _, child) = fam
    desk.refuse(
        Correction(
            effective_date=date(2023, 1, 1),
            member=child,
            fields=CorrectionFields(birth_date=date(2011, 1, 1)),  # moved in 2010-04-01
            reason="誤記",
        ),
        field="effective_date",
    )


# --------------------------------------------------------------------------- date rules


def test_event_dated_before_the_persons_last_event_is_refused(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    h, (head, wife, child) = fam
    desk.record(
        MoveWithin(
            effective_date=date(2018, 9, 1),
            members=[head, wife, child],
            address=AddressIn(address=ADDR_2),
        )
    )
    before_move = date(2018, 8, 31)
    desk.refuse(
        Removal(kind=EventKind.DEATH, effective_date=before_move, members=[child]),
        match="最後の異動日",
        field="effective_date",
    )
    desk.refuse(
        Correction(
            effective_date=before_move,
            member=child,
            fields=CorrectionFields(kana="イチロウ"),
            reason="誤記",
        ),
        field="effective_date",
    )
    desk.refuse(
        HeadChange(
            effective_date=before_move, household_number=h, relationships={wife: HEAD, head: "夫"}
        ),
        field="effective_date",
    )
    desk.refuse(
        Birth(
            effective_date=before_move,
            household_number=h,
            person=person("山田\u3000三郎", "子", before_move),
        ),
        field="effective_date",
    )
    # The same day as the last event is allowed.
    desk.record(
        Correction(
            effective_date=date(2018, 9, 1),
            member=child,
            fields=CorrectionFields(kana="イチロウ"),
            reason="誤記",
        )
    )


def test_future_effective_date_is_refused(desk: Desk, fam: tuple[str, list[str]]) -> None:
    h, (_, _, child) = fam
    tomorrow = date.fromordinal(TODAY.toordinal() + 1)
    desk.refuse(
        Removal(kind=EventKind.DEATH, effective_date=tomorrow, members=[child]),
        match="未来",
        field="effective_date",
    )
    desk.refuse(
        MoveIn(
            kind=EventKind.DOMESTIC_MOVE_IN,
            effective_date=tomorrow,
            previous_address=PREVIOUS,
            address=AddressIn(address=ADDR_2),
            persons=[person("明日\u3000来男", HEAD)],
        ),
        field="effective_date",
    )
    desk.refuse(
        Birth(
            effective_date=tomorrow,
            household_number=h,
            person=person("山田\u3000三郎", "子", tomorrow),
        ),
        field="effective_date",
    )
    # Today itself is fine.
    desk.record(Removal(kind=EventKind.DEATH, effective_date=TODAY, members=[child]))


def test_notified_date_rules(desk: Desk, fam: tuple[str, list[str]]) -> None:
    _, (_, _, child) = fam
    desk.refuse(
        Removal(
            kind=EventKind.DEATH,
            effective_date=date(2024, 1, 10),
            notified_date=date(2024, 1, 9),
            members=[child],
        ),
        match="届出日が異動日より前",
        field="notified_date",
    )
    desk.refuse(
        Removal(
            kind=EventKind.DEATH,
            effective_date=date(2024, 1, 10),
            notified_date=date.fromordinal(TODAY.toordinal() + 1),
            members=[child],
        ),
        field="notified_date",
    )


# ------------------------------------------------------------------ removed / unknown people


def _removed_child(desk: Desk, fam: tuple[str, list[str]]) -> str:
    _, (_, _, child) = fam
    desk.record(
        Removal(
            kind=EventKind.DOMESTIC_MOVE_OUT,
            effective_date=date(2020, 1, 1),
            members=[child],
            destination_address="新潟県新発田市",
        )
    )
    return child


@pytest.mark.parametrize("who", ["removed", "unknown"])
def test_acting_on_a_removed_or_unknown_person_is_refused(
    desk: Desk, fam: tuple[str, list[str]], who: str
) -> None:
    h, (head, _, _) = fam
    n = _removed_child(desk, fam) if who == "removed" else UNKNOWN
    d = date(2021, 1, 1)
    desk.refuse(
        Removal(kind=EventKind.DEATH, effective_date=d, members=[n]), match="住民ではありません"
    )
    desk.refuse(
        Removal(
            kind=EventKind.DOMESTIC_MOVE_OUT,
            effective_date=d,
            members=[n],
            destination_address="東京都",
        ),
        field="members",
    )
    desk.refuse(
        MoveWithin(effective_date=d, members=[n], address=AddressIn(address=ADDR_2)),
        field="members",
    )
    desk.refuse(
        Correction(effective_date=d, member=n, fields=CorrectionFields(kana="ア"), reason="誤記"),
        field="member",
    )
    desk.refuse(
        HouseholdSplit(effective_date=d, members=[n], relationships={n: HEAD}), field="members"
    )
    desk.refuse(
        HeadChange(effective_date=d, household_number=h, relationships={n: HEAD, head: "同居人"}),
        field="relationships",
    )


def test_removed_person_cannot_be_found_as_resident_but_history_remains(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    child = _removed_child(desk, fam)
    assert desk.get(child).status is Status.REMOVED
    assert len(desk.history(child)) == 2
    with pytest.raises(NotFoundError), desk.platform.town(TOWN_A) as town:
        queries.get_person(town, UNKNOWN)


# ----------------------------------------------------------------- payload validation


def test_bad_relationship_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="続柄"):
        person("山田\u3000太郎", "王様")
    with pytest.raises(ValidationError):
        person("山田\u3000太郎", "")


@pytest.mark.parametrize(
    "code", ["123", "1234567890a", "123456789012", "１２３４５６７８９０１", "12345678901"]
)
def test_bad_resident_code_is_a_validation_error(code: str) -> None:
    with pytest.raises(ValidationError, match="住民票コード"):
        person("山田\u3000太郎", HEAD, resident_code=code)


def test_empty_resident_code_means_none() -> None:
    assert person("山田\u3000太郎", HEAD, resident_code="").resident_code is None


@pytest.mark.parametrize("name", ["", "   ", "\u3000"])
def test_blank_name_is_a_validation_error(name: str) -> None:
    with pytest.raises(ValidationError):
        person(name, HEAD)


def test_other_bad_payloads_are_validation_errors() -> None:
    with pytest.raises(ValidationError):
        AddressIn(address="")
    with pytest.raises(ValidationError):
        AddressIn(address=ADDR_1, postal_code="957-0100")
    with pytest.raises(ValidationError):
        MoveIn(
            kind=EventKind.DOMESTIC_MOVE_IN,
            effective_date=date(2020, 1, 1),
            previous_address=PREVIOUS,
            address=AddressIn(address=ADDR_1),
            persons=[],
        )
    with pytest.raises(ValidationError):
        MoveIn(
            kind=EventKind.BIRTH,
            effective_date=date(2020, 1, 1),
            persons=[person("a\u3000b", HEAD)],
        )  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Removal(kind=EventKind.MOVE_WITHIN, effective_date=date(2020, 1, 1), members=["0000000019"])  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Removal(kind=EventKind.DEATH, effective_date=date(2020, 1, 1), members=[])
    with pytest.raises(ValidationError, match="extra"):
        Removal(
            kind=EventKind.DEATH, effective_date=date(2020, 1, 1), members=["0000000019"], cause="x"
        )  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        CorrectionFields(postal_code="abc")


@pytest.mark.parametrize("where", ["head_change", "removal", "correction"])
def test_bad_relationship_in_relationships_is_refused_cleanly(
    desk: Desk, fam: tuple[str, list[str]], where: str
) -> None:
    h, (head, wife, child) = fam
    d = date(2022, 1, 1)
    before = desk.snapshot()
    try:
        if where == "head_change":
            event: AnyEvent = HeadChange(
                effective_date=d, household_number=h, relationships={wife: HEAD, head: "王様"}
            )
        elif where == "removal":
            event = Removal(
                kind=EventKind.DEATH,
                effective_date=d,
                members=[child],
                relationships={wife: "王様"},
            )
        else:
            event = Correction(
                effective_date=d,
                member=child,
                fields=CorrectionFields(relationship="王様"),
                reason="誤記",
            )
    except ValidationError:
        return  # refused at construction, as NewPerson.relationship is
    with pytest.raises(RuleViolationError), desk.platform.town(TOWN_A) as town:
        record_event(town, desk.ctx, event, today=TODAY)
    assert desk.snapshot() == before


# --------------------------------------------------------------- cross-household relabels


def test_relabelled_member_with_a_later_event_is_date_checked(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    _, (head, wife, child) = fam
    desk.record(
        Correction(
            effective_date=date(2020, 5, 1),
            member=wife,
            fields=CorrectionFields(kana="ハナコ"),
            reason="誤記",
        )
    )
    # The head died on 2020-03-01 (after his own last event, but before the wife's).
    desk.refuse(
        Removal(
            kind=EventKind.DEATH,
            effective_date=date(2020, 3, 1),
            members=[head],
            relationships={wife: HEAD, child: "子"},
        ),
        field="effective_date",
    )


def test_relationships_cannot_relabel_an_unrelated_household(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    _, (_, _, child) = fam
    desk.refuse(
        MoveIn(
            kind=EventKind.DOMESTIC_MOVE_IN,
            effective_date=date(2021, 1, 1),
            previous_address=PREVIOUS,
            address=AddressIn(address=ADDR_3),
            persons=[person("鈴木\u3000三郎", HEAD)],
            relationships={child: "孫"},
        ),
        field="relationships",
    )


# ------------------------------------------------------------------------- bookkeeping


def test_every_event_kind_is_journalled_and_audited_once(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    h, (head, wife, child) = fam
    other, (oh, ow, oc) = desk.family(ADDR_1, on=date(2011, 1, 1), surname="田中")
    born = date(2012, 2, 2)
    desk.record(
        Birth(
            effective_date=born, household_number=h, person=person("山田\u3000二郎", "二男", born)
        )
    )
    desk.record(
        MoveWithin(
            effective_date=date(2013, 1, 1),
            members=[oc],
            address=AddressIn(address=ADDR_2),
            relationships={oc: HEAD},
        )
    )
    desk.record(
        HeadChange(
            effective_date=date(2014, 1, 1),
            household_number=other,
            relationships={ow: HEAD, oh: "夫"},
        )
    )
    desk.record(
        HouseholdMerge(
            effective_date=date(2015, 1, 1),
            from_household=other,
            into_household=h,
            relationships={ow: "同居人", oh: "同居人"},
        )
    )
    desk.record(
        HouseholdSplit(
            effective_date=date(2016, 1, 1), members=[oh, ow], relationships={ow: HEAD, oh: "夫"}
        )
    )
    desk.record(
        Removal(
            kind=EventKind.FOREIGN_MOVE_OUT,
            effective_date=date(2017, 1, 1),
            members=[oc],
            destination_address="英国",
        )
    )
    desk.record(
        Correction(
            effective_date=date(2018, 1, 1),
            member=child,
            fields=CorrectionFields(kana="ヤマダ イチロウ"),
            reason="誤記",
        )
    )
    desk.record(
        MoveIn(
            kind=EventKind.EX_OFFICIO_ENTRY,
            effective_date=date(2019, 1, 1),
            household_number=h,
            persons=[person("山田\u3000トメ", "母", date(1940, 1, 1))],
        )
    )
    desk.record(
        Removal(kind=EventKind.EX_OFFICIO_REMOVAL, effective_date=date(2020, 1, 1), members=[wife])
    )
    kinds = [r[0] for r in desk.sql("SELECT kind FROM life_events ORDER BY id")]
    assert kinds == [
        "domestic_move_in",
        "domestic_move_in",
        "birth",
        "move_within",
        "head_change",
        "household_merge",
        "household_split",
        "foreign_move_out",
        "correction",
        "ex_officio_entry",
        "ex_officio_removal",
    ]
    # One journal entry and one audit entry per event, linked, seq without gaps.
    rows = desk.sql(
        "SELECT j.seq, j.audit_seq, a.action FROM journal j "
        "JOIN audit_entries a ON a.seq = j.audit_seq ORDER BY j.seq"
    )
    assert [r[0] for r in rows] == list(range(1, len(kinds) + 1))
    assert [r[1] for r in rows] == list(range(1, len(kinds) + 1))
    assert {r[2] for r in rows} == {"life_event"}
    # Changed (not new) people: the old version's closing is journalled as an update.
    (changes,) = desk.sql("SELECT changes FROM journal ORDER BY seq DESC LIMIT 1")[0]
    updates = [
        c for c in as_json(changes) if c["table"] == "person_versions" and c["op"] == "update"
    ]
    assert [u["row"]["addressee_number"] for u in updates] == [wife]
    assert updates[0]["row"]["is_current"] is False
    assert updates[0]["row"]["valid_to"] == "2020-01-01"
    assert head  # (the head stays the head throughout)
    assert desk.heads(h) == [head]


def test_journal_carries_the_audit_rows(desk: Desk, fam: tuple[str, list[str]]) -> None:
    _, members = fam
    (changes,) = desk.sql("SELECT changes FROM journal ORDER BY seq DESC LIMIT 1")[0]
    images = as_json(changes)
    stored_hash = desk.sql("SELECT entry_hash FROM audit_entries WHERE seq = 1")[0][0]
    entries = [c["row"] for c in images if c["table"] == "audit_entries" and c["op"] == "insert"]
    assert [e["entry_hash"] for e in entries] == [stored_hash]
    # the people concerned travel inside the audit entry; audit_subjects (an index derived
    # from it) is rebuilt by the replica, not shipped
    assert sorted(entries[0]["subjects"]) == sorted(members)
    assert not [c for c in images if c["table"] == "audit_subjects"]


# ------------------------------------------------------- foreign residents (外国人住民)

FOREIGN = {
    "nationality": "ベトナム",
    "foreign_category": "中長期在留者",
    "residence_status": "特定技能1号",
    "stay_expires_on": date(2027, 9, 30),
    "residence_card_number": "AB12345678CD",
}


@pytest.mark.parametrize(
    "items",
    [
        {**FOREIGN, "residence_status": "永住者", "stay_expires_on": None},
        {**FOREIGN, "residence_status": "高度専門職1号イ"},
        {**FOREIGN, "residence_status": "永住者の配偶者等"},
        {"nationality": "韓国", "foreign_category": "特別永住者"},
        {"nationality": "ミャンマー", "foreign_category": "仮滞在許可者", "stay_expires_on": TODAY},
        {"nationality": "ブラジル", "foreign_category": "出生による経過滞在者"},
    ],
)
def test_foreign_resident_kinds_accepted(desk: Desk, items: dict[str, Any]) -> None:
    r = desk.record(
        MoveIn(
            kind=EventKind.FOREIGN_MOVE_IN,
            effective_date=date(2024, 4, 1),
            previous_address="海外",
            address=AddressIn(address=ADDR_3),
            persons=[person("SILVA\u3000ANA", HEAD, **items)],
        )
    )
    assert desk.get(r.subjects[0]).foreign_category == items["foreign_category"]


def test_foreign_resident_moves_in_with_their_items(desk: Desk) -> None:
    r = desk.record(
        MoveIn(
            kind=EventKind.FOREIGN_MOVE_IN,
            effective_date=date(2024, 4, 1),
            previous_address="ベトナム",
            address=AddressIn(address=ADDR_2),
            persons=[
                person("NGUYEN\u3000VAN NAM", HEAD, kana="グエン\u3000ヴァン ナム", **FOREIGN)
            ],
        )
    )
    p = desk.get(r.subjects[0])
    assert p.is_foreign
    assert (p.nationality, p.residence_status, p.stay_expires_on) == (
        "ベトナム",
        "特定技能1号",
        date(2027, 9, 30),
    )
    assert desk.search("グエン") == [p.addressee_number]


@pytest.mark.parametrize(
    ("items", "field", "match"),
    [
        ({"nationality": "ベトナム"}, "foreign_category", "区分が必要"),
        ({**FOREIGN, "residence_status": None}, "residence_status", "在留資格が必要"),
        ({**FOREIGN, "residence_status": "観光"}, "residence_status", "使えません"),
        ({**FOREIGN, "residence_card_number": "ab12345678cd"}, "residence_card_number", "英字2桁"),
        ({**FOREIGN, "honseki": "新潟県聖籠町"}, "honseki", "本籍"),
        ({"residence_status": "永住者"}, "residence_status", "日本国籍"),
        (
            {"nationality": "韓国", "foreign_category": "特別永住者", "stay_expires_on": TODAY},
            "residence_status",
            "特別永住者",
        ),
        (
            {**FOREIGN, "residence_status": "短期滞在"},
            "residence_status",
            "中長期在留者ではありません",
        ),
        ({**FOREIGN, "residence_status": "永住者1号ロ"}, "residence_status", "使えません"),
        ({**FOREIGN, "residence_status": "特定技能3号"}, "residence_status", "使えません"),
        ({**FOREIGN, "residence_status": "永住者"}, "stay_expires_on", "永住者には"),
        ({**FOREIGN, "stay_expires_on": None}, "stay_expires_on", "満了の日が必要"),
        (
            {**FOREIGN, "foreign_category": "仮滞在許可者", "residence_status": None},
            "residence_card_number",
            "在留カードがありません",
        ),
        (
            {**FOREIGN, "foreign_category": "一時庇護許可者"},
            "residence_status",
            "在留資格がありません",
        ),
        (
            {
                "nationality": "ベトナム",
                "foreign_category": "出生による経過滞在者",
                "stay_expires_on": TODAY,
            },
            "stay_expires_on",
            "在留期間がありません",
        ),
    ],
)
def test_foreign_resident_rules(desk: Desk, items: dict[str, Any], field: str, match: str) -> None:
    desk.refuse(
        MoveIn(
            kind=EventKind.FOREIGN_MOVE_IN,
            effective_date=date(2024, 4, 1),
            previous_address="ベトナム",
            address=AddressIn(address=ADDR_2),
            persons=[person("NGUYEN\u3000VAN NAM", HEAD, **items)],
        ),
        match=match,
        field=field,
    )


def test_correction_records_and_clears_foreign_items(
    desk: Desk, fam: tuple[str, list[str]]
) -> None:
    """A wife becomes a recorded foreign resident (her residence card), then naturalises
    (帰化): the items are cleared and a 本籍 recorded, in one correction each."""
    _, (_, wife, _) = fam
    desk.record(
        Correction(
            effective_date=date(2020, 1, 1),
            member=wife,
            fields=CorrectionFields(**FOREIGN),
            reason="在留カードによる",
        )
    )
    assert desk.get(wife).residence_card_number == "AB12345678CD"
    desk.refuse(
        Correction(
            effective_date=date(2021, 1, 1),
            member=wife,
            fields=CorrectionFields(nationality="中国"),
            cleared=["nationality"],
            reason="誤り",
        ),
        match="両方",
        field="cleared",
    )
    desk.refuse(  # a 本籍 while still a foreign national
        Correction(
            effective_date=date(2021, 1, 1),
            member=wife,
            fields=CorrectionFields(honseki="新潟県北蒲原郡聖籠町"),
            reason="帰化",
        ),
        field="honseki",
    )
    desk.record(
        Correction(
            effective_date=date(2021, 1, 1),
            member=wife,
            fields=CorrectionFields(honseki="新潟県北蒲原郡聖籠町", hittousha="山田\u3000太郎"),
            cleared=[
                "nationality",
                "foreign_category",
                "residence_status",
                "stay_expires_on",
                "residence_card_number",
            ],
            reason="帰化",
        )
    )
    after = desk.get(wife)
    assert not after.is_foreign and after.residence_card_number is None
    assert after.honseki == "新潟県北蒲原郡聖籠町"
    # the history keeps the earlier version with the items
    assert any(v.nationality == "ベトナム" for v, _ in desk.history(wife))


def test_a_number_series_made_by_two_writers_at_once(platform: Platform) -> None:
    """Two first uses of a series at once, from two processes (two Platforms: one process
    queues its own writers of a town on a lock; on PostgreSQL both find no row and both
    insert): neither fails, and they take different numbers."""
    import threading  # noqa: PLC0415
    import time  # noqa: PLC0415

    from lgcloud.register.service import locked_sequence  # noqa: PLC0415

    inserted = threading.Event()
    taken: list[int] = []
    errors: list[BaseException] = []

    other = Platform(platform.data_dir, database_url=platform.database_url)

    def take(first: bool) -> None:
        try:
            if not first:
                inserted.wait(5)
            with (platform if first else other).town(TOWN_A) as t:
                row = locked_sequence(t, "race")
                taken.append(row.next_value)
                row.next_value += 1
                if first:
                    t.session.flush()
                    inserted.set()
                    time.sleep(0.5)  # the other writer meets this uncommitted row
        except BaseException as e:
            errors.append(e)
            inserted.set()

    threads = [threading.Thread(target=take, args=(f,)) for f in (True, False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    other.dispose()
    assert errors == []
    assert sorted(taken) == [1, 2]
