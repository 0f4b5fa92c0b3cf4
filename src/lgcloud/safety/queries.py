"""Reads of the safety ledger (安否台帳): every resident by 行政区 with their status, the
unaccounted-for, and the rows waiting for a clerk. Run in a read-only transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Subquery, and_, func, or_, select

from lgcloud.register.domain import Status
from lgcloud.register.models import PersonVersion
from lgcloud.safety.domain import SafetyStatus
from lgcloud.safety.models import SafetyEntry, SafetyList, SafetyReport
from lgcloud.tenancy.platform import Town

#: a resident no report and no clerk has spoken of
UNCONFIRMED = "未確認"
#: who the unaccounted-for list holds: nobody has seen them, or they are reported missing
UNACCOUNTED = frozenset({UNCONFIRMED, SafetyStatus.MISSING.value, SafetyStatus.UNKNOWN.value})


@dataclass(frozen=True)
class LedgerLine:
    """One resident of the reference date, with what the ledger knows of them."""

    district: str
    number: str
    name: str
    kana: str
    birth: date
    address: str
    status: str  # a SafetyStatus, or UNCONFIRMED
    location_kind: str
    location: str
    reported_at: datetime | None
    source: str


def _resident_versions(as_of: date) -> Subquery:
    """(宛名番号, version_no) of each person's version in force on ``as_of`` as a resident."""
    pv = PersonVersion
    return (
        select(pv.addressee_number, func.max(pv.version_no).label("version_no"))
        .where(
            pv.valid_from <= as_of,
            or_(pv.valid_to.is_(None), pv.valid_to > as_of),
            pv.status == Status.RESIDENT.value,
        )
        .group_by(pv.addressee_number)
        .subquery()
    )


def ledger_lines(town: Town, as_of: date, *, unaccounted: bool = False) -> list[LedgerLine]:
    """Every resident on ``as_of`` (the disaster date: who lived in the town then, as the
    register says now, so a 転入 recorded late counts) by 行政区 and address, with their
    ledger status; with ``unaccounted`` only those nobody has confirmed or who are
    reported missing (:data:`UNACCOUNTED`)."""
    pv = PersonVersion
    latest = _resident_versions(as_of)
    stmt = (
        select(pv, SafetyEntry)
        .join(
            latest,
            and_(
                pv.addressee_number == latest.c.addressee_number,
                pv.version_no == latest.c.version_no,
            ),
        )
        .outerjoin(SafetyEntry, SafetyEntry.addressee_number == pv.addressee_number)
        .order_by(pv.district, pv.address, pv.address_detail, pv.addressee_number)
    )
    lines = []
    for v, e in town.session.execute(stmt).tuples():
        status = e.status if e is not None else UNCONFIRMED
        if unaccounted and status not in UNACCOUNTED:
            continue
        lines.append(
            LedgerLine(
                district=v.district or "",
                number=v.addressee_number,
                name=v.name,
                kana=v.kana or "",
                birth=v.birth_date,
                address=f"{v.address} {v.address_detail or ''}".strip(),
                status=status,
                location_kind=e.location_kind if e is not None else "",
                location=e.location if e is not None else "",
                reported_at=e.reported_at if e is not None else None,
                source=e.source if e is not None else "",
            )
        )
    return lines


def district_counts(town: Town, as_of: date) -> list[tuple[str, dict[str, int]]]:
    """(行政区, status → residents) of everyone resident on ``as_of``, counted in the
    database (the screen shows it for a whole town at every visit)."""
    pv = PersonVersion
    latest = _resident_versions(as_of)
    status = func.coalesce(SafetyEntry.status, UNCONFIRMED)
    stmt = (
        select(pv.district, status, func.count())
        .join(
            latest,
            and_(
                pv.addressee_number == latest.c.addressee_number,
                pv.version_no == latest.c.version_no,
            ),
        )
        .outerjoin(SafetyEntry, SafetyEntry.addressee_number == pv.addressee_number)
        .group_by(pv.district, status)
        .order_by(pv.district)
    )
    out: dict[str, dict[str, int]] = {}
    for district, state, n in town.session.execute(stmt).tuples():
        out.setdefault(district or "", {})[state] = int(n)
    return list(out.items())


@dataclass(frozen=True)
class PendingRow:
    """A 候補 row waiting for a clerk: what the shelter wrote and whom it may be."""

    report_id: int
    list_name: str
    receipt: str
    name: str
    kana: str
    birth_text: str
    age_text: str
    address: str
    location: str
    candidates: tuple[str, ...]


def pending_rows(town: Town, limit: int = 200) -> list[PendingRow]:
    """The 候補 rows nobody has decided yet, oldest list first."""
    stmt = (
        select(SafetyReport, SafetyList.file_name)
        .join(SafetyList, SafetyList.id == SafetyReport.list_id)
        .where(SafetyReport.decision == "pending")
        .order_by(SafetyReport.list_id, SafetyReport.id)
        .limit(limit)
    )
    return [
        PendingRow(
            r.id,
            file_name,
            r.receipt,
            r.name,
            r.kana,
            r.birth_text,
            r.age_text,
            r.address,
            r.location,
            tuple(n for n in r.candidates.split(";") if n),
        )
        for r, file_name in town.session.execute(stmt).tuples()
    ]


def pending_count(town: Town) -> int:
    return town.session.scalar(select(func.count()).where(SafetyReport.decision == "pending")) or 0


__all__ = [
    "UNACCOUNTED",
    "UNCONFIRMED",
    "LedgerLine",
    "PendingRow",
    "district_counts",
    "ledger_lines",
    "pending_count",
    "pending_rows",
]
