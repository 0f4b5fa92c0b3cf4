"""選挙 (``/elections``): the roll's screens.

* ``/elections`` — for the 選管事務局 (``manage_elections``): the 投票区 and the table
  行政区・字 → 投票区, the roll per 投票区 (PDF, CSV), registration runs (preview, then fix
  or discard), elections, 閲覧 applications, the 裁判員候補者 draw; for a poll clerk
  (``check_in_voters``) only the elections and their stations.
* ``/elections/{code}`` — one election: its stations, turnout per 投票区 and hour, and the
  入場券 print runs (bulk notices run as a job in a child process, one per town at a time
  across server processes — a file lock —; progress from the run's own record, files
  downloaded here).
* ``/elections/{code}/checkin/{station}`` — 受付: scan the 入場券 (or type a 宛名番号); the
  result is shown at once, a second check-in refused with where and when the first was.
"""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from lgcloud.auth.roles import Permission
from lgcloud.core.clock import today_jst
from lgcloud.core.errors import LgcloudError, NotFoundError, RuleViolationError
from lgcloud.core.jobs import JobFailedError, run_in_child
from lgcloud.core.logging import get_logger
from lgcloud.elections import queries, service
from lgcloud.elections.domain import (
    INSPECTION_PURPOSES,
    REFUSAL_LABELS,
    elector_number_from_code,
)
from lgcloud.elections.models import Inspection, JurorDraw, RegistrationRun
from lgcloud.interface.deps import Acting, acting, platform_of
from lgcloud.interface.rendering import page_context, refusal_message, templates
from lgcloud.interface.ui import form_date
from lgcloud.notices.models import NoticeRun

router = APIRouter()
ActingDep = Annotated[Acting, Depends(acting)]
log = get_logger("lgcloud.elections.pages")


def _job_lock_path(request: Request, town_code: str) -> Path:
    """The lock file held while a town's 入場券 run prints (one at a time per town, across
    every server process: a file lock, released by the OS if the process dies)."""
    folder = platform_of(request).data_dir / "run"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder / f"tickets-{town_code}.lock"


def _try_lock(path: Path) -> IO[str] | None:
    """The lock file, locked, or None when another run holds it."""
    f = path.open("a")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        return None
    return f


def _printing(request: Request, town_code: str) -> bool:
    held = _try_lock(_job_lock_path(request, town_code))
    if held is None:
        return True
    held.close()
    return False


def _notices_dir(request: Request, town_code: str) -> Path:
    return platform_of(request).data_dir / "notices" / town_code


def _overview(
    request: Request,
    a: Acting,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
    extra: dict[str, Any] | None = None,
) -> Response:
    a.require(Permission.CHECK_IN_VOTERS)
    manage = Permission.MANAGE_ELECTIONS in a.clerk.permissions
    base = page_context(request, a)
    context: dict[str, Any] = {}
    with platform_of(request).read_town(a.ctx.town_code) as town:
        elections = queries.elections(town)
        context["elections"] = [(e, queries.stations(town, e.id)) for e in elections]
        if manage:
            counts, marked = queries.roll_counts(town)
            context |= {
                "districts": queries.polling_districts(town),
                "areas": sorted(queries.polling_table(town).items()),
                "counts": counts,
                "marked": marked,
                "runs": town.session.scalars(
                    select(RegistrationRun).order_by(RegistrationRun.id.desc()).limit(8)
                ).all(),
                "inspections": town.session.scalars(
                    select(Inspection).order_by(Inspection.id.desc()).limit(8)
                ).all(),
                "draws": town.session.scalars(
                    select(JurorDraw).order_by(JurorDraw.id.desc()).limit(5)
                ).all(),
            }
    return templates.TemplateResponse(
        request,
        "elections/overview.html",
        {
            **base,
            **context,
            **(extra or {}),
            "manage": manage,
            "purposes": INSPECTION_PURPOSES,
            "refusal_labels": REFUSAL_LABELS,
            "errors": errors or {},
            "values": values or {},
            "today": today_jst(),
            "refusal": refusal_message(str(base["mode"])) if base["read_only"] else None,
        },
        status_code=status,
    )


@router.get("/elections", response_class=HTMLResponse)
def elections_page(request: Request, a: ActingDep) -> Response:
    return _overview(request, a)


