"""National health insurance write functions and queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select

from lgcloud.core.clock import utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import RuleViolationError
from lgcloud.insurance.domain import copay_percent
from lgcloud.insurance.models import NhiHousehold, NhiMember
from lgcloud.insurance.parameters import COPAY_KEYS, copay_rules
from lgcloud.parameters.queries import parameters_on
from lgcloud.register.queries import get_person
from lgcloud.tenancy.platform import Town
from lgcloud.trail.journal import finish_write


def copay_on(town: Town, birth: date, on: date) -> int:
    """一部負担金の割合 on ``on``, with the ages and shares of that day (dated parameters)."""
    rules = copay_rules(parameters_on(town, on, *COPAY_KEYS))
    return copay_percent(birth, on, rules)


@dataclass(frozen=True)
class NhiStatus:
    symbol: str
    insured_number: str
    branch: str
    qualified_on: date
    disqualified_on: date | None
    copay_percent: int
    householder: str
    household_number: str


def enroll_household(
    town: Town,
    ctx: RequestContext,
    *,
    household_number: str,
    householder: str,
    members: Sequence[str],
    qualified_on: date,
) -> NhiHousehold:
    """Enrol members of a register household in 国保 (資格取得), issuing 記号・番号 (audited)."""
    if not members:
        raise RuleViolationError("加入する被保険者がいません", field="members")
    head = get_person(town, householder)
    if head.household_number != household_number:
        raise RuleViolationError("国保の世帯主は同じ住民票世帯の人です", field="householder")
    people = [get_person(town, m) for m in members]
    for p in people:
        if p.household_number != household_number or not p.is_resident:
            raise RuleViolationError(f"{p.name} はこの世帯の住民ではありません", field="members")
        if _overlapping_member(town, p.addressee_number, qualified_on) is not None:
            raise RuleViolationError(
                f"{p.name} は既に国保の資格があります ({qualified_on} 以降の資格期間と重なります)",
                field="members",
            )
    count = town.session.scalar(select(func.count()).select_from(NhiHousehold)) or 0
    h = NhiHousehold(
        household_number=household_number,
        symbol=f"{town.code[:2]}-{town.code[2:5]}",
        householder=householder,
        started_on=qualified_on,
        ended_on=None,
    )
    town.session.add(h)
    town.session.flush()
    for branch, p in enumerate(people, start=1):
        town.session.add(
            NhiMember(
                nhi_household_id=h.id,
                addressee_number=p.addressee_number,
                insured_number=f"{count + 1:07d}",
                branch=f"{branch:02d}",
                qualified_on=qualified_on,
                disqualified_on=None,
                copay_percent=copay_on(town, p.birth_date, qualified_on),
                recorded_at=utcnow(),
            )
        )
    town.session.flush()
    finish_write(
        town.session,
        ctx,
        "nhi_enrolled",
        subjects=list(members),
        detail={"household_number": household_number, "qualified_on": str(qualified_on)},
    )
    return h


def _current_member(town: Town, addressee_number: str, on: date) -> NhiMember | None:
    return town.session.scalar(
        select(NhiMember).where(
            NhiMember.addressee_number == addressee_number,
            NhiMember.qualified_on <= on,
            or_(NhiMember.disqualified_on.is_(None), NhiMember.disqualified_on > on),
        )
    )


def _overlapping_member(town: Town, addressee_number: str, start: date) -> NhiMember | None:
    """A qualification period of the person that overlaps [start, ∞)."""
    return town.session.scalar(
        select(NhiMember).where(
            NhiMember.addressee_number == addressee_number,
            or_(NhiMember.disqualified_on.is_(None), NhiMember.disqualified_on > start),
        )
    )


def end_qualification(
    town: Town, ctx: RequestContext, addressee_number: str, *, disqualified_on: date
) -> None:
    """資格喪失 (e.g. joining an employer's insurance, moving out, turning 75) (audited)."""
    m = _current_member(town, addressee_number, disqualified_on)
    if m is None:
        raise RuleViolationError("この日に国保の資格はありません", field="disqualified_on")
    if disqualified_on <= m.qualified_on:
        raise RuleViolationError("資格喪失日は資格取得日より後です", field="disqualified_on")
    m.disqualified_on = disqualified_on
    finish_write(
        town.session,
        ctx,
        "nhi_disqualified",
        subjects=[addressee_number],
        detail={"disqualified_on": str(disqualified_on)},
    )


def nhi_status(town: Town, addressee_number: str, on: date) -> NhiStatus | None:
    """The person's 国保 qualification on ``on`` (None when not insured)."""
    m = _current_member(town, addressee_number, on)
    if m is None:
        return None
    h = town.session.get(NhiHousehold, m.nhi_household_id)
    assert h is not None
    person = get_person(town, addressee_number)
    return NhiStatus(
        h.symbol,
        m.insured_number,
        m.branch,
        m.qualified_on,
        m.disqualified_on,
        copay_on(town, person.birth_date, on),  # the rate changes with age: as of ``on``
        h.householder,
        h.household_number,
    )
