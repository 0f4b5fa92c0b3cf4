"""Admission control: a bounded amount of work per town and for the whole server; beyond
it a request is answered at once with 503 and ``Retry-After`` (a Japanese wait page on
screen), never queued into a timeout or a 500.

Every request is put in one class before any work is done for it:

* **counter** — a request with a valid clerk session (search, view, certificate, life
  event, switch). Bounded per town (no town can take the server) and for the server; a
  request may wait a short time for a place, then is refused.
* **login** — a login (form or API) naming a staff number the town knows and has not
  locked. The body (a few hundred bytes) is read here to tell; the argon2 check inside is
  bounded again (``auth.service``). A login naming an unknown staff number, another town
  or a locked account is **anonymous**.
* **anonymous** — everything else without a session: the public ``/verify`` page, the
  login page, requests with a stale or forged token. Admitted only while the counter is
  not saturated, so strangers never take a town's capacity. A refused login or anonymous
  request (refused here or inside, by the bounds of ``auth.service``) is answered after a
  pause (:data:`TARPIT_S`, asleep: no thread, no CPU, its place given back first), so a
  client flooding in a loop is slowed to one request a second instead of costing the
  server thousands of refusals.
* **batch** — exports, imports, all-residents lists, safety matching: one per town and
  few per server, and only while the counter is not saturated.
* **exempt** — health, metrics, static files, the API docs and the centre↔node channel
  (authenticated by the node's own token and paced by the shipper).

Why hand-written: the rules (classes decided from the session, a town bound inside a
server bound, counter before the rest) are specific to this platform; a generic rate
limiter (slowapi and the like) bounds request rates per client, not work in flight per
tenant.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lgcloud.auth.models import Clerk
from lgcloud.auth.service import token_hash
from lgcloud.core.admission import OVERLOADED_MESSAGE
from lgcloud.core.clock import utcnow
from lgcloud.core.errors import NotFoundError
from lgcloud.core.logging import get_logger
from lgcloud.datalink.service import token_town
from lgcloud.interface.deps import SESSION_COOKIE
from lgcloud.tenancy.models import LoginSession
from lgcloud.tenancy.platform import Platform

log = get_logger("lgcloud.web.admission")
#: the answer while the database cannot be reached (its server restarting or switching
#: over to the standby; a SQLite file locked past the busy timeout): a 503, never a 500
DATABASE_RETRY_AFTER_S = 5
DATABASE_UNAVAILABLE = (
    "データベースに一時的に接続できません。少し時間をおいてから、"
    "処理の結果を確かめてもう一度お試しください"
)
DATABASE_HEADLINE = "ただいまデータベースに接続できません"
OVERLOADED_HEADLINE = "ただいま混み合っています"

_EXEMPT_PREFIXES = ("/static/", "/continuity/")
_EXEMPT = frozenset({"/health", "/metrics", "/docs", "/redoc", "/openapi.json", "/favicon.ico"})
_LOGIN = frozenset({"/login", "/api/login", "/node/login"})
_BATCH_PREFIXES = ("/api/all-residents.csv", "/api/elections/roll/")
LINKAGE_PREFIX = "/api/linkage/"
_BATCH_POSTS = frozenset(
    {
        "/interchange/import",
        "/interchange/exports",
        "/safety",
        "/api/elections/registration-runs",
        "/elections/registration-runs",
    }
)
#: the pause before a refused anonymous request is answered
TARPIT_S = 1.0
#: how long the staff numbers of a town are remembered for classifying logins (an account
#: locked by a flood is a stranger's target within this)
DIRECTORY_TTL_S = 1.0
_LOGIN_BODY_MAX = 4096


@dataclass(frozen=True)
class Limits:
    """The bounds, from ``LGCLOUD_ADMIT_*`` settings (docs/scaling.md)."""

    # One process runs Python on one core at a time (the GIL): more requests in flight
    # than it can serve only lengthens every one of them and starves the event loop that
    # accepts and refuses requests. A few in flight keep the core busy while others wait
    # for the database (docs/scaling.md: measured).
    server: int = 3  #: counter requests in flight, all towns together
    town: int = 2  #: counter requests in flight, one town (another town always finds one)
    wait_s: float = 0.05  #: how long a counter request may wait for a place
    login: int = 2  #: login requests in flight
    anonymous: int = 2  #: requests without a session in flight
    batch_server: int = 1  #: batch requests in flight, all towns
    batch_town: int = 1  #: batch requests in flight, one town
    retry_after_s: int = 2

    @classmethod
    def from_env(cls) -> Limits:
        def get(name: str, default: float) -> float:
            raw = os.environ.get(f"LGCLOUD_ADMIT_{name.upper()}")
            return float(raw) if raw else default

        d = cls()
        return cls(
            server=int(get("server", d.server)),
            town=int(get("town", d.town)),
            wait_s=get("wait_s", d.wait_s),
            login=int(get("login", d.login)),
            anonymous=int(get("anonymous", d.anonymous)),
            batch_server=int(get("batch_server", d.batch_server)),
            batch_town=int(get("batch_town", d.batch_town)),
            retry_after_s=int(get("retry_after_s", d.retry_after_s)),
        )


@dataclass
class AdmissionState:
    """What is in flight now and what was shed (for /metrics). Used from the event loop
    only, so plain counters need no lock."""

    limits: Limits
    counter: int = 0
    counter_by_town: Counter[str] = field(default_factory=Counter)
    login: int = 0
    anonymous: int = 0
    batch: int = 0
    batch_by_town: Counter[str] = field(default_factory=Counter)
    admitted: Counter[str] = field(default_factory=Counter)
    shed: Counter[str] = field(default_factory=Counter)
    changed: asyncio.Condition | None = None

    def counter_saturated(self) -> bool:
        return self.counter >= self.limits.server

    def metrics(self) -> dict[str, Any]:
        return {
            "in_flight": {
                "counter": self.counter,
                "login": self.login,
                "anonymous": self.anonymous,
                "batch": self.batch,
            },
            "admitted": dict(self.admitted),
            "shed": dict(self.shed),
        }


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


def _token(scope: Scope) -> str | None:
    auth = _header(scope, b"authorization")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    for part in _header(scope, b"cookie").split(";"):
        name, _, value = part.strip().partition("=")
        if name == SESSION_COOKIE and value:
            return value
    return None


class SessionTowns:
    """token → town of a live session, remembered (sessions never change town). The session
    itself (expiry, clerk) is still checked by ``deps.acting``; this only chooses the bound."""

    def __init__(self, platform: Platform, size: int = 10_000) -> None:
        self.platform = platform
        self.size = size
        self._known: OrderedDict[str, str] = OrderedDict()

    def town_of(self, token: str) -> str | None:
        h = token_hash(token)
        town = self._known.get(h)
        if town is not None:
            self._known.move_to_end(h)
            return town
        # a primary-key read in a read-only transaction: no lock, well under a millisecond
        with self.platform.platform_read() as s:
            row = s.get(LoginSession, h)
            town = row.town_code if row is not None else None
        if town is not None:
            self._known[h] = town
            if len(self._known) > self.size:
                self._known.popitem(last=False)
        return town


class StaffDirectory:
    """town → staff numbers that may log in now (active, not locked), read in one short
    read-only query per town and remembered :data:`DIRECTORY_TTL_S` seconds. Only chooses
    the bound: the login itself checks everything again."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._known: dict[str, tuple[float, frozenset[str]]] = {}

    def may_log_in(self, town: str, staff_number: str) -> bool:
        now = time.monotonic()
        cached = self._known.get(town)
        if cached is None or now - cached[0] > DIRECTORY_TTL_S:
            cached = (now, self._load(town))
            self._known[town] = cached
        return staff_number in cached[1]

    def _load(self, town: str) -> frozenset[str]:
        if not (len(town) == 6 and town.isdigit()):
            return frozenset()
        try:
            with self.platform.read_town(town) as t:
                rows = t.session.execute(
                    select(Clerk.staff_number, Clerk.active, Clerk.locked_until)
                ).all()
        except NotFoundError:
            return frozenset()
        now = utcnow()
        return frozenset(
            s for s, active, locked in rows if active and (locked is None or locked <= now)
        )


