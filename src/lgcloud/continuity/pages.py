"""Continuity's pages: ノードの運用 (``/node``) and 申請受付 (``/applications``).

申請受付: while a town's copy is served read-only, the counter receives applications (kept at
the node, handed back to the centre later) through the same handler as the API's.

ノードの運用: a town node's page for its operator (the IT officer at the node).

No clerk session: a town to be activated at a partner node has no clerk who could log in
there yet. The page is authorised by the node operator's token instead (the same secret as
the node's replication endpoints, ``Sites.check_token``); once it is given, a cookie holding
an HMAC of the token (never the token itself) keeps the operator in for a short while.

On the centre (no ``app.state.node_service``) every ``/node`` route answers 404. Included
by ``web/app.py``. See docs/ui.md and docs/continuity.md.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from lgcloud.auth.roles import Permission
from lgcloud.continuity.models import PendingApplication
from lgcloud.continuity.node import NodeService
from lgcloud.continuity.routes import ApplicationIn, receive_application_at_counter
from lgcloud.continuity.sites import SitesError
from lgcloud.core.errors import LgcloudError, NotFoundError
from lgcloud.core.logging import get_logger
from lgcloud.interface.deps import Acting, acting, platform_of
from lgcloud.interface.rendering import page_context, refusal_message, templates
from lgcloud.register.domain import (
    EventKind,
)
from lgcloud.trail.journal import (
    MODE_LABELS,
)

router = APIRouter()
ActingDep = Annotated[Acting, Depends(acting)]
log = get_logger("lgcloud.continuity.pages")

NODE_COOKIE = "lgcloud_node"
NODE_COOKIE_MAX_AGE = 30 * 60
MAX_KEY_BYTES = 64 * 1024

#: Routes without a clerk session, authorised by the node operator's token (tests/test_routes.py)
NODE_OPERATOR_PATHS = frozenset(
    {"/node", "/node/login", "/node/logout", "/node/activate", "/node/down-recovery", "/node/stop"}
)

STATE_LABELS = {"standby": "待機（運用していません）", **MODE_LABELS}


@dataclass(frozen=True)
class TownRow:
    town: str
    role: str  # serves | stores
    state: dict[str, Any]

    @property
    def mode(self) -> str:
        return str(self.state.get("mode", "standby"))

    @property
    def serving(self) -> bool:
        return self.mode != "standby"


def _node(request: Request) -> NodeService:
    node: NodeService | None = getattr(request.app.state, "node_service", None)
    if node is None:
        raise NotFoundError("このサーバーはノードではありません")
    return node


def _mark(node: NodeService, token: str) -> str:
    return hmac.new(
        token.encode(), f"lgcloud-node-page:{node.name}".encode(), hashlib.sha256
    ).hexdigest()


def _authorised(request: Request, node: NodeService) -> bool:
    presented = request.cookies.get(NODE_COOKIE, "")
    if not presented:
        return False
    try:
        expected = _mark(node, node.sites.token(node.name))
    except SitesError:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def _check_token(node: NodeService, token: str) -> bool:
    if not token:
        return False
    try:
        return node.sites.check_token(node.name, token)
    except SitesError:
        return False


def _rows(node: NodeService) -> list[TownRow]:
    rows = []
    for role, towns in (("serves", node.site.serves), ("stores", node.site.stores)):
        for town in towns:
            rows.append(TownRow(town, role, node.state(town)))
    return rows


def _page(
    request: Request,
    node: NodeService,
    *,
    error: str | None = None,
    message: str | None = None,
    gate_error: str | None = None,
    status: int = 200,
) -> Response:

    authorised = _authorised(request, node)
    return templates.TemplateResponse(
        request,
        "continuity/node.html",
        {
            **page_context(request, None),
            "node_name": node.name,
            "authorised": authorised,
            "rows": _rows(node) if authorised else [],
            "state_labels": STATE_LABELS,
            "error": error,
            "message": message,
            "gate_error": gate_error,
        },
        status_code=status,
    )


def _refuse(request: Request, node: NodeService) -> Response:
    return _page(
        request,
        node,
        gate_error="ノードの運用トークンを入力してください（期限切れの場合も入力し直します）",
        status=401,
    )


def _actor(operator: str) -> str:
    name = " ".join(operator.split())[:60]
    return f"{name}（ノードの運用画面）" if name else "ノードの運用画面"


@router.get("/node", response_class=HTMLResponse)
def node_page(request: Request) -> Response:
    """The towns this node serves and stores, with their state, and what can be done."""
    return _page(request, _node(request))


@router.post("/node/login", response_model=None)
def node_login(request: Request, token: Annotated[str, Form()] = "") -> Response:
    node = _node(request)
    token = token.strip()
    if not _check_token(node, token):
        log.warning("node_page_token_refused", node=node.name)
        return _page(request, node, gate_error="トークンが正しくありません", status=401)
    log.info("node_page_opened", node=node.name)
    response = RedirectResponse("/node", status_code=303)
    response.set_cookie(
        NODE_COOKIE,
        _mark(node, token),
        max_age=NODE_COOKIE_MAX_AGE,
        path="/node",
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/node/logout", response_model=None)
def node_logout(request: Request) -> Response:
    _node(request)
    response = RedirectResponse("/node", status_code=303)
    response.delete_cookie(NODE_COOKIE, path="/node")
    return response


def _served(node: NodeService, town: str, role: str) -> None:
    """The town must be one of this node's towns in the given role."""
    if node.role_of(town) != role:
        raise NotFoundError(f"このノード（{node.name}）ではこの操作はできません")


