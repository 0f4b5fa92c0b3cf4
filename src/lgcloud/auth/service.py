"""Clerk accounts, login with lockout, quick switch with staff number + PIN, sessions.

Passwords and PINs are hashed with argon2id. Sessions live in the platform database and
store only a hash of their token; the town is fixed when the session is created.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update

from lgcloud.auth.models import Clerk
from lgcloud.auth.roles import Permission, Role, parse_roles, permissions_of
from lgcloud.core.admission import Gate, RateLimit
from lgcloud.core.clock import utcnow
from lgcloud.core.context import Actor, RequestContext
from lgcloud.core.errors import (
    AccountLockedError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RuleViolationError,
)
from lgcloud.core.logging import get_logger
from lgcloud.tenancy.models import HostedTown, LoginSession
from lgcloud.tenancy.platform import Platform, Town
from lgcloud.trail.journal import check_writable, finish_write

MAX_FAILURES = 5
LOCK_DURATION = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
#: a session nobody used for this long ends (a shared counter terminal left logged in)
SESSION_IDLE_LIMIT = timedelta(minutes=30)
#: how often a session's last use is written: at most once a minute per session, so that
#: resolving a session stays a read on nearly every request
SESSION_TOUCH_INTERVAL = timedelta(minutes=1)
MIN_PASSWORD_LENGTH = 10
PIN_LENGTHS = range(4, 9)

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# PINs use OWASP's minimum argon2id parameters (19 MiB, 2 passes, 1 lane): ~30 ms instead of
# ~150 ms, which keeps the quick switch instant. No argon2 cost protects a 4–8 digit PIN
# from offline guessing anyway (10^4 guesses); what protects it is that it only works
# inside a terminal session opened by a full password login, and the lockout after
# MAX_FAILURES wrong PINs.
_pin_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# A hash to verify against when the staff number is unknown, so timing does not reveal it.


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash of a random secret with ``hasher``'s cost, made on first use (not at import:
    it costs as much as a login, and every command imports this module)."""
    return hasher.hash(secrets.token_hex(16))


def warm_up() -> None:
    """Make the dummy hashes now (the server does at start), so that the first stranger's
    login of a process takes as long as every other one."""
    _dummy_hash(_hasher)
    _dummy_hash(_pin_hasher)


log = get_logger("lgcloud.auth")

GENERIC_FAILURE = "職員番号またはパスワードが正しくありません"


@dataclass(frozen=True)
class ClerkInfo:
    id: int
    staff_number: str
    name: str
    roles: frozenset[Role]

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.roles)

    def actor(self) -> Actor:
        return Actor(self.id, self.name, self.staff_number)

    def require(self, permission: Permission) -> None:
        if permission not in self.permissions:
            raise PermissionDeniedError("この操作を行う権限がありません")


def _info(c: Clerk) -> ClerkInfo:
    return ClerkInfo(c.id, c.staff_number, c.name, parse_roles(c.roles))


def _verify(hash_: str | None, secret: str, hasher: PasswordHasher = _hasher) -> bool:
    """argon2 verification; runs even without a hash so timing does not reveal that."""
    try:
        # verify() reads the parameters from the hash itself; the dummy hash matches the
        # cost of the hasher in use.
        return hasher.verify(hash_ or _dummy_hash(hasher), secret) and hash_ is not None
    except (VerificationError, InvalidHashError):
        return False