def _managed(
    request: Request, a: Acting, form: str, values: dict[str, str], write: Any
) -> Response:
    """Run ``write()`` for a form of the overview: its refusal is shown next to the form."""
    a.require(Permission.MANAGE_ELECTIONS)
    try:
        result = write()
    except LgcloudError as e:
        status = 404 if isinstance(e, NotFoundError) else 422
        return _overview(request, a, errors={form: e.message}, values=values, status=status)
    if isinstance(result, Response):
        return result
    return RedirectResponse(f"/elections?done={form}#{form}", status_code=303)


@router.post("/elections/polling-districts", response_model=None)
def polling_district_submit(
    request: Request,
    a: ActingDep,
    code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
) -> Response:
    def write() -> None:
        with platform_of(request).town(a.ctx.town_code) as town:
            service.set_polling_district(town, a.ctx, code[:8], name[:60], place[:120])

    return _managed(request, a, "districts", {"code": code, "name": name, "place": place}, write)


@router.post("/elections/polling-areas", response_model=None)
def polling_area_submit(
    request: Request,
    a: ActingDep,
    area: Annotated[str, Form()] = "",
    polling_code: Annotated[str, Form()] = "",
) -> Response:
    def write() -> None:
        with platform_of(request).town(a.ctx.town_code) as town:
            service.set_polling_area(town, a.ctx, area[:80], polling_code[:8])

    return _managed(request, a, "areas", {"area": area, "polling_code": polling_code}, write)


@router.post("/elections/registration-runs", response_model=None)
def run_preview_submit(
    request: Request,
    a: ActingDep,
    reference_date: Annotated[str, Form()] = "",
    election: Annotated[str, Form()] = "",
) -> Response:
    def write() -> None:
        if election:
            service.preview_registration(platform_of(request), a.ctx, election_code=election[:20])
        else:
            day = form_date(reference_date, "reference_date")
            service.preview_registration(platform_of(request), a.ctx, reference_date=day)

    return _managed(request, a, "runs", {"reference_date": reference_date}, write)


@router.post("/elections/registration-runs/{run_code}/{action}", response_model=None)
def run_action_submit(request: Request, a: ActingDep, run_code: str, action: str) -> Response:
    def write() -> None:
        if action == "fix":
            service.fix_registration(platform_of(request), a.ctx, run_code[:16])
        elif action == "discard":
            with platform_of(request).town(a.ctx.town_code) as town:
                service.discard_registration(town, a.ctx, run_code[:16])
        else:
            raise NotFoundError("この操作はありません")

    return _managed(request, a, "runs", {}, write)


@router.post("/elections", response_model=None)
def election_submit(
    request: Request,
    a: ActingDep,
    code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    national: Annotated[str, Form()] = "",
    polling_day: Annotated[str, Form()] = "",
    reference_date: Annotated[str, Form()] = "",
    registration_date: Annotated[str, Form()] = "",
    early_from: Annotated[str, Form()] = "",
) -> Response:
    values = {
        "code": code,
        "name": name,
        "polling_day": polling_day,
        "reference_date": reference_date,
        "registration_date": registration_date,
        "early_from": early_from,
    }

    def write() -> Response:
        dates = {k: form_date(values[k], k) for k in list(values)[2:]}
        missing = [k for k, v in dates.items() if v is None]
        if missing:
            raise RuleViolationError("日付をすべて入力してください", field=missing[0])
        with platform_of(request).town(a.ctx.town_code) as town:
            e = service.create_election(
                town,
                a.ctx,
                code=code,
                name=name,
                national=national == "1",
                polling_day=dates["polling_day"],  # type: ignore[arg-type]
                reference_date=dates["reference_date"],  # type: ignore[arg-type]
                registration_date=dates["registration_date"],  # type: ignore[arg-type]
                early_from=dates["early_from"],  # type: ignore[arg-type]
            )
            return RedirectResponse(f"/elections/{e.code}", status_code=303)

    return _managed(request, a, "elections", values, write)


