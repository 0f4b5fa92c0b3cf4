"""印鑑登録 reads: a person's active registration and their registrations over time. Each
takes a town handle (a ``Platform.read_town`` transaction on the counter's path); the
caller audits the view (``platform.record_read(ctx, "view_seal", …)``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from lgcloud.seals.models import SealRegistration
from lgcloud.tenancy.platform import Town


@dataclass(frozen=True)
class SealRecord:
    """A registration as a clerk sees it: never the impression itself."""

    registration_number: str
    registered_on: date
    abolished_on: date | None
    abolition_reason: str | None

    @property
    def active(self) -> bool:
        return self.abolished_on is None


def active_seal(town: Town, addressee_number: str) -> SealRegistration | None:
    return town.session.scalar(
        select(SealRegistration).where(
            SealRegistration.addressee_number == addressee_number,
            SealRegistration.abolished_on.is_(None),
        )
    )


def seal_records(town: Town, addressee_number: str) -> list[SealRecord]:
    """Every registration of the person, newest first (the active one, if any, first)."""
    rows = town.session.execute(
        select(
            SealRegistration.registration_number,
            SealRegistration.registered_on,
            SealRegistration.abolished_on,
            SealRegistration.abolition_reason,
        )
        .where(SealRegistration.addressee_number == addressee_number)
        .order_by(SealRegistration.registered_on.desc(), SealRegistration.id.desc())
    )
    return [SealRecord(*r) for r in rows]