def create_clerk(
    town: Town,
    ctx: RequestContext,
    *,
    staff_number: str,
    name: str,
    roles: set[Role] | frozenset[Role],
    password: str,
    pin: str | None = None,
) -> ClerkInfo:
    """Create a clerk of ``town`` (audited). The password is hashed before the transaction
    first touches the database, so call it first in its transaction."""
    check_writable(ctx, "clerk_created")
    if not staff_number.isascii() or not staff_number.isalnum():
        raise RuleViolationError("職員番号は英数字です", field="staff_number")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RuleViolationError(
            f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください", field="password"
        )
    if pin is not None and not (pin.isdigit() and len(pin) in PIN_LENGTHS):
        raise RuleViolationError("PINは数字4〜8桁です", field="pin")
    if not roles:
        raise RuleViolationError("役割を1つ以上指定してください", field="roles")
    # argon2 before the first statement: SQLite takes the write lock only then
    password_hash = _hasher.hash(password)
    pin_hash = _pin_hasher.hash(pin) if pin else None
    if town.session.scalar(select(Clerk).where(Clerk.staff_number == staff_number)):
        raise RuleViolationError(
            f"職員番号 {staff_number} は既に使われています", field="staff_number"
        )
    clerk = Clerk(
        staff_number=staff_number,
        name=name,
        roles=" ".join(sorted(r.value for r in roles)),
        password_hash=password_hash,
        pin_hash=pin_hash,
        active=True,
        failed_attempts=0,
        created_at=utcnow(),
    )
    town.session.add(clerk)
    town.session.flush()
    finish_write(
        town.session,
        ctx,
        "clerk_created",
        detail={"staff_number": staff_number, "roles": sorted(r.value for r in roles)},
    )
    return _info(clerk)


def get_clerk(town: Town, clerk_id: int) -> ClerkInfo:
    clerk = town.session.get(Clerk, clerk_id)
    if clerk is None or not clerk.active:
        raise AuthenticationError("ログインし直してください")
    return _info(clerk)


def list_clerks(town: Town) -> list[ClerkInfo]:
    return [_info(c) for c in town.session.scalars(select(Clerk).order_by(Clerk.staff_number))]


@dataclass(frozen=True)
class _Found:
    """What the read phase of a login found (no lock held)."""

    clerk_id: int | None
    name: str
    hash_: str | None
    locked: bool


#: attempts for staff numbers the town does not know (or inactive ones) waiting out the
#: time a real check would take: anonymous work, bounded apart from the counter so a flood
#: of guesses never takes a town's capacity. Beyond the bound the attempt is refused at
#: once with 503 (nothing checked, nothing recorded).
ANONYMOUS_SECRETS = Gate("anonymous_secret_checks", limit=4)
#: attempts for unknown staff numbers or locked accounts, per town: what a stranger's flood
#: can add to a town's audit trail and journal is bounded
ANONYMOUS_ATTEMPTS = RateLimit("anonymous_login_attempts", rate=20.0, burst=40)
#: argon2 checks of known clerks (logins and quick switches at the counters)
KNOWN_SECRETS = Gate("known_secret_checks", limit=2, wait_s=2.0)


class _CheckTime:
    """The typical duration of a real argon2 check per kind (moving average), measured once
    on first use if no clerk has logged in yet."""

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    def observe(self, kind: str, seconds: float) -> None:
        with self._lock:
            old = self._seconds.get(kind)
            self._seconds[kind] = seconds if old is None else 0.8 * old + 0.2 * seconds

    def typical(self, kind: str) -> float:
        with self._lock:
            known = self._seconds.get(kind)
        if known is not None:
            return known
        started = time.perf_counter()
        _verify(None, secrets.token_hex(8), _hasher if kind == "password" else _pin_hasher)
        self.observe(kind, time.perf_counter() - started)
        return self._seconds[kind]


_CHECK_TIME = _CheckTime()


def _find(town: Town, staff_number: str, kind: str) -> _Found:
    clerk = town.session.scalar(select(Clerk).where(Clerk.staff_number == staff_number))
    if clerk is None or not clerk.active:
        return _Found(None, "(不明)", None, locked=False)
    locked_until = clerk.locked_until if kind == "password" else clerk.pin_locked_until
    hash_ = clerk.password_hash if kind == "password" else clerk.pin_hash
    return _Found(clerk.id, clerk.name, hash_, locked_until is not None and locked_until > utcnow())


