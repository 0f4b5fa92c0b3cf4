"""法令パラメータ (``/parameters``): every dated parameter's value today and its source, each
one's values over time, and a form to set a new value from a date. For the IT officer
(``manage_clerks``); a refused value comes back with its message next to the field."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lgcloud.auth.roles import Permission
from lgcloud.core.clock import today_jst
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.interface.deps import Acting, acting, platform_of
from lgcloud.interface.rendering import page_context, refusal_message, templates
from lgcloud.interface.ui import form_date
from lgcloud.parameters.queries import all_parameters_on, timeline
from lgcloud.parameters.registry import declared
from lgcloud.parameters.service import set_parameter

router = APIRouter()
ActingDep = Annotated[Acting, Depends(acting)]


def _page(
    request: Request,
    a: Acting,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    a.require(Permission.MANAGE_CLERKS)
    base = page_context(request, a)
    today = today_jst()
    with platform_of(request).read_town(a.ctx.town_code) as town:
        now = all_parameters_on(town, today)
        rows = [
            {
                "spec": spec,
                "value": now.values[spec.key],
                "source": now.sources[spec.key],
                "timeline": timeline(town, spec.key),
            }
            for spec in declared()
        ]
    return templates.TemplateResponse(
        request,
        "parameters/parameters.html",
        {
            **base,
            "rows": rows,
            "today": today.isoformat(),
            "values": values or {},
            "errors": errors or {},
            "refusal": refusal_message(str(base["mode"])) if base["read_only"] else None,
        },
        status_code=status,
    )


@router.get("/parameters", response_class=HTMLResponse)
def parameters_page(request: Request, a: ActingDep) -> Response:
    return _page(request, a)


@router.post("/parameters", response_model=None)
def parameters_submit(
    request: Request,
    a: ActingDep,
    key: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    effective_from: Annotated[str, Form()] = "",
    effective_to: Annotated[str, Form()] = "",
    source: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    a.require(Permission.MANAGE_CLERKS)
    values = {
        "key": key,
        "value": value,
        "effective_from": effective_from,
        "effective_to": effective_to,
        "source": source,
        "reason": reason,
    }
    try:
        start = form_date(effective_from, "effective_from")
        if start is None:
            raise RuleViolationError("適用開始日を入力してください", field="effective_from")
        with platform_of(request).town(a.ctx.town_code) as town:
            set_parameter(
                town,
                a.ctx,
                key,
                value,
                effective_from=start,
                effective_to=form_date(effective_to, "effective_to"),
                today=today_jst(),
                source=source,
                reason=reason,
            )
    except (RuleViolationError, NotFoundError) as e:
        return _page(request, a, values=values, errors={e.field or "form": e.message}, status=422)
    return RedirectResponse(f"/parameters?set={key}", status_code=303)
