"""安否確認: the disaster headquarters' page for matching a shelter's evacuee list.

A clerk uploads a shelter's evacuees.csv (docs/safety.md); ``safety.service.match_evacuees_in``
matches it against the town's current residents and records the one audited operation
(``export_evacuee_matches``, allowed on a read-only disaster-recovery copy). The page then
shows every row with its 判定: the resident found (一致) with a link to the person, the
candidates to decide between (候補), or none (不一致), and the residents of each 行政区
with how many of them this list confirmed. matches.csv can be downloaded by the same
session and clerk for 15 minutes (kept in memory, like the certificate previews).

Permission: ``VIEW_RESIDENTS``: in a disaster the counter staff staff the headquarters desk.
Included by ``app.py``. See docs/ui.md.
"""

from __future__ import annotations

import csv
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select, true

from lgcloud.auth.roles import Permission
from lgcloud.core.clock import today_jst
from lgcloud.core.errors import LgcloudError, NotFoundError
from lgcloud.interchange.codec import EncodingError, decode_lines
from lgcloud.interface.deps import Acting, acting, platform_of
from lgcloud.interface.rendering import page_context, templates
from lgcloud.interface.stores import BlobStore, app_store
from lgcloud.interface.ui import form_date, form_time, required_form_date, safe_upload_name
from lgcloud.register.domain import Status
from lgcloud.register.models import PersonVersion
from lgcloud.safety.documents import NO_DISTRICT
from lgcloud.safety.domain import LocationKind, SafetyStatus
from lgcloud.safety.identity import check_identity
from lgcloud.safety.ledger import decide, export_ledger, import_list, record_status
from lgcloud.safety.matching import standing
from lgcloud.safety.models import Disaster, SupportGrant
from lgcloud.safety.queries import UNCONFIRMED, district_counts, pending_count, pending_rows
from lgcloud.safety.service import match_evacuees_in
from lgcloud.safety.victims import (
    ROUNDS,
    apply_support,
    decide_support,
    open_disaster,
    record_survey,
    victim_ledger,
)
from lgcloud.tenancy.platform import Town

router = APIRouter()

#: the largest list accepted from the page (a shelter list is a few thousand rows)
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
RESULT_TTL_S = 15 * 60
RESULT_MAX = 16
VERDICT_LABELS = {"一致": "一致", "候補": "候補（確認が必要）", "不一致": "不一致"}


@dataclass(frozen=True)
class _Result:
    csv: bytes
    town_code: str
    clerk_id: int


class _ResultStore:
    """matches.csv of recent runs, for the session and clerk that ran them only, in files
    every worker process reads (``interface/stores.py``)."""

    def __init__(self, root: Path) -> None:
        self._blobs = BlobStore(root, ttl_s=RESULT_TTL_S, max_items=RESULT_MAX)

    @staticmethod
    def _key(token: str, result_id: str) -> str:
        return f"{token}/{result_id}"  # hashed into a file name by BlobStore: never stored

    def put(self, token: str, result: _Result) -> str:
        result_id = secrets.token_urlsafe(12)
        meta = {"town_code": result.town_code, "clerk_id": result.clerk_id}
        self._blobs.put(self._key(token, result_id), meta, result.csv, stored_at=time.time())
        return result_id

    def get(self, token: str, result_id: str, *, town_code: str, clerk_id: int) -> _Result | None:
        found = self._blobs.get(self._key(token, result_id))
        if found is None:
            return None
        meta, data = found
        if meta["town_code"] != town_code or meta["clerk_id"] != clerk_id:
            return None
        return _Result(data, town_code, clerk_id)


def _store(request: Request) -> _ResultStore:
    return app_store(request, "matches", _ResultStore)


def _written(path: Path) -> dict[str, dict[str, str]]:
    """The rows as written (氏名, 避難所, 状態 …) by 受付番号, for display only; the file has
    already been accepted by ``match_evacuees``."""
    with path.open("rb") as f:
        reader = csv.reader(decode_lines(f, unknown_gaiji="keep"))
        header = [h.strip() for h in next(reader, [])]  # as the service reads it
        rows = (dict(zip(header, values, strict=False)) for values in reader)
        return {(r.get("受付番号") or "").strip(): r for r in rows}


def _page(request: Request, a: Acting, **extra: Any) -> Response:

    status = int(extra.pop("status", 200))
    return templates.TemplateResponse(
        request,
        "safety/safety.html",
        {**page_context(request, a), "verdict_labels": VERDICT_LABELS, **extra},
        status_code=status,
    )


ActingDep = Annotated[Acting, Depends(acting)]


