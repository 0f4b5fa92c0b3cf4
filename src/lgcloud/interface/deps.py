"""Request-scoped dependencies: who is acting and for which town (from the session only)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from lgcloud.auth.roles import Permission
from lgcloud.auth.service import ClerkInfo, get_clerk, resolve_session
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import AuthenticationError, RuleViolationError
from lgcloud.tenancy.platform import Platform

SESSION_COOKIE = "lgcloud_session"


@dataclass(frozen=True)
class Acting:
    """The logged-in clerk of this request. The town comes from the session, never the client."""

    clerk: ClerkInfo
    ctx: RequestContext
    token: str

    def require(self, permission: Permission) -> None:
        self.clerk.require(permission)


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def request_id_of(request: Request) -> str:
    rid: str = request.state.request_id
    return rid


def session_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE)


#: the longest stated purpose (利用目的) a request may carry
MAX_PURPOSE = 200


def acting(request: Request) -> Acting:
    """FastAPI dependency: the acting clerk, or AuthenticationError (401 / redirect to login)."""
    token = session_token(request)
    if not token:
        raise AuthenticationError("ログインしてください")
    platform = platform_of(request)
    info = resolve_session(platform, token)
    # a read-only transaction: authenticating never waits for another request's write
    with platform.read_town(info.town_code) as town:
        clerk = get_clerk(town, info.clerk_id)
        mode = town.mode
    purpose = request.query_params.get("purpose") or None
    if purpose is not None and len(purpose) > MAX_PURPOSE:
        # stored in the audit entry of every read it comes with: bounded (issue 15: 60 kB
        # was stored as given)
        raise RuleViolationError(
            f"利用目的は{MAX_PURPOSE}文字以内で書いてください", field="purpose"
        )
    ctx = RequestContext(
        town_code=info.town_code,
        actor=clerk.actor(),
        request_id=request_id_of(request),
        node=platform.node,
        mode=mode,
        purpose=purpose,
    )
    return Acting(clerk, ctx, token)