def login_fields(body: bytes, content_type: str) -> tuple[str, str]:
    """(town_code, staff_number) named by a login body (JSON or a form); empty if unreadable."""
    try:
        if content_type.startswith("application/json"):
            data = json.loads(body)
            if not isinstance(data, dict):
                return "", ""
            return str(data.get("town_code", "")), str(data.get("staff_number", ""))
        form = parse_qs(body.decode("utf-8"))
        return form.get("town_code", [""])[0], form.get("staff_number", [""])[0]
    except (ValueError, UnicodeDecodeError):
        return "", ""


def classify(scope: Scope, towns: SessionTowns) -> tuple[str, str | None]:
    """(class, town) of a request, from its path, method and session (a login's class is
    decided by :class:`AdmissionMiddleware` from its body)."""
    path: str = scope["path"]
    method: str = scope["method"]
    if path in _EXEMPT or path.startswith(_EXEMPT_PREFIXES):
        return "exempt", None
    if path in _LOGIN:
        # a POST is classed by its body (known clerk or stranger); the form itself is
        # bounded with the logins, so a clerk can always load it
        return "login", None
    token = _token(scope)
    if path.startswith(LINKAGE_PREFIX):
        # another system's pull (its own token, not a session): batch work of the town its
        # token names, so it never takes a counter's place; a malformed token is a stranger
        linked = token_town(token) if token else None
        return ("batch", linked) if linked else ("anonymous", None)
    town = towns.town_of(token) if token else None
    if town is None:
        return "anonymous", None
    if path.startswith(_BATCH_PREFIXES) or (method == "POST" and path in _BATCH_POSTS):
        return "batch", town
    return "counter", town


