"""Log in, log out and quick switch: the pages and their JSON API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from lgcloud.auth import service as auth_service
from lgcloud.core.context import Actor, RequestContext
from lgcloud.core.errors import AuthenticationError, NotFoundError
from lgcloud.interface.deps import SESSION_COOKIE, Acting, acting, platform_of, request_id_of
from lgcloud.interface.rendering import page_context, templates

router = APIRouter()
api_router = APIRouter(prefix="/api")
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


def clerk_out(a: auth_service.ClerkInfo, town_code: str) -> ClerkOut:
    return ClerkOut(
        id=a.id,
        staff_number=a.staff_number,
        name=a.name,
        roles=sorted(a.roles),
        town_code=town_code,
    )


@api_router.post("/login")
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
    return clerk_out(clerk, body.town_code)


@api_router.post("/logout")
def api_logout(a: ActingDep, request: Request, response: Response) -> dict[str, str]:
    auth_service.logout(platform_of(request), a.ctx, a.token)
    response.delete_cookie(SESSION_COOKIE)
    return {"status": "logged_out"}


@api_router.post("/switch")
def api_switch(body: SwitchIn, a: ActingDep, request: Request) -> ClerkOut:
    clerk = auth_service.quick_switch(
        platform_of(request), a.ctx, a.token, body.staff_number, body.pin
    )
    return clerk_out(clerk, a.ctx.town_code)


@api_router.get("/me")
def api_me(a: ActingDep) -> ClerkOut:
    return clerk_out(a.clerk, a.ctx.town_code)


# ------------------------------------------------------------------ login and quick switch


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, error: str | None = None) -> Response:
    towns = platform_of(request).towns()
    return templates.TemplateResponse(
        request,
        "web/login.html",
        {**page_context(request, None), "towns": towns, "error": error},
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
    return templates.TemplateResponse(
        request, "web/switch.html", {**page_context(request, a), "error": error}
    )


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
