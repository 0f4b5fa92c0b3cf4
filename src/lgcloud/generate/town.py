"""Synthetic towns: a realistic, deterministic register of N current residents.

The same (town code, seed, N, reference date) always gives the same town. Households
follow an ageing rural mix (single elderly, elderly couples, three generations, young
families), names carry readings and, for a few percent of people, variant kanji or
Ideographic Variation Sequences, addresses are grouped in the town's real districts, and
each person has a history: born here or moved in (from elsewhere in Japan or abroad),
moved within the town, and former members removed by death or move-out (除票).

The history is built in memory and written in one transaction with bulk inserts (a
life event per person through the single write path would take minutes for 30,000
people); the load is one audited write whose row images go to the journal in chunks.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from rich.progress import Progress
from sqlalchemy import func, select

from lgcloud.core.clock import today_jst, utcnow
from lgcloud.core.context import Actor, RequestContext
from lgcloud.core.dates import age_on
from lgcloud.core.errors import RuleViolationError
from lgcloud.core.ids import (
    format_numbered,
    individual_number_check_digit,
    is_issuable_sequence,
    with_resident_check_digit,
)
from lgcloud.db.engine import sync_id_sequences
from lgcloud.generate import names_data as nd
from lgcloud.generate.addressees import build_addressees
from lgcloud.generate.finance import build_finance
from lgcloud.onboarding import onboard_town
from lgcloud.register.domain import (
    HEAD,
    EventKind,
    PersonState,
    Sex,
    Status,
    check_foreign_resident,
    check_person_dates,
)
from lgcloud.register.models import (
    District,
    LifeEventRecord,
    NumberSequence,
    Person,
)
from lgcloud.register.service import version_values
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.journal import BulkWriter, finish_write

VARIANT_SHARE = 0.04  # households whose surname is written with a variant or an IVS
#: Foreign residents (about 2 % of a small town's people): single working-age adults who
#: are foreign workers, foreign spouses of Japanese heads, and old households of special
#: permanent residents.
FOREIGN_WORKER_SHARE = 0.25  # of single_adult households
FOREIGN_SPOUSE_SHARE = 0.04  # of couples
SPECIAL_PERMANENT_SHARE = 0.01  # of elderly households

#: Household mix of an ageing rural town (seed 003's towns: about a third aged 65+).
HOUSEHOLD_TYPES: tuple[tuple[str, float], ...] = (
    ("single_elderly", 0.22),
    ("elderly_couple", 0.24),
    ("three_generations", 0.15),
    ("couple_with_children", 0.13),
    ("couple", 0.06),
    ("single_adult", 0.08),
    ("single_parent", 0.04),
    ("elder_with_adult_child", 0.08),
)


@dataclass
class Member:
    """A person being generated, with the facts their history is built from."""

    name: str
    kana: str
    sex: Sex
    birth: date
    relationship: str
    arrived: date  # 住民日
    arrival_event: EventKind
    previous_address: str | None = None
    removed_on: date | None = None
    removal_event: EventKind | None = None
    destination: str | None = None
    foreign: ForeignItems | None = None


@dataclass(frozen=True)
class ForeignItems:
    """A foreign resident's items (第30条の45)."""

    nationality: str
    category: str
    status: str | None
    expires_on: date | None
    card_number: str


@dataclass
class Summary:
    town_code: str
    residents: int
    removed: int
    households: int
    versions: int
    variant_people: int
    aged_65_plus: int
    seconds: float
    notes: list[str] = field(default_factory=list)
    non_residents: int = 0  # 住登外者 (landowners elsewhere, corporations)

    def describe(self) -> str:
        return (
            f"town {self.town_code}: {self.residents} residents in {self.households} households, "
            f"{self.removed} removed (除票), {self.versions} register versions, "
            f"{self.variant_people} people with variant kanji or IVS, "
            f"{self.aged_65_plus} aged 65+, {self.non_residents} 住登外者, {self.seconds:.1f} s"
        )


def _weighted(rng: random.Random, items: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in items], weights=[w for _, w in items])[0]


