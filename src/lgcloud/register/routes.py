"""The register's JSON API: search, a person, history, households, residents at an
address, life events. Every route needs a session (see tests/test_routes.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel

from lgcloud.auth.roles import Permission
from lgcloud.interface.deps import Acting, acting, platform_of
from lgcloud.register import queries
from lgcloud.register.domain import (
    EVENT_LABELS,
    LifeEvent,
    PersonState,
)
from lgcloud.register.queries import audited_search
from lgcloud.register.service import record_event

router = APIRouter(prefix="/api")
ActingDep = Annotated[Acting, Depends(acting)]


class PersonOut(BaseModel):
    addressee_number: str
    status: str
    name: str
    kana: str
    birth_date: date
    sex: int
    resident_code: str | None
    household_number: str
    relationship: str
    address: str
    address_detail: str
    postal_code: str
    district: str
    resident_since: date
    settled_on: date
    notified_on: date | None
    last_event: str
    last_event_label: str
    valid_from: date
    removed_on: date | None
    removal_reason: str | None
    previous_address: str | None
    destination_address: str | None

    @classmethod
    def of(cls, s: PersonState) -> PersonOut:
        return cls(
            addressee_number=s.addressee_number,
            status=s.status.value,
            name=s.name,
            kana=s.kana,
            birth_date=s.birth_date,
            sex=int(s.sex),
            resident_code=s.resident_code,
            household_number=s.household_number,
            relationship=s.relationship,
            address=s.address,
            address_detail=s.address_detail,
            postal_code=s.postal_code,
            district=s.district,
            resident_since=s.resident_since,
            settled_on=s.settled_on,
            notified_on=s.notified_on,
            last_event=s.last_event.value,
            last_event_label=EVENT_LABELS[s.last_event],
            valid_from=s.valid_from,
            removed_on=s.removed_on,
            removal_reason=s.removal_reason,
            previous_address=s.previous_address,
            destination_address=s.destination_address,
        )


@router.get("/persons")
def api_search(
    a: ActingDep,
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=80)],
    include_removed: bool = False,
) -> list[PersonOut]:
    a.require(Permission.VIEW_RESIDENTS)
    found = audited_search(platform_of(request), a.ctx, q, include_removed=include_removed)
    return [PersonOut.of(p) for p in found]


@router.get("/persons/{addressee_number}")
def api_person(a: ActingDep, request: Request, addressee_number: str) -> dict[str, Any]:
    a.require(Permission.VIEW_RESIDENTS)
    platform = platform_of(request)
    with platform.read_town(a.ctx.town_code) as town:
        person = queries.get_person(town, addressee_number)
        household = queries.current_household(town, person.household_number)
    platform.record_read(a.ctx, "view_person", subjects=[addressee_number])
    return {
        "person": PersonOut.of(person).model_dump(mode="json"),
        "household": [PersonOut.of(p).model_dump(mode="json") for p in household],
    }


@router.get("/persons/{addressee_number}/history")
def api_history(a: ActingDep, request: Request, addressee_number: str) -> list[dict[str, Any]]:
    a.require(Permission.VIEW_RESIDENTS)
    platform = platform_of(request)
    with platform.read_town(a.ctx.town_code) as town:
        versions = queries.history(town, addressee_number)
    platform.record_read(a.ctx, "view_history", subjects=[addressee_number])
    return [
        {**PersonOut.of(s).model_dump(mode="json"), "valid_to": str(to) if to else None}
        for s, to in versions
    ]


@router.get("/households/{household_number}")
def api_household(
    a: ActingDep, request: Request, household_number: str, on: date | None = None
) -> list[PersonOut]:
    a.require(Permission.VIEW_RESIDENTS)
    platform = platform_of(request)
    with platform.read_town(a.ctx.town_code) as town:
        members = (
            queries.household_on(town, household_number, on)
            if on
            else queries.current_household(town, household_number)
        )
    platform.record_read(
        a.ctx,
        "view_household",
        subjects=[p.addressee_number for p in members],
        detail={"household_number": household_number, "on": str(on) if on else None},
    )
    return [PersonOut.of(p) for p in members]


@router.get("/addresses/residents")
def api_address(
    a: ActingDep, request: Request, address: Annotated[str, Query(min_length=1)], on: date
) -> list[PersonOut]:
    a.require(Permission.VIEW_RESIDENTS)
    platform = platform_of(request)
    with platform.read_town(a.ctx.town_code) as town:
        found = queries.residents_at_address_on(town, address, on)
    platform.record_read(
        a.ctx,
        "view_address",
        subjects=[p.addressee_number for p in found],
        detail={"address": address, "on": str(on)},
    )
    return [PersonOut.of(p) for p in found]


@router.post("/events", status_code=201)
def api_event(
    a: ActingDep, request: Request, event: Annotated[LifeEvent, Body()]
) -> dict[str, Any]:
    a.require(Permission.RECORD_EVENTS)
    with platform_of(request).town(a.ctx.town_code) as town:
        result = record_event(town, a.ctx, event)
    return {
        "event_id": result.event_id,
        "kind": result.kind.value,
        "subjects": list(result.subjects),
        "new_households": list(result.new_households),
        "warnings": [
            {"addressee_number": u.addressee_number, "field": u.field, "message": u.message}
            for u in result.unprintable
        ],
    }
