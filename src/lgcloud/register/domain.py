"""The resident register's rules (pure: no I/O).

A life event (異動) is validated and applied to the current states of the people and
households it touches, giving their new states; the invariants are then checked on every
household it touched. The service layer loads the states, calls :func:`apply_event` and
writes the result; nothing is written when this module raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import IntEnum, StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from lgcloud.core.errors import RuleViolationError
from lgcloud.core.ids import (
    InvalidIdentifierError,
    validate_individual_number,
    validate_resident_code,
)

HEAD = "世帯主"

#: 続柄 values accepted (relationship to the head of household), as printed on 住民票.
RELATIONSHIPS = (
    HEAD,
    "妻",
    "夫",
    "子",
    "長男",
    "長女",
    "二男",
    "二女",
    "三男",
    "三女",
    "父",
    "母",
    "祖父",
    "祖母",
    "孫",
    "兄",
    "弟",
    "姉",
    "妹",
    "子の妻",
    "子の夫",
    "妻の父",
    "妻の母",
    "夫の父",
    "夫の母",
    "兄の妻",
    "弟の妻",
    "叔父",
    "叔母",
    "伯父",
    "伯母",
    "甥",
    "姪",
    "曾孫",
    "同居人",
    "縁故者",
    "妻(未届)",
    "夫(未届)",
)

#: 住民基本台帳法 第30条の45 の区分: who among foreign nationals has a 住民票.
FOREIGN_CATEGORIES = (
    "中長期在留者",
    "特別永住者",
    "一時庇護許可者",
    "仮滞在許可者",
    "出生による経過滞在者",
    "国籍喪失による経過滞在者",
)

#: 在留資格 (出入国管理及び難民認定法 別表第一・第二). A value may add the sub-kind the
#: residence card prints after the name (特定技能1号, 高度専門職1号イ, 技能実習2号ロ).
RESIDENCE_STATUSES = (
    "外交",
    "公用",
    "教授",
    "芸術",
    "宗教",
    "報道",
    "高度専門職",
    "経営・管理",
    "法律・会計業務",
    "医療",
    "研究",
    "教育",
    "技術・人文知識・国際業務",
    "企業内転勤",
    "介護",
    "興行",
    "技能",
    "特定技能",
    "技能実習",
    "育成就労",
    "文化活動",
    "短期滞在",
    "留学",
    "研修",
    "家族滞在",
    "特定活動",
    "永住者",
    "日本人の配偶者等",
    "永住者の配偶者等",
    "定住者",
)
#: Statuses that carry a sub-kind, and the sub-kinds the residence card prints.
STATUS_SUB_KINDS = {
    "高度専門職": re.compile(r"(1号[イロハ]|2号)"),
    "特定技能": re.compile(r"[12]号"),
    "技能実習": re.compile(r"[123]号[イロ]"),
}
#: Statuses of a stay too short or of a kind that gives no 住民票 (not 中長期在留者).
NOT_MID_TO_LONG_TERM = frozenset({"短期滞在", "外交", "公用"})
#: 区分 whose people hold no 在留資格 and no residence card: 一時庇護 and 仮滞在 have a
#: permitted period (recorded as 在留期間等の満了の日), the 経過滞在者 have none.
NO_STATUS_CATEGORIES = frozenset(
    {"一時庇護許可者", "仮滞在許可者", "出生による経過滞在者", "国籍喪失による経過滞在者"}
)
#: 在留カード / 特別永住者証明書 number: two letters, eight digits, two letters.
RESIDENCE_CARD_NUMBER = re.compile(r"^[A-Z]{2}[0-9]{8}[A-Z]{2}$")

#: The foreign-resident items (第30条の45), by attribute, with their names on paper.
FOREIGN_FIELDS = {
    "nationality": "国籍・地域",
    "foreign_category": "第30条45規定区分",
    "residence_status": "在留資格",
    "stay_expires_on": "在留期間等の満了の日",
    "residence_card_number": "在留カード等番号",
}


class Sex(IntEnum):
    MALE = 1
    FEMALE = 2


class Status(StrEnum):
    RESIDENT = "resident"
    REMOVED = "removed"


class EventKind(StrEnum):
    BIRTH = "birth"
    DOMESTIC_MOVE_IN = "domestic_move_in"
    FOREIGN_MOVE_IN = "foreign_move_in"
    MOVE_WITHIN = "move_within"
    DOMESTIC_MOVE_OUT = "domestic_move_out"
    FOREIGN_MOVE_OUT = "foreign_move_out"
    DEATH = "death"
    HOUSEHOLD_SPLIT = "household_split"
    HOUSEHOLD_MERGE = "household_merge"
    HEAD_CHANGE = "head_change"
    EX_OFFICIO_ENTRY = "ex_officio_entry"
    EX_OFFICIO_REMOVAL = "ex_officio_removal"
    CORRECTION = "correction"
    #: 世帯変更: a change of household composition recorded by another system (a file of the
    #: standard layout says so); read and written back as it came, never recorded here (a
    #: clerk records 世帯分離, 世帯合併 or 世帯主変更)
    HOUSEHOLD_CHANGE = "household_change"
    #: Initial load of a register (generator, migration from another system).
    INITIAL_LOAD = "initial_load"


EVENT_LABELS: dict[EventKind, str] = {
    EventKind.BIRTH: "出生",
    EventKind.DOMESTIC_MOVE_IN: "転入",
    EventKind.FOREIGN_MOVE_IN: "国外転入",
    EventKind.MOVE_WITHIN: "転居",
    EventKind.DOMESTIC_MOVE_OUT: "転出",
    EventKind.FOREIGN_MOVE_OUT: "国外転出",
    EventKind.DEATH: "死亡",
    EventKind.HOUSEHOLD_SPLIT: "世帯分離",
    EventKind.HOUSEHOLD_MERGE: "世帯合併",
    EventKind.HEAD_CHANGE: "世帯主変更",
    EventKind.EX_OFFICIO_ENTRY: "職権記載",
    EventKind.EX_OFFICIO_REMOVAL: "職権消除",
    EventKind.CORRECTION: "職権修正",
    EventKind.HOUSEHOLD_CHANGE: "世帯変更",
    EventKind.INITIAL_LOAD: "初期登録",
}

#: kinds a record can carry that come only from another system's file (the standard layout)
#: and are never recorded here, so no handler applies them
IMPORT_ONLY_KINDS = frozenset({EventKind.INITIAL_LOAD, EventKind.HOUSEHOLD_CHANGE})

REMOVING_EVENTS = {
    EventKind.DOMESTIC_MOVE_OUT,
    EventKind.FOREIGN_MOVE_OUT,
    EventKind.DEATH,
    EventKind.EX_OFFICIO_REMOVAL,
}


@dataclass(frozen=True)
class PersonState:
    """One person's register record at a point in time (a row of person_versions)."""

    addressee_number: str
    status: Status
    name: str
    kana: str
    birth_date: date
    sex: Sex
    resident_code: str | None
    household_number: str
    relationship: str
    address: str
    address_detail: str
    postal_code: str
    district: str
    resident_since: date
    settled_on: date
    notified_on: date | None
    last_event: EventKind
    valid_from: date
    removed_on: date | None = None
    removal_reason: str | None = None
    previous_address: str | None = None
    destination_address: str | None = None
    honseki: str | None = None
    hittousha: str | None = None
    individual_number: str | None = None
    #: 外国人住民 (第30条の45): None for Japanese nationals.
    nationality: str | None = None
    foreign_category: str | None = None
    residence_status: str | None = None
    stay_expires_on: date | None = None
    residence_card_number: str | None = None

    @property
    def is_resident(self) -> bool:
        return self.status is Status.RESIDENT

    @property
    def is_foreign(self) -> bool:
        return self.nationality is not None