class TownGenerator:
    """Builds households and histories for one town (pure: no I/O)."""

    def __init__(self, code: str, seed: int, today: date) -> None:
        self.code = code
        self.rng = random.Random(f"lgcloud:{code}:{seed}")
        self.today = today
        self.districts = nd.DISTRICT_POSTAL_CODES.get(code) or {
            d: nd.POSTAL_PREFIX.get(code, "00000") + f"{i:02d}"
            for i, d in enumerate(nd.GENERIC_DISTRICTS)
        }
        self.district_names = list(self.districts)
        self.resident_codes: set[str] = set()
        # Some districts are much bigger than others.
        self.district_weights = [self.rng.uniform(0.3, 3.0) for _ in self.district_names]
        self.family_weights = [f.weight for f in nd.FAMILY_NAMES]
        self.variantable = [
            f
            for f in nd.FAMILY_NAMES
            if any(ch in nd.VARIANT_FORMS or ch in self._ivs_bases for ch in f.kanji)
        ]
        self.ivs_capable = [
            f
            for f in self.variantable
            if any(
                ch in self._ivs_bases
                or any(v in self._ivs_bases for v in nd.VARIANT_FORMS.get(ch, ()))
                for ch in f.kanji
            )
        ]
        # A stream of its own, so that adding foreign residents left every other person of
        # a generated town as it was.
        self.foreign_rng = random.Random(f"lgcloud:{code}:{seed}:foreign")
        self.used_addresses: set[str] = set()
        self.given = {
            (sex, era): [g for g in names if g.era == era]
            for sex, names in ((Sex.MALE, nd.GIVEN_NAMES_MALE), (Sex.FEMALE, nd.GIVEN_NAMES_FEMALE))
            for era in ("old", "mid", "new")
        }

    def resident_code(self) -> str:
        """A 住民票コード with its check digit, unique in the town (the draw is the one made
        before check digits were verified, so the generated towns stay the same)."""
        while True:
            code = with_resident_check_digit(f"{self.rng.randrange(10**10, 10**11)}"[:10])
            if code not in self.resident_codes:
                self.resident_codes.add(code)
                return code

    @property
    def _ivs_bases(self) -> dict[str, list[str]]:
        bases: dict[str, list[str]] = {}
        for form in nd.IVS_FORMS:
            bases.setdefault(form.base, []).append(form.sequence)
        return bases

    # -- names
    def family_name(self) -> tuple[str, str, bool]:
        rng = self.rng
        if rng.random() < VARIANT_SHARE and self.variantable:
            bases = self._ivs_bases
            # Half of the variant households write their name with an IVS (when the name
            # has a character with registered sequences), the others with variant kanji.
            want_ivs = rng.random() < 0.5 and bool(self.ivs_capable)
            fam = rng.choice(self.ivs_capable if want_ivs else self.variantable)
            chars = []
            for ch in fam.kanji:
                variant = ch
                if ch in nd.VARIANT_FORMS and (not want_ivs or ch not in bases):
                    variant = rng.choice(nd.VARIANT_FORMS[ch])
                if variant in bases and (want_ivs or rng.random() < 0.3):
                    variant = rng.choice(bases[variant])
                    want_ivs = False  # one IVS per name is plenty
                chars.append(variant)
            return "".join(chars), fam.reading, True
        fam = rng.choices(nd.FAMILY_NAMES, weights=self.family_weights)[0]
        return fam.kanji, fam.reading, False

    def given_name(self, sex: Sex, birth: date) -> tuple[str, str]:
        era = "old" if birth.year < 1950 else "mid" if birth.year < 1990 else "new"
        g = self.rng.choice(self.given[(sex, era)])
        return g.kanji, g.reading

    # -- dates
    def birth_forage_on(self, lo: int, hi: int) -> date:
        start = self.today.replace(year=self.today.year - hi - 1) + timedelta(days=1)
        end = self.today.replace(year=self.today.year - lo)
        return start + timedelta(days=self.rng.randrange(max(1, (end - start).days)))

    def between(self, lo: date, hi: date) -> date:
        if hi <= lo:
            return lo
        return lo + timedelta(days=self.rng.randrange((hi - lo).days + 1))

    def elderlyage_on(self) -> tuple[int, int]:
        return (65, 98) if self.rng.random() < 0.8 else (60, 64)

    def address(self) -> tuple[str, str, str]:
        district = self.rng.choices(self.district_names, weights=self.district_weights)[0]
        while True:
            addr = f"大字{district}{self.rng.randint(1, 4000)}番地{self.rng.randint(1, 30)}"
            if addr not in self.used_addresses:
                self.used_addresses.add(addr)
                return addr, district, self.districts[district]

    def elsewhere(self) -> str:
        town = self.rng.choice(nd.PREFECTURES_FOR_MOVES)
        return f"{town}{self.rng.randint(1, 40)}番{self.rng.randint(1, 20)}号"

    # -- households
    def person(
        self, family: tuple[str, str, bool], sex: Sex, age: tuple[int, int], rel: str
    ) -> Member:
        birth = self.birth_forage_on(*age)
        given, given_kana = self.given_name(sex, birth)
        return Member(
            name=f"{family[0]}\u3000{given}",
            kana=f"{family[1]}\u3000{given_kana}",
            sex=sex,
            birth=birth,
            relationship=rel,
            arrived=birth,
            arrival_event=EventKind.BIRTH,
        )

    def spouse_of(self, head: Member, family: tuple[str, str, bool], rel: str) -> Member:
        age_now = self.today.year - head.birth.year
        lo, hi = max(18, age_now - 6), max(19, age_now + 4)
        sex = Sex.FEMALE if head.sex is Sex.MALE else Sex.MALE
        return self.person(family, sex, (lo, hi), rel)

    def children(
        self, family: tuple[str, str, bool], parent: Member, n: int, rel: str = "子"
    ) -> list[Member]:
        out = []
        parent_age = self.today.year - parent.birth.year
        for _ in range(n):
            lo = max(0, parent_age - 42)
            hi = max(lo, parent_age - 22)
            sex = self.rng.choice((Sex.MALE, Sex.FEMALE))
            out.append(self.person(family, sex, (lo, hi), rel))
        return out

    def household(self) -> list[Member]:
        """One household's members (current and former), head first."""
        rng = self.rng
        kind = _weighted(rng, HOUSEHOLD_TYPES)
        family = self.family_name()
        male_head = rng.random() < 0.8
        head_sex = Sex.MALE if male_head else Sex.FEMALE
        spouse_rel = "妻" if male_head else "夫"
        members: list[Member] = []
        if kind == "single_elderly":
            members.append(self.person(family, rng.choice((Sex.MALE, Sex.FEMALE)), (70, 99), HEAD))
        elif kind == "elderly_couple":
            head = self.person(family, head_sex, self.elderlyage_on(), HEAD)
            members += [head, self.spouse_of(head, family, spouse_rel)]
        elif kind == "three_generations":
            head = self.person(family, head_sex, (38, 62), HEAD)
            members += [head, self.spouse_of(head, family, spouse_rel)]
            parent = self.person(family, rng.choice((Sex.MALE, Sex.FEMALE)), (0, 0), "母")
            born = self.birth_forage_on(
                self.today.year - head.birth.year + 22, self.today.year - head.birth.year + 36
            )
            parent = replace(parent, birth=born, arrived=born)
            parent.relationship = "父" if parent.sex is Sex.MALE else "母"
            parent.name = f"{family[0]}\u3000{self.given_name(parent.sex, parent.birth)[0]}"
            members.append(parent)
            members += self.children(family, head, rng.randint(1, 3))
        elif kind == "couple_with_children":
            head = self.person(family, head_sex, (27, 55), HEAD)
            members += [head, self.spouse_of(head, family, spouse_rel)]
            members += self.children(family, head, rng.choice((1, 2, 2, 3)))
        elif kind == "couple":
            head = self.person(family, head_sex, (25, 64), HEAD)
            members += [head, self.spouse_of(head, family, spouse_rel)]
        elif kind == "single_adult":
            members.append(self.person(family, rng.choice((Sex.MALE, Sex.FEMALE)), (19, 64), HEAD))
        elif kind == "single_parent":
            head = self.person(
                family, Sex.FEMALE if rng.random() < 0.85 else Sex.MALE, (25, 50), HEAD
            )
            members += [head, *self.children(family, head, rng.randint(1, 3))]
        else:  # elder_with_adult_child
            head = self.person(family, rng.choice((Sex.MALE, Sex.FEMALE)), (72, 96), HEAD)
            members += [head, *self.children(family, head, 1)]
        for m in members:
            if m.birth > self.today:
                m.birth = m.arrived = self.today
        self.arrivals(members, kind)
        self.former_members(members, family, kind)
        self.foreign_residents(members, kind)
        return members

    # -- foreign residents
    def _card_number(self) -> str:
        rng, letters = self.foreign_rng, "ABCDEFGHJKLMNPQRSTUVWXYZ"
        return (
            "".join(rng.choice(letters) for _ in range(2))
            + f"{rng.randrange(10**8):08d}"
            + "".join(rng.choice(letters) for _ in range(2))
        )

    def _foreign_name(self, m: Member, nationality: str, family: tuple[str, str]) -> None:
        names = nd.FOREIGN_NAMES[nationality]
        given, reading = self.foreign_rng.choice(names.male if m.sex is Sex.MALE else names.female)
        m.name = f"{family[0]}\u3000{given}"
        m.kana = f"{family[1]}\u3000{reading}"

    def foreign_residents(self, members: list[Member], kind: str) -> None:
        """Make some households (or a spouse) foreign residents, from their own stream."""
        rng = self.foreign_rng
        draw = rng.random()
        if kind == "single_adult" and draw < FOREIGN_WORKER_SHARE:
            worker = members[0]
            nationality = _weighted(rng, nd.WORKER_NATIONALITIES)
            self._foreign_name(
                worker, nationality, rng.choice(nd.FOREIGN_NAMES[nationality].family)
            )
            worker.birth = self.birth_forage_on(20, 38)
            worker.arrived = self.between(
                max(worker.birth + timedelta(days=365 * 19), self.today - timedelta(days=365 * 5)),
                self.today,
            )
            worker.arrival_event = EventKind.FOREIGN_MOVE_IN
            worker.previous_address = nationality
            status = rng.choice(
                ("技能実習2号ロ", "技能実習1号ロ", "特定技能1号", "技術・人文知識・国際業務")
            )
            worker.foreign = ForeignItems(
                nationality,
                "中長期在留者",
                status,
                self.today + timedelta(days=rng.randint(30, 3 * 365)),
                self._card_number(),
            )
        elif kind in ("couple", "couple_with_children", "elderly_couple") and (
            draw < FOREIGN_SPOUSE_SHARE
        ):
            spouse = members[1]
            nationality = _weighted(rng, nd.SPOUSE_NATIONALITIES)
            self._foreign_name(
                spouse, nationality, rng.choice(nd.FOREIGN_NAMES[nationality].family)
            )
            spouse.arrival_event = EventKind.FOREIGN_MOVE_IN
            spouse.previous_address = nationality
            permanent = spouse.arrived < self.today - timedelta(days=365 * 10)
            spouse.foreign = ForeignItems(
                nationality,
                "中長期在留者",
                "永住者" if permanent else "日本人の配偶者等",
                None if permanent else self.today + timedelta(days=rng.randint(30, 3 * 365)),
                self._card_number(),
            )
        elif kind in ("single_elderly", "elderly_couple") and draw > 1 - SPECIAL_PERMANENT_SHARE:
            # born here: 特別永住者 have no 在留資格 and no 在留期間
            family = rng.choice(nd.FOREIGN_NAMES["韓国"].family)
            for m in members:
                self._foreign_name(m, "韓国", family)
                m.foreign = ForeignItems("韓国", "特別永住者", None, None, self._card_number())

    def arrivals(self, members: list[Member], kind: str) -> None:
        """Who was born here and who moved in, and when."""
        rng = self.rng
        head = members[0]
        if rng.random() < 0.3:  # the whole household moved in at some date
            adults = [m for m in members if m.relationship in (HEAD, "妻", "夫", "父", "母")]
            earliest = max(m.birth for m in adults) + timedelta(days=365 * 19)
            arrived = self.between(max(earliest, self.today - timedelta(days=365 * 35)), self.today)
            foreign = rng.random() < 0.05
            previous = rng.choice(nd.FOREIGN_COUNTRIES) if foreign else self.elsewhere()
            for m in members:
                if m.birth < arrived:
                    m.arrived = arrived
                    m.arrival_event = (
                        EventKind.FOREIGN_MOVE_IN if foreign else EventKind.DOMESTIC_MOVE_IN
                    )
                    m.previous_address = previous
        else:  # the head was born here; a spouse moved in on marriage
            for m in members:
                if m.relationship in ("妻", "夫"):
                    married = max(head.birth, m.birth) + timedelta(days=365 * rng.randint(22, 32))
                    m.arrived = min(married, self.today)
                    m.arrival_event = EventKind.DOMESTIC_MOVE_IN
                    m.previous_address = self.elsewhere()
        del kind

    def former_members(
        self, members: list[Member], family: tuple[str, str, bool], kind: str
    ) -> None:
        """Add people who were members and left: a parent who died, a child who moved out."""
        rng = self.rng
        head = members[0]
        head_age = self.today.year - head.birth.year
        natives = head.arrival_event is EventKind.BIRTH
        if (
            natives
            and kind in ("elderly_couple", "three_generations", "couple_with_children")
            and rng.random() < 0.45
        ):
            sex = rng.choice((Sex.MALE, Sex.FEMALE))
            parent = self.person(
                family, sex, (head_age + 20, head_age + 34), "父" if sex is Sex.MALE else "母"
            )
            earliest_death = max(
                parent.birth + timedelta(days=365 * 60), self.today - timedelta(days=365 * 20)
            )
            if earliest_death < self.today - timedelta(days=30):
                parent.removed_on = self.between(earliest_death, self.today - timedelta(days=30))
                parent.removal_event = EventKind.DEATH
                members.append(parent)
        if (
            natives
            and kind in ("couple_with_children", "elderly_couple", "three_generations")
            and rng.random() < 0.4
        ):
            child = self.children(family, head, 1)[0]
            left = child.birth + timedelta(days=365 * rng.randint(18, 26))
            if left < self.today - timedelta(days=30) and child.birth > head.birth + timedelta(
                days=365 * 18
            ):
                child.removed_on = left
                foreign = rng.random() < 0.04
                child.removal_event = (
                    EventKind.FOREIGN_MOVE_OUT if foreign else EventKind.DOMESTIC_MOVE_OUT
                )
                child.destination = (
                    rng.choice(nd.FOREIGN_COUNTRIES) if foreign else self.elsewhere()
                )
                members.append(child)


