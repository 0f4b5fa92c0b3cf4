"""Seal registration write functions and queries."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from lgcloud.core.clock import utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.dates import age_on
from lgcloud.core.errors import RuleViolationError
from lgcloud.register.queries import get_person
from lgcloud.seals.models import SealRegistration
from lgcloud.tenancy.platform import Town
from lgcloud.trail.journal import finish_write

MIN_AGE = 15  # 印鑑登録ができる年齢
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def active_seal(town: Town, addressee_number: str) -> SealRegistration | None:
    return town.session.scalar(
        select(SealRegistration).where(
            SealRegistration.addressee_number == addressee_number,
            SealRegistration.abolished_on.is_(None),
        )
    )


def register_seal(
    town: Town, ctx: RequestContext, addressee_number: str, *, image_png: bytes, registered_on: date
) -> SealRegistration:
    """印鑑登録: one active registration per resident aged 15 or more (audited)."""
    person = get_person(town, addressee_number)
    if not person.is_resident:
        raise RuleViolationError("住民でない人は印鑑登録できません", field="addressee_number")
    if age_on(person.birth_date, registered_on) < MIN_AGE:
        raise RuleViolationError("15歳未満の人は印鑑登録できません", field="addressee_number")
    if not image_png.startswith(PNG_MAGIC):
        raise RuleViolationError("印影の画像はPNGで登録してください", field="image_png")
    if active_seal(town, addressee_number) is not None:
        raise RuleViolationError(
            "既に登録されている印鑑があります (先に廃止してください)", field="addressee_number"
        )
    count = town.session.scalar(select(func.count()).select_from(SealRegistration)) or 0
    reg = SealRegistration(
        registration_number=f"{count + 1:08d}",
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


def abolish_seal(
    town: Town, ctx: RequestContext, addressee_number: str, *, abolished_on: date, reason: str
) -> None:
    """印鑑登録の廃止 (audited)."""
    reg = active_seal(town, addressee_number)
    if reg is None:
        raise RuleViolationError("登録されている印鑑がありません", field="addressee_number")
    if abolished_on < reg.registered_on:
        raise RuleViolationError("廃止日が登録日より前です", field="abolished_on")
    reg.abolished_on = abolished_on
    reg.abolition_reason = reason
    finish_write(
        town.session,
        ctx,
        "seal_abolished",
        subjects=[addressee_number],
        detail={"registration_number": reg.registration_number, "reason": reason},
    )
