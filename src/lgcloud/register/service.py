"""The register's single write path: one function records one life event, atomically.

``record_event`` loads the current states the event touches, lets the pure domain validate
and apply it, then writes the event, the new versions, the audit entry and the journal
entry in the caller's transaction. On any refusal nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Row, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lgcloud.core.clock import today_jst, utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import RuleViolationError
from lgcloud.core.ids import format_numbered, is_issuable_sequence
from lgcloud.core.logging import get_logger
from lgcloud.register import folding
from lgcloud.register.domain import (
    IDENTITY_FIELDS,
    Birth,
    Correction,
    EventKind,
    HeadChange,
    HouseholdMerge,
    HouseholdSplit,
    MoveIn,
    MoveWithin,
    PersonState,
    Register,
    RegisterChange,
    Removal,
    Sex,
    Status,
    apply_event,
    holds_identity,
    shared_within,
)
from lgcloud.register.glyphs import glyphs_of
from lgcloud.register.linkage import pass_on
from lgcloud.register.models import (
    Household,
    LifeEventRecord,
    NumberSequence,
    Person,
    PersonVersion,
    TownInfo,
)
from lgcloud.register.printable import Unprintable, unprintable_in
from lgcloud.tenancy.platform import Town
from lgcloud.trail.journal import check_writable, finish_write

log = get_logger("lgcloud.register")

AnyEvent = (
    Birth
    | MoveIn
    | MoveWithin
    | Removal
    | HouseholdSplit
    | HouseholdMerge
    | HeadChange
    | Correction
)


def init_town_register(
    session: Session, *, code: str, name: str, kana: str = "", prefecture: str = ""
) -> None:
    """A new town's register: its town record and its number series (onboarding)."""
    session.add(
        TownInfo(code=code, name=name, kana=kana, prefecture=prefecture, created_at=utcnow())
    )
    session.add_all(
        [
            NumberSequence(name="addressee", next_value=1),
            NumberSequence(name="household", next_value=1),
        ]
    )


def split_name(name: str) -> str:
    """The given-name part of ``氏 名`` (after the first full- or half-width space)."""
    for sep in ("\u3000", " "):
        if sep in name:
            return name.split(sep, 1)[1]
    return ""


def search_keys(name: str, kana: str) -> dict[str, str]:
    return {
        "name_key": folding.name_key(name),
        "given_name_key": folding.name_key(split_name(name)),
        "kana_key": folding.kana_key(kana),
        "given_kana_key": folding.kana_key(split_name(kana)),
    }


def state_of(row: PersonVersion | Row[Any]) -> PersonState:
    """The domain state of a person_versions row (ORM object or plain row)."""
    return PersonState(
        addressee_number=row.addressee_number,
        status=Status(row.status),
        name=row.name,
        kana=row.kana,
        birth_date=row.birth_date,
        sex=Sex(row.sex),
        resident_code=row.resident_code,
        household_number=row.household_number,
        relationship=row.relationship,
        address=row.address,
        address_detail=row.address_detail,
        postal_code=row.postal_code,
        district=row.district,
        resident_since=row.resident_since,
        settled_on=row.settled_on,
        notified_on=row.notified_on,
        last_event=EventKind(row.last_event),
        valid_from=row.valid_from,
        removed_on=row.removed_on,
        removal_reason=row.removal_reason,
        previous_address=row.previous_address,
        destination_address=row.destination_address,
        honseki=row.honseki,
        hittousha=row.hittousha,
        individual_number=row.individual_number,
        nationality=row.nationality,
        foreign_category=row.foreign_category,
        residence_status=row.residence_status,
        stay_expires_on=row.stay_expires_on,
        residence_card_number=row.residence_card_number,
    )


def version_values(s: PersonState) -> dict[str, object]:
    """Column values of a person_versions row for state ``s`` (without bookkeeping columns)."""
    return {
        "addressee_number": s.addressee_number,
        "status": s.status.value,
        "name": s.name,
        "kana": s.kana,
        **search_keys(s.name, s.kana),
        "birth_date": s.birth_date,
        "sex": int(s.sex),
        "resident_code": s.resident_code,
        "household_number": s.household_number,
        "relationship": s.relationship,
        "address": s.address,
        "address_detail": s.address_detail,
        "postal_code": s.postal_code,
        "district": s.district,
        "resident_since": s.resident_since,
        "settled_on": s.settled_on,
        "notified_on": s.notified_on,
        "last_event": s.last_event.value,
        "removed_on": s.removed_on,
        "removal_reason": s.removal_reason,
        "previous_address": s.previous_address,
        "destination_address": s.destination_address,
        "honseki": s.honseki,
        "hittousha": s.hittousha,
        "individual_number": s.individual_number,
        "nationality": s.nationality,
        "foreign_category": s.foreign_category,
        "residence_status": s.residence_status,
        "stay_expires_on": s.stay_expires_on,
        "residence_card_number": s.residence_card_number,
        "valid_from": s.valid_from,
    }


