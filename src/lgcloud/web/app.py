"""The FastAPI application: JSON API, pages, request ids, error mapping, structured logs."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lgcloud import __version__
from lgcloud.addressees import pages as addressee_pages
from lgcloud.auth.service import ANONYMOUS_SECRETS, KNOWN_SECRETS, warm_up
from lgcloud.certificates import pages as certificate_pages
from lgcloud.certificates import routes as certificate_routes
from lgcloud.continuity import pages as node_pages
from lgcloud.continuity import routes as continuity
from lgcloud.continuity.node import NodeService
from lgcloud.continuity.sites import Sites, load_sites
from lgcloud.core.admission import OverloadedError
from lgcloud.core.errors import (
    AuthenticationError,
    LgcloudError,
    NotFoundError,
    PermissionDeniedError,
    RuleViolationError,
)
from lgcloud.core.logging import get_logger
from lgcloud.datalink import routes as datalink_routes
from lgcloud.db.engine import WRITE_LOCKS
from lgcloud.elections import pages as election_pages
from lgcloud.elections import routes as election_routes
from lgcloud.interchange import pages as interchange_pages
from lgcloud.interface.stores import PeerMetrics
from lgcloud.parameters import pages as parameter_pages
from lgcloud.register import pages as register_pages
from lgcloud.register import routes as register_routes
from lgcloud.safety import pages as safety_pages
from lgcloud.seals import pages as seal_pages
from lgcloud.seals import routes as seal_routes
from lgcloud.tenancy.platform import Platform
from lgcloud.web import admin, audit, sessions
from lgcloud.web.admission import (
    DATABASE_HEADLINE,
    DATABASE_RETRY_AFTER_S,
    DATABASE_UNAVAILABLE,
    OVERLOADED_HEADLINE,
    AdmissionMiddleware,
    AdmissionState,
    Limits,
    SessionTowns,
    StaffDirectory,
    overloaded_response_parts,
)
from lgcloud.web.security import SecurityMiddleware
from lgcloud.worklist import pages as worklist_pages

log = get_logger("lgcloud.web")

#: every part's routes, assembled here only: each business area owns its routes and pages
#: (``<area>/routes.py``, ``<area>/pages.py``); sessions, clerks and the audit reports are
#: the platform's own (``web/``). Importing a pages module also adds its panels to other
#: areas' pages (interface/panels.py).
ROUTERS: tuple[APIRouter, ...] = (
    sessions.api_router,
    sessions.router,
    register_routes.router,
    register_pages.router,
    addressee_pages.router,
    certificate_routes.router,
    certificate_pages.router,
    seal_routes.router,
    seal_pages.router,
    election_routes.router,
    election_pages.router,
    continuity.router,
    interchange_pages.router,
    safety_pages.router,
    node_pages.router,
    admin.api_router,
    admin.router,
    parameter_pages.router,
    worklist_pages.router,
    datalink_routes.router,
    audit.api_router,
    audit.router,
)
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
        # another system's token, not a clerk's session (datalink/routes.py)
        "/api/linkage/v1/{dataset}/changes",
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
    warm_up()  # a stranger's first login costs what every other one does
    app = FastAPI(
        title="lgcloud 自治体クラウド",
        version=__version__,
        description="Resident register and continuity platform shared by small municipalities.",
    )
    app.state.platform = platform
    for router in ROUTERS:
        app.include_router(router)
    if node_service is not None:
        app.include_router(continuity.node_router(node_service))
    app.state.centre_sites = centre_sites
    app.state.page_alerts = None if centre_sites is None else continuity.copy_alerts(centre_sites)
    app.state.node_service = node_service
    if centre_sites is not None:
        app.include_router(continuity.centre_router(platform, centre_sites))
    app.mount(
        "/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"
    )

    admission = AdmissionState(limits or Limits.from_env())
    app.state.admission = admission
    app.state.peer_metrics = None  # one process; app_from_env sets it for --workers
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
        peers: PeerMetrics | None = app.state.peer_metrics
        snapshots = peers.all() if peers is not None else [metrics_snapshot(admission)]
        return PlainTextResponse(prometheus_text(snapshots))

    # inside the request-id middleware, outside admission: a cross-site request is refused
    # before it is classed or admitted
    app.add_middleware(SecurityMiddleware)
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
        return _wait_response(request, exc.retry_after_s, exc.message)

    def database_unavailable(request: Request, exc: Exception) -> Response:
        # The database server is unreachable or switching over (a standby being promoted),
        # or a SQLite file stayed locked past the busy timeout: the transaction was rolled
        # back (or, if the connection died at COMMIT, may have been committed), so the user
        # is told to wait and check, never shown a 500.
        log.warning("database_unavailable", path=request.url.path, error=str(exc)[:300])
        return _wait_response(
            request,
            DATABASE_RETRY_AFTER_S,
            DATABASE_UNAVAILABLE,
            headline=DATABASE_HEADLINE,
            handled=True,  # a POST cut off at its commit may be stored or not
        )

    app.add_exception_handler(OverloadedError, overloaded)
    app.add_exception_handler(OperationalError, database_unavailable)
    app.add_exception_handler(NotFoundError, handler(404))
    app.add_exception_handler(RuleViolationError, handler(422))
    app.add_exception_handler(PermissionDeniedError, handler(403))
    app.add_exception_handler(AuthenticationError, handler(401))
    # any other refusal with a message for the user (a doubtful backup, a wrong key)
    app.add_exception_handler(LgcloudError, handler(422))
    return app


def _wait_response(
    request: Request,
    retry_after_s: int,
    message: str,
    *,
    headline: str = OVERLOADED_HEADLINE,
    handled: bool = False,
) -> Response:
    """A 503 with ``Retry-After``: JSON for the API, the wait page on screen."""
    body, ctype, status = overloaded_response_parts(
        request.url.path,
        request.method,
        retry_after_s,
        message,
        headline=headline,
        handled=handled,
    )
    return Response(
        body,
        status_code=status,
        media_type=ctype.decode(),
        headers={"Retry-After": str(retry_after_s), "Cache-Control": "no-store"},
    )


#: the centre's sites file, for the worker processes of ``lgcloud serve --sites --workers``
SITES_ENV = "LGCLOUD_SITES_FILE"


def tune_server_process() -> None:
    """What every server process sets before serving: structured logs, and 1 ms GIL turns
    instead of 5 ms: the event loop that accepts and refuses requests waits for the GIL
    after each poll while worker threads run Python, so it stays responsive under load
    (refusals answered at once), at a small cost in throughput."""
    import sys  # noqa: PLC0415

    from lgcloud.core.logging import configure_logging  # noqa: PLC0415

    configure_logging()
    sys.setswitchinterval(0.001)


def app_from_env() -> FastAPI:
    """The application of one worker process of ``lgcloud serve --workers N``: uvicorn
    imports it in each worker, which opens its own platform from the settings (the data
    directory and database URL the parent put in the environment)."""
    tune_server_process()
    platform = Platform.from_settings()
    sites_file = os.environ.get(SITES_ENV)
    app = create_app(platform, centre_sites=load_sites(Path(sites_file)) if sites_file else None)
    admission: AdmissionState = app.state.admission
    peers = PeerMetrics(platform.data_dir / "run" / "metrics", lambda: metrics_snapshot(admission))
    peers.start()
    app.state.peer_metrics = peers
    return app


def serve_processes(
    data_dir: Path, host: str, port: int, workers: int, *, sites_file: Path | None = None
) -> None:
    """``workers`` server processes on one port (uvicorn's supervisor restarts one that
    dies), each with its own platform (``app_from_env``); what pages keep between requests
    is in the data directory (``interface/stores.py``), so any process answers any request."""
    import uvicorn  # noqa: PLC0415

    os.environ["LGCLOUD_DATA_DIR"] = str(data_dir.resolve())
    # figures published by an earlier run's workers: their pids may be reused
    for stale in (data_dir / "run" / "metrics").glob("*.json"):
        stale.unlink(missing_ok=True)
    if sites_file is not None:
        os.environ[SITES_ENV] = str(sites_file.resolve())
    uvicorn.run(
        "lgcloud.web.app:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
    )


class RequestIdMiddleware:
    """Every request gets an id made here (``X-Request-ID`` in the response; the audit
    entries and the journal record it), logged with the status and time. A client's own
    ``X-Request-ID``, if well-formed, is kept apart: logged as ``client_request_id`` and
    returned as ``X-Client-Request-ID``, never recorded as the request's id (issue 15: a
    client could give its requests any id in the audit trail). Pure ASGI: Starlette's
    ``BaseHTTPMiddleware`` costs a task group and a stream per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        client_rid = incoming if _RID.fullmatch(incoming) else None
        rid = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = rid
                if client_rid:
                    headers["X-Client-Request-ID"] = client_rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "http_request",
                request_id=rid,
                client_request_id=client_rid,
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round((time.perf_counter() - start) * 1000, 1),
            )


