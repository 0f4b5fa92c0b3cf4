"""The 印鑑登録 JSON API: a person's registrations (an audited view), register a seal
(the impression as a PNG upload), abolish it. Registering and abolishing are counter
work on a 届出 (``record_events``); seeing whether someone has a seal is ``view_residents``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Form, Request, UploadFile
from pydantic import BaseModel, Field

from lgcloud.auth.roles import Permission
from lgcloud.core.clock import today_jst
from lgcloud.interface.deps import Acting, acting, platform_of
from lgcloud.register.queries import get_person
from lgcloud.seals.domain import MAX_IMAGE_BYTES, MAX_REASON
from lgcloud.seals.queries import SealRecord, seal_records
from lgcloud.seals.service import abolish_seal, register_seal

router = APIRouter(prefix="/api")
ActingDep = Annotated[Acting, Depends(acting)]


def _record(r: SealRecord) -> dict[str, Any]:
    return {
        "registration_number": r.registration_number,
        "registered_on": r.registered_on.isoformat(),
        "abolished_on": r.abolished_on.isoformat() if r.abolished_on else None,
        "abolition_reason": r.abolition_reason,
        "active": r.active,
    }


@router.get("/persons/{addressee_number}/seal")
def api_seal(a: ActingDep, request: Request, addressee_number: str) -> dict[str, Any]:
    """The person's registrations, newest first (never the impression), audited."""
    a.require(Permission.VIEW_RESIDENTS)
    platform = platform_of(request)
    with platform.read_town(a.ctx.town_code) as town:
        get_person(town, addressee_number)  # 404 for a number this town does not have
        records = seal_records(town, addressee_number)
    platform.record_read(a.ctx, "view_seal", subjects=[addressee_number])
    active = next((r for r in records if r.active), None)
    return {
        "active": _record(active) if active else None,
        "registrations": [_record(r) for r in records],
    }


def read_impression(image: UploadFile) -> bytes:
    """The uploaded impression, read before any transaction and bounded: one byte more
    than the rules allow is enough for them to refuse it. (A sync route: FastAPI runs it
    in its thread pool, so the database work below never blocks the event loop.)"""
    return image.file.read(MAX_IMAGE_BYTES + 1)


@router.post("/persons/{addressee_number}/seal", status_code=201)
def api_register_seal(
    a: ActingDep,
    request: Request,
    addressee_number: str,
    image: Annotated[UploadFile, File(description="印影 (PNG)")],
    registered_on: Annotated[date | None, Form()] = None,
) -> dict[str, Any]:
    a.require(Permission.RECORD_EVENTS)
    image_png = read_impression(image)
    with platform_of(request).town(a.ctx.town_code) as town:
        reg = register_seal(
            town,
            a.ctx,
            addressee_number,
            image_png=image_png,
            registered_on=registered_on or today_jst(),
        )
        return {
            "registration_number": reg.registration_number,
            "registered_on": reg.registered_on.isoformat(),
        }


class AbolishIn(BaseModel):
    abolished_on: date | None = None
    reason: str = Field(min_length=1, max_length=MAX_REASON)


@router.post("/persons/{addressee_number}/seal/abolish")
def api_abolish_seal(
    a: ActingDep, request: Request, addressee_number: str, body: Annotated[AbolishIn, Body()]
) -> dict[str, str]:
    a.require(Permission.RECORD_EVENTS)
    with platform_of(request).town(a.ctx.town_code) as town:
        abolish_seal(
            town,
            a.ctx,
            addressee_number,
            abolished_on=body.abolished_on or today_jst(),
            reason=body.reason,
        )
    return {"status": "abolished"}
