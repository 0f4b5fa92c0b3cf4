"""The register's life-event handlers, one by one, as pure functions on an in-memory
register (no database): what each changes, which households it creates and touches, and
what it refuses. The whole write path of every kind (rows, audit, journal) is in
test_life_events.py; here each handler of ``register.domain.HANDLERS`` has its own tests."""

from __future__ import annotations

from datetime import date
from typing import get_args

import pytest

from lgcloud.core.errors import RuleViolationError
from lgcloud.register.domain import (
    HANDLERS,
    HEAD,
    IMPORT_ONLY_KINDS,
    AddressIn,
    Birth,
    Correction,
    CorrectionFields,
    Event,
    EventKind,
    HeadChange,
    HouseholdMerge,
    HouseholdSplit,
    MoveIn,
    MoveWithin,
    NewPerson,
    PersonState,
    Register,
    Removal,
    Sex,
    Status,
    _Change,
    apply_event,
)

TODAY = date(2026, 4, 1)
DAY = date(2026, 3, 20)
HOME = "聖籠町大字諏訪山1番地"
OTHER = "聖籠町大字蓮野3番地"


def state(number: str, household: str, rel: str, address: str = HOME, **kw: object) -> PersonState:
    values: dict[str, object] = {
        "addressee_number": number,
        "status": Status.RESIDENT,
        "name": f"住民　{number[-2:]}",
        "kana": "",
        "birth_date": date(1980, 1, 1),
        "sex": Sex.MALE,
        "resident_code": None,
        "household_number": household,
        "relationship": rel,
        "address": address,
        "address_detail": "",
        "postal_code": "9570100",
        "district": "諏訪山",
        "resident_since": date(2000, 1, 1),
        "settled_on": date(2000, 1, 1),
        "notified_on": None,
        "last_event": EventKind.INITIAL_LOAD,
        "valid_from": date(2000, 1, 1),
    }
    values.update(kw)
    return PersonState(**values)  # type: ignore[arg-type]


def register() -> Register:
    """Two households at one address (H1: head 01, wife 02, child 03; H2: head 04) and one
    elsewhere (H3: head 05)."""
    return Register(
        {
            "H1": [state("P01", "H1", HEAD), state("P02", "H1", "妻"), state("P03", "H1", "子")],
            "H2": [state("P04", "H2", HEAD)],
            "H3": [state("P05", "H3", HEAD, address=OTHER)],
        },
        TODAY,
    )


def run(event: Event, reg: Register | None = None) -> _Change:
    """The event's handler alone, with numbers issued N01…, household numbers HN1…."""
    numbers = iter(f"N{i:02d}" for i in range(1, 99))
    households = iter(f"HN{i}" for i in range(1, 9))
    c = _Change(event, reg or register(), lambda: next(numbers), lambda: next(households))
    HANDLERS[EventKind(event.kind)](event, c)
    return c


def new_person(name: str = "新生　太郎", rel: str = "子", born: date = DAY) -> NewPerson:
    return NewPerson(name=name, birth_date=born, sex=Sex.MALE, relationship=rel)


def test_every_kind_of_life_event_has_a_handler_and_every_event_model_reaches_one() -> None:
    kinds = set(EventKind) - IMPORT_ONLY_KINDS  # written by the import, never applied
    assert set(HANDLERS) == kinds
    for model in get_args(Event):
        for kind in get_args(model.model_fields["kind"].annotation):
            assert kind in HANDLERS, (model.__name__, kind)


def test_birth_enters_a_child_into_the_household_at_its_address() -> None:
    c = run(Birth(effective_date=DAY, household_number="H1", person=new_person()))
    (child,) = c.changed.values()
    assert (child.addressee_number, child.household_number, child.address) == ("N01", "H1", HOME)
    assert (child.resident_since, child.previous_address) == (DAY, None)
    assert c.touched == {"H1"} and c.new_households == []


