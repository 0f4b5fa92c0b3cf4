"""Random sequences of life events against a real town database (Hypothesis stateful).

Each step applies one life event with random (valid-ish) participants and dates moving
forward from 2000-01-01 towards TODAY. Refusals are fine but must change nothing; after
every step the register's invariants are checked by querying the database directly.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import defaultdict
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import select, text

from conftest import TODAY, TOWN_A, make_ctx, make_platform
from lgcloud.audit import service as audit_service
from lgcloud.core.errors import RuleViolationError
from lgcloud.onboarding import onboard_town
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
from lgcloud.register.models import PersonVersion
from lgcloud.register.service import AnyEvent, EventResult, record_event, state_of

START = date(2000, 1, 1)
ADDRESSES = [
    AddressIn(address="聖籠町大字諏訪山1番地", postal_code="9570117", district="諏訪山"),
    AddressIn(address="聖籠町大字諏訪山1番地", address_detail="離れ", district="諏訪山"),
    AddressIn(address="聖籠町大字諏訪山1番地", postal_code="9570117", district="諏訪山"),
    AddressIn(address="聖籠町大字蓮野2番地"),
    AddressIn(address="聖籠町大字東港三丁目3番地", address_detail="コーポ東港101"),
]
MEMBER_RELATIONSHIPS = ["妻", "夫", "子", "長男", "長女", "母", "父", "孫", "同居人", "縁故者"]
SURNAMES = ["山田", "佐藤", "髙橋", "齋藤", "葛\U000e0100西", "渡邊"]
REMOVALS = [
    EventKind.DOMESTIC_MOVE_OUT,
    EventKind.FOREIGN_MOVE_OUT,
    EventKind.DEATH,
    EventKind.EX_OFFICIO_REMOVAL,
]

Households = dict[str, list[PersonState]]


def likely(data: st.DataObject, label: str) -> bool:
    """True three times out of four."""
    return data.draw(st.sampled_from([True, True, True, False]), label=label)


def subset(data: st.DataObject, items: list[Any], *, allow_all: bool = True) -> list[Any]:
    """A non-empty subset (in order); a proper subset unless ``allow_all``."""
    chosen = data.draw(st.lists(st.sampled_from(items), min_size=1, unique=True))
    if not allow_all and len(chosen) == len(items):
        chosen = chosen[:-1]
    return [x for x in items if x in chosen]


class RegisterMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="lgcloud-stateful-"))
        self.platform = make_platform(self.dir / "data")
        onboard_town(self.platform, TOWN_A, "聖籠町")
        self.ctx = make_ctx()
        self.clock = START
        self.serial = 0
        self._households: Households | None = None
        self._removed: list[str] | None = None

    def teardown(self) -> None:
        self.platform.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ state from the DB
    def households(self) -> Households:
        if self._households is None:
            found: Households = defaultdict(list)
            with self.platform.town(TOWN_A) as town:
                stmt = (
                    select(PersonVersion)
                    .where(
                        PersonVersion.is_current.is_(True),
                        PersonVersion.status == Status.RESIDENT.value,
                    )
                    .order_by(PersonVersion.household_number, PersonVersion.addressee_number)
                )
                for row in town.session.scalars(stmt):
                    found[row.household_number].append(state_of(row))
            self._households = dict(found)
        return self._households

    def removed(self) -> list[str]:
        if self._removed is None:
            with self.platform.town(TOWN_A) as town:
                self._removed = list(
                    town.session.scalars(
                        select(PersonVersion.addressee_number)
                        .where(
                            PersonVersion.is_current.is_(True),
                            PersonVersion.status == Status.REMOVED.value,
                        )
                        .order_by(PersonVersion.addressee_number)
                    )
                )
        return self._removed

    def has_households(self, n: int = 1) -> bool:
        return len(self.households()) >= n

    def has_household_of(self, size: int) -> bool:
        return any(len(m) >= size for m in self.households().values())

    def pick_household(
        self, data: st.DataObject, min_size: int = 1
    ) -> tuple[str, list[PersonState]]:
        choices = sorted(h for h, m in self.households().items() if len(m) >= min_size)
        h = data.draw(st.sampled_from(choices), label="household")
        return h, self.households()[h]

    def snapshot(self) -> dict[str, Any]:
        with self.platform.town(TOWN_A) as town:
            s = town.session
            return {
                "versions": s.execute(text("SELECT * FROM person_versions ORDER BY id")).all(),
                "counts": [
                    s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                    for t in ("persons", "households", "life_events", "audit_entries", "journal")
                ],
                "sequences": s.execute(text("SELECT * FROM number_sequences ORDER BY name")).all(),
                "head": s.execute(text("SELECT seq, entry_hash FROM audit_head")).all(),
            }

    # ----------------------------------------------------------------------- helpers
    def advance(self, data: st.DataObject) -> date:
        days = data.draw(st.integers(min_value=0, max_value=500), label="days")
        self.clock = min(self.clock + timedelta(days=days), TODAY)
        return self.clock

    def notified(self, data: st.DataObject, d: date) -> date | None:
        late = data.draw(st.sampled_from([None, 0, 3, 14]), label="notified")
        if late is None:
            return None
        return min(d + timedelta(days=late), TODAY)

    def new_person(self, data: st.DataObject, d: date, relationship: str) -> NewPerson:
        self.serial += 1
        surname = data.draw(st.sampled_from(SURNAMES), label="surname")
        age = data.draw(st.integers(min_value=0, max_value=90 * 365), label="age_days")
        return NewPerson(
            name=f"{surname}\u3000{self.serial}",
            kana=f"テスト {self.serial}",
            birth_date=d - timedelta(days=age),
            sex=data.draw(st.sampled_from(list(Sex)), label="sex"),
            relationship=relationship,
        )

    def apply(self, event: AnyEvent) -> EventResult | None:
        before = self.snapshot()
        try:
            with self.platform.town(TOWN_A) as town:
                result = record_event(town, self.ctx, event, today=TODAY)
        except RuleViolationError:
            assert self.snapshot() == before, "a refused event changed the database"
            return None
        self._households = None
        self._removed = None
        return result

    # ------------------------------------------------------------------------- rules
    @rule(data=st.data())
    def move_in(self, data: st.DataObject) -> None:
        d = self.advance(data)
        kind = data.draw(
            st.sampled_from(
                [EventKind.DOMESTIC_MOVE_IN, EventKind.FOREIGN_MOVE_IN, EventKind.EX_OFFICIO_ENTRY]
            ),
            label="kind",
        )
        n = data.draw(st.integers(min_value=1, max_value=4), label="size")
        join = self.has_households() and data.draw(st.booleans(), label="join")
        previous = "" if kind is EventKind.EX_OFFICIO_ENTRY else "東京都千代田区千代田1番1号"
        if join:
            h, _ = self.pick_household(data)
            rels = [data.draw(st.sampled_from(MEMBER_RELATIONSHIPS)) for _ in range(n)]
            event = MoveIn(
                kind=kind,
                effective_date=d,
                notified_date=self.notified(data, d),
                previous_address=previous,
                household_number=h,
                persons=[self.new_person(data, d, r) for r in rels],
            )
        else:
            rels = [HEAD] + [data.draw(st.sampled_from(MEMBER_RELATIONSHIPS)) for _ in range(n - 1)]
            event = MoveIn(
                kind=kind,
                effective_date=d,
                notified_date=self.notified(data, d),
                previous_address=previous,
                address=data.draw(st.sampled_from(ADDRESSES), label="address"),
                persons=[self.new_person(data, d, r) for r in rels],
            )
        result = self.apply(event)
        assert result is not None, "a valid move-in was refused"
        assert len(result.subjects) == n
        assert len(result.new_households) == (0 if join else 1)

    @precondition(lambda self: self.has_households())
    @rule(data=st.data())
    def birth(self, data: st.DataObject) -> None:
        h, _ = self.pick_household(data)
        d = self.advance(data)
        baby = self.new_person(data, d, "子").model_copy(update={"birth_date": d})
        result = self.apply(
            Birth(
                effective_date=d,
                notified_date=self.notified(data, d),
                household_number=h,
                person=baby,
            )
        )
        assert result is not None, "a valid birth was refused"

    @precondition(lambda self: self.has_households())
    @rule(data=st.data())
    def move_within(self, data: st.DataObject) -> None:
        h, members = self.pick_household(data)
        movers = subset(data, members)
        numbers = [p.addressee_number for p in movers]
        remaining = [p for p in members if p not in movers]
        head = next(p for p in members if p.relationship == HEAD)
        name_heads = likely(data, "name_heads")
        relationships: dict[str, str] = {}
        others = sorted(set(self.households()) - {h})
        into = others and data.draw(st.booleans(), label="into")
        if into:
            target = data.draw(st.sampled_from(others), label="into_household")
            t = self.households()[target][0]
            address = AddressIn(
                address=t.address,
                address_detail=t.address_detail,
                postal_code=t.postal_code,
                district=t.district,
            )
            relationships = dict.fromkeys(numbers, "同居人")
        else:
            target = None
            address = data.draw(st.sampled_from(ADDRESSES), label="address")
            if remaining and head not in movers and name_heads:
                relationships[numbers[0]] = HEAD
        if remaining and head in movers and name_heads:
            relationships[remaining[0].addressee_number] = HEAD
        d = self.advance(data)
        result = self.apply(
            MoveWithin(
                effective_date=d,
                notified_date=self.notified(data, d),
                members=numbers,
                address=address,
                into_household=target,
                relationships=relationships,
            )
        )
        if result is not None and not into:
            whole = not remaining
            assert (result.new_households == ()) == whole

    @precondition(lambda self: self.has_households())
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        _, members = self.pick_household(data)
        kind = data.draw(st.sampled_from(REMOVALS), label="kind")
        leavers = subset(data, members)
        remaining = [p for p in members if p not in leavers]
        relationships: dict[str, str] = {}
        head_leaves = any(p.relationship == HEAD for p in leavers)
        if head_leaves and remaining and likely(data, "name_new_head"):
            relationships[data.draw(st.sampled_from(remaining)).addressee_number] = HEAD
        destination = data.draw(
            st.sampled_from(["新潟県新潟市", "アメリカ合衆国", ""]), label="dest"
        )
        d = self.advance(data)
        result = self.apply(
            Removal(
                kind=kind,
                effective_date=d,
                notified_date=self.notified(data, d),
                members=[p.addressee_number for p in leavers],
                destination_address=destination,
                relationships=relationships,
            )
        )
        needs_destination = kind in (EventKind.DOMESTIC_MOVE_OUT, EventKind.FOREIGN_MOVE_OUT)
        should_pass = not (needs_destination and not destination) and (
            not head_leaves or not remaining or bool(relationships)
        )
        assert (result is not None) == should_pass

    @precondition(lambda self: self.has_household_of(2))
    @rule(data=st.data())
    def head_change(self, data: st.DataObject) -> None:
        h, members = self.pick_household(data, min_size=2)
        old = next(p for p in members if p.relationship == HEAD)
        new = data.draw(st.sampled_from([p for p in members if p is not old]), label="new_head")
        relabel_old = likely(data, "relabel_old")
        relationships = {new.addressee_number: HEAD}
        if relabel_old:
            relationships[old.addressee_number] = data.draw(st.sampled_from(MEMBER_RELATIONSHIPS))
        d = self.advance(data)
        result = self.apply(
            HeadChange(effective_date=d, household_number=h, relationships=relationships)
        )
        assert (result is not None) == relabel_old

    @precondition(lambda self: self.has_household_of(2))
    @rule(data=st.data())
    def split(self, data: st.DataObject) -> None:
        _, members = self.pick_household(data, min_size=2)
        whole = data.draw(st.integers(min_value=0, max_value=9), label="whole") == 0
        movers = members if whole else subset(data, members, allow_all=False)
        remaining = [p for p in members if p not in movers]
        head = next(p for p in members if p.relationship == HEAD)
        relationships = {movers[0].addressee_number: HEAD}
        if head in movers:
            relationships = {remaining[0].addressee_number: HEAD} if remaining else {}
        detail = data.draw(st.sampled_from([None, "", "離れ"]), label="detail")
        d = self.advance(data)
        result = self.apply(
            HouseholdSplit(
                effective_date=d,
                members=[p.addressee_number for p in movers],
                address_detail=detail,
                relationships=relationships,
            )
        )
        assert (result is not None) == (not whole)
        if result is not None:
            assert len(result.new_households) == 1

    @precondition(lambda self: self.has_households(2))
    @rule(data=st.data())
    def merge(self, data: st.DataObject) -> None:
        hs = self.households()
        numbers = sorted(hs)
        same_address = [
            (a, b)
            for a in numbers
            for b in numbers
            if a != b and hs[a][0].address == hs[b][0].address
        ]
        if same_address and likely(data, "same_address"):
            src, dst = data.draw(st.sampled_from(same_address), label="pair")
        else:
            src = data.draw(st.sampled_from(numbers), label="from")
            dst = data.draw(st.sampled_from(numbers), label="into")
        demote = likely(data, "demote")
        relationships = {}
        if demote:
            relationships = {
                p.addressee_number: "同居人" for p in hs[src] if p.relationship == HEAD
            }
        d = self.advance(data)
        result = self.apply(
            HouseholdMerge(
                effective_date=d,
                from_household=src,
                into_household=dst,
                relationships=relationships,
            )
        )
        should_pass = src != dst and hs[src][0].address == hs[dst][0].address and demote
        assert (result is not None) == should_pass
        if result is not None:
            assert self.households().get(src) is None
            assert len(self.households()[dst]) == len(hs[src]) + len(hs[dst])

    @precondition(lambda self: self.has_households())
    @rule(data=st.data())
    def correct(self, data: st.DataObject) -> None:
        _, members = self.pick_household(data)
        p = data.draw(st.sampled_from(members), label="member")
        what = data.draw(
            st.sampled_from(
                ["name", "kana", "district", "birth_date", "relationship", "resident_code"]
            ),
            label="field",
        )
        value: Any
        if what == "name":
            value = data.draw(
                st.sampled_from(["葛\U000e0100西\u3000花子", "髙橋\u3000一郎", "渡邊\u3000三"])
            )
        elif what == "kana":
            value = "カナ シュウセイ"
        elif what == "district":
            value = data.draw(st.sampled_from(["第1区", "第2区", ""]))
        elif what == "birth_date":
            value = p.birth_date + timedelta(
                days=data.draw(st.integers(min_value=-400, max_value=400))
            )
        elif what == "relationship":
            value = data.draw(st.sampled_from([HEAD, *MEMBER_RELATIONSHIPS]))
        else:
            # two valid codes (the second correction of another person to one of them gives
            # it to a second person), a wrong check digit, a malformed code
            value = data.draw(st.sampled_from(["12345678903", "98765432103", "12345678901", "123"]))
        held_by_another = False
        if what == "resident_code":
            with self.platform.read_town(TOWN_A) as town:
                held_by_another = value in set(
                    town.session.scalars(
                        select(PersonVersion.resident_code).where(
                            PersonVersion.is_current.is_(True),
                            PersonVersion.addressee_number != p.addressee_number,
                            PersonVersion.status == "resident",
                        )
                    )
                )
        d = self.advance(data)
        result = self.apply(
            Correction(
                effective_date=d,
                member=p.addressee_number,
                fields=CorrectionFields(**{what: value}),
                reason="職権修正 (試験)",
            )
        )
        if what == "resident_code" and (value in ("12345678901", "123") or held_by_another):
            assert result is None, (
                f"住民票コード {value} accepted (held by another: {held_by_another})"
            )
        if result is not None:
            with self.platform.town(TOWN_A) as town:
                stored = town.session.scalar(
                    select(getattr(PersonVersion, what)).where(
                        PersonVersion.addressee_number == p.addressee_number,
                        PersonVersion.is_current.is_(True),
                    )
                )
            assert stored == value

    @precondition(lambda self: self.has_households())
    @rule(data=st.data())
    def bad_dates(self, data: st.DataObject) -> None:
        """Back-dated, future-dated or wrongly notified events about one person: refused."""
        _, members = self.pick_household(data)
        p = data.draw(st.sampled_from(members), label="member")
        how = data.draw(st.sampled_from(["backdated", "future", "notified_before"]), label="how")
        if how == "backdated":
            if p.valid_from <= START:
                return
            d = p.valid_from - timedelta(days=data.draw(st.integers(min_value=1, max_value=400)))
            notified = None
        elif how == "future":
            d = TODAY + timedelta(days=data.draw(st.integers(min_value=1, max_value=30)))
            notified = None
        else:
            d = self.advance(data)
            notified = d - timedelta(days=1)
        event = data.draw(
            st.sampled_from(
                [
                    Correction(
                        effective_date=d,
                        notified_date=notified,
                        member=p.addressee_number,
                        fields=CorrectionFields(kana="バック デート"),
                        reason="試験",
                    ),
                    MoveWithin(
                        effective_date=d,
                        notified_date=notified,
                        members=[p.addressee_number],
                        address=ADDRESSES[0],
                        relationships={p.addressee_number: HEAD},
                    ),
                ]
            ),
            label="event",
        )
        assert self.apply(event) is None, f"a {how} event was accepted"

    @precondition(lambda self: bool(self.removed()))
    @rule(data=st.data())
    def act_on_removed(self, data: st.DataObject) -> None:
        n = data.draw(st.sampled_from(self.removed()), label="removed")
        d = self.advance(data)
        event = data.draw(
            st.sampled_from(
                [
                    Removal(kind=EventKind.DEATH, effective_date=d, members=[n]),
                    Correction(
                        effective_date=d,
                        member=n,
                        fields=CorrectionFields(kana="ジョヒョウ"),
                        reason="試験",
                    ),
                    MoveWithin(
                        effective_date=d, members=[n], address=ADDRESSES[2], relationships={n: HEAD}
                    ),
                ]
            ),
            label="event",
        )
        assert self.apply(event) is None, "an event about a removed person was accepted"

    # -------------------------------------------------------------------- invariants
    @invariant()
    def register_is_consistent(self) -> None:
        with self.platform.town(TOWN_A) as town:
            s = town.session
            rows = s.execute(
                text(
                    "SELECT addressee_number, version_no, valid_from, valid_to, is_current, status,"
                    " household_number, relationship, address, address_detail, birth_date,"
                    " resident_since, settled_on, removed_on FROM person_versions"
                    " ORDER BY addressee_number, version_no"
                )
            ).all()
            persons = s.execute(text("SELECT count(*) FROM persons")).scalar_one()
            audit = audit_service.verify(s)
            audit_count = s.execute(text("SELECT count(*) FROM audit_entries")).scalar_one()
            events = s.execute(text("SELECT count(*) FROM life_events")).scalar_one()
            journal = s.execute(text("SELECT seq, audit_seq FROM journal ORDER BY seq")).all()

        def day(v: Any) -> date | None:
            return None if v is None else date.fromisoformat(str(v))

        by_person: dict[str, list[Any]] = defaultdict(list)
        for r in rows:
            by_person[r.addressee_number].append(r)
        assert len(by_person) == persons

        households: dict[str, list[Any]] = defaultdict(list)
        for number, versions in by_person.items():
            assert [v.version_no for v in versions] == list(range(1, len(versions) + 1)), number
            current = [v for v in versions if v.is_current]
            assert len(current) == 1, f"{number} has {len(current)} current versions"
            assert current[0] is versions[-1]
            assert day(versions[-1].valid_to) is None
            for v, nxt in pairwise(versions):
                assert day(v.valid_to) == day(nxt.valid_from), f"{number}: versions not contiguous"
                assert day(v.valid_from) <= day(nxt.valid_from), f"{number}: versions go back"
            for v in versions:
                born, since, settled = day(v.birth_date), day(v.resident_since), day(v.settled_on)
                assert born <= since <= settled, f"{number}: {born} {since} {settled}"
                assert day(v.valid_from) <= self.clock
                if v.removed_on is not None:
                    assert day(v.removed_on) >= settled
            last = versions[-1]
            assert (last.status == Status.REMOVED.value) == (last.removed_on is not None)
            if last.status == Status.RESIDENT.value:
                households[last.household_number].append(last)

        for h, members in households.items():
            heads = [m for m in members if m.relationship == HEAD]
            assert len(heads) == 1, f"household {h} has {len(heads)} heads"
            assert len({(m.address, m.address_detail) for m in members}) == 1, h

        assert audit.ok, audit.problems
        assert audit_count == events
        assert [j.seq for j in journal] == list(range(1, len(journal) + 1))
        assert [j.audit_seq for j in journal] == list(range(1, audit_count + 1))


RegisterMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestRegisterStateful = RegisterMachine.TestCase
