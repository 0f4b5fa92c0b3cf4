"""The FastAPI application: JSON API, pages, request ids, error mapping, structured logs."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lgcloud import __version__
from lgcloud.auth.service import ANONYMOUS_SECRETS, KNOWN_SECRETS
from lgcloud.continuity.node import NodeService
from lgcloud.continuity.sites import Sites
from lgcloud.core.admission import OverloadedError
from lgcloud.core.errors import (
    AuthenticationError,
    LgcloudError,
    NotFoundError,
    PermissionDeniedError,
    RuleViolationError,
)
from lgcloud.core.logging import get_logger
from lgcloud.db.engine import WRITE_LOCKS
from lgcloud.tenancy.platform import Platform
from lgcloud.web import api, certificates, continuity, pages
from lgcloud.web.admission import (
    AdmissionMiddleware,
    AdmissionState,
    Limits,
    SessionTowns,
    StaffDirectory,
    overloaded_response_parts,
)

log = get_logger("lgcloud.web")
_RID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

#: Routes reachable without a session. tests/test_routes.py checks every other route.
PUBLIC_PATHS = frozenset(
    {
        "/health",
        "/metrics",
        "/login",
        "/api/login",
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/verify/{code}",
    }
)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def create_app(
    platform: Platform,
    *,
    node_service: NodeService | None = None,
    centre_sites: Sites | None = None,
    limits: Limits | None = None,
) -> FastAPI:
    """The web application; with ``node_service`` it also takes the centre's pushes (a town
    node), with ``centre_sites`` it takes nodes' hand-backs (the centre). ``limits`` bound
    the work admitted (default: the ``LGCLOUD_ADMIT_*`` settings, ``web/admission.py``)."""
    app = FastAPI(
        title="lgcloud 自治体クラウド",
        version=__version__,
        description="Resident register and continuity platform shared by small municipalities.",
    )
    app.state.platform = platform
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(certificates.router)
    if node_service is not None:
        app.include_router(continuity.node_router(node_service))
    app.state.centre_sites = centre_sites
    app.state.node_service = node_service
    if centre_sites is not None:
        app.include_router(continuity.centre_router(platform, centre_sites))
    app.mount(
        "/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"
    )

    admission = AdmissionState(limits or Limits.from_env())
    app.state.admission = admission
    # added before the request-id middleware, so inside it: a refused request still gets
    # its request id and its log line
    app.add_middleware(
        AdmissionMiddleware,
        state=admission,
        towns=SessionTowns(platform),
        staff=StaffDirectory(platform),
    )

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "node": platform.node, "mode": platform.mode}

    @app.get("/metrics", response_class=PlainTextResponse, include_in_schema=False)
    def metrics(request: Request) -> Response:
        """Prometheus text for the operator's monitoring, from this machine only."""
        if request.client is None or request.client.host not in ("127.0.0.1", "::1"):
            raise NotFoundError("Not Found")
        return PlainTextResponse(prometheus_text(admission))

    app.add_middleware(RequestIdMiddleware)

    def handler(status: int) -> Callable[[Request, Exception], Response]:
        def handle(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, LgcloudError)
            if status == 401 and _wants_html(request):
                return RedirectResponse("/login", status_code=303)
            return JSONResponse({"detail": exc.message, "field": exc.field}, status_code=status)

        return handle

    def overloaded(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OverloadedError)
        body, ctype, status = overloaded_response_parts(
            request.url.path, request.method, exc.retry_after_s, exc.message
        )
        return Response(
            body,
            status_code=status,
            media_type=ctype.decode(),
            headers={"Retry-After": str(exc.retry_after_s), "Cache-Control": "no-store"},
        )

    app.add_exception_handler(OverloadedError, overloaded)
    app.add_exception_handler(NotFoundError, handler(404))
    app.add_exception_handler(RuleViolationError, handler(422))
    app.add_exception_handler(PermissionDeniedError, handler(403))
    app.add_exception_handler(AuthenticationError, handler(401))
    # any other refusal with a message for the user (a doubtful backup, a wrong key)
    app.add_exception_handler(LgcloudError, handler(422))
    return app


class RequestIdMiddleware:
    """Every request gets an id (the client's ``X-Request-ID`` if well-formed), returned in
    the response and logged with the status and time. Pure ASGI: Starlette's
    ``BaseHTTPMiddleware`` costs a task group and a stream per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        rid = incoming if _RID.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "http_request",
                request_id=rid,
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round((time.perf_counter() - start) * 1000, 1),
            )


def prometheus_text(admission: AdmissionState) -> str:
    m = admission.metrics()
    lines = [
        "# HELP lgcloud_write_lock_max_ms Longest time a write transaction held a lock.",
        "# TYPE lgcloud_write_lock_max_ms gauge",
        f"lgcloud_write_lock_max_ms {WRITE_LOCKS.max_ms:.3f}",
        "# TYPE lgcloud_write_locks_total counter",
        f"lgcloud_write_locks_total {WRITE_LOCKS.count}",
        "# TYPE lgcloud_write_locks_over_100ms_total counter",
        f"lgcloud_write_locks_over_100ms_total {WRITE_LOCKS.over_100ms}",
        "# TYPE lgcloud_requests_in_flight gauge",
        *(f'lgcloud_requests_in_flight{{class="{k}"}} {v}' for k, v in m["in_flight"].items()),
        "# TYPE lgcloud_requests_admitted_total counter",
        *(f'lgcloud_requests_admitted_total{{class="{k}"}} {v}' for k, v in m["admitted"].items()),
        "# TYPE lgcloud_requests_shed_total counter",
        *(f'lgcloud_requests_shed_total{{class="{k}"}} {v}' for k, v in m["shed"].items()),
        "# TYPE lgcloud_secret_checks_refused_total counter",
        *(
            f'lgcloud_secret_checks_refused_total{{gate="{g.name}"}} {g.refused}'
            for g in (ANONYMOUS_SECRETS, KNOWN_SECRETS)
        ),
    ]
    return "\n".join(lines) + "\n"
