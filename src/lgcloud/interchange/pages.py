"""取り込みと出力: the IT officer's page for the standard layouts (docs/interchange.md).

An export is a job: ``POST /interchange/exports`` starts it (one per town at a time) and
goes to its page, which polls its progress (htmx, every 500 ms); the file — residents.csv
(UTF-8, or cp932 zipped with its gaiji.csv) or the tax / NHI / seal layouts (one zip) — is
written by a child process at low priority from one consistent snapshot
(``interchange.exports``, ``core.jobs``) and downloaded from the job's page; the export
functions audit themselves. Import takes an
uploaded residents.csv (and optional gaiji.csv), streams it to a temporary directory and
runs ``import_residents`` in a worker thread with its own ``platform.town(...)``
transaction; the page polls a small status fragment (htmx, every 500 ms) for the rows
staged so far and then shows the result or the refusal. Jobs are kept in memory for 30
minutes, one running job per town, and are visible only to the IT officers of that town.

Permission: ``MANAGE_CLERKS`` (the IT officer's). An import is a bulk write of the whole
register, done on the CLI by the town's operator, not a life event a business clerk
records (``RECORD_EVENTS``); an export is the whole register, which no counter role needs.

An import stages and checks in a read-only transaction and writes in short transactions
(``import_residents``), so nothing here waits for it.
Included by ``app.py``. See docs/ui.md.
"""

from __future__ import annotations

import io
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from lgcloud.auth.roles import Permission
from lgcloud.core.admission import OverloadedError
from lgcloud.core.clock import utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import LgcloudError, NotFoundError
from lgcloud.core.jobs import JobFailedError, run_in_child
from lgcloud.core.logging import get_logger
from lgcloud.interchange.exports import WHAT as EXPORT_WHAT
from lgcloud.interchange.exports import ExportFile, check_request, export_job
from lgcloud.interchange.layouts import ORDER
from lgcloud.interchange.residents import (
    ImportRefusedError,
    Rejection,
    import_residents,
    write_rejections,
)
from lgcloud.interface.deps import Acting, acting, platform_of
from lgcloud.interface.rendering import is_htmx, page_context, refusal_message, templates
from lgcloud.interface.stores import BusyError, JobStore, app_store
from lgcloud.interface.ui import safe_upload_name
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.journal import check_writable

log = get_logger("lgcloud.interchange.pages")
router = APIRouter()

#: export jobs running at once on this server, all towns (each is a child process)
MAX_EXPORTS_RUNNING = 2
#: how long a finished job (its result and rejected.csv) stays visible
JOB_TTL_S = 30 * 60
#: upload and download copy size: files are never held whole in memory
CHUNK = 1 << 20
#: the largest upload stored (checked while reading): residents.csv of 100,000 people is
#: about 23 MB, so this leaves room for any town, and bounds the scratch disk a mistaken
#: upload can fill
MAX_IMPORT_BYTES = 1 << 30
MAX_GAIJI_BYTES = 16 << 20
ENCODINGS = {"auto": "自動判定", "utf-8": "UTF-8", "cp932": "Shift_JIS (cp932)"}
LAYOUT_LABELS = {
    "non_residents": "住登外者",
    "resident_taxes": "個人住民税",
    "property_taxes": "固定資産税",
    "light_vehicle_taxes": "軽自動車税",
    "installments": "期別",
    "payments": "収納",
    "nhi": "国民健康保険",
    "seals": "印鑑登録",
}
PHASE_LABELS = {
    "queued": "開始を待っています",
    "running": "読み込みと検査をしています",
    "done": "完了しました",
    "refused": "取り込みませんでした",
    "failed": "失敗しました",
}


# deps.acting reads the clerk in a read-only transaction: polls never wait for the import
ReadActingDep = Annotated[Acting, Depends(acting)]


# ------------------------------------------------------------------------------ jobs


@dataclass
class ImportJob:
    """One import of residents.csv; updated by its worker thread, read by the polls."""

    id: str
    town_code: str
    clerk_name: str
    staff_number: str
    file_name: str
    encoding: str  # as chosen: auto / utf-8 / cp932
    gaiji_name: str | None
    partial: bool
    size: int  # bytes uploaded
    estimated_rows: int  # line breaks in the upload less the header (a record may span lines)
    started_at: datetime = field(default_factory=utcnow)
    phase: str = "queued"
    rows: int = 0  # rows staged so far (reported by import_residents every 2,000 rows)
    total_rows: int = 0  # rows of the file, when finished
    imported: int = 0
    unchanged: int = 0
    rejected: int = 0
    detected_encoding: str = ""
    message: str = ""
    rejected_csv: bytes | None = None
    finished_at: float | None = None  # time.time()

    @property
    def running(self) -> bool:
        return self.phase in ("queued", "running")

    @property
    def phase_label(self) -> str:
        return PHASE_LABELS[self.phase]

    def progress(self, rows: int) -> None:
        self.phase = "running"
        self.rows = rows

    def discard(self) -> None:
        """Nothing kept on disk (the upload is deleted when the import ends)."""