def locked_sequence(town: Town, name: str, start: Callable[[], int] = lambda: 1) -> NumberSequence:
    """The number series ``name``, locked (``FOR UPDATE``) in the caller's write; created
    on first use, starting at ``start()``. Two first uses at once (PostgreSQL) do not fail:
    the second one's insert meets the first one's row (its savepoint is rolled back) and
    it then waits for and locks that row. The insert is an ORM write, so the journal
    carries it to the replicas."""
    session = town.session
    row = session.get(NumberSequence, name, with_for_update=True)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            session.add(NumberSequence(name=name, next_value=start()))
    except IntegrityError:
        pass  # created meanwhile by another transaction, now committed
    row = session.get(NumberSequence, name, with_for_update=True, populate_existing=True)
    if row is None:  # pragma: no cover - the insert or the other transaction made it
        raise RuleViolationError(f"番号の連番 {name} を作れませんでした")
    return row


def issue_number(town: Town, sequence: str) -> str:
    """Issue the next 宛名番号 / 世帯番号, skipping sequence numbers whose check digit
    would be 10 (see :func:`lgcloud.core.ids.mod11_check_digit`)."""
    row = town.session.get(NumberSequence, sequence, with_for_update=True)
    if row is None:
        raise RuleViolationError(f"番号の連番 {sequence} が初期化されていません")
    seq = row.next_value
    while not is_issuable_sequence(seq):
        seq += 1
    row.next_value = seq + 1
    return format_numbered(seq)


def current_versions(town: Town, numbers: Iterable[str]) -> list[PersonVersion]:
    numbers = list(numbers)
    if not numbers:
        return []
    stmt = select(PersonVersion).where(
        PersonVersion.addressee_number.in_(numbers), PersonVersion.is_current == true()
    )
    return list(town.session.scalars(stmt))


def household_current_versions(town: Town, households: Iterable[str]) -> list[PersonVersion]:
    households = list(households)
    if not households:
        return []
    stmt = select(PersonVersion).where(
        PersonVersion.household_number.in_(households),
        PersonVersion.is_current == true(),
        PersonVersion.status == Status.RESIDENT.value,
    )
    return list(town.session.scalars(stmt))


def _referenced(event: AnyEvent) -> tuple[set[str], set[str]]:
    people: set[str] = set(getattr(event, "relationships", {}) or {})
    households: set[str] = set()
    for attr in ("members",):
        people |= set(getattr(event, attr, []) or [])
    if isinstance(event, Correction):
        people.add(event.member)
    for attr in ("household_number", "into_household", "from_household"):
        value = getattr(event, attr, None)
        if value:
            households.add(value)
    return people, households


def load_register(town: Town, event: AnyEvent, today: date) -> Register:
    people, households = _referenced(event)
    households |= {v.household_number for v in current_versions(town, people)}
    by_household: dict[str, list[PersonState]] = {h: [] for h in households}
    for row in household_current_versions(town, households):
        by_household[row.household_number].append(state_of(row))
    return Register(by_household, today)


@dataclass(frozen=True)
class EventResult:
    event_id: int
    kind: EventKind
    subjects: tuple[str, ...]
    new_households: tuple[str, ...]
    #: fields the event wrote that no installed font prints (recorded all the same: the
    #: record is what was notified; a certificate of it waits for a 外字 or a correction)
    unprintable: tuple[Unprintable, ...] = ()