WAIT_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8">{refresh}
<title>{headline} — lgcloud</title>
<link rel="stylesheet" href="/static/app.css"></head>
<body><main class="wait" role="alert">
<h1>{headline}</h1>
<p>{message}</p>
<p>{again}</p>
</main></body></html>
"""


def overloaded_response_parts(
    path: str,
    method: str,
    retry_after_s: int,
    message: str = OVERLOADED_MESSAGE,
    *,
    headline: str = OVERLOADED_HEADLINE,
    handled: bool = False,
) -> tuple[bytes, bytes, int]:
    """(body, content type, status) of a 503: JSON for the API, a wait page on screen that
    reloads itself for a GET (a POST is never sent again by itself). ``handled``: the
    request reached its handler before it failed, so a POST may or may not have been
    stored (the page says so instead of "not sent")."""
    if path.startswith("/api/"):
        body = json.dumps({"detail": message, "field": None}, ensure_ascii=False).encode()
        return body, b"application/json", 503
    refresh = f'<meta http-equiv="refresh" content="{retry_after_s}">' if method == "GET" else ""
    again = (
        f"{retry_after_s}秒後に自動で読み込み直します。"
        if method == "GET"
        else "送信した内容が保存されたかどうかは確かめられませんでした。少し待ってから、"
        "画面で結果を確かめてください。"
        if handled
        else "入力した内容は送信されていません。少し待ってから、もう一度送信してください。"
    )
    page = WAIT_PAGE.format(
        refresh=refresh, headline=headline, message=escape(message), again=again
    )
    return page.encode("utf-8"), b"text/html; charset=utf-8", 503


class AdmissionMiddleware:
    """The ASGI middleware (pure ASGI: a refusal costs well under a millisecond)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        state: AdmissionState,
        towns: SessionTowns,
        staff: StaffDirectory,
    ) -> None:
        self.app = app
        self.state = state
        self.towns = towns
        self.staff = staff

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:  # classing reads sessions and clerks: the database may be unreachable
            kind, town = classify(scope, self.towns)
            if kind == "login" and scope["method"] == "POST":
                kind, receive = await self._login_class(scope, receive)
        except OperationalError as e:
            log.warning("database_unavailable", path=scope["path"], error=str(e)[:300])
            await self._refuse(
                scope, send, DATABASE_RETRY_AFTER_S, DATABASE_UNAVAILABLE, DATABASE_HEADLINE
            )
            return
        if kind == "exempt":
            await self.app(scope, receive, send)
            return
        if not await self._admit(kind, town):
            self.state.shed[kind] += 1
            if kind in ("login", "anonymous"):
                await asyncio.sleep(TARPIT_S)
            await self._refuse(scope, send)
            return
        self.state.admitted[kind] += 1
        if kind not in ("login", "anonymous"):
            try:
                await self.app(scope, receive, send)
            finally:
                await self._release(kind, town)
            return
        # A login or a stranger's request refused inside (a bound on argon2 checks, the
        # per-town limit on strangers' attempts) is paced like a refusal here: its place is
        # given back first, then its 503 is held for the pause.
        held: list[Message] = []

        async def hold_refusal(message: Message) -> None:
            if held or (message["type"] == "http.response.start" and message["status"] == 503):
                held.append(message)
            else:
                await send(message)

        try:
            await self.app(scope, receive, hold_refusal)
        finally:
            await self._release(kind, town)
        if held:
            await asyncio.sleep(TARPIT_S)
            for message in held:
                await send(message)

    async def _login_class(self, scope: Scope, receive: Receive) -> tuple[str, Receive]:
        """Read the (small) login body to tell a known clerk from a stranger; the body is
        handed on to the route unchanged."""
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = message.get("more_body", False)
            if size > _LOGIN_BODY_MAX:
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": more}
            return await receive()

        if more:  # too large for a login: a stranger's
            return "anonymous", replay
        town, staff = login_fields(body, _header(scope, b"content-type"))
        known = bool(town and staff) and self.staff.may_log_in(town, staff)
        return ("login" if known else "anonymous"), replay

    # -- the bounds
    def _fits(self, kind: str, town: str | None) -> bool:
        s, lim = self.state, self.state.limits
        if kind == "counter":
            assert town is not None
            return s.counter < lim.server and s.counter_by_town[town] < lim.town
        if kind == "login":
            return s.login < lim.login
        if kind == "anonymous":
            return s.anonymous < lim.anonymous and not s.counter_saturated()
        assert town is not None
        return (
            s.batch < lim.batch_server
            and s.batch_by_town[town] < lim.batch_town
            and not s.counter_saturated()
        )

    def _take(self, kind: str, town: str | None, delta: int) -> None:
        s = self.state
        if kind == "counter":
            assert town is not None
            s.counter += delta
            s.counter_by_town[town] += delta
        elif kind == "login":
            s.login += delta
        elif kind == "anonymous":
            s.anonymous += delta
        else:
            assert town is not None
            s.batch += delta
            s.batch_by_town[town] += delta

    async def _admit(self, kind: str, town: str | None) -> bool:
        if self._fits(kind, town):
            self._take(kind, town, 1)
            return True
        if kind != "counter" or self.state.limits.wait_s <= 0:
            return False
        if self.state.changed is None:
            self.state.changed = asyncio.Condition()
        cond = self.state.changed
        try:
            async with cond:
                await asyncio.wait_for(
                    cond.wait_for(lambda: self._fits(kind, town)), self.state.limits.wait_s
                )
                self._take(kind, town, 1)
                return True
        except TimeoutError:
            return False

    async def _release(self, kind: str, town: str | None) -> None:
        self._take(kind, town, -1)
        cond = self.state.changed
        if cond is not None:
            async with cond:
                cond.notify_all()

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        retry: int | None = None,
        message: str = OVERLOADED_MESSAGE,
        headline: str = OVERLOADED_HEADLINE,
    ) -> None:
        retry = self.state.limits.retry_after_s if retry is None else retry
        body, ctype, status = overloaded_response_parts(
            scope["path"], scope["method"], retry, message, headline=headline
        )
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", ctype),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(retry).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
