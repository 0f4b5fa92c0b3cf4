"""Minimal server-rendered pages: log in, quick switch, search, view a person.

The full counter UI is a later issue; these pages already follow its rules: Japanese,
no external resources, the acting clerk always shown, every view audited.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from lgcloud.auth import service as auth_service
from lgcloud.auth.roles import Permission
from lgcloud.certificates.service import KIND_LABELS, issuance_history
from lgcloud.certificates.wareki import format_datetime_jst
from lgcloud.continuity.journal import finish_write
from lgcloud.core.clock import today_jst
from lgcloud.core.context import Actor, RequestContext
from lgcloud.core.dates import fiscal_year_of
from lgcloud.core.errors import AuthenticationError, NotFoundError
from lgcloud.register import queries
from lgcloud.register.domain import EVENT_LABELS
from lgcloud.register.service import audited_search
from lgcloud.web.deps import SESSION_COOKIE, Acting, acting, platform_of, request_id_of

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.globals["event_labels"] = EVENT_LABELS
templates.env.filters["jst"] = format_datetime_jst
router = APIRouter()
ActingDep = Annotated[Acting, Depends(acting)]


PURPOSES = ("証明書交付", "異動届受付", "税務", "国保", "照会対応", "その他")


def _base(request: Request, a: Acting | None) -> dict[str, object]:
    platform = platform_of(request)
    mode, as_of = platform.mode_of(a.ctx.town_code) if a else (platform.mode, None)
    return {
        "request": request,
        "acting": a,
        "mode": mode,
        "as_of": as_of,
        "node": platform.node,
        "continuity_alerts": continuity_alerts(request, a),
    }


def continuity_alerts(request: Request, a: Acting | None) -> list[str]:
    """For an IT officer at the centre: every site where the town lacks a verified copy
    younger than the policy (shown on every page until it is fixed)."""
    sites = getattr(request.app.state, "centre_sites", None)
    if a is None or sites is None or Permission.MANAGE_CLERKS not in a.clerk.permissions:
        return []
    from lgcloud.continuity.status import town_status  # noqa: PLC0415

    return [
        f"{r.site}: {r.alert}"
        for r in town_status(platform_of(request), sites, a.ctx.town_code)
        if r.alert
    ]


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, error: str | None = None) -> Response:
    towns = platform_of(request).towns()
    return templates.TemplateResponse(
        request, "login.html", {**_base(request, None), "towns": towns, "error": error}
    )


@router.post("/login", response_model=None)
def login_submit(
    request: Request,
    town_code: Annotated[str, Form()],
    staff_number: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    platform = platform_of(request)
    try:
        platform.hosted(town_code)
        ctx = RequestContext(
            town_code,
            Actor(None, "(未ログイン)", staff_number),
            request_id_of(request),
            platform.node,
            platform.mode_of(town_code)[0],
            client=request.client.host if request.client else None,
        )
        token, _clerk = auth_service.login(platform, ctx, staff_number, password)
    except (AuthenticationError, NotFoundError) as e:
        return login_page(request, error=e.message)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict")
    return response


@router.post("/logout", response_model=None)
def logout_submit(request: Request, a: ActingDep) -> Response:
    auth_service.logout(platform_of(request), a.ctx, a.token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/switch", response_class=HTMLResponse)
def switch_page(request: Request, a: ActingDep, error: str | None = None) -> Response:
    return templates.TemplateResponse(request, "switch.html", {**_base(request, a), "error": error})


@router.post("/switch", response_model=None)
def switch_submit(
    request: Request,
    a: ActingDep,
    staff_number: Annotated[str, Form()],
    pin: Annotated[str, Form()],
) -> Response:
    try:
        auth_service.quick_switch(platform_of(request), a.ctx, a.token, staff_number, pin)
    except AuthenticationError as e:
        return switch_page(request, a, error=e.message)
    return RedirectResponse("/", status_code=303)


@router.get("/", response_class=HTMLResponse)
def search_page(
    request: Request, a: ActingDep, q: str = "", purpose: str = "", include_removed: bool = False
) -> Response:
    results = []
    if q.strip() and Permission.VIEW_RESIDENTS in a.clerk.permissions:
        with platform_of(request).town(a.ctx.town_code) as town:
            results = audited_search(town, a.ctx, q, include_removed=include_removed)
    return templates.TemplateResponse(
        request,
        "search.html",
        {
            **_base(request, a),
            "q": q,
            "results": results,
            "purposes": PURPOSES,
            "purpose": purpose,
            "include_removed": include_removed,
        },
    )


@router.get("/persons/{addressee_number}", response_class=HTMLResponse)
def person_page(
    request: Request, a: ActingDep, addressee_number: str, purpose: str = ""
) -> Response:
    a.require(Permission.VIEW_RESIDENTS)
    with platform_of(request).town(a.ctx.town_code) as town:
        person = queries.get_person(town, addressee_number)
        household = queries.current_household(town, person.household_number)
        versions = queries.history(town, addressee_number)
        issuances = issuance_history(town, addressee_number)
        finish_write(town.session, a.ctx, "view_person", subjects=[addressee_number])
    return templates.TemplateResponse(
        request,
        "person.html",
        {
            **_base(request, a),
            "person": person,
            "household": household,
            "versions": versions,
            "purpose": purpose,
            "issuances": issuances,
            "kinds": KIND_LABELS,
            "can_issue": Permission.ISSUE_CERTIFICATES in a.clerk.permissions,
            "fiscal_year": fiscal_year_of(today_jst()),
        },
    )
