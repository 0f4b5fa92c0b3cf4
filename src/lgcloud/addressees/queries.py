"""Addressee reads: one view of any 宛名番号 (resident, former resident or 住登外者), a search
over both, the numbers a 名寄せ joins, and where a business area's notice to an addressee
goes on a day (its 送付先, else the addressee's own address)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, or_, select

from lgcloud.addressees.domain import AREAS
from lgcloud.addressees.models import AddresseeLink, AreaContact, NonResident
from lgcloud.core.errors import NotFoundError
from lgcloud.register import folding, queries
from lgcloud.register.domain import Status
from lgcloud.tenancy.platform import Town

_MAX_CHAR = "\U0010ffff"


@dataclass(frozen=True)
class Addressee:
    number: str
    #: resident / removed (除票: a former resident) / non_resident / corporation
    kind: str
    name: str
    kana: str
    birth_date: date | None
    address: str
    postal_code: str
    #: the other numbers of the same person through an active 名寄せ
    linked: tuple[str, ...] = ()
    reason: str = ""  # 住登外の理由

    @property
    def label(self) -> str:
        return {
            "resident": "住民",
            "removed": "除票",
            "non_resident": "住登外者",
            "corporation": "法人（住登外）",
        }[self.kind]


@dataclass(frozen=True)
class MailTo:
    """Where a notice goes: the 送付先 of the area, or the addressee's own address."""

    name: str
    address: str
    postal_code: str
    is_send_address: bool


def linked_numbers(town: Town, number: str) -> tuple[str, ...]:
    rows = town.session.execute(
        select(AddresseeLink.non_resident, AddresseeLink.resident).where(
            AddresseeLink.ended_at.is_(None),
            or_(AddresseeLink.non_resident == number, AddresseeLink.resident == number),
        )
    )
    return tuple(sorted({n for pair in rows for n in pair} - {number}))


def _of_non_resident(row: NonResident, linked: tuple[str, ...]) -> Addressee:
    return Addressee(
        row.addressee_number,
        "corporation" if row.kind == "corporation" else "non_resident",
        row.name,
        row.kana,
        row.birth_date,
        f"{row.address}{row.address_detail}",
        row.postal_code,
        linked,
        row.reason,
    )


def addressee(town: Town, number: str) -> Addressee:
    """Any 宛名番号 of the town. Missing → NotFoundError."""
    linked = linked_numbers(town, number)
    nr = town.session.get(NonResident, number)
    if nr is not None:
        return _of_non_resident(nr, linked)
    try:
        p = queries.get_person(town, number)
    except NotFoundError:
        raise NotFoundError("該当する宛名はありません") from None
    return Addressee(
        p.addressee_number,
        "resident" if p.status is Status.RESIDENT else "removed",
        p.name,
        p.kana,
        p.birth_date,
        f"{p.address}{p.address_detail}",
        p.postal_code,
        linked,
    )


def search_non_residents(town: Town, query: str, *, limit: int = 50) -> list[NonResident]:
    q = query.strip()
    if not q:
        return []
    if q.isascii() and q.isdigit():
        cond = NonResident.addressee_number == q
    else:
        name_q, kana_q = folding.query_keys(q)
        conds = []
        if name_q:
            conds.append(
                and_(NonResident.name_key >= name_q, NonResident.name_key < name_q + _MAX_CHAR)
            )
        if kana_q:
            conds.append(
                and_(NonResident.kana_key >= kana_q, NonResident.kana_key < kana_q + _MAX_CHAR)
            )
        if not conds:
            return []
        cond = or_(*conds)
    return list(
        town.session.scalars(
            select(NonResident).where(cond).order_by(NonResident.kana_key).limit(limit)
        )
    )


def search_addressees(town: Town, query: str, *, limit: int = 50) -> list[Addressee]:
    """Residents (除票 too) and 住登外者 whose name or reading starts with ``query``."""
    out = [
        Addressee(
            p.addressee_number,
            "resident" if p.status is Status.RESIDENT else "removed",
            p.name,
            p.kana,
            p.birth_date,
            f"{p.address}{p.address_detail}",
            p.postal_code,
        )
        for p in queries.search(town, query, include_removed=True, limit=limit)
    ]
    out += [_of_non_resident(r, ()) for r in search_non_residents(town, query, limit=limit)]
    return out[:limit]


def contacts(town: Town, number: str, on: date) -> list[AreaContact]:
    """The 送付先, 代理人 and 口座 of the addressee in force on ``on``, every area."""
    return list(
        town.session.scalars(
            select(AreaContact)
            .where(
                AreaContact.addressee_number == number,
                AreaContact.valid_from <= on,
                or_(AreaContact.valid_to.is_(None), AreaContact.valid_to >= on),
            )
            .order_by(AreaContact.area, AreaContact.what, AreaContact.id)
        )
    )


def mail_to(town: Town, number: str, area: str, on: date) -> MailTo:
    """Where ``area``'s notice to the addressee goes on ``on`` (bulk notices use this)."""
    if area not in AREAS:
        raise NotFoundError(f"業務 {area} はありません")
    for c in contacts(town, number, on):
        if c.area == area and c.what == "mailing":
            return MailTo(c.send_name or "", c.send_address or "", c.send_postal_code or "", True)
    a = addressee(town, number)
    return MailTo(a.name, a.address, a.postal_code, False)