@router.get("/safety", response_class=HTMLResponse)
def safety_page(request: Request, a: ActingDep) -> Response:
    """The upload form."""
    a.require(Permission.VIEW_RESIDENTS)
    return _page(request, a)


def _save_capped(upload: UploadFile, dest: Path, limit: int) -> bool:
    """Copy the upload in chunks; False (and stop reading) as soon as it exceeds ``limit``."""
    size = 0
    with dest.open("wb") as out:
        while chunk := upload.file.read(1 << 20):
            size += len(chunk)
            if size > limit:
                return False
            out.write(chunk)
    return True


@router.post("/safety", response_class=HTMLResponse)
def safety_match(
    request: Request,
    a: ActingDep,
    evacuees: Annotated[UploadFile, File()],
    as_of: Annotated[str, Form()] = "",
) -> Response:
    """Match the uploaded list; the table of results and the district summary.

    Matching runs in a read-only transaction and only the audit entry takes the town's
    write lock, briefly: a long list never makes other clerks' searches wait."""
    a.require(Permission.VIEW_RESIDENTS)
    assert a.clerk.id is not None
    name = safe_upload_name(evacuees.filename, "evacuees.csv")  # shown and audited
    try:
        reference = form_date(as_of, "as_of")
    except LgcloudError as e:
        return _page(request, a, error=f"基準日: {e.message}", as_of=as_of, status=422)
    with tempfile.TemporaryDirectory(prefix="lgcloud-safety-") as tmp:
        folder = Path(tmp, "in")  # the upload's own folder: its name cannot collide
        folder.mkdir()
        path = folder / name
        if not _save_capped(evacuees, path, MAX_UPLOAD_BYTES):
            return _page(
                request,
                a,
                error=f"{name}: ファイルが大きすぎます（{MAX_UPLOAD_BYTES >> 20} MB まで）",
                status=413,
            )
        out = Path(tmp) / "matches.csv"
        platform = platform_of(request)
        try:
            report = match_evacuees_in(platform, a.ctx.town_code, a.ctx, path, out, today=reference)
        except (LgcloudError, EncodingError) as e:
            return _page(request, a, error=str(getattr(e, "message", e)), status=422)
        written = _written(path)
        with out.open(encoding="utf-8", newline="") as f:
            matches = list(csv.DictReader(f))
        # shown under the audit entry just committed, which names every proposed resident
        with platform.read_town(a.ctx.town_code) as town:
            people = _people(town.session, report.subjects, report.as_of or today_jst())
            districts = _districts(town.session, matches, people)
        data = out.read_bytes()
    result_id = _store(request).put(a.token, _Result(data, a.ctx.town_code, a.clerk.id))
    rows = []
    for m in matches:
        w = written.get(m["受付番号"], {})
        numbers = _numbers(m)
        rows.append(
            {
                "receipt": m["受付番号"],
                "verdict": m["判定"],
                "score": m["スコア"],
                "written": w,
                "candidates": [people[n] for n in numbers if n in people],
            }
        )
    return _page(
        request,
        a,
        file=name,
        counts=report.counts,
        rows=rows,
        notes=report.notes,
        districts=districts,
        result_id=result_id,
        as_of=as_of,
    )


def _numbers(m: dict[str, str]) -> list[str]:
    """The residents a matches.csv row names: its 宛名番号 (一致) or its 候補, best first."""
    if m["判定"] == "一致":
        return [m["宛名番号"]]
    return [n for n in m["候補"].split(";") if n]


def _people(session: Any, numbers: list[str], as_of: date) -> dict[str, dict[str, Any]]:
    """Name, birth date, address, 行政区 and standing (転出済, 死亡 …: see
    ``matching.standing``) of the proposed people (chunked IN)."""
    pv = PersonVersion
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(numbers), 500):
        chunk = numbers[i : i + 500]
        for r in session.execute(
            select(
                pv.addressee_number,
                pv.name,
                pv.birth_date,
                pv.address,
                pv.address_detail,
                pv.district,
                pv.status,
                pv.removal_reason,
                pv.removed_on,
                pv.destination_address,
                pv.resident_since,
            ).where(pv.is_current == true(), pv.addressee_number.in_(chunk))
        ):
            resident = r.status == Status.RESIDENT.value
            out[r.addressee_number] = {
                "number": r.addressee_number,
                "name": r.name,
                "birth": r.birth_date.isoformat(),
                "address": f"{r.address} {r.address_detail}".strip(),
                "district": r.district,
                "resident": resident,
                "standing": standing(
                    "" if resident else (r.removal_reason or "除票"),
                    r.removed_on,
                    r.destination_address or "",
                    r.resident_since,
                    as_of,
                ),
            }
    return out