@dataclass
class _Numbers:
    next_seq: int = 1

    def issue(self) -> str:
        while not is_issuable_sequence(self.next_seq):
            self.next_seq += 1
        number = format_numbered(self.next_seq)
        self.next_seq += 1
        return number


def build_histories(
    gen: TownGenerator, residents: int
) -> tuple[list[tuple[PersonState, date | None]], list[tuple[str, date]], int, int]:
    """Generate households until ``residents`` current residents exist.

    Returns (versions with their valid_to, households with creation date, next addressee
    sequence, next household sequence).
    """
    people = _Numbers()
    households = _Numbers()
    versions: list[tuple[PersonState, date | None]] = []
    household_rows: list[tuple[str, date]] = []
    current = 0
    while current < residents:
        members = gen.household()
        current_members = [m for m in members if m.removed_on is None]
        if current + len(current_members) > residents:
            # Trim the last household to hit N exactly (the head always stays).
            keep = residents - current
            kept = current_members[:keep]
            members = kept + [m for m in members if m.removed_on is not None]
            current_members = kept
        current += len(current_members)
        number = households.issue()
        addr, district, postal = gen.address()
        # A fifth of households moved within the town: an earlier address until ``moved``.
        start = min(m.arrived for m in members)
        moved = None
        if gen.rng.random() < 0.2 and all(m.removed_on is None for m in members):
            moved = gen.between(start + timedelta(days=1), gen.today - timedelta(days=1))
            old_addr, old_district, old_postal = gen.address()
        household_rows.append((number, start))
        for m in members:
            an = people.issue()
            base = PersonState(
                addressee_number=an,
                status=Status.RESIDENT,
                name=m.name,
                kana=m.kana,
                birth_date=m.birth,
                sex=m.sex,
                resident_code=gen.resident_code(),
                individual_number=_my_number(gen.rng),
                household_number=number,
                relationship=m.relationship,
                address=addr,
                address_detail="",
                postal_code=postal,
                district=district,
                resident_since=m.arrived,
                settled_on=m.arrived,
                notified_on=m.arrived,
                last_event=m.arrival_event,
                valid_from=m.arrived,
                previous_address=m.previous_address,
                nationality=m.foreign.nationality if m.foreign else None,
                foreign_category=m.foreign.category if m.foreign else None,
                residence_status=m.foreign.status if m.foreign else None,
                stay_expires_on=m.foreign.expires_on if m.foreign else None,
                residence_card_number=m.foreign.card_number if m.foreign else None,
            )
            if moved is not None and m.arrived < moved:
                first = replace(
                    base, address=old_addr, district=old_district, postal_code=old_postal
                )
                versions.append((first, moved))
                base = replace(
                    base,
                    settled_on=moved,
                    notified_on=moved,
                    last_event=EventKind.MOVE_WITHIN,
                    valid_from=moved,
                )
            if m.removed_on is not None and m.removal_event is not None:
                versions.append((base, m.removed_on))
                labels = {
                    EventKind.DEATH: "死亡",
                    EventKind.DOMESTIC_MOVE_OUT: "転出",
                    EventKind.FOREIGN_MOVE_OUT: "国外転出",
                }
                base = replace(
                    base,
                    status=Status.REMOVED,
                    removed_on=m.removed_on,
                    removal_reason=labels[m.removal_event],
                    destination_address=m.destination,
                    notified_on=m.removed_on,
                    last_event=m.removal_event,
                    valid_from=m.removed_on,
                )
            check_person_dates(base, gen.today)
            check_foreign_resident(base)
            versions.append((base, None))
    return versions, household_rows, people.next_seq, households.next_seq