def test_birth_is_refused_when_the_date_is_not_the_birth_date() -> None:
    with pytest.raises(RuleViolationError) as e:
        run(Birth(effective_date=DAY, household_number="H1", person=new_person(born=TODAY)))
    assert e.value.field == "effective_date"


def test_move_in_creates_a_household_at_the_given_address_or_joins_one() -> None:
    c = run(
        MoveIn(
            kind=EventKind.DOMESTIC_MOVE_IN,
            effective_date=DAY,
            persons=[new_person("転入　一郎", HEAD, date(1970, 1, 1))],
            address=AddressIn(address=OTHER),
            previous_address="東京都千代田区千代田1番1号",
        )
    )
    assert c.new_households == ["HN1"] and c.touched == {"HN1"}
    assert c.changed["N01"].previous_address == "東京都千代田区千代田1番1号"
    joined = run(
        MoveIn(
            kind=EventKind.DOMESTIC_MOVE_IN,
            effective_date=DAY,
            persons=[new_person("転入　花子", "母", date(1950, 1, 1))],
            household_number="H2",
            previous_address="新潟市",
        )
    )
    assert joined.new_households == [] and joined.changed["N01"].household_number == "H2"


def test_move_in_needs_a_previous_address_except_ex_officio_and_one_destination() -> None:
    with pytest.raises(RuleViolationError) as e:
        run(
            MoveIn(
                kind=EventKind.DOMESTIC_MOVE_IN,
                effective_date=DAY,
                persons=[new_person(rel=HEAD, born=date(1970, 1, 1))],
                address=AddressIn(address=OTHER),
            )
        )
    assert e.value.field == "previous_address"
    entry = run(
        MoveIn(
            kind=EventKind.EX_OFFICIO_ENTRY,
            effective_date=DAY,
            persons=[new_person(rel=HEAD, born=date(1970, 1, 1))],
            address=AddressIn(address=OTHER),
        )
    )
    assert entry.changed["N01"].status is Status.RESIDENT
    with pytest.raises(RuleViolationError) as e:
        run(
            MoveIn(
                kind=EventKind.DOMESTIC_MOVE_IN,
                effective_date=DAY,
                persons=[new_person(rel=HEAD)],
                household_number="H2",
                address=AddressIn(address=OTHER),
                previous_address="新潟市",
            )
        )
    assert e.value.field == "address"


def test_move_within_of_a_whole_household_keeps_its_number() -> None:
    c = run(MoveWithin(effective_date=DAY, members=["P04"], address=AddressIn(address=OTHER)))
    assert c.changed["P04"].household_number == "H2" and c.changed["P04"].address == OTHER
    assert c.new_households == [] and c.touched == {"H2"}


def test_move_within_of_part_of_a_household_starts_a_new_one() -> None:
    c = run(
        MoveWithin(
            effective_date=DAY,
            members=["P03"],
            address=AddressIn(address=OTHER),
            relationships={"P03": HEAD},
        )
    )
    assert c.new_households == ["HN1"] and c.touched == {"H1", "HN1"}
    assert (c.changed["P03"].household_number, c.changed["P03"].relationship) == ("HN1", HEAD)


def test_move_within_into_a_household_must_name_its_address() -> None:
    with pytest.raises(RuleViolationError) as e:
        run(
            MoveWithin(
                effective_date=DAY,
                members=["P04"],
                address=AddressIn(address=HOME),
                into_household="H3",
                relationships={"P04": "同居人"},
            )
        )
    assert e.value.field == "address"


def test_removal_removes_with_its_reason_and_a_move_out_needs_a_destination() -> None:
    c = run(Removal(kind=EventKind.DEATH, effective_date=DAY, members=["P05"]))
    gone = c.changed["P05"]
    assert (gone.status, gone.removed_on, gone.removal_reason) == (Status.REMOVED, DAY, "死亡")
    with pytest.raises(RuleViolationError) as e:
        run(Removal(kind=EventKind.DOMESTIC_MOVE_OUT, effective_date=DAY, members=["P05"]))
    assert e.value.field == "destination_address"


