"""The register's screens at the counter: search as you type, a person with household and
history (the page other areas add panels to: interface/panels.py), and the life-event
forms (異動届) with messages next to the field. Rules of every page: Japanese, no external
resources (htmx is vendored in ``web/static/``), the acting clerk and the mode always shown,
every view audited, and every page works without JavaScript (htmx only saves full
reloads). See docs/ui.md.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError

from lgcloud.auth.roles import Permission
from lgcloud.core.clock import today_jst
from lgcloud.core.errors import LgcloudError, NotFoundError
from lgcloud.interface.deps import Acting, acting, platform_of
from lgcloud.interface.panels import panel_values
from lgcloud.interface.rendering import is_htmx, page_context, refusal_message, templates
from lgcloud.interface.ui import error_message, field_errors
from lgcloud.register import queries
from lgcloud.register.domain import (
    EVENT_LABELS,
    FOREIGN_CATEGORIES,
    FOREIGN_FIELDS,
    HEAD,
    RELATIONSHIPS,
    RESIDENCE_STATUSES,
    Birth,
    Clearable,
    Correction,
    EventKind,
    HeadChange,
    LifeEvent,
    MoveIn,
    PersonState,
    residence_status_base,
)
from lgcloud.register.queries import audited_search
from lgcloud.register.service import record_event

router = APIRouter()
ActingDep = Annotated[Acting, Depends(acting)]


PURPOSES = ("証明書交付", "異動届受付", "税務", "国保", "照会対応", "その他")


#: the life-event forms reached from a person's page (the JSON API takes every kind)
EVENT_FORMS: dict[str, str] = {
    EventKind.BIRTH.value: "出生届",
    EventKind.MOVE_WITHIN.value: "転居届",
    EventKind.DOMESTIC_MOVE_OUT.value: "転出届",
    EventKind.DEATH.value: "死亡届",
    EventKind.HEAD_CHANGE.value: "世帯主変更届",
    EventKind.CORRECTION.value: "職権修正",
}
#: 転入届 into a new household, reached from the search page (no person yet)
MOVE_IN_FORMS: dict[str, str] = {
    EventKind.DOMESTIC_MOVE_IN.value: "転入",
    EventKind.FOREIGN_MOVE_IN.value: "国外転入",
}
#: person rows of the 転入届 (blank rows are ignored)
MOVE_IN_ROWS = 4
_EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(LifeEvent)

# ------------------------------------------------------------------ search and person


@router.get("/", response_class=HTMLResponse)
def search_page(
    request: Request, a: ActingDep, q: str = "", purpose: str = "", include_removed: bool = False
) -> Response:
    """住民検索. Typing in the box asks for the result list only (htmx, target #results).
    A clerk who may only check voters in (投票所受付) sees no register: they are sent to
    the elections page, where their stations are."""
    perms = a.clerk.permissions
    if Permission.VIEW_RESIDENTS not in perms and Permission.CHECK_IN_VOTERS in perms:
        return RedirectResponse("/elections", status_code=303)
    results = []
    q = q[:80]
    if q.strip() and Permission.VIEW_RESIDENTS in a.clerk.permissions:
        results = audited_search(platform_of(request), a.ctx, q, include_removed=include_removed)
    context = {
        **page_context(request, a),
        "q": q,
        "results": results,
        "purposes": PURPOSES,
        "purpose": purpose,
        "include_removed": include_removed,
    }
    if is_htmx(request, "results"):
        return templates.TemplateResponse(request, "register/_results.html", context)
    return templates.TemplateResponse(request, "register/search.html", context)


def person_context(
    request: Request, a: Acting, addressee_number: str, purpose: str
) -> dict[str, Any]:
    """Everything the person page shows, its panels' values read in the same transaction
    (interface/panels.py); the view is audited (view_person)."""
    a.require(Permission.VIEW_RESIDENTS)
    platform = platform_of(request)
    with platform.read_town(a.ctx.town_code) as town:
        person = queries.get_person(town, addressee_number)
        household = queries.current_household(town, person.household_number)
        versions = queries.history(town, addressee_number)
        panels = panel_values("person", town, a, addressee_number)
    platform.record_read(a.ctx, "view_person", subjects=[addressee_number])
    return {
        **page_context(request, a),
        "person": person,
        "person_number": addressee_number,
        "household": household,
        "versions": versions,
        "purpose": purpose,
        "event_forms": EVENT_FORMS,
        "event_labels": EVENT_LABELS,
        **panels,
    }


@router.get("/persons/{addressee_number}", response_class=HTMLResponse)
def person_page(
    request: Request, a: ActingDep, addressee_number: str, purpose: str = ""
) -> Response:
    return templates.TemplateResponse(
        request, "register/person.html", person_context(request, a, addressee_number, purpose)
    )


# ------------------------------------------------------------------ life events


def _event_payload(kind: str, person: str, form: dict[str, str], members: list[str]) -> Any:
    """The JSON of POST /api/events built from the flat form."""
    payload = _dated(kind, form, members=members or [person])
    if kind == EventKind.MOVE_WITHIN.value:
        payload["address"] = _address_payload(form)
    elif kind == EventKind.DOMESTIC_MOVE_OUT.value:
        payload["destination_address"] = form.get("destination_address", "").strip()
    return payload


def _address_payload(form: dict[str, str]) -> dict[str, str]:
    return {
        "address": form.get("address", "").strip(),
        "address_detail": form.get("address_detail", "").strip(),
        "postal_code": form.get("postal_code", "").strip().replace("-", ""),
        "district": form.get("district", "").strip(),
    }


#: the inputs of one new person (出生届 without prefix, 転入届 rows as p0_, p1_, …)
PERSON_INPUTS = ("name", "kana", "birth_date", "sex", "relationship")
#: the foreign-resident inputs (在留資格 is a choice from the list plus an optional 号・区分)
FOREIGN_INPUTS = (
    "nationality",
    "foreign_category",
    "residence_status",
    "residence_status_kind",
    "stay_expires_on",
    "residence_card_number",
)
#: RuleViolationError fields that belong to one new person (a row of the form)
_PERSON_RULE_FIELDS = frozenset({*PERSON_INPUTS, *FOREIGN_FIELDS, "honseki", "hittousha"})


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _new_person(form: dict[str, str], prefix: str, birth_date: str | None = None) -> Any:
    """One NewPerson's JSON from the flat form (blank optional items left out)."""

    def get(name: str) -> str:
        return form.get(prefix + name, "").strip()

    person: dict[str, Any] = {
        "name": get("name"),
        "kana": get("kana"),
        "birth_date": get("birth_date") if birth_date is None else birth_date,
        "relationship": get("relationship"),
    }
    sex = get("sex")
    if sex:
        person["sex"] = int(sex) if sex.isdigit() else sex
    status = get("residence_status") + _nfkc(get("residence_status_kind")).replace(" ", "")
    foreign = {
        "nationality": get("nationality"),
        "foreign_category": get("foreign_category"),
        "residence_status": status,
        "stay_expires_on": get("stay_expires_on"),
        "residence_card_number": _nfkc(get("residence_card_number")).upper(),
    }
    person.update({k: v for k, v in foreign.items() if v})
    return person


def _row_is_blank(form: dict[str, str], prefix: str) -> bool:
    """A 転入届 person row nobody filled in (性別 and 続柄 have defaults, so do not count)."""
    filled = ("name", "kana", "birth_date", *FOREIGN_INPUTS)
    return not any(form.get(prefix + name, "").strip() for name in filled)


def _validation_errors(exc: ValidationError, key: Any) -> dict[str, str]:
    """Pydantic errors as {form field: message}; ``key`` maps an error location to the
    form field (the shared ``field_errors`` drops list indexes, which the rows need)."""
    out: dict[str, str] = {}
    for err in exc.errors():
        if err.get("type") == "value_error" and (err.get("ctx") or {}).get("error"):
            message = str(err["ctx"]["error"])  # the domain's own Japanese message
        else:
            message = error_message(err)
        out.setdefault(key(tuple(err.get("loc", ()))), message)
    return out


def _person_row_of(message: str, rows: list[int], persons: list[dict[str, Any]]) -> int:
    """The row a RuleViolationError is about: the domain names the person first."""
    for row, p in zip(rows, persons, strict=True):
        name = str(p.get("name", ""))
        if name and message.startswith((f"{name}:", f"{name} ")):
            return row
    return rows[0]


def _event_values(
    kind: str, person: str, household: list[Any], subject: PersonState
) -> dict[str, Any]:
    """An empty form's values (世帯主変更 and 職権修正: the current ones)."""
    if kind == EventKind.BIRTH.value:
        return {"relationship": "子"}
    if kind == EventKind.HEAD_CHANGE.value:
        heads = [m.addressee_number for m in household if m.relationship == HEAD]
        return {
            "effective_date": str(today_jst()),
            "head": heads[0] if heads else "",
            **{f"rel_{m.addressee_number}": m.relationship for m in household},
        }
    if kind == EventKind.CORRECTION.value:
        return {"effective_date": str(today_jst()), **_correction_current(subject)}
    return {
        "effective_date": str(today_jst()),
        # a move usually takes the whole household along; a death is one person
        "members": [m.addressee_number for m in household]
        if kind == EventKind.MOVE_WITHIN.value
        else [person],
    }


def _form_choices() -> dict[str, Any]:
    return {
        "relationships": RELATIONSHIPS,
        "foreign_categories": FOREIGN_CATEGORIES,
        "residence_statuses": RESIDENCE_STATUSES,
        "foreign_inputs": FOREIGN_INPUTS,
    }


def _event_page(
    request: Request,
    a: Acting,
    kind: str,
    person: str,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    if kind not in EVENT_FORMS:
        raise NotFoundError("この異動届の画面はありません")
    a.require(Permission.RECORD_EVENTS)
    base = page_context(request, a)
    platform = platform_of(request)
    with platform.read_town(a.ctx.town_code) as town:
        subject = queries.get_person(town, person)
        household = queries.current_household(town, subject.household_number)
    platform.record_read(a.ctx, "view_person", subjects=[person])
    return templates.TemplateResponse(
        request,
        "register/event.html",
        {
            **base,
            **_form_choices(),
            "kind": kind,
            "title": EVENT_FORMS[kind],
            "person": subject,
            "household": household,
            "values": values or _event_values(kind, person, household, subject),
            "errors": errors or {},
            "refusal": refusal_message(str(base["mode"])) if base["read_only"] else None,
        },
        status_code=status,
    )


def _move_in_page(
    request: Request,
    a: Acting,
    *,
    kind: str = EventKind.DOMESTIC_MOVE_IN.value,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """転入届 into a new household (no person yet, so nobody is viewed)."""
    a.require(Permission.RECORD_EVENTS)
    base = page_context(request, a)
    return templates.TemplateResponse(
        request,
        "register/event.html",
        {
            **base,
            **_form_choices(),
            "kind": "move_in",
            "title": "転入届",
            "person": None,
            "household": [],
            "move_in_kinds": MOVE_IN_FORMS,
            "rows": range(MOVE_IN_ROWS),
            "values": values
            or {
                "kind": kind,
                "effective_date": str(today_jst()),
                "p0_relationship": HEAD,
            },
            "errors": errors or {},
            "refusal": refusal_message(str(base["mode"])) if base["read_only"] else None,
        },
        status_code=status,
    )


@router.get("/events", response_class=HTMLResponse)
def event_form(request: Request, a: ActingDep, kind: str, person: str = "") -> Response:
    """A life-event form: 出生・転居・転出・死亡 for a person, 転入 (kind domestic_move_in or
    foreign_move_in, no person) into a new household; in a read-only mode, the refusal
    explaining what to do instead."""
    if kind in MOVE_IN_FORMS:
        return _move_in_page(request, a, kind=kind)
    return _event_page(request, a, kind, person)


@router.post("/events", response_model=None)
async def event_submit(request: Request, a: ActingDep) -> Response:
    """Record the event; on a refusal, the form again with the message next to the field."""
    form = await request.form()
    kind = str(form.get("kind", ""))
    person = str(form.get("person", ""))
    members = [str(m) for m in form.getlist("members")]
    flat = {k: str(v) for k, v in form.items() if k != "members"}
    if kind in MOVE_IN_FORMS:
        return _move_in_submit(request, a, flat)
    if kind not in EVENT_FORMS or not person:
        raise NotFoundError("この異動届の画面はありません")
    a.require(Permission.RECORD_EVENTS)
    if kind == EventKind.BIRTH.value:
        return _birth_submit(request, a, person, flat)
    if kind == EventKind.HEAD_CHANGE.value:
        return _head_change_submit(request, a, person, flat)
    if kind == EventKind.CORRECTION.value:
        return _correction_submit(request, a, person, flat)
    values: dict[str, Any] = {**flat, "members": members}
    try:
        event = _EVENT_ADAPTER.validate_python(_event_payload(kind, person, flat, members))
    except ValidationError as e:
        return _event_page(
            request, a, kind, person, values=values, errors=field_errors(e), status=422
        )
    try:
        with platform_of(request).town(a.ctx.town_code) as town:
            record_event(town, a.ctx, event)
    except NotFoundError as e:
        return _event_page(
            request, a, kind, person, values=values, errors={"members": e.message}, status=422
        )
    except LgcloudError as e:
        field = (e.field or "form").split(".")[-1] if e.field else "form"
        return _event_page(
            request, a, kind, person, values=values, errors={field: e.message}, status=422
        )
    return RedirectResponse(f"/persons/{person}?recorded={kind}", status_code=303)


def _dated(
    kind: str, flat: dict[str, str], effective_date: str | None = None, **fields: Any
) -> dict[str, Any]:
    """An event's JSON: its kind, 異動日 (from the form unless given) and 届出日 when the
    clerk wrote one, and ``fields``."""
    date_text = flat.get("effective_date", "") if effective_date is None else effective_date
    payload: dict[str, Any] = {"kind": kind, "effective_date": date_text.strip(), **fields}
    if flat.get("notified_date", "").strip():
        payload["notified_date"] = flat["notified_date"].strip()
    return payload


def _record_for_person(
    request: Request,
    a: Acting,
    person: str,
    flat: dict[str, str],
    model: Any,
    payload: dict[str, Any],
    *,
    field_of_error: Callable[[tuple[Any, ...]], str],
    field_of_rule: Callable[[str], str],
) -> Response:
    """Validate ``payload`` as ``model`` and record it, then ``person``'s page. A refusal
    shows the form again with the message beside the input that ``field_of_error`` (a
    Pydantic error location) or ``field_of_rule`` (a RuleViolationError field) names."""
    kind = str(payload["kind"])
    try:
        event = model.model_validate(payload)
    except ValidationError as e:
        errors = _validation_errors(e, field_of_error)
        return _event_page(request, a, kind, person, values=flat, errors=errors, status=422)
    try:
        with platform_of(request).town(a.ctx.town_code) as town:
            record_event(town, a.ctx, event)
    except LgcloudError as e:
        field = field_of_rule((e.field or "").split(".")[-1])
        return _event_page(
            request, a, kind, person, values=flat, errors={field: e.message}, status=422
        )
    return RedirectResponse(f"/persons/{person}?recorded={kind}", status_code=303)


def _birth_field(name: str) -> str:
    """The 出生届 input an error is about (生年月日 is also the 異動日)."""
    if name in ("effective_date", "birth_date"):
        return "birth_date"
    if name in ("honseki", "hittousha"):
        return "nationality"
    if name == "relationships":
        return "relationship"
    if name in PERSON_INPUTS or name in FOREIGN_INPUTS or name == "notified_date":
        return name
    return "form"


def _birth_submit(request: Request, a: Acting, person: str, flat: dict[str, str]) -> Response:
    """出生届: the child joins the household of ``person`` (whose page the form came from)."""
    born = flat.get("birth_date", "").strip()
    with platform_of(request).read_town(a.ctx.town_code) as town:  # looked up, not shown
        household_number = queries.get_person(town, person).household_number
    payload = _dated(
        EventKind.BIRTH.value,
        flat,
        effective_date=born,
        household_number=household_number,
        person=_new_person(flat, "", birth_date=born),
    )
    return _record_for_person(
        request,
        a,
        person,
        flat,
        Birth,
        payload,
        field_of_error=lambda loc: _birth_field(str(loc[-1]) if loc else ""),
        field_of_rule=_birth_field,
    )


def _head_change_submit(request: Request, a: Acting, person: str, flat: dict[str, str]) -> Response:
    """世帯主変更届 for the household of ``person``: the chosen member becomes 世帯主 and
    every member whose 続柄 (relative to the new head) changed is sent; the others keep
    theirs. Errors go next to 新しい世帯主, a member's 続柄 or the 続柄 group."""
    kind = EventKind.HEAD_CHANGE.value
    # the form page that showed the household audited the view; this only compares
    with platform_of(request).read_town(a.ctx.town_code) as town:
        household_number = queries.get_person(town, person).household_number
        household = queries.current_household(town, household_number)
    current = {m.addressee_number: m.relationship for m in household}
    head = flat.get("head", "").strip()
    if head not in current:
        errors = {"head": "新しい世帯主を世帯員から選んでください"}
        return _event_page(request, a, kind, person, values=flat, errors=errors, status=422)
    wanted = {n: flat.get(f"rel_{n}", "").strip() for n in current}
    wanted[head] = HEAD
    changes = {n: rel for n, rel in wanted.items() if rel != current[n]}
    if not changes:
        errors = {"head": "世帯主も続柄も今と同じです"}
        return _event_page(request, a, kind, person, values=flat, errors=errors, status=422)
    payload = _dated(kind, flat, household_number=household_number, relationships=changes)

    def key(loc: tuple[Any, ...]) -> str:
        if len(loc) >= 2 and loc[0] == "relationships":
            return f"rel_{loc[1]}"
        return str(loc[0]) if loc and loc[0] in ("effective_date", "notified_date") else "form"

    return _record_for_person(
        request,
        a,
        person,
        flat,
        HeadChange,
        payload,
        field_of_error=key,
        field_of_rule=lambda f: (
            f if f in ("relationships", "effective_date", "notified_date") else "form"
        ),
    )


#: the 職権修正 inputs besides the foreign-resident ones, in form order
CORRECTION_INPUTS = (*PERSON_INPUTS, "honseki", "hittousha")
_CLEARABLE = frozenset(get_args(Clearable))


def _correction_current(p: PersonState) -> dict[str, str]:
    """A person's correctable items as the form shows them (empty for None)."""
    status = p.residence_status or ""
    base = residence_status_base(status) if status else None
    return {
        "name": p.name,
        "kana": p.kana,
        "birth_date": str(p.birth_date),
        "sex": str(int(p.sex)),
        "relationship": p.relationship,
        "honseki": p.honseki or "",
        "hittousha": p.hittousha or "",
        "nationality": p.nationality or "",
        "foreign_category": p.foreign_category or "",
        "residence_status": base or status,
        "residence_status_kind": status[len(base) :] if base else "",
        "stay_expires_on": str(p.stay_expires_on or ""),
        "residence_card_number": p.residence_card_number or "",
    }


def _correction_wanted(flat: dict[str, str]) -> dict[str, str]:
    """The submitted items, normalised as ``_correction_current`` gives them."""
    wanted = {name: flat.get(name, "").strip() for name in CORRECTION_INPUTS}
    status = flat.get("residence_status", "").strip()
    kind = _nfkc(flat.get("residence_status_kind", "")).replace(" ", "")
    wanted |= {
        "nationality": flat.get("nationality", "").strip(),
        "foreign_category": flat.get("foreign_category", "").strip(),
        "residence_status": status + kind,
        "stay_expires_on": flat.get("stay_expires_on", "").strip(),
        "residence_card_number": _nfkc(flat.get("residence_card_number", "")).upper(),
    }
    return wanted


def _correction_field(name: str) -> str:
    """The 職権修正 input an error is about."""
    if name == "relationships":  # the 続柄 corrected leaves no or two 世帯主
        return "relationship"
    if name in CORRECTION_INPUTS or name in FOREIGN_INPUTS:
        return name
    if name in ("reason", "effective_date", "notified_date"):
        return name
    return "form"


def _correction_submit(request: Request, a: Acting, person: str, flat: dict[str, str]) -> Response:
    """職権修正 of ``person``: only the items the clerk changed are sent in ``fields``; an
    emptied item that may be emptied goes to ``cleared`` (others are sent empty and refused
    by the shape check, next to the field)."""
    kind = EventKind.CORRECTION.value
    with platform_of(request).read_town(a.ctx.town_code) as town:  # compared, not shown
        subject = queries.get_person(town, person)
    before = _correction_current(subject)
    before["residence_status"] += before.pop("residence_status_kind")
    fields: dict[str, Any] = {}
    cleared: list[str] = []
    for name, value in _correction_wanted(flat).items():
        if value == before[name]:
            continue
        if not value and name in _CLEARABLE:
            cleared.append(name)
        elif name == "sex" and value.isdigit():
            fields[name] = int(value)
        else:
            fields[name] = value
    payload = _dated(
        kind,
        flat,
        member=person,
        fields=fields,
        cleared=cleared,
        reason=flat.get("reason", "").strip(),
    )

    def key(loc: tuple[Any, ...]) -> str:
        if len(loc) >= 2 and loc[0] == "fields":
            return _correction_field(str(loc[1]))
        return _correction_field(str(loc[0])) if loc else "form"

    return _record_for_person(
        request,
        a,
        person,
        flat,
        Correction,
        payload,
        field_of_error=key,
        field_of_rule=_correction_field,
    )


def _move_in_submit(request: Request, a: Acting, flat: dict[str, str]) -> Response:
    """転入届 into a new household: the filled-in person rows, then the first new person's
    page. Errors go next to the field, a person's next to their row's field."""
    a.require(Permission.RECORD_EVENTS)
    kind = flat["kind"]
    rows = [i for i in range(MOVE_IN_ROWS) if not _row_is_blank(flat, f"p{i}_")]
    if not rows:
        errors = {"p0_name": "転入する人を1人以上入力してください"}
        return _move_in_page(request, a, values=flat, errors=errors, status=422)
    persons = [_new_person(flat, f"p{i}_") for i in rows]
    payload = _dated(
        kind,
        flat,
        persons=persons,
        address=_address_payload(flat),
        previous_address=flat.get("previous_address", "").strip(),
    )

    def key(loc: tuple[Any, ...]) -> str:
        if len(loc) >= 3 and loc[0] == "persons" and isinstance(loc[1], int):
            return f"p{rows[loc[1]]}_{loc[2]}"
        if loc and loc[0] == "persons":
            return "p0_name"
        if len(loc) >= 2 and loc[0] == "address":
            return str(loc[1])
        return str(loc[0]) if loc else "form"

    try:
        event = MoveIn.model_validate(payload)
    except ValidationError as e:
        errors = _validation_errors(e, key)
        return _move_in_page(request, a, values=flat, errors=errors, status=422)
    try:
        with platform_of(request).town(a.ctx.town_code) as town:
            result = record_event(town, a.ctx, event)
    except LgcloudError as e:
        field = (e.field or "").split(".")[-1]
        if field == "relationships":  # 世帯主 is not exactly one: at the second (or first)
            heads = [r for r, p in zip(rows, persons, strict=True) if p["relationship"] == HEAD]
            name = f"p{heads[1] if len(heads) > 1 else rows[0]}_relationship"
        elif field in _PERSON_RULE_FIELDS:
            row = _person_row_of(e.message, rows, persons)
            name = f"p{row}_{'nationality' if field in ('honseki', 'hittousha') else field}"
        elif field in (
            "effective_date",
            "notified_date",
            "previous_address",
            "address",
            "address_detail",
            "postal_code",
            "district",
        ):
            name = field
        else:
            name = "form"
        return _move_in_page(request, a, values=flat, errors={name: e.message}, status=422)
    return RedirectResponse(f"/persons/{result.subjects[0]}?recorded={kind}", status_code=303)
