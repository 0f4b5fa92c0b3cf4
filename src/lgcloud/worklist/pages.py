"""処理待ち (``/worklist``): each business area's list of what a register change left for its
staff, the oldest deadline first, overdue ones flagged; settling an item (処理済み, or 対応不要
with the reason) is audited. For staff who record changes (``record_events``)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lgcloud.auth.roles import Permission
from lgcloud.core.areas import load_areas
from lgcloud.core.clock import today_jst
from lgcloud.core.errors import RuleViolationError
from lgcloud.interface.deps import Acting, acting, platform_of
from lgcloud.interface.rendering import page_context, refusal_message, templates
from lgcloud.worklist.queries import open_counts, tasks
from lgcloud.worklist.service import AREAS, OUTCOMES, settle_task

router = APIRouter()
ActingDep = Annotated[Acting, Depends(acting)]


def _page(
    request: Request, a: Acting, area: str, *, error: str | None = None, status: int = 200
) -> Response:
    a.require(Permission.RECORD_EVENTS)
    load_areas()  # every area that keeps a list has named itself
    base = page_context(request, a)
    today = today_jst()
    with platform_of(request).read_town(a.ctx.town_code) as town:
        counts = open_counts(town, today=today)
        # the areas with something waiting first, then the others (an item of an area with
        # no name yet is still listed, under its key: nothing waits unseen)
        names = {**{k: k for k in counts}, **AREAS}
        keys = sorted(names, key=lambda k: (k not in counts, k))
        area = area if area in names else next(iter(keys), "")
        rows = tasks(town, area, today=today) if area else []
    return templates.TemplateResponse(
        request,
        "worklist/worklist.html",
        {
            **base,
            "areas": {k: names[k] for k in keys},
            "area": area,
            "counts": counts,
            "rows": rows,
            "outcomes": OUTCOMES,
            "error": error,
            "refusal": refusal_message(str(base["mode"])) if base["read_only"] else None,
        },
        status_code=status,
    )


@router.get("/worklist", response_class=HTMLResponse)
def worklist_page(request: Request, a: ActingDep, area: str = "") -> Response:
    return _page(request, a, area[:40])


@router.post("/worklist/{code}", response_model=None)
def settle_submit(
    request: Request,
    a: ActingDep,
    code: str,
    area: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    a.require(Permission.RECORD_EVENTS)
    try:
        with platform_of(request).town(a.ctx.town_code) as town:
            settle_task(town, a.ctx, code[:16], area=area, outcome=outcome, note=note)
    except RuleViolationError as e:
        return _page(request, a, area, error=e.message, status=422)
    return RedirectResponse(f"/worklist?area={quote(area)}&settled=1", status_code=303)