def record_event(
    town: Town, ctx: RequestContext, event: AnyEvent, *, today: date | None = None
) -> EventResult:
    """Record one life event: validate, write new versions, event, audit and journal entries."""
    check_writable(ctx, "life_event")  # a read-only copy says so before anything else
    session = town.session
    reg = load_register(town, event, today or today_jst())
    outcome = apply_event(
        event,
        reg,
        issue_addressee_number=lambda: issue_number(town, "addressee"),
        issue_household_number=lambda: issue_number(town, "household"),
    )
    refuse_shared_identity(town, outcome.changed)
    record = LifeEventRecord(
        kind=EventKind(event.kind).value,
        effective_date=event.effective_date,
        notified_date=event.notified_date,
        recorded_at=utcnow(),
        clerk_id=ctx.actor.clerk_id,
        clerk_name=ctx.actor.name,
        subjects=list(outcome.subjects),
        payload=event.model_dump(mode="json"),
        request_id=ctx.request_id,
    )
    session.add(record)
    session.flush()
    for h in outcome.new_households:
        session.add(
            Household(number=h, created_on=event.effective_date, created_event_id=record.id)
        )
    write_versions(town, outcome.changed, event_id=record.id)
    linked = pass_on(
        town,
        ctx,
        RegisterChange(
            event_id=record.id,
            kind=EventKind(event.kind),
            effective_date=event.effective_date,
            recorded_on=reg.today,
            before={n: reg.people.get(n) for n in outcome.subjects},
            after={s.addressee_number: s for s in outcome.changed},
        ),
    )
    detail: dict[str, Any] = {
        "event_id": record.id,
        "kind": record.kind,
        "effective_date": str(event.effective_date),
    }
    if linked:
        detail["linked"] = linked
    finish_write(session, ctx, "life_event", subjects=outcome.subjects, detail=detail)
    log.info(
        "life_event_recorded",
        town=town.code,
        kind=record.kind,
        event_id=record.id,
        people=len(outcome.subjects),
        request_id=ctx.request_id,
    )
    return EventResult(
        record.id,
        EventKind(event.kind),
        outcome.subjects,
        outcome.new_households,
        tuple(unprintable_in(outcome.changed, set(glyphs_of(town)))),
    )


def identity_holders(
    town: Town, field_name: str, values: Iterable[str]
) -> dict[str, list[tuple[str, str]]]:
    """value → [(addressee number, name)] of the town's records that hold it (see
    :func:`~lgcloud.register.domain.holds_identity`), by the index on the column."""
    values = sorted(set(values))
    column = getattr(PersonVersion, field_name)
    out: dict[str, list[tuple[str, str]]] = {}
    for i in range(0, len(values), 500):
        rows = town.session.execute(
            select(
                column,
                PersonVersion.addressee_number,
                PersonVersion.name,
                PersonVersion.status,
                PersonVersion.removal_reason,
            ).where(column.in_(values[i : i + 500]), PersonVersion.is_current.is_(True))
        ).all()
        for value, number, name, status, reason in rows:
            if holds_identity(Status(status), reason):
                out.setdefault(value, []).append((number, name))
    return out


def refuse_shared_identity(town: Town, states: Sequence[PersonState]) -> None:
    """Refuse a write that would give a 住民票コード or 個人番号 to a second person of the
    town: within the event itself, or held by another record of the register."""
    clash = shared_within(states)
    if clash is not None:
        field_name, value, first, second = clash
        raise RuleViolationError(
            f"{IDENTITY_FIELDS[field_name]} {value} が二人 (宛名番号 {first} と {second}) に"
            "記録されようとしています。一人に一つの番号です",
            field=field_name,
        )
    ours = {st.addressee_number for st in states}
    for field_name, label in IDENTITY_FIELDS.items():
        values = {
            getattr(st, field_name)
            for st in states
            if getattr(st, field_name) and holds_identity(st.status, st.removal_reason)
        }
        if not values:
            continue
        for value, holders in identity_holders(town, field_name, values).items():
            others = [(n, name) for n, name in holders if n not in ours]
            if others:
                number, name = others[0]
                raise RuleViolationError(
                    f"{label} {value} は既に宛名番号 {number} ({name}) に記録されています。"
                    "同じ番号を二人に記録することはできません (番号と本人を確かめてください)",
                    field=field_name,
                )


def write_versions(town: Town, states: Sequence[PersonState], *, event_id: int) -> None:
    """Close each person's current version and add the new one (or create the person)."""
    session = town.session
    if not states:
        return
    current = {
        v.addressee_number: v for v in current_versions(town, [s.addressee_number for s in states])
    }
    for s in states:
        old = current.get(s.addressee_number)
        if old is None:
            session.add(Person(addressee_number=s.addressee_number, created_event_id=event_id))
            session.flush()
            version_no = 1
        else:
            old.valid_to = s.valid_from
            old.is_current = False
            version_no = old.version_no + 1
        session.add(
            PersonVersion(
                **version_values(s),
                version_no=version_no,
                valid_to=None,
                is_current=True,
                event_id=event_id,
            )
        )
    session.flush()


__all__ = ["EventResult", "locked_sequence", "record_event", "search_keys", "state_of"]