# ---------------------------------------------------------------------------- event payloads


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_relationship(value: str) -> str:
    if value not in RELATIONSHIPS:
        raise ValueError(f"続柄「{value}」は使えません")
    return value


Relationship = Annotated[
    str, Field(min_length=1, max_length=20), AfterValidator(_check_relationship)
]


class NewPerson(_Model):
    """A person entering the register (birth, move-in, ex-officio entry)."""

    name: str = Field(min_length=1, max_length=80, description="漢字氏名 (氏 U+3000 名)")
    kana: str = Field(default="", max_length=120, description="カナ氏名")
    birth_date: date
    sex: Sex
    relationship: Relationship
    resident_code: str | None = None
    individual_number: str | None = Field(default=None, description="個人番号")
    honseki: str | None = None
    hittousha: str | None = None
    nationality: str | None = Field(default=None, max_length=60, description="国籍・地域")
    foreign_category: str | None = Field(default=None, description="第30条45規定区分")
    residence_status: str | None = Field(default=None, max_length=40, description="在留資格")
    stay_expires_on: date | None = Field(default=None, description="在留期間等の満了の日")
    residence_card_number: str | None = Field(default=None, description="在留カード等番号")

    @field_validator("individual_number")
    @classmethod
    def _my_number(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        try:
            return validate_individual_number(v)
        except InvalidIdentifierError as e:
            raise ValueError(str(e)) from e

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("氏名が空です")
        return v

    @field_validator("relationship")
    @classmethod
    def _rel(cls, v: str) -> str:
        return _check_relationship(v)

    @field_validator("resident_code")
    @classmethod
    def _code(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        try:
            return validate_resident_code(v)
        except InvalidIdentifierError as e:
            raise ValueError(str(e)) from e


class AddressIn(_Model):
    address: str = Field(min_length=1, max_length=200, description="住所 (大字・字・番地)")
    address_detail: str = Field(default="", max_length=200, description="方書")
    postal_code: str = Field(default="", pattern=r"^([0-9]{7})?$")
    district: str = Field(default="", max_length=60, description="行政区")


class _EventBase(_Model):
    effective_date: date = Field(description="異動日")
    notified_date: date | None = Field(default=None, description="届出日")
    note: str = Field(default="", max_length=500)


class Birth(_EventBase):
    kind: Literal[EventKind.BIRTH] = EventKind.BIRTH
    household_number: str
    person: NewPerson


class MoveIn(_EventBase):
    """国内転入 / 国外転入 / 職権記載: people enter, into an existing or a new household."""

    kind: Literal[EventKind.DOMESTIC_MOVE_IN, EventKind.FOREIGN_MOVE_IN, EventKind.EX_OFFICIO_ENTRY]
    persons: list[NewPerson] = Field(min_length=1)
    household_number: str | None = Field(default=None, description="既存世帯に入る場合")
    address: AddressIn | None = Field(default=None, description="新しい世帯の住所")
    previous_address: str = Field(default="", max_length=200, description="転入前住所")
    relationships: dict[str, Relationship] = Field(default_factory=dict)


class MoveWithin(_EventBase):
    """転居: members move to a new address, keeping or joining a household."""

    kind: Literal[EventKind.MOVE_WITHIN] = EventKind.MOVE_WITHIN
    members: list[str] = Field(min_length=1)
    address: AddressIn
    into_household: str | None = Field(default=None, description="転居先の既存世帯")
    relationships: dict[str, Relationship] = Field(default_factory=dict)


class Removal(_EventBase):
    """国内転出 / 国外転出 / 死亡 / 職権消除: members leave the register (除票 kept)."""

    kind: Literal[
        EventKind.DOMESTIC_MOVE_OUT,
        EventKind.FOREIGN_MOVE_OUT,
        EventKind.DEATH,
        EventKind.EX_OFFICIO_REMOVAL,
    ]
    members: list[str] = Field(min_length=1)
    destination_address: str = Field(default="", max_length=200, description="転出先")
    relationships: dict[str, Relationship] = Field(
        default_factory=dict, description="残る世帯員の新しい続柄 (世帯主が抜ける場合など)"
    )


class HouseholdSplit(_EventBase):
    """世帯分離: members leave their household and form a new one at the same address."""

    kind: Literal[EventKind.HOUSEHOLD_SPLIT] = EventKind.HOUSEHOLD_SPLIT
    members: list[str] = Field(min_length=1)
    address_detail: str | None = None
    relationships: dict[str, Relationship]


class HouseholdMerge(_EventBase):
    """世帯合併: every member of one household joins another at the same address."""

    kind: Literal[EventKind.HOUSEHOLD_MERGE] = EventKind.HOUSEHOLD_MERGE
    from_household: str
    into_household: str
    relationships: dict[str, Relationship]


class HeadChange(_EventBase):
    """世帯主変更: a new head, with everyone's relationship to them."""

    kind: Literal[EventKind.HEAD_CHANGE] = EventKind.HEAD_CHANGE
    household_number: str
    relationships: dict[str, Relationship]


class CorrectionFields(_Model):
    name: str | None = Field(default=None, min_length=1, max_length=80)
    individual_number: str | None = None
    kana: str | None = Field(default=None, max_length=120)
    birth_date: date | None = None
    sex: Sex | None = None
    resident_code: str | None = None
    relationship: Relationship | None = None
    honseki: str | None = None
    hittousha: str | None = None
    postal_code: str | None = Field(default=None, pattern=r"^([0-9]{7})?$")
    district: str | None = None
    nationality: str | None = Field(default=None, min_length=1, max_length=60)
    foreign_category: str | None = None
    residence_status: str | None = Field(default=None, max_length=40)
    stay_expires_on: date | None = None
    residence_card_number: str | None = None


#: Items a correction may empty (a field left out of ``fields`` is unchanged, so emptying
#: needs its own list): 本籍 on 帰化, 在留期間 when the status becomes 永住者, and so on.
Clearable = Literal[
    "honseki",
    "hittousha",
    "nationality",
    "foreign_category",
    "residence_status",
    "stay_expires_on",
    "residence_card_number",
]


class Correction(_EventBase):
    """職権修正: correct recorded facts of one person (not where they live)."""

    kind: Literal[EventKind.CORRECTION] = EventKind.CORRECTION
    member: str
    fields: CorrectionFields
    cleared: list[Clearable] = Field(default_factory=list, description="空欄にする項目")
    reason: str = Field(min_length=1, max_length=500, description="修正理由")


LifeEvent = Annotated[
    Birth
    | MoveIn
    | MoveWithin
    | Removal
    | HouseholdSplit
    | HouseholdMerge
    | HeadChange
    | Correction,
    Field(discriminator="kind"),
]


# ------------------------------------------------------------------------- applying events


@dataclass(frozen=True)
class Outcome:
    """What an event produced: new states, new households, and who it concerns."""

    changed: tuple[PersonState, ...]
    new_households: tuple[str, ...]
    subjects: tuple[str, ...]
    households: tuple[str, ...]


class Register:
    """The current states an event needs: the people and households it touches.

    ``households`` maps every relevant household number to its current resident members.
    """

    def __init__(self, households: Mapping[str, Iterable[PersonState]], today: date) -> None:
        self.households = {h: list(m) for h, m in households.items()}
        self.today = today
        self.people = {p.addressee_number: p for ms in self.households.values() for p in ms}

    def person(self, number: str, field: str = "members") -> PersonState:
        p = self.people.get(number)
        if p is None or not p.is_resident:
            raise RuleViolationError(
                f"宛名番号 {number} の住民は現在この町の住民ではありません", field=field
            )
        return p

    def members(self, household: str, field: str = "household_number") -> list[PersonState]:
        ms = [p for p in self.households.get(household, []) if p.is_resident]
        if not ms:
            raise RuleViolationError(
                f"世帯番号 {household} の世帯に現在の世帯員がいません", field=field
            )
        return ms


def _check_dates(event: _EventBase, states: Iterable[PersonState], today: date) -> None:
    if event.effective_date > today:
        raise RuleViolationError("異動日が未来の日付です", field="effective_date")
    if event.notified_date is not None:
        if event.notified_date > today:
            raise RuleViolationError("届出日が未来の日付です", field="notified_date")
        if event.notified_date < event.effective_date:
            raise RuleViolationError("届出日が異動日より前です", field="notified_date")
    for p in states:
        if event.effective_date < p.valid_from:
            raise RuleViolationError(
                f"異動日 {event.effective_date} が {p.name} の"
                f"最後の異動日 {p.valid_from} より前です",
                field="effective_date",
            )


def _relabel(
    reg: Register,
    states: dict[str, PersonState],
    relationships: Mapping[str, str],
    *,
    households: set[str],
    on: date,
) -> None:
    """Apply relationship changes, only to people of the ``households`` the event touches.

    People not otherwise changed by the event are date-checked here: their new 続柄 starts
    on ``on``, which must not precede their latest recorded event.
    """
    for number, rel in relationships.items():
        _check_relationship(rel)
        current = states.get(number)
        if current is None:
            current = reg.person(number, field="relationships")
            if on < current.valid_from:
                raise RuleViolationError(
                    f"異動日 {on} が {current.name} の最後の異動日 {current.valid_from} より前です",
                    field="effective_date",
                )
        before = reg.people.get(number)
        if current.household_number not in households and (
            before is None or before.household_number not in households
        ):
            raise RuleViolationError(
                f"宛名番号 {number} はこの異動の対象世帯の世帯員ではありません",
                field="relationships",
            )
        states[number] = replace(current, relationship=rel)


Event = (
    Birth
    | MoveIn
    | MoveWithin
    | Removal
    | HouseholdSplit
    | HouseholdMerge
    | HeadChange
    | Correction
)


@dataclass
class _Change:
    """What one event changes, built up by its handler: the new states by addressee number,
    the households it created and the households it touched."""

    event: Event
    reg: Register
    issue_addressee_number: Callable[[], str]
    issue_household_number: Callable[[], str]
    changed: dict[str, PersonState] = field(default_factory=dict)
    new_households: list[str] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)

    @property
    def on(self) -> date:
        return self.event.effective_date

    @property
    def kind(self) -> EventKind:
        return EventKind(self.event.kind)

    @property
    def notified(self) -> date:
        return self.event.notified_date or self.event.effective_date

    def new_household(self) -> str:
        number = self.issue_household_number()
        self.new_households.append(number)
        return number

    def enter(self, np: NewPerson, household: str, addr: AddressIn, previous: str | None) -> None:
        """A person entering the register (birth, move in) with a new addressee number."""
        d = self.on
        number = self.issue_addressee_number()
        self.changed[number] = PersonState(
            addressee_number=number,
            status=Status.RESIDENT,
            name=np.name,
            kana=np.kana,
            birth_date=np.birth_date,
            sex=np.sex,
            resident_code=np.resident_code,
            household_number=household,
            relationship=np.relationship,
            address=addr.address,
            address_detail=addr.address_detail,
            postal_code=addr.postal_code,
            district=addr.district,
            resident_since=d,
            settled_on=d,
            notified_on=self.notified,
            last_event=self.kind,
            valid_from=d,
            previous_address=previous or None,
            honseki=np.honseki,
            hittousha=np.hittousha,
            individual_number=np.individual_number,
            nationality=np.nationality or None,
            foreign_category=np.foreign_category or None,
            residence_status=np.residence_status or None,
            stay_expires_on=np.stay_expires_on,
            residence_card_number=np.residence_card_number or None,
        )

    def relabel(self, relationships: Mapping[str, str], households: set[str]) -> None:
        _relabel(self.reg, self.changed, relationships, households=households, on=self.on)


def _household_address(members: list[PersonState]) -> AddressIn:
    h = members[0]
    return AddressIn(
        address=h.address,
        address_detail=h.address_detail,
        postal_code=h.postal_code,
        district=h.district,
    )


def _birth(event: Birth, c: _Change) -> None:
    reg, d = c.reg, c.on
    members = reg.members(event.household_number)
    _check_dates(event, members, reg.today)
    if event.person.birth_date != d:
        raise RuleViolationError("出生の異動日は生年月日と同じ日です", field="effective_date")
    c.enter(event.person, event.household_number, _household_address(members), None)
    c.touched.add(event.household_number)


def _move_in(event: MoveIn, c: _Change) -> None:
    reg, d = c.reg, c.on
    if (event.household_number is None) == (event.address is None):
        raise RuleViolationError(
            "既存の世帯番号か新しい世帯の住所のどちらか一方を指定してください", field="address"
        )
    if c.kind is not EventKind.EX_OFFICIO_ENTRY and not event.previous_address.strip():
        raise RuleViolationError("転入前住所を入力してください", field="previous_address")
    if event.household_number is not None:
        members = reg.members(event.household_number)
        _check_dates(event, members, reg.today)
        household, addr = event.household_number, _household_address(members)
    else:
        assert event.address is not None
        _check_dates(event, [], reg.today)
        household, addr = c.new_household(), event.address
    for np in event.persons:
        if np.birth_date > d:
            raise RuleViolationError(
                f"{np.name} の生年月日が異動日より後です", field="persons.birth_date"
            )
        c.enter(np, household, addr, event.previous_address)
    c.relabel(event.relationships, {household})
    c.touched.add(household)


def _move_within(event: MoveWithin, c: _Change) -> None:
    reg, d = c.reg, c.on
    movers = [reg.person(n) for n in dict.fromkeys(event.members)]
    _check_dates(event, movers, reg.today)
    sources = {p.household_number for p in movers}
    destination = event.address
    if event.into_household is not None:
        target_members = reg.members(event.into_household, field="into_household")
        _check_dates(event, target_members, reg.today)
        target = event.into_household
        if _household_address(target_members).address != event.address.address:
            raise RuleViolationError("転居先の世帯の住所と入力した住所が違います", field="address")
        # joining a household: its 方書, 郵便番号 and 行政区 are the movers' too
        destination = _household_address(target_members)
    elif len(sources) == 1 and {p.addressee_number for p in movers} == {
        p.addressee_number for p in reg.members(next(iter(sources)))
    }:
        target = next(iter(sources))  # the whole household moves
    else:
        target = c.new_household()
    for p in movers:
        c.changed[p.addressee_number] = replace(
            p,
            household_number=target,
            address=destination.address,
            address_detail=destination.address_detail,
            postal_code=destination.postal_code,
            district=destination.district,
            settled_on=d,
            notified_on=c.notified,
            last_event=c.kind,
            valid_from=d,
        )
    c.relabel(event.relationships, sources | {target})
    c.touched |= sources | {target}


def _removal(event: Removal, c: _Change) -> None:
    reg, d, kind = c.reg, c.on, c.kind
    leavers = [reg.person(n) for n in dict.fromkeys(event.members)]
    _check_dates(event, leavers, reg.today)
    if kind in (EventKind.DOMESTIC_MOVE_OUT, EventKind.FOREIGN_MOVE_OUT) and not (
        event.destination_address.strip()
    ):
        raise RuleViolationError("転出先を入力してください", field="destination_address")
    for p in leavers:
        c.changed[p.addressee_number] = replace(
            p,
            status=Status.REMOVED,
            removed_on=d,
            removal_reason=EVENT_LABELS[kind],
            destination_address=event.destination_address or None,
            notified_on=c.notified,
            last_event=kind,
            valid_from=d,
        )
    households = {p.household_number for p in leavers}
    c.relabel(event.relationships, households)
    c.touched |= households


def _household_split(event: HouseholdSplit, c: _Change) -> None:
    reg, d = c.reg, c.on
    movers = [reg.person(n) for n in dict.fromkeys(event.members)]
    _check_dates(event, movers, reg.today)
    sources = {p.household_number for p in movers}
    if len(sources) != 1:
        raise RuleViolationError(
            "世帯分離は同じ世帯の世帯員だけを指定してください", field="members"
        )
    source = next(iter(sources))
    if len(movers) == len(reg.members(source)):
        raise RuleViolationError(
            "世帯員全員の分離はできません (転居または世帯主変更を使ってください)",
            field="members",
        )
    target = c.new_household()
    for p in movers:
        c.changed[p.addressee_number] = replace(
            p,
            household_number=target,
            address_detail=p.address_detail
            if event.address_detail is None
            else event.address_detail,
            notified_on=c.notified,
            last_event=c.kind,
            valid_from=d,
        )
    c.relabel(event.relationships, {source, target})
    c.touched |= {source, target}


def _household_merge(event: HouseholdMerge, c: _Change) -> None:
    reg, d = c.reg, c.on
    if event.from_household == event.into_household:
        raise RuleViolationError("同じ世帯どうしは合併できません", field="into_household")
    joining = reg.members(event.from_household, field="from_household")
    staying = reg.members(event.into_household, field="into_household")
    _check_dates(event, [*joining, *staying], reg.today)
    target_addr = _household_address(staying)
    if joining[0].address != target_addr.address:
        raise RuleViolationError(
            "世帯合併は同じ住所の世帯どうしで行います (別の住所なら転居です)",
            field="into_household",
        )
    for p in joining:
        c.changed[p.addressee_number] = replace(
            p,
            household_number=event.into_household,
            address_detail=target_addr.address_detail,
            postal_code=target_addr.postal_code,
            district=target_addr.district,
            notified_on=c.notified,
            last_event=c.kind,
            valid_from=d,
        )
    c.relabel(event.relationships, {event.from_household, event.into_household})
    c.touched |= {event.from_household, event.into_household}


def _head_change(event: HeadChange, c: _Change) -> None:
    reg = c.reg
    members = reg.members(event.household_number)
    _check_dates(event, members, reg.today)
    for number in event.relationships:
        if reg.person(number, field="relationships").household_number != event.household_number:
            raise RuleViolationError(
                f"宛名番号 {number} はこの世帯の世帯員ではありません", field="relationships"
            )
    c.relabel(event.relationships, {event.household_number})
    c.touched.add(event.household_number)


def _correction(event: Correction, c: _Change) -> None:
    reg = c.reg
    p = reg.person(event.member, field="member")
    _check_dates(event, [p], reg.today)
    updates = event.fields.model_dump(exclude_none=True)
    both = set(updates) & set(event.cleared)
    if both:
        raise RuleViolationError(
            f"同じ項目を修正と空欄の両方に指定しています: {', '.join(sorted(both))}",
            field="cleared",
        )
    updates |= dict.fromkeys(event.cleared)
    if not updates:
        raise RuleViolationError("修正する項目がありません", field="fields")
    if "resident_code" in updates:
        try:
            validate_resident_code(updates["resident_code"])
        except InvalidIdentifierError as e:
            raise RuleViolationError(str(e), field="fields.resident_code") from e
    if "relationship" in updates:
        _check_relationship(updates["relationship"])
    if "individual_number" in updates:
        try:
            validate_individual_number(updates["individual_number"])
        except InvalidIdentifierError as e:
            raise RuleViolationError(str(e), field="fields.individual_number") from e
    c.changed[p.addressee_number] = replace(
        p, **updates, notified_on=c.notified, last_event=c.kind, valid_from=c.on
    )
    # 郵便番号 and 行政区 belong to the address, which the household shares: correcting
    # them corrects them for every member
    address_fields = {k: updates[k] for k in ("postal_code", "district") if k in updates}
    if address_fields:
        for m in reg.members(p.household_number):
            if m.addressee_number != p.addressee_number:
                c.changed[m.addressee_number] = replace(m, **address_fields)
    c.touched.add(p.household_number)


Handler = Callable[[Any, _Change], None]

#: the handler of each life-event kind (an initial load is not an event: it is written by
#: the import, not applied). A new kind adds its event model, its handler and its row here.
HANDLERS: dict[EventKind, Handler] = {
    EventKind.BIRTH: _birth,
    EventKind.DOMESTIC_MOVE_IN: _move_in,
    EventKind.FOREIGN_MOVE_IN: _move_in,
    EventKind.EX_OFFICIO_ENTRY: _move_in,
    EventKind.MOVE_WITHIN: _move_within,
    EventKind.DOMESTIC_MOVE_OUT: _removal,
    EventKind.FOREIGN_MOVE_OUT: _removal,
    EventKind.DEATH: _removal,
    EventKind.EX_OFFICIO_REMOVAL: _removal,
    EventKind.HOUSEHOLD_SPLIT: _household_split,
    EventKind.HOUSEHOLD_MERGE: _household_merge,
    EventKind.HEAD_CHANGE: _head_change,
    EventKind.CORRECTION: _correction,
}


def holds_identity(status: Status, removal_reason: str | None) -> bool:
    """Whether a register record keeps its 住民票コード and 個人番号 from anyone else.

    A resident's and a dead person's do (a code given to a second person is the fault seed
    002 found five years late). A record removed by a move out or 職権消除 does not: the
    same person coming back is entered again under the code they kept (住民票コード and
    個人番号 follow a person for life), so the closed record is that person's, not a rival's.
    """
    return status is Status.RESIDENT or removal_reason == EVENT_LABELS[EventKind.DEATH]


IDENTITY_FIELDS = {"resident_code": "住民票コード", "individual_number": "個人番号"}


def shared_within(states: Sequence[PersonState]) -> tuple[str, str, str, str] | None:
    """(field, value, first, second) when two of ``states`` carry the same 住民票コード or
    個人番号 (two new people of one 転入 typed with one code), else None."""
    for field_name in IDENTITY_FIELDS:
        seen: dict[str, str] = {}
        for st in states:
            value = getattr(st, field_name)
            if not value or not holds_identity(st.status, st.removal_reason):
                continue
            if value in seen and seen[value] != st.addressee_number:
                return field_name, value, seen[value], st.addressee_number
            seen[value] = st.addressee_number
    return None


def apply_event(
    event: Event,
    reg: Register,
    *,
    issue_addressee_number: Callable[[], str],
    issue_household_number: Callable[[], str],
) -> Outcome:
    """Validate ``event`` against the loaded register and return the new states: the
    kind's handler (:data:`HANDLERS`) builds the change, then every changed person gets
    this event as their latest and the register's invariants are checked.

    Raises :class:`RuleViolationError` (with the offending field) if the event is not
    allowed or if any invariant would break; the caller then writes nothing.
    """
    c = _Change(event, reg, issue_addressee_number, issue_household_number)
    HANDLERS[c.kind](event, c)
    d, kind, notified = c.on, c.kind, c.notified
    changed = c.changed
    # Everyone whose state changed gets this event as their latest, dated d.
    for number, state in list(changed.items()):
        if state.valid_from != d or state.last_event is not kind:
            changed[number] = replace(state, valid_from=d, last_event=kind, notified_on=notified)
    touched = c.touched | {s.household_number for s in changed.values()}
    check_invariants(reg, changed, touched)
    return Outcome(
        tuple(changed.values()), tuple(c.new_households), tuple(changed), tuple(sorted(touched))
    )


@dataclass(frozen=True)
class RegisterChange:
    """What a business area following the register sees of one life event
    (register/linkage.py passes it on)."""

    event_id: int
    kind: EventKind
    effective_date: date
    recorded_on: date
    #: each changed person's state before the event (None: new to the register)
    before: Mapping[str, PersonState | None]
    #: each changed person's state after it
    after: Mapping[str, PersonState]

    @property
    def label(self) -> str:
        return EVENT_LABELS[self.kind]


def check_invariants(
    reg: Register, changed: Mapping[str, PersonState], households: Iterable[str]
) -> None:
    """One head per household among current members; members share the address; dates hold."""
    for s in changed.values():
        check_person_dates(s, reg.today)
        check_foreign_resident(s)
    for h in households:
        members = {p.addressee_number: p for p in reg.households.get(h, []) if p.is_resident}
        for number, s in changed.items():
            if s.household_number == h and s.is_resident:
                members[number] = s
            elif number in members:
                del members[number]
        current = list(members.values())
        if not current:
            continue
        heads = [p for p in current if p.relationship == HEAD]
        if len(heads) != 1:
            names = "、".join(p.name for p in heads) or "なし"
            raise RuleViolationError(
                f"世帯 {h} の世帯主が {len(heads)} 人になります (世帯主: {names})。"
                "世帯主はちょうど1人です: 続柄を指定してください",
                field="relationships",
            )
        # one address per household: the same 住所 and 方書, and so the same 郵便番号 and
        # 行政区 (the all-residents list groups households by district)
        addresses = {(p.address, p.address_detail, p.postal_code, p.district) for p in current}
        if len(addresses) != 1:
            raise RuleViolationError(
                f"世帯 {h} の世帯員の住所が一致しなくなります", field="address"
            )


def check_person_dates(s: PersonState, today: date) -> None:
    if s.birth_date > today:
        raise RuleViolationError(f"{s.name} の生年月日が未来です", field="birth_date")
    if not s.birth_date <= s.resident_since <= s.settled_on <= today:
        raise RuleViolationError(
            f"{s.name} の日付が矛盾します (生年月日 ≤ 住民日 ≤ 住定日 ≤ 今日 が必要)",
            field="effective_date",
        )
    if s.last_event is EventKind.BIRTH and s.resident_since != s.birth_date:
        raise RuleViolationError("出生による住民日は生年月日と同じです", field="birth_date")
    if s.removed_on is not None and s.removed_on < s.settled_on:
        raise RuleViolationError(f"{s.name} の消除日が住定日より前です", field="effective_date")


def foreign_resident_problem(s: PersonState) -> tuple[str, str] | None:
    """The first broken rule of the foreign-resident items, as (attribute, message).

    A Japanese national (no 国籍・地域) has none of the items. A foreign resident has a
    区分 and no 本籍 or 筆頭者. A 中長期在留者 has a 在留資格 that gives a 住民票 (not
    短期滞在, 外交, 公用) and, unless 永住者, the date the stay ends. A 特別永住者 has
    neither 在留資格 nor 在留期間. 一時庇護許可者 and 仮滞在許可者 have no 在留資格 or
    residence card (their permitted period may be recorded); 経過滞在者 have none of these.
    """
    if s.nationality is None:
        for attr, label in FOREIGN_FIELDS.items():
            if getattr(s, attr) is not None:
                return attr, f"国籍・地域のない (日本国籍の) 住民に{label}は記載できません"
        return None
    if not s.nationality.strip():
        return "nationality", "国籍・地域が空白です"
    if s.honseki or s.hittousha:
        return "honseki", "外国人住民には本籍・筆頭者を記載しません"
    if s.foreign_category is None:
        return "foreign_category", "外国人住民には第30条45規定区分が必要です"
    if s.foreign_category not in FOREIGN_CATEGORIES:
        return (
            "foreign_category",
            f"第30条45規定区分「{s.foreign_category}」は {'、'.join(FOREIGN_CATEGORIES)} "
            "のいずれかです",
        )
    status, category = s.residence_status, s.foreign_category
    if status is not None and residence_status_base(status) is None:
        return "residence_status", f"在留資格「{status}」は使えません"
    if category == "中長期在留者":
        if status is None:
            return "residence_status", "中長期在留者には在留資格が必要です"
        base = residence_status_base(status)
        if base in NOT_MID_TO_LONG_TERM:
            return "residence_status", f"在留資格「{status}」の人は中長期在留者ではありません"
        if base == "永住者" and s.stay_expires_on is not None:
            return "stay_expires_on", "永住者には在留期間の満了の日がありません"
        if base != "永住者" and s.stay_expires_on is None:
            return "stay_expires_on", "永住者以外の中長期在留者には在留期間の満了の日が必要です"
    elif category == "特別永住者":
        if status is not None or s.stay_expires_on:
            return "residence_status", "特別永住者には在留資格・在留期間を記載しません"
    else:  # 一時庇護許可者, 仮滞在許可者, 経過滞在者
        if status is not None:
            return "residence_status", f"{category}には在留資格がありません"
        if s.residence_card_number is not None:
            return "residence_card_number", f"{category}には在留カードがありません"
        if "経過滞在者" in category and s.stay_expires_on is not None:
            return "stay_expires_on", f"{category}には在留期間がありません"
    card = s.residence_card_number
    if card is not None and not RESIDENCE_CARD_NUMBER.match(card):
        return (
            "residence_card_number",
            f"在留カード等番号は英字2桁・数字8桁・英字2桁です: 「{card}」",
        )
    return None


def check_foreign_resident(s: PersonState) -> None:
    problem = foreign_resident_problem(s)
    if problem is not None:
        attr, message = problem
        raise RuleViolationError(f"{s.name}: {message}", field=attr)


def residence_status_base(value: str) -> str | None:
    """The 在留資格 a value names (特定技能1号 → 特定技能), or None when it names none: a known
    status, followed only by a sub-kind that status has."""
    for known in RESIDENCE_STATUSES:
        if value == known:
            return known
        sub = STATUS_SUB_KINDS.get(known)
        if sub is not None and value.startswith(known) and sub.fullmatch(value[len(known) :]):
            return known
    return None