def test_household_split_moves_members_to_a_new_household_at_the_same_address() -> None:
    c = run(HouseholdSplit(effective_date=DAY, members=["P03"], relationships={"P03": HEAD}))
    assert c.new_households == ["HN1"] and c.touched == {"H1", "HN1"}
    assert c.changed["P03"].address == HOME


def test_household_split_refuses_the_whole_household_or_two_households() -> None:
    with pytest.raises(RuleViolationError):
        run(
            HouseholdSplit(
                effective_date=DAY, members=["P01", "P02", "P03"], relationships={"P01": HEAD}
            )
        )
    with pytest.raises(RuleViolationError) as e:
        run(HouseholdSplit(effective_date=DAY, members=["P03", "P04"], relationships={"P03": HEAD}))
    assert e.value.field == "members"


def test_household_merge_joins_households_at_the_same_address_only() -> None:
    c = run(
        HouseholdMerge(
            effective_date=DAY,
            from_household="H2",
            into_household="H1",
            relationships={"P04": "父"},
        )
    )
    assert c.changed["P04"].household_number == "H1" and c.touched == {"H1", "H2"}
    with pytest.raises(RuleViolationError) as e:
        run(
            HouseholdMerge(
                effective_date=DAY,
                from_household="H3",
                into_household="H1",
                relationships={"P05": "父"},
            )
        )
    assert e.value.field == "into_household"


def test_head_change_relabels_members_of_that_household_only() -> None:
    c = run(
        HeadChange(
            effective_date=DAY,
            household_number="H1",
            relationships={"P02": HEAD, "P01": "夫"},
        )
    )
    assert c.changed["P02"].relationship == HEAD and c.changed["P01"].relationship == "夫"
    with pytest.raises(RuleViolationError) as e:
        run(HeadChange(effective_date=DAY, household_number="H1", relationships={"P04": HEAD}))
    assert e.value.field == "relationships"


def test_correction_changes_the_fields_named_and_an_address_field_for_the_household() -> None:
    c = run(
        Correction(
            effective_date=DAY,
            member="P02",
            fields=CorrectionFields(kana="ジュウミン", postal_code="9570101"),
            reason="届出の誤記",
        )
    )
    assert c.changed["P02"].kana == "ジュウミン"
    assert {n: s.postal_code for n, s in c.changed.items()} == dict.fromkeys(
        ("P02", "P01", "P03"), "9570101"
    )
    assert c.changed["P01"].kana == ""  # only the address field is the household's


def test_correction_refuses_nothing_to_change_and_a_field_both_set_and_cleared() -> None:
    with pytest.raises(RuleViolationError) as e:
        run(Correction(effective_date=DAY, member="P02", fields=CorrectionFields(), reason="x"))
    assert e.value.field == "fields"
    with pytest.raises(RuleViolationError) as e:
        run(
            Correction(
                effective_date=DAY,
                member="P02",
                fields=CorrectionFields(honseki="新潟県"),
                cleared=["honseki"],
                reason="x",
            )
        )
    assert e.value.field == "cleared"


def test_apply_event_dates_every_changed_person_and_checks_the_invariants() -> None:
    """After the handler: every changed person carries the event as their latest (the
    head's relabelled wife too) and a household left without a head is refused."""
    out = apply_event(
        Removal(
            kind=EventKind.DEATH, effective_date=DAY, members=["P01"], relationships={"P02": HEAD}
        ),
        register(),
        issue_addressee_number=lambda: "N01",
        issue_household_number=lambda: "HN1",
    )
    by_number = {s.addressee_number: s for s in out.changed}
    assert {s.last_event for s in out.changed} == {EventKind.DEATH}
    assert {s.valid_from for s in out.changed} == {DAY}
    assert by_number["P02"].relationship == HEAD and out.households == ("H1",)
    with pytest.raises(RuleViolationError):
        apply_event(
            Removal(kind=EventKind.DEATH, effective_date=DAY, members=["P01"]),
            register(),
            issue_addressee_number=lambda: "N01",
            issue_household_number=lambda: "HN1",
        )