@router.post("/elections/inspections", response_model=None)
def inspection_submit(
    request: Request,
    a: ActingDep,
    purpose: Annotated[str, Form()] = "",
    applicant: Annotated[str, Form()] = "",
    viewers: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    polling_code: Annotated[str, Form()] = "",
) -> Response:
    """閲覧の申出: recorded (and audited) first; only then the 抄本 is offered."""
    values = {
        "purpose": purpose,
        "applicant": applicant,
        "viewers": viewers,
        "reason": reason,
        "polling_code": polling_code,
    }

    def write() -> Response:
        with platform_of(request).town(a.ctx.town_code) as town:
            row = service.record_inspection(
                town,
                a.ctx,
                applied_on=today_jst(),
                purpose=purpose,
                applicant=applicant[:120],
                viewers=[v.strip() for v in viewers.splitlines() if v.strip()][:11],
                reason=reason[:500],
                polling_code=polling_code[:8],
            )
            inspection = {"id": row.id, "polling_code": row.polling_code}
        return _overview(request, a, extra={"inspection": inspection})

    return _managed(request, a, "inspections", values, write)


@router.post("/elections/juror-draws", response_model=None)
def draw_submit(
    request: Request,
    a: ActingDep,
    year: Annotated[str, Form()] = "",
    count: Annotated[str, Form()] = "",
) -> Response:
    def write() -> None:
        if not year.isdigit() or not count.isdigit():
            raise RuleViolationError("年と人数を数字で入力してください", field="count")
        with platform_of(request).town(a.ctx.town_code) as town:
            service.draw_jurors(town, a.ctx, year=int(year), count=int(count))

    return _managed(request, a, "draws", {"year": year, "count": count}, write)


# ----------------------------------------------------------------------- one election


