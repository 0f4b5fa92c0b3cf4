"""The 選挙人名簿管理 JSON API. Managing the roll (投票区, elections, registration runs, the
roll's files, 閲覧, the juror draw) is ``manage_elections`` (選管事務局); checking voters in
is ``check_in_voters`` (a poll clerk, who sees nothing else of the register)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from lgcloud.auth.roles import Permission
from lgcloud.core.clock import today_jst
from lgcloud.elections import queries, service
from lgcloud.elections.domain import elector_number_from_code
from lgcloud.interface.deps import Acting, acting, platform_of

router = APIRouter(prefix="/api/elections")
ActingDep = Annotated[Acting, Depends(acting)]


def _run(r: service.RunSummary) -> dict[str, Any]:
    return {
        "code": r.code,
        "kind": r.kind,
        "status": r.status,
        "reference_date": r.reference_date.isoformat(),
        "registration_date": r.registration_date.isoformat(),
        "to_register": r.to_register,
        "to_strike": r.to_strike,
        "unassigned": r.unassigned,
        "refused": r.refused,
    }


class PollingDistrictIn(BaseModel):
    code: str = Field(min_length=1, max_length=8)
    name: str = Field(min_length=1, max_length=60)
    place: str = Field(default="", max_length=120)


class PollingAreaIn(BaseModel):
    area: str = Field(min_length=1, max_length=80, description="行政区 or 字 (address prefix)")
    polling_code: str = Field(min_length=1, max_length=8)


@router.get("/polling-districts")
def api_polling_districts(a: ActingDep, request: Request) -> dict[str, Any]:
    a.require(Permission.MANAGE_ELECTIONS)
    with platform_of(request).read_town(a.ctx.town_code) as town:
        return {
            "districts": [
                {"code": d.code, "name": d.name, "place": d.place}
                for d in queries.polling_districts(town)
            ],
            "areas": queries.polling_table(town),
        }


@router.post("/polling-districts", status_code=201)
def api_set_polling_district(
    a: ActingDep, request: Request, body: Annotated[PollingDistrictIn, Body()]
) -> dict[str, str]:
    a.require(Permission.MANAGE_ELECTIONS)
    with platform_of(request).town(a.ctx.town_code) as town:
        service.set_polling_district(town, a.ctx, body.code, body.name, body.place)
    return {"status": "saved"}


@router.post("/polling-areas", status_code=201)
def api_set_polling_area(
    a: ActingDep, request: Request, body: Annotated[PollingAreaIn, Body()]
) -> dict[str, str]:
    a.require(Permission.MANAGE_ELECTIONS)
    with platform_of(request).town(a.ctx.town_code) as town:
        service.set_polling_area(town, a.ctx, body.area, body.polling_code)
    return {"status": "saved"}


class RunIn(BaseModel):
    reference_date: date | None = Field(default=None, description="定時登録の基準日")
    election: str | None = Field(default=None, description="選挙時登録: the election's code")


@router.post("/registration-runs", status_code=201)
def api_preview_run(
    a: ActingDep, request: Request, body: Annotated[RunIn, Body()]
) -> dict[str, Any]:
    """Preview a 定時登録 (``reference_date``) or a 選挙時登録 (``election``): nothing is on
    the roll until the run is fixed. Batch work (it reads the whole register)."""
    a.require(Permission.MANAGE_ELECTIONS)
    run = service.preview_registration(
        platform_of(request),
        a.ctx,
        reference_date=body.reference_date,
        election_code=body.election,
    )
    return _run(run)


@router.post("/registration-runs/{run_code}/fix")
def api_fix_run(a: ActingDep, request: Request, run_code: str) -> dict[str, Any]:
    a.require(Permission.MANAGE_ELECTIONS)
    return _run(service.fix_registration(platform_of(request), a.ctx, run_code))


@router.post("/registration-runs/{run_code}/discard")
def api_discard_run(a: ActingDep, request: Request, run_code: str) -> dict[str, str]:
    a.require(Permission.MANAGE_ELECTIONS)
    with platform_of(request).town(a.ctx.town_code) as town:
        service.discard_registration(town, a.ctx, run_code)
    return {"status": "discarded"}


@router.get("/roll/{polling_code}.{fmt}", response_model=None)
def api_roll(
    a: ActingDep, request: Request, polling_code: str, fmt: str, extract: bool = False
) -> Response:
    """The roll (or 抄本) of one 投票区 as PDF or CSV (audited, batch work)."""
    a.require(Permission.MANAGE_ELECTIONS)
    body = service.export_roll(
        platform_of(request),
        a.ctx,
        polling_code=polling_code,
        fmt=fmt,
        extract=extract,
        as_of=today_jst(),
    )
    kind = "extract" if extract else "roll"
    return Response(
        body,
        media_type="application/pdf" if fmt == "pdf" else "text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{kind}-{polling_code}.{fmt}"'},
    )


class ElectionIn(BaseModel):
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=80)
    national: bool
    polling_day: date
    reference_date: date
    registration_date: date
    early_from: date


@router.get("")
def api_elections(a: ActingDep, request: Request) -> dict[str, Any]:
    a.require(Permission.CHECK_IN_VOTERS)
    with platform_of(request).read_town(a.ctx.town_code) as town:
        return {
            "elections": [
                {
                    "code": e.code,
                    "name": e.name,
                    "national": e.national,
                    "polling_day": e.polling_day.isoformat(),
                    "early_from": e.early_from.isoformat(),
                    "stations": [
                        {"code": s.code, "name": s.name, "polling_codes": s.polling_codes}
                        for s in queries.stations(town, e.id)
                    ],
                }
                for e in queries.elections(town)
            ]
        }


@router.post("", status_code=201)
def api_create_election(
    a: ActingDep, request: Request, body: Annotated[ElectionIn, Body()]
) -> dict[str, str]:
    a.require(Permission.MANAGE_ELECTIONS)
    with platform_of(request).town(a.ctx.town_code) as town:
        e = service.create_election(town, a.ctx, **body.model_dump())
        return {"code": e.code}


class StationIn(BaseModel):
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=80)
    polling_codes: list[str] = Field(default_factory=list, description="empty: 期日前投票所")


@router.post("/{election_code}/stations", status_code=201)
def api_add_station(
    a: ActingDep, request: Request, election_code: str, body: Annotated[StationIn, Body()]
) -> dict[str, str]:
    a.require(Permission.MANAGE_ELECTIONS)
    with platform_of(request).town(a.ctx.town_code) as town:
        s = service.add_station(
            town,
            a.ctx,
            election_code,
            code=body.code,
            name=body.name,
            polling_codes=body.polling_codes,
        )
        return {"code": s.code}


class CheckinIn(BaseModel):
    station: str = Field(min_length=1, max_length=20)
    code: str | None = Field(default=None, max_length=20, description="入場券の番号 (E…)")
    addressee_number: str | None = Field(default=None, max_length=10)


@router.post("/{election_code}/checkins", status_code=201)
def api_check_in(
    a: ActingDep, request: Request, election_code: str, body: Annotated[CheckinIn, Body()]
) -> dict[str, Any]:
    """受付: by the 入場券's code or a 宛名番号. A second check-in of the same voter is
    refused (422) with where and when the first one was."""
    a.require(Permission.CHECK_IN_VOTERS)
    r = service.check_in(
        platform_of(request),
        a.ctx,
        election_code=election_code,
        station_code=body.station,
        elector_number=elector_number_from_code(body.code) if body.code else None,
        addressee_number=body.addressee_number,
    )
    return {
        "elector_number": r.elector_number,
        "name": r.name,
        "polling_code": r.polling_code,
        "kind": r.kind,
        "station": r.station,
        "checked_at": r.checked_at.isoformat(),
    }


@router.get("/{election_code}/turnout")
def api_turnout(a: ActingDep, request: Request, election_code: str) -> dict[str, Any]:
    a.require(Permission.CHECK_IN_VOTERS)
    with platform_of(request).read_town(a.ctx.town_code) as town:
        e = queries.election(town, election_code)
        rows = queries.turnout(town, e)
    return {
        "districts": [
            {
                "polling_code": t.polling_code,
                "electors": t.electors,
                "voted": t.voted,
                "rate": round(t.rate, 4),
                "by_hour": {("early" if h < 0 else str(h)): n for h, n in t.by_hour.items()},
            }
            for t in rows
        ]
    }


class InspectionIn(BaseModel):
    applied_on: date | None = None
    purpose: str
    applicant: str = Field(max_length=120)
    viewers: list[str] = Field(max_length=10)
    reason: str = Field(max_length=500)
    polling_code: str


@router.post("/inspections", status_code=201)
def api_inspection(
    a: ActingDep, request: Request, body: Annotated[InspectionIn, Body()]
) -> dict[str, int]:
    """閲覧の申出 (第28条の2〜第28条の4): recorded and audited before the 抄本 is shown."""
    a.require(Permission.MANAGE_ELECTIONS)
    with platform_of(request).town(a.ctx.town_code) as town:
        row = service.record_inspection(
            town,
            a.ctx,
            applied_on=body.applied_on or today_jst(),
            purpose=body.purpose,
            applicant=body.applicant,
            viewers=body.viewers,
            reason=body.reason,
            polling_code=body.polling_code,
        )
        return {"id": row.id}


class DrawIn(BaseModel):
    year: int = Field(ge=2009, le=2100)
    count: int = Field(ge=1, le=10_000)
    seed: str | None = Field(default=None, max_length=64, description="redraw a recorded draw")


@router.post("/juror-draws", status_code=201)
def api_draw_jurors(
    a: ActingDep, request: Request, body: Annotated[DrawIn, Body()]
) -> dict[str, Any]:
    a.require(Permission.MANAGE_ELECTIONS)
    with platform_of(request).town(a.ctx.town_code) as town:
        d = service.draw_jurors(town, a.ctx, year=body.year, count=body.count, seed=body.seed)
        return {"year": d.year, "seed": d.seed, "roll_size": d.roll_size, "drawn": d.drawn}
