"""国民健康保険 follows the register: a change that may end, start or move a qualification
becomes a 処理待ち item for the NHI staff (the rule is ``domain.proposals``), due within the
届出 period (``insurance.notification_days``). Nothing is changed automatically: whether a
person is excluded (第6条) is known to the staff, not the register."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import or_, select

from lgcloud.core.context import RequestContext
from lgcloud.insurance.domain import FOLLOWED, proposals
from lgcloud.insurance.models import NhiHousehold, NhiMember
from lgcloud.insurance.parameters import NOTIFICATION_DAYS
from lgcloud.parameters.queries import parameters_on
from lgcloud.register.domain import RegisterChange
from lgcloud.register.linkage import Follower, follow
from lgcloud.tenancy.platform import Town
from lgcloud.worklist.service import raise_task


def _insured(town: Town, numbers: Iterable[str], on: date) -> set[str]:
    return set(
        town.session.scalars(
            select(NhiMember.addressee_number).where(
                NhiMember.addressee_number.in_(list(numbers)),
                NhiMember.qualified_on <= on,
                or_(NhiMember.disqualified_on.is_(None), NhiMember.disqualified_on > on),
            )
        )
    )


def _insured_households(town: Town, households: Iterable[str], on: date) -> set[str]:
    return set(
        town.session.scalars(
            select(NhiHousehold.household_number).where(
                NhiHousehold.household_number.in_(list(households)),
                NhiHousehold.started_on <= on,
                or_(NhiHousehold.ended_on.is_(None), NhiHousehold.ended_on > on),
            )
        )
    )


def react(town: Town, ctx: RequestContext, change: RegisterChange) -> list[str]:
    day_before = change.effective_date - timedelta(days=1)
    insured = _insured(town, change.after, day_before)
    households = {s.household_number for s in change.after.values()}
    found = proposals(change, insured, _insured_households(town, households, day_before))
    if not found:
        return []
    days = parameters_on(town, change.recorded_on, NOTIFICATION_DAYS).int(NOTIFICATION_DAYS)
    for p in found:
        raise_task(
            town,
            area="insurance",
            kind=p.kind,
            addressee_number=p.addressee_number,
            summary=p.summary,
            proposal=p.proposal,
            raised_on=change.recorded_on,
            days_allowed=days,
            event_id=change.event_id,
        )
    return [f"{p.addressee_number}: 処理待ち {p.kind}" for p in found]


follow(Follower("insurance", "国民健康保険", FOLLOWED, react))