EXPORT_PHASES = {
    "queued": "開始を待っています",
    "running": "出力しています",
    "done": "出力しました",
    "failed": "出力できませんでした",
}


@dataclass
class ExportJob:
    """One export, written by a child process into ``workdir``; downloaded from there."""

    id: str
    town_code: str
    clerk_name: str
    staff_number: str
    what: str
    encoding: str
    workdir: Path
    started_at: datetime = field(default_factory=utcnow)
    phase: str = "queued"
    label: str = ""  # the file being written
    done: int = 0  # rows (residents) or files (layouts) written so far
    total: int = 0  # files to write (layouts); 0 when unknown
    result: ExportFile | None = None
    message: str = ""
    finished_at: float | None = None  # time.time()

    @property
    def running(self) -> bool:
        return self.phase in ("queued", "running")

    @property
    def phase_label(self) -> str:
        return EXPORT_PHASES[self.phase]

    @property
    def what_label(self) -> str:
        return EXPORT_WHAT[self.what]

    def progress(self, message: dict[str, Any]) -> None:
        self.phase = "running"
        self.label = str(message.get("label", ""))
        self.done = int(message.get("done", 0))
        self.total = int(message.get("total", 0))

    def discard(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def _jobs(request: Request) -> JobStore[ImportJob]:
    return app_store(
        request, "imports", lambda root: JobStore("取り込み", root, ImportJob, ttl_s=JOB_TTL_S)
    )


def _exports(request: Request) -> JobStore[ExportJob]:
    return app_store(
        request, "exports", lambda root: JobStore("出力", root, ExportJob, ttl_s=JOB_TTL_S)
    )


def _rejected_csv(rejections: list[Rejection]) -> bytes | None:
    if not rejections:
        return None
    buf = io.StringIO()
    write_rejections(rejections, buf)
    return buf.getvalue().encode("utf-8")


def _run_import(
    platform: Platform,
    store: JobStore[ImportJob],
    job: ImportJob,
    ctx: RequestContext,
    path: Path,
    gaiji_path: Path | None,
    workdir: Path,
) -> None:
    """The worker thread: the import (a read-only transaction that stages and checks, then
    short write transactions); the upload deleted after. Each change is saved to ``store``
    for the polls of any worker process."""

    def progress(rows: int) -> None:
        job.progress(rows)
        store.save(job)

    job.phase = "running"
    store.save(job)
    try:
        result = import_residents(
            platform,
            ctx,
            path,
            encoding=None if job.encoding == "auto" else job.encoding,
            gaiji_path=gaiji_path,
            partial=job.partial,
            on_progress=progress,
        )
        job.rows = job.total_rows = result.rows
        job.imported, job.unchanged = result.imported, result.unchanged
        job.rejected = len(result.rejected)
        job.detected_encoding = result.encoding
        job.rejected_csv = _rejected_csv(result.rejected)
        job.phase = "done"
    except ImportRefusedError as e:
        job.message = e.message
        job.rejected = len(e.rejections)
        job.rejected_csv = _rejected_csv(e.rejections)
        job.phase = "refused"
    except LgcloudError as e:  # a bad gaiji.csv, a read-only copy, …
        job.message = e.message
        job.phase = "refused"
    except Exception as e:  # the job must end, whatever happened
        log.error("import_failed", job=job.id, town=job.town_code, error=repr(e))
        job.message = "予期しない誤りで取り込めませんでした。何も取り込んでいません。"
        job.phase = "failed"
    finally:
        job.finished_at = time.time()
        shutil.rmtree(workdir, ignore_errors=True)
        store.save(job)


class UploadTooLargeError(LgcloudError):
    """An upload above the limit (nothing of it is kept)."""


def _save_upload(upload: UploadFile, dest: Path, limit: int) -> tuple[int, int]:
    """Copy the upload to ``dest`` in chunks; returns (bytes, line breaks). Refuses (and
    stops reading) as soon as it exceeds ``limit`` bytes."""
    size = lines = 0
    last = b""
    with dest.open("wb") as out:
        while chunk := upload.file.read(CHUNK):
            if size + len(chunk) > limit:
                raise UploadTooLargeError(
                    f"{dest.name}: ファイルが大きすぎます（{limit >> 20} MB まで）"
                )
            out.write(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if size and last != b"\n":
        lines += 1
    return size, lines


def _given(upload: UploadFile | None) -> UploadFile | None:
    return upload if upload is not None and upload.filename else None


# ------------------------------------------------------------------------------ the page


def _page(
    request: Request,
    a: Acting,
    *,
    job: ImportJob | None = None,
    export: ExportJob | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:

    a.require(Permission.MANAGE_CLERKS)
    base = page_context(request, a)
    jobs = _jobs(request).of_town(a.ctx.town_code)
    exports = _exports(request).of_town(a.ctx.town_code)
    return templates.TemplateResponse(
        request,
        "interchange/interchange.html",
        {
            **base,
            "job": job,
            "jobs": jobs,
            "export": export,
            "exports": exports,
            "export_running": next((j for j in exports if j.running), None),
            "running": next((j for j in jobs if j.running), None),
            "encodings": ENCODINGS,
            "layout_labels": [LAYOUT_LABELS[n] for n in ORDER],
            "values": values or {"encoding": "auto"},
            "errors": errors or {},
            "refusal": refusal_message(str(base["mode"])) if base["read_only"] else None,
        },
        status_code=status,
    )


@router.get("/interchange", response_class=HTMLResponse)
def interchange_page(request: Request, a: ReadActingDep) -> Response:
    """Exports, the import form (refused in a read-only mode) and this town's recent imports."""
    return _page(request, a)


@router.post("/interchange/import", response_model=None)
def interchange_import(
    request: Request,
    a: ReadActingDep,
    residents: Annotated[UploadFile | None, File()] = None,
    gaiji: Annotated[UploadFile | None, File()] = None,
    encoding: Annotated[str, Form()] = "auto",
    partial: Annotated[str, Form()] = "",
) -> Response:
    """Start an import job (worker thread) and go to its progress page."""
    a.require(Permission.MANAGE_CLERKS)
    values = {"encoding": encoding, "partial": partial}
    try:
        check_writable(a.ctx, "import_residents")  # a read-only copy: before any upload work
    except LgcloudError as e:
        return _page(request, a, values=values, errors={"form": e.message}, status=422)
    errors: dict[str, str] = {}
    residents, gaiji = _given(residents), _given(gaiji)
    if residents is None:
        errors["residents"] = "取り込む residents.csv を選んでください"
    if encoding not in ENCODINGS:
        errors["encoding"] = "一覧から選んでください"
    if errors or residents is None:
        return _page(request, a, values=values, errors=errors, status=422)
    store = _jobs(request)
    if store.running(a.ctx.town_code) is not None:
        return _page(request, a, values=values, errors={"form": _BUSY}, status=409)
    workdir = Path(tempfile.mkdtemp(prefix="lgcloud-import-"))
    try:
        (workdir / "file").mkdir()
        path = workdir / "file" / safe_upload_name(residents.filename, "residents.csv")
        size, lines = _save_upload(residents, path, MAX_IMPORT_BYTES)
        gaiji_path = None
        if gaiji is not None:
            (workdir / "gaiji").mkdir()
            gaiji_path = workdir / "gaiji" / safe_upload_name(gaiji.filename, "gaiji.csv")
            _save_upload(gaiji, gaiji_path, MAX_GAIJI_BYTES)
        job = ImportJob(
            id=secrets.token_urlsafe(12),
            town_code=a.ctx.town_code,
            clerk_name=a.clerk.name,
            staff_number=a.clerk.staff_number,
            file_name=path.name,
            encoding=encoding,
            gaiji_name=gaiji_path.name if gaiji_path else None,
            partial=partial in ("1", "on", "true"),
            size=size,
            estimated_rows=max(lines - 1, 0),
        )
        store.add(job)
        worker = threading.Thread(
            target=_run_import,
            args=(platform_of(request), store, job, a.ctx, path, gaiji_path, workdir),
            name=f"lgcloud-import-{a.ctx.town_code}",
            daemon=True,
        )
        worker.start()
    except BusyError:
        shutil.rmtree(workdir, ignore_errors=True)
        return _page(request, a, values=values, errors={"form": _BUSY}, status=409)
    except UploadTooLargeError as e:
        shutil.rmtree(workdir, ignore_errors=True)
        return _page(request, a, values=values, errors={"form": e.message}, status=413)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return RedirectResponse(f"/interchange/jobs/{job.id}", status_code=303)


_BUSY = "この町村の取り込みが実行中です。終わってから始めてください（下の「最近の取り込み」）"


def _job_response(request: Request, a: Acting, job: ImportJob | ExportJob) -> Response:
    """A job's page, or for an htmx poll only its status fragment."""

    if isinstance(job, ImportJob):
        if is_htmx(request):
            return templates.TemplateResponse(request, "interchange/_job.html", {"job": job})
        return _page(request, a, job=job)
    if is_htmx(request):
        return templates.TemplateResponse(request, "interchange/_export.html", {"export": job})
    return _page(request, a, export=job)


@router.get("/interchange/jobs/{job_id}", response_class=HTMLResponse)
def interchange_job(request: Request, a: ReadActingDep, job_id: str) -> Response:
    """A job's progress and result: the whole page, or (htmx poll) the status fragment."""
    a.require(Permission.MANAGE_CLERKS)
    job = _jobs(request).get(job_id, a.ctx.town_code)
    return _job_response(request, a, job)


@router.get("/interchange/jobs/{job_id}/rejected.csv", response_model=None)
def interchange_rejected(request: Request, a: ReadActingDep, job_id: str) -> Response:
    """rejected.csv of a job (行番号,列,理由; UTF-8)."""
    a.require(Permission.MANAGE_CLERKS)
    job = _jobs(request).get(job_id, a.ctx.town_code)
    if job.rejected_csv is None:
        raise NotFoundError("受け付けなかった行はありません")
    return Response(
        job.rejected_csv,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="rejected.csv"'},
    )


# ------------------------------------------------------------------------------ exports


def _export_allowed(request: Request, a: Acting) -> Response | None:
    """An export waits for no import: while one runs, say so instead."""
    a.require(Permission.MANAGE_CLERKS)
    if _jobs(request).running(a.ctx.town_code) is not None:
        return _page(
            request,
            a,
            errors={"export": "取り込みの実行中は出力できません。終わってから出力してください"},
            status=409,
        )
    return None


def _run_export(
    platform: Platform, store: JobStore[ExportJob], job: ExportJob, ctx: RequestContext
) -> None:
    """The job's thread: the export itself runs in a child process at low priority; each
    change is saved to ``store`` for the polls of any worker process."""

    def progress(message: dict[str, Any]) -> None:
        job.progress(message)
        store.save(job)

    job.phase = "running"
    store.save(job)
    try:
        job.result = run_in_child(
            export_job,
            {
                "data_dir": str(platform.data_dir),
                "node": platform.node,
                "database_url": platform.database_url,
                "ctx": ctx,
                "what": job.what,
                "encoding": job.encoding,
                "out_dir": str(job.workdir),
            },
            progress,
        )
        job.phase = "done"
    except JobFailedError as e:
        log.error("export_failed", job=job.id, town=job.town_code, error=e.message)
        job.message = "予期しない誤りで出力できませんでした。もう一度お試しください"
        job.phase = "failed"
    except LgcloudError as e:
        job.message = e.message
        job.phase = "failed"
    finally:
        job.finished_at = time.time()
        store.save(job)


@router.post("/interchange/exports", response_model=None)
def interchange_export(
    request: Request,
    a: ReadActingDep,
    what: Annotated[str, Form()] = "",
    encoding: Annotated[str, Form()] = "utf-8",
) -> Response:
    """Start an export job (a child process) and go to its progress page; the file is
    downloaded from there when it is written (audited by the export functions)."""
    busy = _export_allowed(request, a)
    if busy is not None:
        return busy
    try:
        check_request(what, encoding)
    except LgcloudError as e:
        return _page(request, a, errors={"export": e.message}, status=422)
    job = ExportJob(
        id=secrets.token_urlsafe(12),
        town_code=a.ctx.town_code,
        clerk_name=a.clerk.name,
        staff_number=a.clerk.staff_number,
        what=what,
        encoding=encoding,
        workdir=Path(tempfile.mkdtemp(prefix="lgcloud-export-")),
    )
    exports = _exports(request)
    try:
        exports.add(job, max_running=MAX_EXPORTS_RUNNING)
    except BusyError as e:
        job.discard()
        return _page(request, a, errors={"export": e.message}, status=409)
    except OverloadedError:
        job.discard()
        raise
    threading.Thread(
        target=_run_export,
        args=(platform_of(request), exports, job, a.ctx),
        name=f"lgcloud-export-{a.ctx.town_code}",
        daemon=True,
    ).start()
    return RedirectResponse(f"/interchange/exports/{job.id}", status_code=303)


@router.get("/interchange/exports/{job_id}", response_class=HTMLResponse)
def interchange_export_job(request: Request, a: ReadActingDep, job_id: str) -> Response:
    """An export's progress and, when written, its download link (htmx polls the fragment)."""
    a.require(Permission.MANAGE_CLERKS)
    job = _exports(request).get(job_id, a.ctx.town_code)
    return _job_response(request, a, job)


@router.get("/interchange/exports/{job_id}/download", response_model=None)
def interchange_export_download(request: Request, a: ReadActingDep, job_id: str) -> Response:
    """The written export (residents.csv, or a zip)."""
    a.require(Permission.MANAGE_CLERKS)
    job = _exports(request).get(job_id, a.ctx.town_code)
    if job.result is None:
        raise NotFoundError("この出力はまだ終わっていません")
    return FileResponse(
        job.result.path, media_type=job.result.media_type, filename=job.result.filename
    )