def generate_town(
    platform: Platform,
    code: str,
    *,
    residents: int,
    seed: int,
    name: str | None = None,
    today: date | None = None,
    progress: bool = False,
    on_progress: Callable[[str], None] | None = None,
) -> Summary:
    """Generate a town of ``residents`` current residents into ``code`` (created if needed)."""
    started = time.perf_counter()
    if residents <= 0:
        raise RuleViolationError("住民数は1以上です", field="residents")
    today = today or today_jst()
    known = {t.code for t in platform.towns()}
    if code not in known:
        town_name = nd.TOWN_NAMES.get(code)
        onboard_town(
            platform,
            code,
            name or (town_name.name if town_name else f"町村{code}"),
            kana=town_name.reading if town_name else "",
            prefecture=town_name.county if town_name else "",
        )
    gen = TownGenerator(code, seed, today)
    versions, household_rows, next_person, next_household = build_histories(gen, residents)
    ctx = RequestContext(code, Actor(None, "generator", ""), node=platform.node)
    with platform.town(code) as town, Progress(disable=not progress, transient=True) as bar:
        s = town.session
        if s.scalar(select(func.count()).select_from(Person)):
            raise RuleViolationError(
                f"町村 {code} には既に住民がいます: 生成は空の町村にだけ行えます"
            )
        event = LifeEventRecord(
            kind=EventKind.INITIAL_LOAD.value,
            effective_date=today,
            notified_date=None,
            recorded_at=utcnow(),
            clerk_id=None,
            clerk_name="generator",
            subjects=[],
            payload={"generator": "lgcloud.generate.town", "seed": seed, "residents": residents},
            request_id=ctx.request_id,
        )
        s.add(event)
        s.flush()
        s.add_all(District(name=d, kana="") for d in gen.district_names)
        s.flush()
        task = bar.add_task("writing town", total=None)
        hh = [
            {"number": n, "created_on": d, "created_event_id": event.id} for n, d in household_rows
        ]
        persons = sorted({v.addressee_number for v, _ in versions})
        version_no: dict[str, int] = {}
        rows: list[dict[str, Any]] = []
        for state, valid_to in versions:
            n = version_no.get(state.addressee_number, 0) + 1
            version_no[state.addressee_number] = n
            rows.append(
                {
                    **version_values(state),
                    "version_no": n,
                    "valid_to": valid_to,
                    "is_current": valid_to is None,
                    "event_id": event.id,
                }
            )

        written: dict[str, int] = {}

        def advance(table_name: str, done: int, total: int) -> None:
            bar.update(task, advance=done - written.get(table_name, 0))
            written[table_name] = done
            if on_progress:
                on_progress(f"{table_name} {done}/{total}")

        bulk = BulkWriter(s, "initial_load", ctx.request_id, on_chunk=advance)
        bulk.insert("households", hh)
        bulk.insert(
            "persons", [{"addressee_number": p, "created_event_id": event.id} for p in persons]
        )
        bulk.insert("person_versions", rows)
        current_residents = [v for v, to in versions if to is None and v.status is Status.RESIDENT]
        finance = build_finance(gen.rng, current_residents, today, town_code=code)
        others = build_addressees(
            random.Random(f"lgcloud:{code}:{seed}:addressees"),
            current_residents,
            finance,
            today,
            utcnow(),
            next_seq=next_person,
            districts=gen.district_names,
        )
        bulk.insert("persons", [{**p, "created_event_id": event.id} for p in others.persons])
        bulk.insert("non_residents", others.non_residents)
        for table in FINANCE_TABLES:
            bulk.insert(table, finance.tables.get(table, []))
        sync_id_sequences(s.connection(), FINANCE_TABLES)  # their ids were given here
        s.get(NumberSequence, "addressee", with_for_update=True).next_value = others.next_seq  # type: ignore[union-attr]
        s.get(NumberSequence, "household", with_for_update=True).next_value = next_household  # type: ignore[union-attr]
        current = [v for v, to in versions if to is None]
        summary = Summary(
            town_code=code,
            residents=sum(1 for v in current if v.status is Status.RESIDENT),
            removed=sum(1 for v in current if v.status is Status.REMOVED),
            households=len(household_rows),
            versions=len(versions),
            variant_people=sum(
                1 for v in current if v.status is Status.RESIDENT and _has_variant(v.name)
            ),
            aged_65_plus=sum(
                1
                for v in current
                if v.status is Status.RESIDENT and age_on(v.birth_date, today) >= 65
            ),
            seconds=0.0,
            non_residents=len(others.non_residents),
        )
        finish_write(
            s,
            ctx,
            "initial_load",
            detail={
                "seed": seed,
                "residents": summary.residents,
                "removed": summary.removed,
                "households": summary.households,
                "versions": summary.versions,
            },
        )
    summary.seconds = time.perf_counter() - started
    return summary


#: Finance tables in foreign-key order (installments before payments, households before members).
FINANCE_TABLES = (
    "resident_tax_assessments",
    "property_tax_assessments",
    "light_vehicle_tax_assessments",
    "tax_installments",
    "tax_payments",
    "nhi_households",
    "nhi_members",
    "seal_registrations",
    "area_contacts",
)


def _my_number(rng: random.Random) -> str:
    body = f"{rng.randrange(10**10, 10**11):011d}"
    return f"{body}{individual_number_check_digit(body)}"


_STANDARD = {ch for variants in nd.VARIANT_FORMS.values() for ch in variants}


def _has_variant(name: str) -> bool:
    return any(0xE0100 <= ord(ch) <= 0xE01EF or ch in _STANDARD for ch in name)
