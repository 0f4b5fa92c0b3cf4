"""The certificates' part of the counter: issuing from a person's page with an in-page
PDF preview (the issuing form and history are a panel on the register's person page)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from lgcloud.auth.roles import Permission
from lgcloud.certificates import service as cert_service
from lgcloud.certificates.routes import public_base_url, require_bulk
from lgcloud.certificates.service import KIND_LABELS, CertificateKind, issuance_history
from lgcloud.core.admission import OverloadedError
from lgcloud.core.clock import today_jst
from lgcloud.core.dates import fiscal_year_of
from lgcloud.core.errors import LgcloudError, NotFoundError
from lgcloud.interface.deps import Acting, acting, platform_of
from lgcloud.interface.panels import Panel, add_panel
from lgcloud.interface.rendering import is_htmx, page_context, templates
from lgcloud.interface.stores import app_store
from lgcloud.interface.ui import Preview, PreviewStore
from lgcloud.register.pages import person_context
from lgcloud.tenancy.platform import Town

router = APIRouter()
ActingDep = Annotated[Acting, Depends(acting)]


def _person_panel(town: Town, a: Acting, addressee_number: str) -> dict[str, Any]:
    """The issuing form and the issuance history on the register's person page."""
    return {
        "issuances": issuance_history(town, addressee_number),
        "kinds": KIND_LABELS,
        "can_issue": Permission.ISSUE_CERTIFICATES in a.clerk.permissions,
        "fiscal_year": fiscal_year_of(today_jst()),
        "preview": None,
        "issue_error": None,
    }


add_panel(
    Panel(
        "person",
        _person_panel,
        {"side": "certificates/_person_side.html", "below": "certificates/_person_below.html"},
    )
)


def _previews(request: Request) -> PreviewStore:
    return app_store(request, "previews", PreviewStore)


# ------------------------------------------------------------------ issuance with preview


@router.post("/persons/{addressee_number}/certificates", response_class=HTMLResponse)
def issue_with_preview(
    request: Request,
    a: ActingDep,
    addressee_number: str,
    kind: Annotated[CertificateKind, Form()],
    fiscal_year: Annotated[int | None, Form()] = None,
    layout: Annotated[str, Form()] = "household",  # 世帯連記式 / 個人票 (not "form": htmx)
    include_head_and_relationship: Annotated[bool, Form()] = False,
    include_honseki: Annotated[bool, Form()] = False,
    include_foreign_items: Annotated[bool, Form()] = False,
    include_resident_code: Annotated[bool, Form()] = False,
    include_individual_number: Annotated[bool, Form()] = False,
    include_removed: Annotated[bool, Form()] = False,
    disaster: Annotated[str, Form()] = "",
) -> Response:
    """Issue a certificate (audited, signed, in 交付履歴) and answer with its preview: the
    PDF in an <iframe> served to this session only, a print button, and the updated
    issuance history (htmx swaps both; without JavaScript the whole person page comes back)."""
    a.require(Permission.ISSUE_CERTIFICATES)
    if kind is CertificateKind.ALL_RESIDENTS:
        require_bulk(a)
    options: dict[str, Any] = {}
    if kind is CertificateKind.RESIDENT:
        options = {
            "form": layout,
            "include_head_and_relationship": include_head_and_relationship,
            "include_honseki": include_honseki,
            "include_foreign_items": include_foreign_items,
            "include_resident_code": include_resident_code,
            "include_individual_number": include_individual_number,
            "include_removed": include_removed,
        }
    elif kind in (CertificateKind.INCOME_TAX, CertificateKind.TAX_PAYMENT):
        options = {"fiscal_year": fiscal_year}
    elif kind is CertificateKind.DISASTER:
        options = {"disaster": disaster.strip()}
    platform = platform_of(request)
    preview: Preview | None = None
    error: str | None = None
    try:
        cert = cert_service.issue_certificate(
            platform,
            a.ctx,
            kind,
            addressee_number=None if kind is CertificateKind.ALL_RESIDENTS else addressee_number,
            options=options,
            base_url=public_base_url(request),
        )
    except (NotFoundError, OverloadedError):
        raise
    except LgcloudError as e:  # e.g. a character the certificate font cannot draw
        error = e.message
    else:
        assert a.clerk.id is not None
        preview = Preview(
            pdf=cert.pdf,
            town_code=a.ctx.town_code,
            clerk_id=a.clerk.id,
            addressee_number=addressee_number,
            issue_number=cert.issue_number,
            verification_code=cert.verification_code,
            kind_label=KIND_LABELS[cert.kind],
            data_as_of=cert.data_as_of.isoformat(),
            stored_at=time.time(),
        )
        _previews(request).put(a.token, preview)
    if not is_htmx(request):
        context = person_context(request, a, addressee_number, "")
        context.update(preview=preview, issue_error=error)
        return templates.TemplateResponse(
            request, "register/person.html", context, status_code=422 if error else 200
        )
    with platform.read_town(a.ctx.town_code) as town:
        issuances = issuance_history(town, addressee_number)
    platform.record_read(a.ctx, "view_issuances", subjects=[addressee_number])
    return templates.TemplateResponse(
        request,
        "certificates/_issued.html",
        {
            **page_context(request, a),
            "person_number": addressee_number,
            "preview": preview,
            "issue_error": error,
            "issuances": issuances,
            "kinds": KIND_LABELS,
            "oob": True,
        },
        status_code=422 if error else 200,
    )


@router.get("/persons/{addressee_number}/certificates/{code}", response_class=Response)
def preview_pdf(request: Request, a: ActingDep, addressee_number: str, code: str) -> Response:
    """The PDF just issued, for the preview and printing: only to the session and clerk that
    issued it, for a short time (the issuance itself is the audited act)."""
    a.require(Permission.ISSUE_CERTIFICATES)
    assert a.clerk.id is not None
    p = _previews(request).get(
        a.token,
        code,
        town_code=a.ctx.town_code,
        clerk_id=a.clerk.id,
        addressee_number=addressee_number,
    )
    if p is None:
        raise NotFoundError("このプレビューはありません（もう一度交付してください）")
    return Response(
        p.pdf,
        media_type="application/pdf",
        headers={
            "X-Verification-Code": p.verification_code,
            "X-Data-As-Of": p.data_as_of,
            "Cache-Control": "no-store",
            "Content-Disposition": f'inline; filename="{p.verification_code}.pdf"',
        },
    )
