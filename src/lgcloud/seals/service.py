"""印鑑登録 writes: register and abolish, each one audited write (the rules are in
``domain.py``, the reads in ``queries.py``)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from lgcloud.core.clock import utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import RuleViolationError
from lgcloud.parameters.queries import parameters_on
from lgcloud.register.queries import get_person
from lgcloud.register.service import locked_sequence
from lgcloud.seals import parameters
from lgcloud.seals.domain import check_abolition, check_registration
from lgcloud.seals.models import SealRegistration
from lgcloud.seals.queries import active_seal
from lgcloud.tenancy.platform import Town
from lgcloud.trail.journal import finish_write


def _next_registration_number(town: Town) -> str:
    """登録番号 from the town's ``seal`` series, locked (``FOR UPDATE``) in the caller's
    write: two clerks registering at once on PostgreSQL get different numbers (counting the
    rows would give both the same one). The series starts after the registrations already
    there (generated or imported ones)."""
    row = locked_sequence(
        town,
        "seal",
        lambda: (town.session.scalar(select(func.count()).select_from(SealRegistration)) or 0) + 1,
    )
    number = row.next_value
    row.next_value = number + 1
    return f"{number:08d}"


def register_seal(
    town: Town, ctx: RequestContext, addressee_number: str, *, image_png: bytes, registered_on: date
) -> SealRegistration:
    """印鑑登録: one active registration per resident of ``seals.min_age`` or more (audited)."""
    person = get_person(town, addressee_number)
    already = active_seal(town, addressee_number) is not None
    params = parameters_on(town, registered_on, parameters.MIN_AGE)
    check_registration(
        person,
        registered_on,
        image_png,
        already_registered=already,
        min_age=params.int(parameters.MIN_AGE),
    )
    reg = SealRegistration(
        registration_number=_next_registration_number(town),
        addressee_number=addressee_number,
        image_png=image_png,
        registered_on=registered_on,
        abolished_on=None,
        abolition_reason=None,
        recorded_at=utcnow(),
    )
    town.session.add(reg)
    town.session.flush()
    finish_write(
        town.session,
        ctx,
        "seal_registered",
        subjects=[addressee_number],
        detail={"registration_number": reg.registration_number},
    )
    return reg


def end_registration(
    town: Town, addressee_number: str, *, abolished_on: date, reason: str
) -> SealRegistration | None:
    """Abolish the person's active registration, if any, without an audit entry of its own:
    the write of the caller's change (the register's, when a removal reaches seals through
    the linkage) audits it. Returns the registration abolished."""
    reg = active_seal(town, addressee_number)
    if reg is None:
        return None
    check_abolition(reg.registered_on, abolished_on, reason)
    reg.abolished_on = abolished_on
    reg.abolition_reason = reason
    return reg


def abolish_seal(
    town: Town, ctx: RequestContext, addressee_number: str, *, abolished_on: date, reason: str
) -> None:
    """印鑑登録の廃止 (audited)."""
    get_person(town, addressee_number)  # a number this town does not have: NotFoundError
    reg = end_registration(town, addressee_number, abolished_on=abolished_on, reason=reason)
    if reg is None:
        raise RuleViolationError("登録されている印鑑がありません", field="addressee_number")
    finish_write(
        town.session,
        ctx,
        "seal_abolished",
        subjects=[addressee_number],
        detail={"registration_number": reg.registration_number, "reason": reason},
    )
