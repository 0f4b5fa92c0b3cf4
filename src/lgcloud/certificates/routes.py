"""Certificate routes: issue (API and page), issuance history, all-residents CSV, and the
public verification page (no login: it shows only type, town, issue time and as-of time)."""

from __future__ import annotations

import os
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from lgcloud.auth.roles import Permission
from lgcloud.certificates import service as cert_service
from lgcloud.certificates.service import KIND_LABELS, CertificateKind
from lgcloud.certificates.signing import normalise_code
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.interface.deps import Acting, acting, platform_of
from lgcloud.interface.rendering import templates

router = APIRouter()
ActingDep = Annotated[Acting, Depends(acting)]
MAX_UPLOAD = 20 * 1024 * 1024


def public_base_url(request: Request) -> str:
    """Where /verify lives for people reading the QR code: ``LGCLOUD_PUBLIC_URL`` (which a
    server listening beyond this machine must have, ``settings.require_public_url``), else
    the address the server listens on. Never the request's ``Host`` header: a client could
    print any address, and its QR code, into a certificate (issue 15)."""
    configured = os.environ.get("LGCLOUD_PUBLIC_URL")
    if configured:
        return configured.rstrip("/")
    host, port = request.scope.get("server") or ("127.0.0.1", 8000)
    if ":" in str(host):  # an IPv6 address
        host = f"[{host}]"
    default = 443 if request.url.scheme == "https" else 80
    return f"{request.url.scheme}://{host}" + ("" if port == default else f":{port}")


class IssueIn(BaseModel):
    kind: CertificateKind
    addressee_number: str | None = Field(default=None, max_length=10)
    options: dict[str, Any] = Field(default_factory=dict)


def _pdf_response(cert: cert_service.IssuedCertificate) -> Response:
    return Response(
        cert.pdf,
        media_type="application/pdf",
        headers={
            # headers are Latin-1: the Japanese issue number travels percent-encoded
            "X-Issue-Number": quote(cert.issue_number),
            "X-Verification-Code": cert.verification_code,
            "X-Data-As-Of": cert.data_as_of.isoformat(),
            "Content-Disposition": (
                f'inline; filename="{cert.kind.value}-{cert.verification_code}.pdf"'
            ),
        },
    )


def require_bulk(a: Acting) -> None:
    """The whole register at once: a role that has it and a stated purpose (``?purpose=``,
    recorded in the audit entry)."""
    a.require(Permission.EXPORT_REGISTER)
    if not a.ctx.purpose or not a.ctx.purpose.strip():
        raise RuleViolationError(
            "全住民の一覧には利用目的が必要です (purpose に書いてください)", field="purpose"
        )


@router.post("/api/certificates", response_class=Response)
def api_issue(body: IssueIn, a: ActingDep, request: Request) -> Response:
    """Issue a certificate; the response is the PDF (issue number and code in headers).
    全住民一覧 (``all_residents``) needs ``export_register`` and ``?purpose=``."""
    a.require(Permission.ISSUE_CERTIFICATES)
    if body.kind is CertificateKind.ALL_RESIDENTS:
        require_bulk(a)
    cert = cert_service.issue_certificate(
        platform_of(request),
        a.ctx,
        body.kind,
        addressee_number=body.addressee_number,
        options=body.options,
        base_url=public_base_url(request),
    )
    return _pdf_response(cert)


@router.get("/api/persons/{addressee_number}/issuances")
def api_issuances(a: ActingDep, request: Request, addressee_number: str) -> list[dict[str, Any]]:
    """交付履歴 of a person."""
    a.require(Permission.VIEW_RESIDENTS)
    from lgcloud.register import queries  # noqa: PLC0415

    platform = platform_of(request)
    with platform.read_town(a.ctx.town_code) as town:
        queries.get_person(town, addressee_number)
        rows = cert_service.issuance_history(town, addressee_number)
    platform.record_read(a.ctx, "view_issuances", subjects=[addressee_number])
    return [
        {
            "issue_number": r.issue_number,
            "kind": r.kind,
            "label": KIND_LABELS[CertificateKind(r.kind)],
            "issued_at": r.issued_at.isoformat(),
            "data_as_of": r.data_as_of.isoformat(),
            "clerk_name": r.clerk_name,
            "pages": r.pages,
            "verification_code": r.verification_code,
        }
        for r in rows
    ]


@router.get("/api/all-residents.csv", response_class=Response)
def api_all_residents_csv(a: ActingDep, request: Request) -> Response:
    """全住民一覧 as CSV (audited export; ``export_register`` and ``?purpose=`` needed)."""
    require_bulk(a)
    data = cert_service.all_residents_csv(platform_of(request), a.ctx)
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="all-residents.csv"'},
    )


# ----------------------------------------------------------------- public verification


def _verify_page(request: Request, context: dict[str, Any], status: int = 200) -> HTMLResponse:

    platform = platform_of(request)
    return templates.TemplateResponse(
        request,
        "certificates/verify.html",
        {
            "request": request,
            "acting": None,
            "mode": platform.mode,
            "node": platform.node,
            **context,
        },
        status_code=status,
    )


def _info(request: Request, code: str) -> tuple[str, cert_service.VerificationInfo]:
    code = normalise_code(code)
    town_code = code.split("-", 1)[0]
    platform = platform_of(request)
    try:
        platform.hosted(town_code)
    except NotFoundError:
        raise NotFoundError("この照合番号の証明書はありません") from None
    with platform.read_town(town_code) as town:  # public: never a write lock
        return code, cert_service.verification_info(town, code)


@router.get("/verify/{code}", response_class=HTMLResponse)
def verify_page(request: Request, code: str) -> HTMLResponse:
    """What a certificate is (no personal data), and a form to check a PDF against it."""
    try:
        code, info = _info(request, code)
    except NotFoundError as e:
        return _verify_page(request, {"code": code, "error": e.message}, status=404)
    return _verify_page(request, {"code": code, "info": info})


#: the whole request of a verify upload: the PDF and the multipart envelope around it
MAX_VERIFY_BODY = MAX_UPLOAD + 64 * 1024


@router.post("/verify/{code}", response_class=HTMLResponse, max_body_size=MAX_VERIFY_BODY)
async def verify_upload(
    request: Request, code: str, pdf: Annotated[UploadFile, File()]
) -> HTMLResponse:
    """Whether an uploaded PDF is exactly the document issued under ``code``. A body over
    :data:`MAX_VERIFY_BODY` is refused with 413 as it arrives (announced or counted), before
    it is read (issue 15: a stranger's 100 MB was read in full first)."""
    data = await pdf.read(MAX_UPLOAD + 1)
    try:
        code, info = _info(request, code)
    except NotFoundError as e:
        return _verify_page(request, {"code": code, "error": e.message}, status=404)
    if len(data) > MAX_UPLOAD:
        return _verify_page(
            request, {"code": code, "info": info, "error": "ファイルが大きすぎます"}, status=413
        )
    with platform_of(request).read_town(code.split("-", 1)[0]) as town:
        matches = cert_service.verify_pdf(town, code, data)
    return _verify_page(request, {"code": code, "info": info, "checked": True, "matches": matches})