@router.post("/node/activate", response_model=None)
async def node_activate(
    request: Request,
    town: Annotated[str, Form()] = "",
    key_file: Annotated[UploadFile | None, File()] = None,
    key_text: Annotated[str, Form()] = "",
    passphrase: Annotated[str, Form()] = "",
    operator: Annotated[str, Form()] = "",
) -> Response:
    """Case 3: restore a stored town with its recovery key (in memory only) and serve it."""
    node = _node(request)
    if not _authorised(request, node):
        return _refuse(request, node)
    key = b""
    if key_file is not None and key_file.filename:
        key = await key_file.read(MAX_KEY_BYTES + 1)
    if not key.strip() and key_text.strip():
        key = key_text.strip().encode()
    if not key.strip():
        return _page(
            request, node, error="復旧鍵（ファイルまたは貼り付け）を指定してください", status=422
        )
    if len(key) > MAX_KEY_BYTES:
        return _page(request, node, error="復旧鍵のファイルが大きすぎます", status=422)
    try:
        _served(node, town, "stores")
        state = await run_in_threadpool(
            node.activate, town, key, passphrase or None, _actor(operator)
        )
    except LgcloudError as e:
        return _page(
            request, node, error=f"町村 {town} を起動できませんでした: {e.message}", status=422
        )
    if state.get("refused"):
        return _page(
            request,
            node,
            error=f"町村 {town} を起動できませんでした: {state.get('detail')}",
            status=422,
        )
    return _page(
        request,
        node,
        message=f"町村 {town} を連携町村での運用で起動しました。"
        "この町村の職員はこのノードにログインできます。",
    )


@router.post("/node/down-recovery", response_model=None)
def node_down_recovery(
    request: Request, town: Annotated[str, Form()] = "", operator: Annotated[str, Form()] = ""
) -> Response:
    """Case 1 by hand: serve the own town's replica read-only."""
    node = _node(request)
    if not _authorised(request, node):
        return _refuse(request, node)
    try:
        _served(node, town, "serves")
        node.switch_to_down_recovery(town, _actor(operator))
    except LgcloudError as e:
        return _page(request, node, error=f"町村 {town}: {e.message}", status=422)
    return _page(request, node, message=f"町村 {town} をダウンリカバリ運用に切り替えました。")


@router.post("/node/stop", response_model=None)
def node_stop(
    request: Request, town: Annotated[str, Form()] = "", operator: Annotated[str, Form()] = ""
) -> Response:
    """Stop serving a town: hand back to the centre first (nothing is discarded if it fails)."""
    node = _node(request)
    if not _authorised(request, node):
        return _refuse(request, node)
    try:
        node.role_of(town)
        node.stop_serving(town, _actor(operator))
    except LgcloudError as e:
        return _page(request, node, error=f"町村 {town}: {e.message}", status=422)
    except httpx.HTTPError:
        return _page(
            request,
            node,
            error=f"町村 {town}: クラウドセンターに接続できません。"
            "受け付けた内容はこのノードに残っており、運用を続けています",
            status=422,
        )
    return _page(request, node, message=f"町村 {town} の運用を終了し、センターへ引き渡しました。")