def _districts(
    session: Any, matches: list[dict[str, str]], people: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per 行政区: current residents, confirmed by this list (一致), and proposed (候補)."""
    pv = PersonVersion
    residents: dict[str, int] = {
        district: int(n)
        for district, n in session.execute(
            select(pv.district, func.count())
            .where(pv.is_current == true(), pv.status == Status.RESIDENT.value)
            .group_by(pv.district)
        ).all()
    }
    # distinct people: one resident may be on a list twice (two shelters, or twice on one)
    found: set[str] = set()
    maybe: set[str] = set()
    for m in matches:  # the districts count current residents: former ones are listed only
        numbers = [n for n in _numbers(m) if n in people and people[n]["resident"]]
        (found if m["判定"] == "一致" else maybe).update(numbers)
    confirmed = Counter(people[n]["district"] for n in found)
    proposed = Counter(people[n]["district"] for n in maybe - found)
    return [
        {
            "district": d or "（行政区なし）",
            "residents": n,
            "confirmed": confirmed.get(d, 0),
            "proposed": proposed.get(d, 0),
            "unconfirmed": n - confirmed.get(d, 0),
        }
        for d, n in sorted(residents.items(), key=lambda kv: kv[0] or "")
    ]


@router.get("/safety/matches/{result_id}.csv", response_class=Response)
def safety_download(request: Request, a: ActingDep, result_id: str) -> Response:
    """matches.csv of a run, to the session and clerk that ran it, for 15 minutes."""
    a.require(Permission.VIEW_RESIDENTS)
    assert a.clerk.id is not None
    r = _store(request).get(a.token, result_id, town_code=a.ctx.town_code, clerk_id=a.clerk.id)
    if r is None:
        raise NotFoundError("この照合結果はありません（もう一度照合してください）")
    return Response(
        r.csv,
        media_type="text/csv; charset=utf-8",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": 'attachment; filename="matches.csv"',
        },
    )


# ------------------------------------------------------------------ the safety ledger (安否台帳)


def _ledger_page(request: Request, a: Acting, **extra: Any) -> Response:
    """The ledger: counts per 行政区, the 候補 rows to decide (with each candidate's name,
    birth date, address and standing), the import form, a clerk's own record, the lists."""
    status = int(extra.pop("status", 200))
    as_of = today_jst()  # the counts are of today's residents; the lists take a 基準日
    with platform_of(request).read_town(a.ctx.town_code) as town:
        counts = district_counts(town, as_of)
        pending = pending_rows(town)
        waiting = pending_count(town)
        numbers = sorted({n for r in pending for n in r.candidates})
        people = _people(town.session, numbers, as_of)
    order = [*SafetyStatus, UNCONFIRMED]
    return templates.TemplateResponse(
        request,
        "safety/ledger.html",
        {
            **page_context(request, a),
            "statuses": [str(s) for s in order],
            "status_choices": [str(s) for s in SafetyStatus],
            "location_choices": [str(k) for k in LocationKind],
            "districts": [
                {"name": d or NO_DISTRICT, "counts": c, "total": sum(c.values())} for d, c in counts
            ],
            "pending": [
                {"row": r, "candidates": [people[n] for n in r.candidates if n in people]}
                for r in pending
            ],
            "waiting": waiting,
            "can_export": Permission.EXPORT_REGISTER in a.clerk.permissions,
            "as_of": as_of.isoformat(),
            **extra,
        },
        status_code=status,
    )


@router.get("/safety/ledger", response_class=HTMLResponse)
def ledger_page(request: Request, a: ActingDep) -> Response:
    a.require(Permission.VIEW_RESIDENTS)
    return _ledger_page(request, a)


@router.post("/safety/ledger/import", response_class=HTMLResponse)
def ledger_import(
    request: Request,
    a: ActingDep,
    evacuees: Annotated[UploadFile, File()],
    reported_at: Annotated[str, Form()] = "",
    as_of: Annotated[str, Form()] = "",
) -> Response:
    """Import a shelter's list into the ledger (matched read-only, written in chunks)."""
    a.require(Permission.VIEW_RESIDENTS)
    name = safe_upload_name(evacuees.filename, "evacuees.csv")
    try:
        reference = form_date(as_of, "as_of")
        when = form_time(reported_at, "reported_at")
    except LgcloudError as e:
        return _ledger_page(request, a, error=e.message, status=422)
    with tempfile.TemporaryDirectory(prefix="lgcloud-ledger-") as tmp:
        folder = Path(tmp, "in")
        folder.mkdir()
        path = folder / name
        if not _save_capped(evacuees, path, MAX_UPLOAD_BYTES):
            limit = MAX_UPLOAD_BYTES >> 20
            return _ledger_page(
                request, a, error=f"{name}: ファイルが大きすぎます（{limit} MB まで）", status=413
            )
        try:
            result = import_list(
                platform_of(request),
                a.ctx.town_code,
                a.ctx,
                path,
                reported_at=when,
                as_of=reference,
            )
        except (LgcloudError, EncodingError) as e:
            return _ledger_page(request, a, error=str(getattr(e, "message", e)), status=422)
    done = (
        f"{name}: 一致 {result.matched} 行を台帳に反映、候補 {result.pending} 行は下で判断して"
        f"ください。住民記録にない人 {result.visitors} 行、氏名なし {result.unreadable} 行。"
    )
    return _ledger_page(request, a, message=done)


@router.post("/safety/ledger/reports/{report_id}", response_class=HTMLResponse)
def ledger_decide(
    request: Request, a: ActingDep, report_id: int, person: Annotated[str, Form()] = ""
) -> Response:
    """A clerk's decision on a 候補 row: the person chosen, or "visitor" (none of them)."""
    a.require(Permission.VIEW_RESIDENTS)
    number = None if person in ("", "visitor") else person
    if not person:
        return _ledger_page(
            request, a, error="候補の誰か、または「該当者なし」を選んでください", status=422
        )
    try:
        with platform_of(request).town(a.ctx.town_code) as town:
            decide(town, a.ctx, report_id, number)
    except NotFoundError:
        raise  # the 404 page: no such row in this town
    except LgcloudError as e:
        return _ledger_page(request, a, error=e.message, status=422)
    return RedirectResponse("/safety/ledger", status_code=303)


@router.post("/safety/ledger/status", response_class=HTMLResponse)
def ledger_status(
    request: Request,
    a: ActingDep,
    person: Annotated[str, Form()],
    status: Annotated[str, Form()],
    location_kind: Annotated[str, Form()],
    location: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """A clerk records where a person is and how (a phone call, a hospital's list)."""
    a.require(Permission.VIEW_RESIDENTS)
    try:
        with platform_of(request).town(a.ctx.town_code) as town:
            record_status(town, a.ctx, person.strip(), status, location_kind, location, note)
    except NotFoundError:
        raise  # the 404 page: nobody of that number in this town
    except LgcloudError as e:
        return _ledger_page(request, a, error=e.message, status=422)
    return RedirectResponse("/safety/ledger", status_code=303)


@router.get("/safety/ledger/list", response_class=Response)
def ledger_list(
    request: Request,
    a: ActingDep,
    fmt: Annotated[str, Query(alias="format")] = "pdf",
    as_of: str = "",
    unaccounted: bool = False,
) -> Response:
    """Every resident by 行政区 with their status, or the unaccounted-for: a whole-town
    list, so only roles that may export the register (EXPORT_REGISTER)."""
    a.require(Permission.EXPORT_REGISTER)
    try:
        reference = form_date(as_of, "as_of") or today_jst()
        data, _, _ = export_ledger(
            platform_of(request),
            a.ctx.town_code,
            a.ctx,
            as_of=reference,
            unaccounted=unaccounted,
            fmt=fmt,
        )
    except LgcloudError as e:
        return _ledger_page(request, a, error=e.message, status=422)
    stem = "unaccounted" if unaccounted else "residents-safety"
    media = "application/pdf" if fmt == "pdf" else "text/csv; charset=utf-8"
    return Response(
        data,
        media_type=media,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{stem}-{reference.isoformat()}.{fmt}"',
        },
    )


# ------------------------------------------------------------ 被災者台帳 (/safety/victims)


def _victims_page(request: Request, a: Acting, code: str = "", **extra: Any) -> Response:
    status = int(extra.pop("status", 200))
    with platform_of(request).read_town(a.ctx.town_code) as town:
        disasters = list(
            town.session.scalars(select(Disaster).order_by(Disaster.occurred_on.desc()))
        )
        chosen = next((d for d in disasters if d.code == code), disasters[0] if disasters else None)
        lines = victim_ledger(town, chosen.code) if chosen else []
        grants = (
            list(
                town.session.scalars(
                    select(SupportGrant)
                    .where(SupportGrant.disaster_id == chosen.id)
                    .order_by(SupportGrant.id)
                )
            )
            if chosen
            else []
        )
        for g in grants:
            town.session.expunge(g)
        for d in disasters:
            town.session.expunge(d)
    return templates.TemplateResponse(
        request,
        "safety/victims.html",
        {
            **page_context(request, a),
            "disasters": disasters,
            "disaster": chosen,
            "lines": lines,
            "grants": grants,
            "rounds": ROUNDS,
            "can_record": Permission.RECORD_EVENTS in a.clerk.permissions,
            "today": today_jst().isoformat(),
            **extra,
        },
        status_code=status,
    )


@router.get("/safety/victims", response_class=HTMLResponse)
def victims_page(request: Request, a: ActingDep, disaster: str = "") -> Response:
    a.require(Permission.VIEW_RESIDENTS)
    return _victims_page(request, a, disaster)


def _victims_write(
    request: Request, a: Acting, code: str, write: Callable[[Town], None]
) -> Response:
    """Run one write of the victim ledger; a refusal re-renders the page with its message."""
    a.require(Permission.RECORD_EVENTS)
    try:
        with platform_of(request).town(a.ctx.town_code) as town:
            write(town)
    except NotFoundError:
        raise
    except LgcloudError as e:
        return _victims_page(request, a, code, error=e.message, status=422)
    return RedirectResponse(f"/safety/victims?disaster={quote(code)}", status_code=303)


@router.post("/safety/victims/disasters", response_class=HTMLResponse)
def victims_open(
    request: Request,
    a: ActingDep,
    code: Annotated[str, Form()],
    name: Annotated[str, Form()],
    occurred_on: Annotated[str, Form()],
) -> Response:
    def write(town: Town) -> None:
        day = required_form_date(occurred_on, "occurred_on", "発災日")
        open_disaster(town, a.ctx, code, name, day)

    return _victims_write(request, a, code.strip(), write)


@router.post("/safety/victims/{code}/surveys", response_class=HTMLResponse)
def victims_survey(
    request: Request,
    a: ActingDep,
    code: str,
    household_number: Annotated[str, Form()],
    damage_percent: Annotated[str, Form()],
    surveyed_on: Annotated[str, Form()],
    surveyor: Annotated[str, Form()],
    survey_round: Annotated[str, Form()] = "一次調査",
    note: Annotated[str, Form()] = "",
) -> Response:
    def write(town: Town) -> None:
        day = required_form_date(surveyed_on, "surveyed_on", "調査日")
        record_survey(
            town,
            a.ctx,
            code,
            household_number.strip(),
            damage_percent,
            day,
            surveyor,
            survey_round=survey_round,
            note=note,
        )

    return _victims_write(request, a, code, write)


@router.post("/safety/victims/{code}/support", response_class=HTMLResponse)
def victims_support(
    request: Request,
    a: ActingDep,
    code: str,
    household_number: Annotated[str, Form()],
    kind: Annotated[str, Form()],
    applied_on: Annotated[str, Form()],
    method: Annotated[str, Form()] = "",
) -> Response:
    def write(town: Town) -> None:
        day = required_form_date(applied_on, "applied_on", "申請日")
        apply_support(town, a.ctx, code, household_number.strip(), kind, method or None, day)

    return _victims_write(request, a, code, write)


@router.post("/safety/victims/grants/{grant_id}", response_class=HTMLResponse)
def victims_grant(
    request: Request,
    a: ActingDep,
    grant_id: int,
    outcome: Annotated[str, Form()],
    decided_on: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    """支給決定 or 不支給 of an application."""
    a.require(Permission.RECORD_EVENTS)
    with platform_of(request).read_town(a.ctx.town_code) as town:
        grant = town.session.get(SupportGrant, grant_id)
        if grant is None:
            raise NotFoundError("その申請はありません")
        code = town.session.get_one(Disaster, grant.disaster_id).code

    def write(town: Town) -> None:
        day = required_form_date(decided_on, "decided_on", "決定日")
        decide_support(town, a.ctx, grant_id, outcome == "granted", day, note)

    return _victims_write(request, a, code, write)


@router.post("/safety/victims/identity", response_class=HTMLResponse)
def victims_identity(
    request: Request,
    a: ActingDep,
    name: Annotated[str, Form()],
    birth: Annotated[str, Form()],
    kana: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    members: Annotated[str, Form()] = "",
) -> Response:
    """Identity without papers: the result is shown on the page (audited)."""
    a.require(Permission.VIEW_RESIDENTS)
    stated = [m for m in members.replace("、", "\n").replace(",", "\n").splitlines() if m.strip()]
    try:
        with platform_of(request).town(a.ctx.town_code) as town:
            result = check_identity(
                town, a.ctx, name=name, birth=birth, kana=kana, address=address, members=stated
            )
    except LgcloudError as e:
        return _victims_page(request, a, error=e.message, status=422)
    return _victims_page(request, a, identity=result)
