"""Addressee writes, each one audited write: register a 住登外者 (a number from the
register's series), link a 住登外者 to a resident (名寄せ) and undo it, and set an
addressee's 送付先, 代理人 or 口座 for a business area (replacing the one in force)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from lgcloud.addressees.domain import (
    ACCOUNT_PURPOSES,
    AREAS,
    PROXY_ROLES,
    NonResidentIn,
    check_bank_account,
    check_link,
    check_non_resident,
)
from lgcloud.addressees.models import AddresseeLink, AreaContact, NonResident
from lgcloud.core.clock import utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.register import folding
from lgcloud.register.models import Person
from lgcloud.register.queries import get_person
from lgcloud.register.service import issue_number
from lgcloud.tenancy.platform import Town
from lgcloud.trail.journal import finish_write

MAX_REASON = 200


def register_non_resident(
    town: Town, ctx: RequestContext, data: NonResidentIn, *, today: date
) -> str:
    """A new 住登外者 with a 宛名番号 from the register's series; returns the number."""
    check_non_resident(data, today)
    number = issue_number(town, "addressee")
    town.session.add(Person(addressee_number=number, created_event_id=None))
    town.session.flush()
    town.session.add(
        NonResident(
            addressee_number=number,
            kind=data.kind,
            name=data.name,
            kana=data.kana,
            name_key=folding.name_key(data.name),
            kana_key=folding.kana_key(data.kana),
            birth_date=data.birth_date,
            sex=int(data.sex) if data.sex is not None else None,
            corporate_number=data.corporate_number or None,
            address=data.address,
            address_detail=data.address_detail,
            postal_code=data.postal_code,
            reason=data.reason,
            recorded_at=utcnow(),
        )
    )
    finish_write(
        town.session,
        ctx,
        "non_resident_registered",
        subjects=[number],
        detail={"kind": data.kind, "reason": data.reason},
    )
    return number


def non_resident(town: Town, number: str) -> NonResident:
    row = town.session.get(NonResident, number)
    if row is None:
        raise NotFoundError("該当する住登外者はいません")
    return row


def active_link(town: Town, non_resident_number: str) -> AddresseeLink | None:
    return town.session.scalar(
        select(AddresseeLink).where(
            AddresseeLink.non_resident == non_resident_number, AddresseeLink.ended_at.is_(None)
        )
    )


def _reason(text: str) -> str:
    text = text.strip()
    if not text:
        raise RuleViolationError("理由を入力してください", field="reason")
    if len(text) > MAX_REASON:
        raise RuleViolationError(f"理由は{MAX_REASON}文字以内です", field="reason")
    return text


def link(
    town: Town, ctx: RequestContext, non_resident_number: str, resident_number: str, reason: str
) -> AddresseeLink:
    """名寄せ: the 住登外者 is the resident (e.g. a former resident who moved back in)."""
    reason = _reason(reason)
    nr = non_resident(town, non_resident_number)
    resident = get_person(town, resident_number)
    existing = active_link(town, non_resident_number)
    check_link(
        kind=nr.kind,
        birth_date=nr.birth_date,
        resident=resident,
        already_linked_to=existing.resident if existing else None,
    )
    row = AddresseeLink(
        non_resident=non_resident_number,
        resident=resident_number,
        linked_at=utcnow(),
        linked_by=ctx.actor.name,
        reason=reason,
        ended_at=None,
        ended_by=None,
        end_reason=None,
    )
    town.session.add(row)
    town.session.flush()
    finish_write(
        town.session,
        ctx,
        "addressee_linked",
        subjects=[non_resident_number, resident_number],
        detail={"link": row.id, "reason": reason},
    )
    return row


def unlink(town: Town, ctx: RequestContext, non_resident_number: str, reason: str) -> None:
    """Undo a 名寄せ found wrong (the link is kept, ended, with who and why)."""
    reason = _reason(reason)
    row = active_link(town, non_resident_number)
    if row is None:
        raise RuleViolationError("この住登外者は名寄せされていません", field="non_resident")
    row.ended_at = utcnow()
    row.ended_by = ctx.actor.name
    row.end_reason = reason
    finish_write(
        town.session,
        ctx,
        "addressee_unlinked",
        subjects=[row.non_resident, row.resident],
        detail={"link": row.id, "reason": reason},
    )


