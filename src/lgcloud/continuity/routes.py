"""Replication endpoints, authenticated per node with the node's bearer token (not a clerk
session): on a town node, what the centre pushes; on the centre, what a node hands back.

They are mounted only when the process runs with a sites file (``lgcloud serve --sites`` /
``lgcloud node serve``), so a plain platform app has none of them. Also here: the API of
申請受付, ``POST /api/applications``, always mounted (``router``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from lgcloud.auth.roles import Permission
from lgcloud.continuity.handback import receive_handback
from lgcloud.continuity.models import PendingApplication
from lgcloud.continuity.node import NodeService, receive_application
from lgcloud.continuity.sites import Sites
from lgcloud.continuity.status import town_status
from lgcloud.core.errors import RuleViolationError
from lgcloud.interface.deps import Acting, acting, platform_of
from lgcloud.interface.rendering import PageAlerts, page_context, templates
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.journal import (
    READ_ONLY_MODES,
)

MAX_BODY = 1 << 31


def _bearer(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else ""


def node_router(node: NodeService) -> APIRouter:
    """Routes a town node exposes to the centre."""
    router = APIRouter(prefix="/continuity", tags=["continuity"])

    def authorise(request: Request) -> None:
        token = _bearer(request)
        if not token or not node.sites.check_token(node.name, token):
            raise HTTPException(401, "ノードの認証に失敗しました")

    def reply(state: dict[str, Any]) -> JSONResponse:
        return JSONResponse(state, status_code=409 if state.get("refused") else 200)

    @router.get("/{town}/state")
    def state(town: str, request: Request) -> JSONResponse:
        authorise(request)
        return reply(node.state(town))

    @router.post("/{town}/snapshot")
    async def snapshot(town: str, request: Request) -> JSONResponse:
        authorise(request)
        data = await request.body()
        return reply(node.receive_snapshot(town, data))

    @router.post("/{town}/journal")
    async def journal(town: str, request: Request) -> JSONResponse:
        authorise(request)
        data = await request.body()
        return reply(node.receive_journal(town, data))

    # -- control by the node's operator (the IT officer at the node), same token
    @router.post("/{town}/down-recovery")
    def down_recovery(town: str, request: Request) -> JSONResponse:
        authorise(request)
        actor = request.headers.get("x-lgcloud-actor", "operator")
        return reply(node.switch_to_down_recovery(town, actor))

    @router.post("/{town}/normal")
    def normal(town: str, request: Request) -> JSONResponse:
        authorise(request)
        actor = request.headers.get("x-lgcloud-actor", "operator")
        return reply(node.stop_serving(town, actor))

    @router.post("/{town}/activate")
    async def activate(town: str, request: Request) -> JSONResponse:
        """The recovery key travels in the body and is used in memory only."""
        authorise(request)
        actor = request.headers.get("x-lgcloud-actor", "operator")
        phrase = request.headers.get("x-recovery-passphrase") or None
        key = await request.body()
        return reply(node.activate(town, key, phrase, actor))

    @router.get("/{town}/activity")
    def activity(town: str, request: Request) -> dict[str, Any]:
        authorise(request)
        return node.received_activity(town)

    return router


def centre_router(platform: Platform, sites: Sites) -> APIRouter:
    """Routes the centre exposes to nodes."""
    router = APIRouter(prefix="/continuity", tags=["continuity"])

    @router.post("/{town}/handback")
    async def handback(town: str, request: Request) -> dict[str, Any]:
        name = request.headers.get("x-lgcloud-node", "")
        token = _bearer(request)
        if name not in sites.nodes or not token or not sites.check_token(name, token):
            raise HTTPException(401, "ノードの認証に失敗しました")
        if not any(n == name for n, _role in sites.sites_of(town)):
            raise HTTPException(403, f"ノード {name} は町村 {town} のデータを扱いません")
        body = await request.json()
        return receive_handback(platform, town, name, body)

    @router.get("", response_class=HTMLResponse, include_in_schema=False)
    def status_page(request: Request, a: Annotated[Acting, Depends(acting)]) -> Response:
        """The IT officer's view of the own town's copies (never another town's)."""
        a.require(Permission.MANAGE_CLERKS)
        rows = town_status(platform, sites, a.ctx.town_code)
        with platform.platform_session() as s:
            pending = list(
                s.scalars(
                    select(PendingApplication)
                    .where(PendingApplication.town == a.ctx.town_code)
                    .order_by(PendingApplication.received_at)
                )
            )
        return templates.TemplateResponse(
            request,
            "continuity/continuity.html",
            {
                **page_context(request, a),
                "rows": rows,
                "pending": pending,
                "policy": sites.policy_hours,
            },
        )

    return router


def copy_alerts(sites: Sites) -> PageAlerts:
    """The centre's alerts on every page, for an IT officer: every site where the town
    lacks a verified copy younger than the policy (interface/rendering.py ``page_alerts``)."""

    def alerts(request: Request, a: Acting) -> list[str]:
        if Permission.MANAGE_CLERKS not in a.clerk.permissions:
            return []
        rows = town_status(request.app.state.platform, sites, a.ctx.town_code)
        return [f"{r.site}: {r.alert}" for r in rows if r.alert]

    return alerts


# ------------------------------------------------------------------ 申請受付: the API

router = APIRouter(prefix="/api")
ActingDep = Annotated[Acting, Depends(acting)]


class ApplicationIn(BaseModel):
    kind: str = Field(min_length=1, max_length=40)
    addressee_number: str | None = Field(default=None, max_length=10)
    detail: dict[str, Any] = Field(default_factory=dict)


@router.post("/applications", status_code=201)
def api_application(
    a: ActingDep, request: Request, body: Annotated[ApplicationIn, Body()]
) -> dict[str, Any]:
    """Receive an application while the copy is served read-only (processed at the centre
    later). In normal operation, events are recorded directly instead."""
    return receive_application_at_counter(platform_of(request), a, body)


def receive_application_at_counter(
    platform: Platform, a: Acting, body: ApplicationIn
) -> dict[str, Any]:
    """The one path for an application received at a counter (API and page): permission,
    read-only mode only, audited, kept for the centre."""
    a.require(Permission.VIEW_RESIDENTS)  # counter work: receiving, not processing
    if a.ctx.mode not in READ_ONLY_MODES:
        raise RuleViolationError("通常運用中です。申請は異動の登録として直接処理してください")
    platform.record_read(
        a.ctx,
        "application_received",
        subjects=[body.addressee_number] if body.addressee_number else [],
        detail={"kind": body.kind},
    )
    app_id = receive_application(
        platform, a.ctx, kind=body.kind, addressee_number=body.addressee_number, detail=body.detail
    )
    return {"id": app_id, "status": "pending"}
