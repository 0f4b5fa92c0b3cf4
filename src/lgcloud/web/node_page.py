"""ノードの運用: a town node's page for its operator (the IT officer at the node).

No clerk session: a town to be activated at a partner node has no clerk who could log in
there yet. The page is authorised by the node operator's token instead (the same secret as
the node's replication endpoints, ``Sites.check_token``); once it is given, a cookie holding
an HMAC of the token (never the token itself) keeps the operator in for a short while.

On the centre (no ``app.state.node_service``) every route answers 404. Included by
``app.py``. See docs/ui.md and docs/continuity.md.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lgcloud.continuity.node import NodeService
from lgcloud.continuity.sites import SitesError
from lgcloud.core.errors import LgcloudError, NotFoundError
from lgcloud.core.logging import get_logger
from lgcloud.trail.journal import MODE_LABELS
from lgcloud.web.rendering import page_context, templates

router = APIRouter()
log = get_logger("lgcloud.web.node_page")

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
        "node.html",
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