def _addressee(town: Town, number: str) -> None:
    if town.session.get(Person, number) is None:
        raise NotFoundError("該当する宛名はありません")


def _replace(town: Town, number: str, area: str, what: str, row: AreaContact) -> None:
    """End the contact of this kind in force (the day before the new one) and add ``row``;
    for accounts the kind is per purpose."""
    if area not in AREAS:
        raise RuleViolationError("業務を選んでください", field="area")
    query = select(AreaContact).where(
        AreaContact.addressee_number == number,
        AreaContact.area == area,
        AreaContact.what == what,
        AreaContact.valid_to.is_(None),
    )
    if what == "account":
        query = query.where(AreaContact.purpose == row.purpose)
    for old in town.session.scalars(query):
        if old.valid_from >= row.valid_from:
            raise RuleViolationError(
                "適用開始日は現在の登録の開始日より後にしてください", field="valid_from"
            )
        old.valid_to = row.valid_from - timedelta(days=1)
    town.session.add(row)
    town.session.flush()


def _contact(number: str, area: str, what: str, valid_from: date) -> AreaContact:
    return AreaContact(
        addressee_number=number,
        area=area,
        what=what,
        valid_from=valid_from,
        valid_to=None,
        recorded_at=utcnow(),
    )


def set_mailing_address(
    town: Town,
    ctx: RequestContext,
    number: str,
    *,
    area: str,
    name: str,
    address: str,
    postal_code: str,
    valid_from: date,
) -> None:
    """送付先: where ``area``'s notices to the addressee go, from ``valid_from``."""
    _addressee(town, number)
    if not name.strip() or not address.strip():
        raise RuleViolationError("送付先の宛名と住所を入力してください", field="send_address")
    if postal_code and not (postal_code.isdigit() and len(postal_code) == 7):
        raise RuleViolationError("郵便番号は数字7桁です", field="send_postal_code")
    row = _contact(number, area, "mailing", valid_from)
    row.send_name, row.send_address = name.strip()[:80], address.strip()[:200]
    row.send_postal_code = postal_code
    _replace(town, number, area, "mailing", row)
    finish_write(
        town.session,
        ctx,
        "contact_set",
        subjects=[number],
        detail={"area": area, "what": "mailing"},
    )


def set_proxy(
    town: Town,
    ctx: RequestContext,
    number: str,
    *,
    area: str,
    proxy: str,
    role: str,
    valid_from: date,
) -> None:
    """代理人・代納人・納税管理人 of the addressee in ``area`` (the proxy is an addressee too)."""
    _addressee(town, number)
    _addressee(town, proxy)
    if proxy == number:
        raise RuleViolationError("本人を代理人にはできません", field="proxy")
    if role not in PROXY_ROLES:
        raise RuleViolationError("代理の種類を選んでください", field="proxy_role")
    row = _contact(number, area, "proxy", valid_from)
    row.proxy, row.proxy_role = proxy, role
    _replace(town, number, area, "proxy", row)
    finish_write(
        town.session,
        ctx,
        "contact_set",
        subjects=[number, proxy],
        detail={"area": area, "what": "proxy", "role": role},
    )


def set_bank_account(
    town: Town,
    ctx: RequestContext,
    number: str,
    *,
    area: str,
    purpose: str,
    bank_code: str,
    branch_code: str,
    account_type: str,
    account_number: str,
    holder_kana: str,
    valid_from: date,
) -> None:
    """口座 of the addressee in ``area``: for payments (振込) or direct debit (口座振替)."""
    _addressee(town, number)
    if purpose not in ACCOUNT_PURPOSES:
        raise RuleViolationError("口座の用途を選んでください", field="purpose")
    check_bank_account(bank_code, branch_code, account_type, account_number)
    if not holder_kana.strip():
        raise RuleViolationError("口座名義（カナ）を入力してください", field="holder_kana")
    row = _contact(number, area, "account", valid_from)
    row.purpose, row.bank_code, row.branch_code = purpose, bank_code, branch_code
    row.account_type, row.account_number = account_type, account_number
    row.holder_kana = holder_kana.strip()[:60]
    _replace(town, number, area, "account", row)
    finish_write(
        town.session,
        ctx,
        "contact_set",
        subjects=[number],
        detail={"area": area, "what": "account", "purpose": purpose},
    )