def _election_page(
    request: Request,
    a: Acting,
    code: str,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    a.require(Permission.CHECK_IN_VOTERS)
    base = page_context(request, a)
    with platform_of(request).read_town(a.ctx.town_code) as town:
        e = queries.election(town, code[:20])
        stations = queries.stations(town, e.id)
        turnout = queries.turnout(town, e)
        districts = {d.code: d for d in queries.polling_districts(town)}
        runs = town.session.scalars(
            select(NoticeRun)
            .where(NoticeRun.area == service.AREA, NoticeRun.kind == "nyujoken")
            .order_by(NoticeRun.id.desc())
            .limit(5)
        ).all()
    hours = sorted({h for t in turnout for h in t.by_hour})
    printing = _printing(request, a.ctx.town_code)
    return templates.TemplateResponse(
        request,
        "elections/election.html",
        {
            **base,
            "election": e,
            "stations": stations,
            "turnout": turnout,
            "hours": hours,
            "districts": districts,
            "runs": runs,
            "printing": printing,
            "manage": Permission.MANAGE_ELECTIONS in a.clerk.permissions,
            "errors": errors or {},
            "refusal": refusal_message(str(base["mode"])) if base["read_only"] else None,
        },
        status_code=status,
    )


@router.get("/elections/{code}", response_class=HTMLResponse)
def election_page(request: Request, a: ActingDep, code: str) -> Response:
    return _election_page(request, a, code)


@router.post("/elections/{code}/stations", response_model=None)
def station_submit(
    request: Request,
    a: ActingDep,
    code: str,
    station: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    polling_codes: Annotated[str, Form()] = "",
) -> Response:
    a.require(Permission.MANAGE_ELECTIONS)
    try:
        with platform_of(request).town(a.ctx.town_code) as town:
            service.add_station(
                town,
                a.ctx,
                code[:20],
                code=station[:20],
                name=name[:80],
                polling_codes=[c for c in polling_codes.replace("、", ",").split(",") if c.strip()],
            )
    except LgcloudError as e:
        return _election_page(request, a, code, errors={"stations": e.message}, status=422)
    return RedirectResponse(f"/elections/{code}?done=stations", status_code=303)


def _tickets_thread(
    platform_data: dict[str, Any],
    ctx: Any,
    code: str,
    per_household: bool,
    out_dir: Path,
    lock: IO[str],
) -> None:
    try:
        run_in_child(
            service.tickets_job,
            {
                **platform_data,
                "ctx": ctx,
                "election_code": code,
                "per_household": per_household,
                "out_dir": str(out_dir),
                "today": today_jst(),
            },
            lambda _message: None,  # progress is the run's own record (NoticeRun.printed)
        )
    except (JobFailedError, LgcloudError) as e:
        log.error("tickets_failed", town=ctx.town_code, election=code, error=str(e))
    finally:
        lock.close()  # the next run of the town may start


@router.post("/elections/{code}/tickets", response_model=None)
def tickets_submit(
    request: Request, a: ActingDep, code: str, per: Annotated[str, Form()] = "household"
) -> Response:
    """Print the 入場券 of the whole roll: a job in a child process at batch priority, one
    per town at a time; the election page shows its progress."""
    a.require(Permission.MANAGE_ELECTIONS)
    platform = platform_of(request)
    with platform.read_town(a.ctx.town_code) as town:
        queries.election(town, code[:20])  # 404 for an unknown election
    lock = _try_lock(_job_lock_path(request, a.ctx.town_code))
    if lock is None:
        return _election_page(
            request,
            a,
            code,
            errors={"tickets": "入場券の印刷が実行中です。終わってから始めてください"},
            status=409,
        )
    threading.Thread(
        target=_tickets_thread,
        args=(
            {
                "data_dir": str(platform.data_dir),
                "node": platform.node,
                "database_url": platform.database_url,
            },
            a.ctx,
            code[:20],
            per != "voter",
            _notices_dir(request, a.ctx.town_code),
            lock,
        ),
        name=f"lgcloud-tickets-{a.ctx.town_code}",
        daemon=True,
    ).start()
    return RedirectResponse(f"/elections/{code}?done=tickets#tickets", status_code=303)


@router.get("/elections/notices/{run_code}/{file_name}", response_model=None)
def notice_file(request: Request, a: ActingDep, run_code: str, file_name: str) -> Response:
    """A printed file of a 入場券 run (only a file the run lists; the download is audited)."""
    a.require(Permission.MANAGE_ELECTIONS)
    platform = platform_of(request)
    with platform.read_town(a.ctx.town_code) as town:
        run = town.session.scalar(
            select(NoticeRun).where(NoticeRun.code == run_code[:16], NoticeRun.area == service.AREA)
        )
    if run is None or file_name not in run.files:
        raise NotFoundError("このファイルはありません")
    path = _notices_dir(request, a.ctx.town_code) / file_name
    if not path.is_file():
        raise NotFoundError("このファイルはもうありません")
    platform.record_read(a.ctx, "export_notice_file", detail={"run": run.code, "file": file_name})
    return FileResponse(path, media_type="application/pdf", filename=file_name)


# ------------------------------------------------------------------------------ 受付


def _checkin_page(
    request: Request,
    a: Acting,
    code: str,
    station_code: str,
    *,
    result: service.CheckinResult | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    a.require(Permission.CHECK_IN_VOTERS)
    base = page_context(request, a)
    with platform_of(request).read_town(a.ctx.town_code) as town:
        e = queries.election(town, code[:20])
        st = queries.station(town, e.id, station_code[:20])
        recent = queries.recent_checkins(town, e.id, st.name, limit=10)
    return templates.TemplateResponse(
        request,
        "elections/checkin.html",
        {
            **base,
            "election": e,
            "station": st,
            "result": result,
            "error": error,
            "recent": recent,
        },
        status_code=status,
    )


@router.get("/elections/{code}/checkin/{station}", response_class=HTMLResponse)
def checkin_page(request: Request, a: ActingDep, code: str, station: str) -> Response:
    return _checkin_page(request, a, code, station)


@router.post("/elections/{code}/checkin/{station}", response_model=None)
def checkin_submit(
    request: Request,
    a: ActingDep,
    code: str,
    station: str,
    scanned: Annotated[str, Form()] = "",
) -> Response:
    """One scan (``E`` + 名簿番号 from the 入場券) or a typed 宛名番号."""
    a.require(Permission.CHECK_IN_VOTERS)
    text = scanned.strip()[:20]
    try:
        if not text:
            raise RuleViolationError(
                "入場券を読み取るか、宛名番号を入力してください", field="scanned"
            )
        by_ticket = text.upper().startswith("E")
        result = service.check_in(
            platform_of(request),
            a.ctx,
            election_code=code[:20],
            station_code=station[:20],
            elector_number=elector_number_from_code(text) if by_ticket else None,
            addressee_number=None if by_ticket else text,
        )
    except LgcloudError as e:
        status = 404 if isinstance(e, NotFoundError) else 422
        return _checkin_page(request, a, code, station, error=e.message, status=status)
    return _checkin_page(request, a, code, station, result=result)
