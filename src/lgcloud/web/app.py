"""The FastAPI application: JSON API, pages, request ids, error mapping, structured logs."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from lgcloud import __version__
from lgcloud.continuity.node import NodeService
from lgcloud.continuity.sites import Sites
from lgcloud.core.errors import (
    AuthenticationError,
    LgcloudError,
    NotFoundError,
    PermissionDeniedError,
    RuleViolationError,
)
from lgcloud.core.logging import get_logger
from lgcloud.tenancy.platform import Platform
from lgcloud.web import api, certificates, continuity, pages

log = get_logger("lgcloud.web")
_RID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

#: Routes reachable without a session. tests/test_routes.py checks every other route.
PUBLIC_PATHS = frozenset(
    {
        "/health",
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
) -> FastAPI:
    """The web application; with ``node_service`` it also takes the centre's pushes (a town
    node), with ``centre_sites`` it takes nodes' hand-backs (the centre)."""
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

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "node": platform.node, "mode": platform.mode}

    @app.middleware("http")
    async def request_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        incoming = request.headers.get("x-request-id", "")
        rid = incoming if _RID.fullmatch(incoming) else uuid.uuid4().hex
        request.state.request_id = rid
        start = time.perf_counter()
        response = await call_next(request)
        response.headers["X-Request-ID"] = rid
        log.info(
            "http_request",
            request_id=rid,
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            ms=round((time.perf_counter() - start) * 1000, 1),
        )
        return response

    def handler(status: int) -> Callable[[Request, Exception], Response]:
        def handle(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, LgcloudError)
            if status == 401 and _wants_html(request):
                return RedirectResponse("/login", status_code=303)
            return JSONResponse({"detail": exc.message, "field": exc.field}, status_code=status)

        return handle

    app.add_exception_handler(NotFoundError, handler(404))
    app.add_exception_handler(RuleViolationError, handler(422))
    app.add_exception_handler(PermissionDeniedError, handler(403))
    app.add_exception_handler(AuthenticationError, handler(401))
    # any other refusal with a message for the user (a doubtful backup, a wrong key)
    app.add_exception_handler(LgcloudError, handler(422))
    return app