def metrics_snapshot(admission: AdmissionState) -> dict[str, Any]:
    """This process's figures (numbers only: they are summed over worker processes)."""
    m = admission.metrics()
    return {
        "write_lock_max_ms": WRITE_LOCKS.max_ms,
        "write_locks_total": WRITE_LOCKS.count,
        "write_locks_over_100ms_total": WRITE_LOCKS.over_100ms,
        "in_flight": m["in_flight"],
        "admitted": m["admitted"],
        "shed": m["shed"],
        "secret_checks_refused": {g.name: g.refused for g in (ANONYMOUS_SECRETS, KNOWN_SECRETS)},
    }


def _labelled(
    metric: str, kind: str, label: str, snapshots: list[dict[str, Any]], key: str
) -> list[str]:
    """A labelled metric summed over the workers' snapshots, with its TYPE line."""
    summed = _summed(snapshots, key)
    return [
        f"# TYPE {metric} {kind}",
        *(f'{metric}{{{label}="{k}"}} {v}' for k, v in summed.items()),
    ]


def _summed(snapshots: list[dict[str, Any]], key: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for snap in snapshots:
        for k, v in snap[key].items():
            out[k] = out.get(k, 0) + int(v)
    return out


def prometheus_text(snapshots: list[dict[str, Any]]) -> str:
    """Prometheus text of the server: the longest write lock of any worker process, every
    count summed over them."""
    lock_max = max(float(s["write_lock_max_ms"]) for s in snapshots)
    lines = [
        "# HELP lgcloud_write_lock_max_ms Longest time a write transaction held a lock.",
        "# TYPE lgcloud_write_lock_max_ms gauge",
        f"lgcloud_write_lock_max_ms {lock_max:.3f}",
        "# TYPE lgcloud_write_locks_total counter",
        f"lgcloud_write_locks_total {sum(int(s['write_locks_total']) for s in snapshots)}",
        "# TYPE lgcloud_write_locks_over_100ms_total counter",
        "lgcloud_write_locks_over_100ms_total "
        f"{sum(int(s['write_locks_over_100ms_total']) for s in snapshots)}",
        *_labelled("lgcloud_requests_in_flight", "gauge", "class", snapshots, "in_flight"),
        *_labelled("lgcloud_requests_admitted_total", "counter", "class", snapshots, "admitted"),
        *_labelled("lgcloud_requests_shed_total", "counter", "class", snapshots, "shed"),
        *_labelled(
            "lgcloud_secret_checks_refused_total",
            "counter",
            "gate",
            snapshots,
            "secret_checks_refused",
        ),
        "# TYPE lgcloud_worker_processes gauge",
        f"lgcloud_worker_processes {len(snapshots)}",
    ]
    return "\n".join(lines) + "\n"
