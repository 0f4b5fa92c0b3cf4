"""JSON API. Every route except login and health needs a session (see tests/test_routes.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from lgcloud.audit import service as audit_service
from lgcloud.auth import service as auth_service
from lgcloud.auth.roles import Permission, Role
from lgcloud.continuity.node import receive_application
from lgcloud.core.context import Actor, RequestContext
from lgcloud.core.errors import RuleViolationError
from lgcloud.register import queries
from lgcloud.register.domain import EVENT_LABELS, LifeEvent, PersonState
from lgcloud.register.queries import audited_search
from lgcloud.register.service import record_event
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.journal import READ_ONLY_MODES
from lgcloud.web.deps import SESSION_COOKIE, Acting, acting, platform_of, request_id_of

router = APIRouter(prefix="/api")
ActingDep = Annotated[Acting, Depends(acting)]


class LoginIn(BaseModel):
    town_code: str = Field(pattern=r"^[0-9]{6}$")
    staff_number: str = Field(min_length=1, max_length=20)
    password: str = Field(min_length=1, max_length=200)


class SwitchIn(BaseModel):
    staff_number: str = Field(min_length=1, max_length=20)
    pin: str = Field(min_length=1, max_length=20)


class ClerkOut(BaseModel):
    id: int
    staff_number: str
    name: str
    roles: list[str]
    town_code: str


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


def _clerk_out(a: auth_service.ClerkInfo, town_code: str) -> ClerkOut:
    return ClerkOut(
        id=a.id,
        staff_number=a.staff_number,
        name=a.name,
        roles=sorted(a.roles),
        town_code=town_code,
    )


@router.post("/login")
def api_login(body: LoginIn, request: Request, response: Response) -> ClerkOut:
    platform = platform_of(request)
    platform.hosted(body.town_code)
    ctx = RequestContext(
        body.town_code,
        Actor(None, "(未ログイン)", body.staff_number),
        request_id_of(request),
        platform.node,
        platform.mode_of(body.town_code)[0],
        client=request.client.host if request.client else None,
    )
    token, clerk = auth_service.login(platform, ctx, body.staff_number, body.password)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict")
    response.headers["X-Session-Token"] = token
    return _clerk_out(clerk, body.town_code)


@router.post("/logout")
def api_logout(a: ActingDep, request: Request, response: Response) -> dict[str, str]:
    auth_service.logout(platform_of(request), a.ctx, a.token)
    response.delete_cookie(SESSION_COOKIE)
    return {"status": "logged_out"}


@router.post("/switch")
def api_switch(body: SwitchIn, a: ActingDep, request: Request) -> ClerkOut:
    clerk = auth_service.quick_switch(
        platform_of(request), a.ctx, a.token, body.staff_number, body.pin
    )
    return _clerk_out(clerk, a.ctx.town_code)


@router.get("/me")
def api_me(a: ActingDep) -> ClerkOut:
    return _clerk_out(a.clerk, a.ctx.town_code)


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
    }


class ApplicationIn(BaseModel):
    kind: str = Field(min_length=1, max_length=40)
    addressee_number: str | None = Field(default=None, max_length=10)
    detail: dict[str, Any] = Field(default_factory=dict)


@router.post("/applications", status_code=201)
def api_application(
    a: ActingDep, request: Request, body: Annotated[ApplicationIn, Body()]
) -> dict[str, Any]:
    """Receive an application while the copy is served read-only (processed at the centre
    later). In normal operation, events are recorded directly instead."""
    return receive_application_at_counter(platform_of(request), a, body)


def receive_application_at_counter(
    platform: Platform, a: Acting, body: ApplicationIn
) -> dict[str, Any]:
    """The one path for an application received at a counter (API and page): permission,
    read-only mode only, audited, kept for the centre."""
    a.require(Permission.VIEW_RESIDENTS)  # counter work: receiving, not processing
    if a.ctx.mode not in READ_ONLY_MODES:
        raise RuleViolationError("通常運用中です。申請は異動の登録として直接処理してください")
    platform.record_read(
        a.ctx,
        "application_received",
        subjects=[body.addressee_number] if body.addressee_number else [],
        detail={"kind": body.kind},
    )
    app_id = receive_application(
        platform, a.ctx, kind=body.kind, addressee_number=body.addressee_number, detail=body.detail
    )
    return {"id": app_id, "status": "pending"}


class NewClerkIn(BaseModel):
    staff_number: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=80)
    roles: list[Role] = Field(min_length=1)
    password: str = Field(min_length=1, max_length=200)
    pin: str | None = None


@router.get("/clerks")
def api_clerks(a: ActingDep, request: Request) -> list[ClerkOut]:
    a.require(Permission.MANAGE_CLERKS)
    with platform_of(request).read_town(a.ctx.town_code) as town:
        return [_clerk_out(c, a.ctx.town_code) for c in auth_service.list_clerks(town)]


@router.post("/clerks", status_code=201)
def api_new_clerk(a: ActingDep, request: Request, body: NewClerkIn) -> ClerkOut:
    a.require(Permission.MANAGE_CLERKS)
    with platform_of(request).town(a.ctx.town_code) as town:
        clerk = auth_service.create_clerk(
            town,
            a.ctx,
            staff_number=body.staff_number,
            name=body.name,
            roles=set(body.roles),
            password=body.password,
            pin=body.pin,
        )
    return _clerk_out(clerk, a.ctx.town_code)


@router.post("/clerks/{staff_number}/unlock")
def api_unlock(a: ActingDep, request: Request, staff_number: str) -> dict[str, str]:
    a.require(Permission.MANAGE_CLERKS)
    with platform_of(request).town(a.ctx.town_code) as town:
        auth_service.unlock(town, a.ctx, staff_number)
    return {"status": "unlocked"}


def _lines(lines: list[audit_service.AuditLine]) -> list[dict[str, Any]]:
    return [
        {
            "seq": x.seq,
            "at": x.at.isoformat(),
            "clerk_name": x.clerk_name,
            "staff_number": x.staff_number,
            "action": x.action,
            "subjects": x.subjects,
            "purpose": x.purpose,
            "node": x.node,
            "mode": x.mode,
            "request_id": x.request_id,
        }
        for x in lines
    ]


@router.get("/audit/verify")
def api_audit_verify(a: ActingDep, request: Request) -> dict[str, Any]:
    a.require(Permission.READ_AUDIT)
    platform = platform_of(request)
    with platform.read_town(a.ctx.town_code) as town:
        report = audit_service.verify(town.session)
    platform.record_read(a.ctx, "audit_verify", detail={"ok": report.ok})
    return {
        "ok": report.ok,
        "entries": report.entries,
        "problems": [p.__dict__ for p in report.problems],
    }


@router.get("/audit/who-viewed/{addressee_number}")
def api_who_viewed(a: ActingDep, request: Request, addressee_number: str) -> list[dict[str, Any]]:
    a.require(Permission.READ_AUDIT)
    platform = platform_of(request)
    with platform.read_town(a.ctx.town_code) as town:
        lines = audit_service.who_viewed(town.session, addressee_number)
    platform.record_read(a.ctx, "audit_report", detail={"person": addressee_number})
    return _lines(lines)


@router.get("/audit/by-clerk/{staff_number}")
def api_by_clerk(a: ActingDep, request: Request, staff_number: str) -> list[dict[str, Any]]:
    a.require(Permission.READ_AUDIT)
    platform = platform_of(request)
    with platform.read_town(a.ctx.town_code) as town:
        lines = audit_service.by_clerk(town.session, staff_number)
    platform.record_read(a.ctx, "audit_report", detail={"clerk": staff_number})
    return _lines(lines)
