"""宛名 (``/addressees``): search residents and 住登外者 together, register a 住登外者, and an
addressee's page with its 名寄せ and its per-area 送付先, 代理人 and 口座. Viewing is counter
work (``view_residents``, audited); changing is ``record_events``. A refused form comes back
with the message next to the field (422)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from lgcloud.addressees.domain import (
    ACCOUNT_PURPOSES,
    ACCOUNT_TYPES,
    AREAS,
    PROXY_ROLES,
    NonResidentIn,
)
from lgcloud.addressees.queries import addressee, contacts, search_addressees
from lgcloud.addressees.reasons import REASONS
from lgcloud.addressees.service import (
    link,
    register_non_resident,
    set_bank_account,
    set_mailing_address,
    set_proxy,
    unlink,
)
from lgcloud.auth.roles import Permission
from lgcloud.core.clock import today_jst
from lgcloud.core.errors import RuleViolationError
from lgcloud.interface.deps import Acting, acting, platform_of
from lgcloud.interface.rendering import page_context, refusal_message, templates
from lgcloud.interface.ui import field_errors, form_date

router = APIRouter()
ActingDep = Annotated[Acting, Depends(acting)]


def _choices() -> dict[str, Any]:
    return {
        "reasons": REASONS,
        "areas": AREAS,
        "roles": PROXY_ROLES,
        "purposes": ACCOUNT_PURPOSES,
        "account_types": ACCOUNT_TYPES,
    }


def _search_page(
    request: Request,
    a: Acting,
    q: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    a.require(Permission.VIEW_RESIDENTS)
    platform = platform_of(request)
    found = []
    if q.strip():
        with platform.read_town(a.ctx.town_code) as town:
            found = search_addressees(town, q)
        platform.record_read(
            a.ctx,
            "search",
            subjects=[x.number for x in found],
            detail={"query": q, "scope": "addressees"},
        )
    base = page_context(request, a)
    return templates.TemplateResponse(
        request,
        "addressees/search.html",
        {
            **base,
            **_choices(),
            "q": q,
            "found": found,
            "values": values or {},
            "errors": errors or {},
            "refusal": refusal_message(str(base["mode"])) if base["read_only"] else None,
        },
        status_code=status,
    )


@router.get("/addressees", response_class=HTMLResponse)
def addressees_page(request: Request, a: ActingDep, q: str = "") -> Response:
    return _search_page(request, a, q[:80])


F = Annotated[str, Form()]


@router.post("/addressees", response_model=None)
def register_submit(
    request: Request,
    a: ActingDep,
    kind: F = "person",
    name: F = "",
    kana: F = "",
    birth_date: F = "",
    sex: F = "",
    corporate_number: F = "",
    address: F = "",
    address_detail: F = "",
    postal_code: F = "",
    reason: F = "",
) -> Response:
    """Register a 住登外者 and go to their page."""
    a.require(Permission.RECORD_EVENTS)
    form = {
        "kind": kind,
        "name": name,
        "kana": kana,
        "birth_date": birth_date,
        "sex": sex,
        "corporate_number": corporate_number,
        "address": address,
        "address_detail": address_detail,
        "postal_code": postal_code,
        "reason": reason,
    }
    try:
        data = NonResidentIn.model_validate(
            {
                **form,
                "kind": "corporation" if kind == "corporation" else "person",
                "birth_date": birth_date or None,
                "sex": sex or None,
                "corporate_number": corporate_number or None,
            }
        )
        with platform_of(request).town(a.ctx.town_code) as town:
            number = register_non_resident(town, a.ctx, data, today=today_jst())
    except ValidationError as e:
        return _search_page(request, a, "", values=form, errors=field_errors(e), status=422)
    except RuleViolationError as e:
        errors = {e.field or "form": e.message}
        return _search_page(request, a, "", values=form, errors=errors, status=422)
    return RedirectResponse(f"/addressees/{number}?registered=1", status_code=303)


def _detail(
    request: Request,
    a: Acting,
    number: str,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    a.require(Permission.VIEW_RESIDENTS)
    platform = platform_of(request)
    today = today_jst()
    with platform.read_town(a.ctx.town_code) as town:
        who = addressee(town, number)
        now = contacts(town, number, today)
    platform.record_read(a.ctx, "view_addressee", subjects=[number])
    base = page_context(request, a)
    return templates.TemplateResponse(
        request,
        "addressees/addressee.html",
        {
            **base,
            **_choices(),
            "who": who,
            "contacts": now,
            "today": today.isoformat(),
            "error": error,
            "can_change": Permission.RECORD_EVENTS in a.clerk.permissions and not base["read_only"],
        },
        status_code=status,
    )


@router.get("/addressees/{number}", response_class=HTMLResponse)
def addressee_page(request: Request, a: ActingDep, number: str) -> Response:
    return _detail(request, a, number[:10])


def _day(text: str) -> date:
    return form_date(text, "valid_from") or today_jst()


@router.post("/addressees/{number}", response_model=None)
def addressee_submit(
    request: Request,
    a: ActingDep,
    number: str,
    action: F = "",
    area: F = "",
    resident: F = "",
    reason: F = "",
    send_name: F = "",
    send_address: F = "",
    send_postal_code: F = "",
    proxy: F = "",
    proxy_role: F = "",
    purpose: F = "",
    bank_code: F = "",
    branch_code: F = "",
    account_type: F = "",
    account_number: F = "",
    holder_kana: F = "",
    valid_from: F = "",
) -> Response:
    """One form per action: link (名寄せ), unlink, mailing (送付先), proxy (代理人), account."""
    a.require(Permission.RECORD_EVENTS)
    number = number[:10]
    try:
        with platform_of(request).town(a.ctx.town_code) as town:
            ctx = a.ctx
            if action == "link":
                link(town, ctx, number, resident.strip(), reason)
            elif action == "unlink":
                unlink(town, ctx, number, reason)
            elif action == "mailing":
                set_mailing_address(
                    town,
                    ctx,
                    number,
                    area=area,
                    name=send_name,
                    address=send_address,
                    postal_code=send_postal_code.strip(),
                    valid_from=_day(valid_from),
                )
            elif action == "proxy":
                set_proxy(
                    town,
                    ctx,
                    number,
                    area=area,
                    proxy=proxy.strip(),
                    role=proxy_role,
                    valid_from=_day(valid_from),
                )
            elif action == "account":
                set_bank_account(
                    town,
                    ctx,
                    number,
                    area=area,
                    purpose=purpose,
                    bank_code=bank_code.strip(),
                    branch_code=branch_code.strip(),
                    account_type=account_type,
                    account_number=account_number.strip(),
                    holder_kana=holder_kana,
                    valid_from=_day(valid_from),
                )
            else:
                raise RuleViolationError("操作を選んでください", field="action")
    except RuleViolationError as e:
        return _detail(request, a, number, error=e.message, status=422)
    return RedirectResponse(f"/addressees/{number}?done={action}", status_code=303)
