"""印鑑登録 at the counter: a panel on the register's person page (the registration, and
the forms to register or abolish a seal for clerks who record 届出), and the two form
posts. A refused form comes back on the person page with the message (422)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from lgcloud.auth.roles import Permission
from lgcloud.core.clock import today_jst
from lgcloud.core.errors import RuleViolationError
from lgcloud.interface.deps import Acting, acting, platform_of
from lgcloud.interface.panels import Panel, add_panel
from lgcloud.interface.rendering import templates
from lgcloud.register.pages import person_context
from lgcloud.seals.domain import ABOLITION_REASONS
from lgcloud.seals.queries import seal_records
from lgcloud.seals.routes import read_impression
from lgcloud.seals.service import abolish_seal, register_seal
from lgcloud.tenancy.platform import Town

router = APIRouter()
ActingDep = Annotated[Acting, Depends(acting)]

#: what ``?seal=`` on the person page says after a form succeeded
DONE = {"registered": "印鑑を登録しました", "abolished": "印鑑登録を廃止しました"}


def _panel(town: Town, a: Acting, addressee_number: str) -> dict[str, Any]:
    return {
        "seal_records": seal_records(town, addressee_number),
        "can_record_seal": Permission.RECORD_EVENTS in a.clerk.permissions,
        "seal_reasons": ABOLITION_REASONS,
        "seal_today": today_jst().isoformat(),
        "seal_error": None,
        "seal_done": None,
    }


add_panel(Panel("person", _panel, {"main": "seals/_person_panel.html"}))


def _refused(request: Request, a: Acting, addressee_number: str, message: str) -> Response:
    context = person_context(request, a, addressee_number, "")
    context["seal_error"] = message
    return templates.TemplateResponse(request, "register/person.html", context, status_code=422)


@router.post("/persons/{addressee_number}/seal", response_model=None)
def register_submit(
    request: Request,
    a: ActingDep,
    addressee_number: str,
    image: Annotated[UploadFile, File()],
    registered_on: Annotated[date | None, Form()] = None,
) -> Response:
    a.require(Permission.RECORD_EVENTS)
    image_png = read_impression(image)
    try:
        with platform_of(request).town(a.ctx.town_code) as town:
            register_seal(
                town,
                a.ctx,
                addressee_number,
                image_png=image_png,
                registered_on=registered_on or today_jst(),
            )
    except RuleViolationError as e:
        return _refused(request, a, addressee_number, e.message)
    return RedirectResponse(f"/persons/{addressee_number}?seal=registered", status_code=303)


@router.post("/persons/{addressee_number}/seal/abolish", response_model=None)
def abolish_submit(
    request: Request,
    a: ActingDep,
    addressee_number: str,
    reason: Annotated[str, Form()] = "",
    abolished_on: Annotated[date | None, Form()] = None,
) -> Response:
    a.require(Permission.RECORD_EVENTS)
    try:
        with platform_of(request).town(a.ctx.town_code) as town:
            abolish_seal(
                town,
                a.ctx,
                addressee_number,
                abolished_on=abolished_on or today_jst(),
                reason=reason,
            )
    except RuleViolationError as e:
        return _refused(request, a, addressee_number, e.message)
    return RedirectResponse(f"/persons/{addressee_number}?seal=abolished", status_code=303)
