"""Browser-facing hardening (issue 15, finding 4): state-changing requests from another
site are refused, and every response says it may not be framed, cached or sniffed.

CSRF rested on ``SameSite`` cookies alone: a form POST with a foreign ``Origin`` was
accepted (a clerk was created that way) and login CSRF worked. Browsers send ``Origin`` on
every cross-site POST (and ``Sec-Fetch-Site``), so a request that carries the session
cookie — or logs in — and says it comes from another site is refused with 403 before any
work. API clients with a bearer token and no cookie carry no ambient authority and are
not concerned. Pure ASGI, like the other middlewares (web/app.py).
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lgcloud.interface.deps import SESSION_COOKIE

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LOGIN = frozenset({"/login", "/api/login", "/node/login"})
REFUSAL = (
    "別のサイトから送られた操作は受け付けません (画面を開き直してからもう一度操作してください)"
)
#: on every response: no framing (clickjacking), no type sniffing, no referrer to others
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'; object-src 'none'; base-uri 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
#: the one thing lgcloud frames itself: the PDF preview of a certificate just issued, in an
#: <iframe> of the person page (same origin only; no object-src rule, which would keep
#: the browser's PDF viewer from drawing it)
_FRAMED_BY_OWN_PAGES = re.compile(r"^/persons/[^/]+/certificates/[^/]+$")
FRAMED_HEADERS = {
    **SECURITY_HEADERS,
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": "frame-ancestors 'self'",
}
#: pages and API answers carry personal data: never kept by the browser or a proxy (what
#: is under these prefixes carries none and may be cached)
CACHEABLE_PREFIXES = ("/static/",)


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def own_origins(headers: Headers, scope: Scope) -> set[str]:
    """The origins this server is reached at: its configured public URL, and the host the
    browser itself asked for (a cross-site page cannot make the browser send another)."""
    out = set()
    configured = os.environ.get("LGCLOUD_PUBLIC_URL")
    if configured:
        out.add(_origin_of(configured))
    host = headers.get("host")
    if host:
        scheme = scope.get("scheme", "http")
        out.add(f"{scheme}://{host}".lower())
    return out


def is_cross_site(scope: Scope) -> bool:
    """Whether a state-changing request with ambient authority comes from another site."""
    if scope["method"] not in _UNSAFE:
        return False
    headers = Headers(scope=scope)
    cookies = headers.get("cookie", "")
    if f"{SESSION_COOKIE}=" not in cookies and scope["path"] not in _LOGIN:
        return False  # no ambient authority (a bearer token or nothing): not a CSRF target
    origin = headers.get("origin")
    if origin and origin != "null":
        return _origin_of(origin) not in own_origins(headers, scope)
    if origin == "null":  # sandboxed or privacy-stripped: not provably ours
        return True
    return headers.get("sec-fetch-site", "") == "cross-site"


class SecurityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if is_cross_site(scope):
            refusal = PlainTextResponse(REFUSAL, status_code=403, headers=SECURITY_HEADERS)
            await refusal(scope, receive, send)
            return
        no_store = not scope["path"].startswith(CACHEABLE_PREFIXES)
        hardening = (
            FRAMED_HEADERS if _FRAMED_BY_OWN_PAGES.match(scope["path"]) else SECURITY_HEADERS
        )

        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in hardening.items():
                    headers.setdefault(name, value)
                if no_store:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_hardened)


__all__ = ["SECURITY_HEADERS", "SecurityMiddleware", "is_cross_site"]
