"""職員と役割: the IT officer's page for the town's clerks (list, create, unlock).

Included by ``app.py``. The same services as the
JSON API (``auth.service.create_clerk`` / ``unlock``), with the messages next to the field.
See docs/ui.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from lgcloud.auth import service as auth_service
from lgcloud.auth.models import Clerk
from lgcloud.auth.roles import ROLE_LABELS, Permission, Role, parse_roles
from lgcloud.core.clock import utcnow
from lgcloud.core.errors import LgcloudError, NotFoundError
from lgcloud.interface.deps import Acting, acting, platform_of
from lgcloud.interface.rendering import page_context, refusal_message, templates
from lgcloud.web.sessions import ClerkOut, clerk_out

router = APIRouter()
api_router = APIRouter(prefix="/api")
ActingDep = Annotated[Acting, Depends(acting)]

#: the form's fields, in the order of the page (a message for another field goes to "form")
CLERK_FIELDS = ("staff_number", "name", "roles", "password", "pin")
_MISSING = "入力してください"
_TOO_LONG_200 = "200文字以内で入力してください"


@dataclass(frozen=True)
class ClerkRow:
    staff_number: str
    name: str
    roles: list[str]  # labels, in the order of ROLE_LABELS
    active: bool
    has_pin: bool
    locked_until: datetime | None  # password login locked until
    pin_locked_until: datetime | None  # quick switch locked until

    @property
    def locked(self) -> bool:
        return self.locked_until is not None or self.pin_locked_until is not None


def _clerk_rows(request: Request, a: Acting) -> list[ClerkRow]:
    now = utcnow()

    def live(t: datetime | None) -> datetime | None:
        return t if t is not None and t > now else None

    with platform_of(request).read_town(a.ctx.town_code) as town:
        clerks = list(town.session.scalars(select(Clerk).order_by(Clerk.staff_number)))
        return [
            ClerkRow(
                staff_number=c.staff_number,
                name=c.name,
                roles=[label for r, label in ROLE_LABELS.items() if r in parse_roles(c.roles)],
                active=bool(c.active),
                has_pin=c.pin_hash is not None,
                locked_until=live(c.locked_until),
                pin_locked_until=live(c.pin_locked_until),
            )
            for c in clerks
        ]


def _clerks_page(
    request: Request,
    a: Acting,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status: int = 200,
) -> Response:

    a.require(Permission.MANAGE_CLERKS)
    base = page_context(request, a)
    return templates.TemplateResponse(
        request,
        "web/clerks.html",
        {
            **base,
            "clerks": _clerk_rows(request, a),
            "role_labels": {r.value: label for r, label in ROLE_LABELS.items()},
            "values": values or {"roles": []},
            "errors": errors or {},
            "message": message,
            "refusal": refusal_message(str(base["mode"])) if base["read_only"] else None,
        },
        status_code=status,
    )


@router.get("/clerks", response_class=HTMLResponse)
def clerks_page(request: Request, a: ActingDep, created: str = "", unlocked: str = "") -> Response:
    """The town's clerks with their roles and locks; the form to create one."""
    message = None
    if created:
        message = f"職員 {created[:20]} を登録しました。"
    elif unlocked:
        message = f"職員 {unlocked[:20]} のロックを解除しました。"
    return _clerks_page(request, a, message=message)


@router.post("/clerks", response_model=None)
def clerks_create(
    request: Request,
    a: ActingDep,
    staff_number: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    roles: Annotated[list[str] | None, Form()] = None,
    password: Annotated[str, Form()] = "",
    pin: Annotated[str, Form()] = "",
) -> Response:
    """Create a clerk (``auth.service.create_clerk``: audited, refused in read-only modes)."""
    a.require(Permission.MANAGE_CLERKS)
    chosen = [r for r in roles or [] if r]
    values: dict[str, Any] = {"staff_number": staff_number, "name": name, "roles": chosen}
    errors: dict[str, str] = {}
    staff_number, name = staff_number.strip(), name.strip()
    if not staff_number:
        errors["staff_number"] = "入力してください"
    elif len(staff_number) > 20:
        errors["staff_number"] = "20文字以内で入力してください"
    if not name:
        errors["name"] = "入力してください"
    elif len(name) > 80:
        errors["name"] = "80文字以内で入力してください"
    valid_roles = {r.value for r in Role}
    if not chosen:
        errors["roles"] = "役割を1つ以上選んでください"
    elif not set(chosen) <= valid_roles:
        errors["roles"] = "一覧から選んでください"
    if not password or len(password) > 200:
        errors["password"] = _MISSING if not password else _TOO_LONG_200
    if errors:
        return _clerks_page(request, a, values=values, errors=errors, status=422)
    try:
        with platform_of(request).town(a.ctx.town_code) as town:
            auth_service.create_clerk(
                town,
                a.ctx,
                staff_number=staff_number,
                name=name,
                roles={Role(r) for r in chosen},
                password=password,
                pin=pin.strip() or None,
            )
    except LgcloudError as e:
        field = e.field if e.field in CLERK_FIELDS else "form"
        return _clerks_page(request, a, values=values, errors={field: e.message}, status=422)
    return RedirectResponse(f"/clerks?created={quote(staff_number)}", status_code=303)


@router.post("/clerks/{staff_number}/unlock", response_model=None)
def clerks_unlock(request: Request, a: ActingDep, staff_number: str) -> Response:
    """Unlock a clerk's password login and quick-switch PIN (audited)."""
    a.require(Permission.MANAGE_CLERKS)
    try:
        with platform_of(request).town(a.ctx.town_code) as town:
            auth_service.unlock(town, a.ctx, staff_number)
    except NotFoundError:
        raise
    except LgcloudError as e:  # e.g. refused on a read-only copy
        return _clerks_page(request, a, errors={"form": e.message}, status=422)
    return RedirectResponse(f"/clerks?unlocked={quote(staff_number)}", status_code=303)


# ------------------------------------------------------------------ JSON API


class NewClerkIn(BaseModel):
    staff_number: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=80)
    roles: list[Role] = Field(min_length=1)
    password: str = Field(min_length=1, max_length=200)
    pin: str | None = None


@api_router.get("/clerks")
def api_clerks(a: ActingDep, request: Request) -> list[ClerkOut]:
    a.require(Permission.MANAGE_CLERKS)
    with platform_of(request).read_town(a.ctx.town_code) as town:
        return [clerk_out(c, a.ctx.town_code) for c in auth_service.list_clerks(town)]


@api_router.post("/clerks", status_code=201)
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
    return clerk_out(clerk, a.ctx.town_code)


@api_router.post("/clerks/{staff_number}/unlock")
def api_unlock(a: ActingDep, request: Request, staff_number: str) -> dict[str, str]:
    a.require(Permission.MANAGE_CLERKS)
    with platform_of(request).town(a.ctx.town_code) as town:
        auth_service.unlock(town, a.ctx, staff_number)
    return {"status": "unlocked"}