def _check_secret(
    platform: Platform,
    ctx: RequestContext,
    staff_number: str,
    secret: str,
    *,
    kind: str,
    success_detail: dict[str, Any] | None = None,
) -> ClerkInfo:
    """Verify a password or PIN, count failures and lock; audited either way.

    Three steps, so that nothing slow or anonymous runs inside the town's write lock:
    the clerk is looked up in a read-only transaction; argon2 runs outside any transaction,
    bounded by :data:`ANONYMOUS_SECRETS` or :data:`KNOWN_SECRETS`; then one short write
    records the outcome (failure count, lock, the audit entry), re-reading the clerk under
    the lock so concurrent failures all count.
    """
    with platform.read_town(ctx.town_code) as town:
        found = _find(town, staff_number, kind)
    anon = RequestContext(
        town_code=ctx.town_code,
        actor=Actor(found.clerk_id, found.name, staff_number),
        request_id=ctx.request_id,
        node=ctx.node,
        mode=ctx.mode,
    )
    action = "login" if kind == "password" else "quick_switch"
    log_fields = {"town": ctx.town_code, "request_id": ctx.request_id, "kind": kind}
    hasher = _hasher if kind == "password" else _pin_hasher
    if found.clerk_id is None:
        ANONYMOUS_ATTEMPTS.take(ctx.town_code)
        with ANONYMOUS_SECRETS.enter():
            # As long as a real check, so timing does not tell an unknown staff number, but
            # asleep: a stranger's guesses cost the server no argon2 (no CPU, no memory).
            time.sleep(_CHECK_TIME.typical(kind))
        platform.record_read(anon, f"{action}_failed", detail={"reason": "unknown_or_inactive"})
        raise AuthenticationError(GENERIC_FAILURE)
    if found.locked:  # no check while locked: the answer says so anyway
        ANONYMOUS_ATTEMPTS.take(ctx.town_code)
        platform.record_read(anon, f"{action}_refused", detail={"reason": "locked"})
        raise _locked_error()
    with KNOWN_SECRETS.enter():
        started = time.perf_counter()
        ok = _verify(found.hash_, secret, hasher)
        _CHECK_TIME.observe(kind, time.perf_counter() - started)
    rehash = (
        _hasher.hash(secret)
        if ok and kind == "password" and found.hash_ and _hasher.check_needs_rehash(found.hash_)
        else None
    )
    with platform.town(ctx.town_code) as town:
        clerk = town.session.scalar(
            select(Clerk).where(Clerk.staff_number == staff_number).with_for_update()
        )
        result = _settle(town, anon, clerk, kind, ok=ok, rehash=rehash, detail=success_detail)
    if isinstance(result, AuthenticationError):
        log.warning(f"{action}_failed", locked=isinstance(result, AccountLockedError), **log_fields)
        raise result
    log.info(f"{action}_succeeded", clerk_id=result.id, **log_fields)
    return result


def _locked_error() -> AccountLockedError:
    return AccountLockedError(
        "失敗が続いたため一時的にロックされています。しばらく待つか、"
        "情報システム担当に解除を依頼してください"
    )