# ------------------------------------------------------------------ 申請受付 (read-only modes)

#: what the counter receives while the copy is read-only (processed at the centre later)
APPLICATION_KINDS: dict[str, str] = {
    EventKind.BIRTH.value: "出生届",
    EventKind.DOMESTIC_MOVE_IN.value: "転入届",
    EventKind.FOREIGN_MOVE_IN.value: "国外転入届",
    EventKind.MOVE_WITHIN.value: "転居届",
    EventKind.DOMESTIC_MOVE_OUT.value: "転出届",
    EventKind.FOREIGN_MOVE_OUT.value: "国外転出届",
    EventKind.DEATH.value: "死亡届",
    EventKind.HOUSEHOLD_SPLIT.value: "世帯分離届",
    EventKind.HOUSEHOLD_MERGE.value: "世帯合併届",
    EventKind.HEAD_CHANGE.value: "世帯主変更届",
    "seal_registration": "印鑑登録申請",
    "other": "その他の申請",
}
APPLICATION_DETAIL_MAX = 2000


def _pending_applications(request: Request, town_code: str) -> list[PendingApplication]:
    """Applications received at this node for the town and not yet handed back."""
    with platform_of(request).platform_read() as s:
        return list(
            s.scalars(
                select(PendingApplication)
                .where(
                    PendingApplication.town == town_code,
                    PendingApplication.handed_back_at.is_(None),
                )
                .order_by(PendingApplication.received_at.desc(), PendingApplication.id.desc())
            )
        )


def _applications_page(
    request: Request,
    a: Acting,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    received: str | None = None,
    status: int = 200,
) -> Response:
    a.require(Permission.VIEW_RESIDENTS)
    base = page_context(request, a)
    return templates.TemplateResponse(
        request,
        "continuity/applications.html",
        {
            **base,
            "kinds": APPLICATION_KINDS,
            "values": values or {},
            "errors": errors or {},
            "received": received,
            "pending": _pending_applications(request, a.ctx.town_code) if base["read_only"] else [],
            "refusal": refusal_message(str(base["mode"])) if base["read_only"] else None,
            "detail_max": APPLICATION_DETAIL_MAX,
        },
        status_code=status,
    )


@router.get("/applications", response_class=HTMLResponse)
def applications_page(request: Request, a: ActingDep, received: str = "") -> Response:
    """申請受付: in a read-only mode, the form and the applications received at this node
    (handed back to the centre later); in normal operation, only the pointer to the forms."""
    return _applications_page(request, a, received=received[:12] or None)


@router.post("/applications", response_model=None)
def applications_submit(
    request: Request,
    a: ActingDep,
    kind: Annotated[str, Form()] = "",
    addressee_number: Annotated[str, Form()] = "",
    details: Annotated[str, Form()] = "",
) -> Response:
    """Receive an application through ``POST /api/applications``'s own handler (the same
    permission, mode check, audit entry and pending row)."""
    a.require(Permission.VIEW_RESIDENTS)
    values = {"kind": kind, "addressee_number": addressee_number, "details": details}
    errors: dict[str, str] = {}
    if kind not in APPLICATION_KINDS:
        errors["kind"] = "一覧から選んでください"
    number = addressee_number.strip()
    if number and not (number.isascii() and number.isdigit() and len(number) <= 10):
        errors["addressee_number"] = "宛名番号は数字10桁以内です"
    if len(details) > APPLICATION_DETAIL_MAX:
        errors["details"] = f"{APPLICATION_DETAIL_MAX}文字以内で入力してください"
    if errors:
        return _applications_page(request, a, values=values, errors=errors, status=422)
    body = ApplicationIn(
        kind=kind,
        addressee_number=number or None,
        detail={"label": APPLICATION_KINDS[kind], "text": details.strip()},
    )
    try:
        out = receive_application_at_counter(platform_of(request), a, body)
    except LgcloudError as e:
        return _applications_page(request, a, values=values, errors={"form": e.message}, status=422)
    return RedirectResponse(f"/applications?received={out['id']}", status_code=303)