def _settle(
    town: Town,
    anon: RequestContext,
    clerk: Clerk | None,
    kind: str,
    *,
    ok: bool,
    rehash: str | None,
    detail: dict[str, Any] | None,
) -> ClerkInfo | AuthenticationError:
    """The short write after a check: count, lock or reset, audit. Returns the error instead
    of raising so the caller commits the failure count."""
    action = "login" if kind == "password" else "quick_switch"
    if clerk is None or not clerk.active:  # deactivated between the read and now
        finish_write(
            town.session, anon, f"{action}_failed", detail={"reason": "unknown_or_inactive"}
        )
        return AuthenticationError(GENERIC_FAILURE)
    failures_attr, locked_attr = (
        ("failed_attempts", "locked_until")
        if kind == "password"
        else ("pin_failed_attempts", "pin_locked_until")
    )
    now = utcnow()
    locked_until: datetime | None = getattr(clerk, locked_attr)
    if locked_until is not None and locked_until > now:  # locked by a concurrent attempt
        finish_write(town.session, anon, f"{action}_refused", detail={"reason": "locked"})
        return _locked_error()
    if not ok:
        failures = getattr(clerk, failures_attr) + 1
        locked = failures >= MAX_FAILURES
        setattr(clerk, failures_attr, 0 if locked else failures)
        if locked:
            setattr(clerk, locked_attr, now + LOCK_DURATION)
        finish_write(
            town.session,
            anon,
            f"{action}_failed",
            detail={"reason": "bad_secret", "locked": locked},
        )
        if locked:
            log.warning("account_locked", town=anon.town_code, kind=kind)
            what = "アカウント" if kind == "password" else "職員切替のPIN"
            return AccountLockedError(
                f"{MAX_FAILURES}回続けて失敗したため、{what}を"
                f"{int(LOCK_DURATION.total_seconds() // 60)}分間ロックしました"
            )
        return AuthenticationError(GENERIC_FAILURE)
    setattr(clerk, failures_attr, 0)
    setattr(clerk, locked_attr, None)
    if rehash is not None:
        clerk.password_hash = rehash
    info = _info(clerk)
    finish_write(town.session, _as(anon, info), action, detail=detail)
    return info


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login(
    platform: Platform, ctx: RequestContext, staff_number: str, password: str
) -> tuple[str, ClerkInfo]:
    """Log a clerk in to ``ctx.town_code``; returns a new session token. Raises on failure."""
    check_login_location(platform, ctx)
    result = _check_secret(platform, ctx, staff_number, password, kind="password")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with platform.platform_session() as s:
        s.add(
            LoginSession(
                token_hash=token_hash(token),
                town_code=ctx.town_code,
                clerk_id=result.id,
                logged_in_clerk_id=result.id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
    return token, result


def _as(ctx: RequestContext, clerk: ClerkInfo) -> RequestContext:
    return RequestContext(
        ctx.town_code, clerk.actor(), ctx.request_id, ctx.node, ctx.mode, ctx.purpose, ctx.client
    )


def check_login_location(platform: Platform, ctx: RequestContext) -> None:
    """A town may restrict the networks its clerks log in from; a declared emergency lifts
    the restriction until it ends (case 2: clerks working from a partner town's terminals)."""
    hosted = platform.hosted(ctx.town_code, fresh=True)
    networks = [n.strip() for n in (hosted.login_networks or "").split(",") if n.strip()]
    if not networks:
        return
    if hosted.emergency_until is not None and hosted.emergency_until > utcnow():
        return
    try:
        address = ipaddress.ip_address(ctx.client or "")
    except ValueError:
        address = None
    if address is not None and any(
        address in ipaddress.ip_network(n, strict=False) for n in networks
    ):
        return
    log.warning("login_location_refused", town=ctx.town_code, client=ctx.client)
    raise AuthenticationError(
        "この端末からはログインできません（ログインできる場所が制限されています）。"
        "災害時は情報システム担当が緊急事態を宣言すると、連携町村の端末から利用できます"
    )


def declare_emergency(
    platform: Platform, ctx: RequestContext, *, hours: float, reason: str
) -> datetime:
    """Lift the town's login-location restriction for ``hours`` (audited in the town)."""
    if not 0 < hours <= 24 * 14:
        raise RuleViolationError("緊急事態の期間は14日以内の時間で指定してください")
    if not reason.strip():
        raise RuleViolationError("緊急事態の理由を入力してください")
    until = utcnow() + timedelta(hours=hours)
    with platform.platform_session() as s:
        hosted = s.get(HostedTown, ctx.town_code)
        if hosted is None:
            raise NotFoundError(f"町村 {ctx.town_code} はこの基盤にありません")
        hosted.emergency_until = until
    with platform.town(ctx.town_code) as town:
        finish_write(
            town.session,
            ctx,
            "emergency_declared",
            detail={"until": until.isoformat(), "hours": hours, "reason": reason},
        )
    log.warning("emergency_declared", town=ctx.town_code, until=until.isoformat())
    return until


def restrict_login_networks(platform: Platform, ctx: RequestContext, networks: list[str]) -> None:
    """Set the networks a town's clerks may log in from (empty: anywhere). Audited."""
    for n in networks:
        try:
            ipaddress.ip_network(n, strict=False)
        except ValueError as exc:
            raise RuleViolationError(f"ネットワークの指定が正しくありません: {n}") from exc
    with platform.platform_session() as s:
        hosted = s.get(HostedTown, ctx.town_code)
        if hosted is None:
            raise NotFoundError(f"町村 {ctx.town_code} はこの基盤にありません")
        hosted.login_networks = ",".join(networks) or None
    with platform.town(ctx.town_code) as town:
        finish_write(town.session, ctx, "login_networks_set", detail={"networks": networks})


@dataclass(frozen=True)
class SessionInfo:
    town_code: str
    clerk_id: int
    token_hash: str


def resolve_session(platform: Platform, token: str) -> SessionInfo:
    """The session for ``token``, or AuthenticationError if missing, expired (12 hours
    after login) or idle (nobody used it for :data:`SESSION_IDLE_LIMIT`). Its last use is
    recorded at most once per :data:`SESSION_TOUCH_INTERVAL`."""
    h = token_hash(token)
    now = utcnow()
    with platform.platform_read() as s:  # every request: no write lock
        row = s.get(LoginSession, h)
        alive = (
            row is not None
            and row.expires_at > now
            and now - row.last_seen_at <= SESSION_IDLE_LIMIT
        )
        stale = alive and row is not None and now - row.last_seen_at > SESSION_TOUCH_INTERVAL
        info = SessionInfo(row.town_code, row.clerk_id, h) if alive and row else None
    if info is not None:
        if stale:
            with platform.platform_session() as s:
                s.execute(
                    update(LoginSession)
                    .where(LoginSession.token_hash == h, LoginSession.last_seen_at < now)
                    .values(last_seen_at=now)
                )
        return info
    if row is None:
        raise AuthenticationError("ログインしてください")
    with platform.platform_session() as s:  # expired or idle: removed
        s.execute(delete(LoginSession).where(LoginSession.token_hash == h))
    raise AuthenticationError(
        "ログインしてください（一定時間操作がなかったか、ログインの有効期限が切れました）"
    )


def quick_switch(
    platform: Platform, ctx: RequestContext, token: str, staff_number: str, pin: str
) -> ClerkInfo:
    """At a shared terminal, hand the session to another clerk of the same town.

    From then on every action of the session is attributed to the new clerk.
    """
    session_info = resolve_session(platform, token)
    if session_info.town_code != ctx.town_code:
        raise AuthenticationError(GENERIC_FAILURE)
    try:
        result = _check_secret(
            platform,
            ctx,
            staff_number,
            pin,
            kind="pin",
            success_detail={
                "from_clerk_id": ctx.actor.clerk_id,
                "from_staff_number": ctx.actor.staff_number,
            },
        )
    except AuthenticationError:
        _pin_failed(platform, ctx, session_info.token_hash)
        raise
    with platform.platform_session() as s:
        row = s.get(LoginSession, session_info.token_hash)
        if row is None:
            raise AuthenticationError("ログインしてください")
        row.clerk_id = result.id
        row.last_seen_at = utcnow()
        row.pin_failures = 0
    return result


def _pin_failed(platform: Platform, ctx: RequestContext, token_hash_: str) -> None:
    """Count a wrong PIN against the terminal's session; :data:`MAX_FAILURES` in a row end
    it (whoever is guessing PINs at a terminal must log in again with a password), audited."""
    with platform.platform_session() as s:
        row = s.get(LoginSession, token_hash_)
        if row is None:
            return
        row.pin_failures = (row.pin_failures or 0) + 1
        ended = row.pin_failures >= MAX_FAILURES
        if ended:
            s.delete(row)
    if ended:
        platform.record_read(
            ctx, "logout", detail={"reason": "pin_failures", "failures": MAX_FAILURES}
        )
        raise AuthenticationError(
            "PIN を続けて間違えたため、この端末のログインを終了しました。"
            "パスワードでログインしてください"
        )


def logout(platform: Platform, ctx: RequestContext, token: str) -> None:
    h = token_hash(token)
    with platform.platform_session() as s:
        s.execute(delete(LoginSession).where(LoginSession.token_hash == h))
    platform.record_read(ctx, "logout")


def unlock(town: Town, ctx: RequestContext, staff_number: str) -> None:
    clerk = town.session.scalar(select(Clerk).where(Clerk.staff_number == staff_number))
    if clerk is None:
        raise NotFoundError("該当する職員はいません")
    clerk.locked_until = None
    clerk.failed_attempts = 0
    clerk.pin_locked_until = None
    clerk.pin_failed_attempts = 0
    finish_write(town.session, ctx, "clerk_unlocked", detail={"staff_number": staff_number})
