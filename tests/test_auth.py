"""Login, lockout, quick switch at a shared terminal, roles, logout and request ids (web)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from conftest import TODAY, TOWN_A, TOWN_B, make_platform
from lgcloud.audit import service as audit_service
from lgcloud.audit.models import AuditEntry
from lgcloud.auth.models import Clerk
from lgcloud.auth.roles import Role
from lgcloud.auth.service import (
    GENERIC_FAILURE,
    LOCK_DURATION,
    MAX_FAILURES,
    create_clerk,
    token_hash,
)
from lgcloud.core.clock import utcnow
from lgcloud.core.context import Actor, RequestContext
from lgcloud.generate.town import generate_town
from lgcloud.interface.deps import SESSION_COOKIE
from lgcloud.onboarding import onboard_town
from lgcloud.register.models import PersonVersion
from lgcloud.tenancy.models import LoginSession
from lgcloud.tenancy.platform import Platform
from lgcloud.web.app import create_app


@dataclass(frozen=True)
class C:
    """A test clerk."""

    staff: str
    name: str
    roles: frozenset[Role]
    password: str
    pin: str | None = None


X = C("A1001", "窓口\u3000一子", frozenset({Role.COUNTER_CLERK}), "x-password-0001", "1234")
Y = C("A2001", "業務\u3000二郎", frozenset({Role.BUSINESS_STAFF}), "y-password-0002", "567890")
AUDITOR = C("A9101", "監査\u3000五月", frozenset({Role.AUDITOR}), "au-password-003")
IT = C("A9001", "情報\u3000四郎", frozenset({Role.IT_OFFICER}), "it-password-0004")
Z = C("B5001", "出雲崎\u3000三太", frozenset({Role.COUNTER_CLERK}), "z-password-0005", "2468")

LOCK_WORD = "ロック"
HEX32 = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class World:
    platform: Platform
    client: TestClient  # never holds a cookie unless a test puts one there
    person: str  # a current resident of town A
    person_name: str


def _add(platform: Platform, code: str, clerk: C) -> None:
    with platform.town(code) as town:
        create_clerk(
            town,
            RequestContext(code, Actor(None, "test-setup", "")),
            staff_number=clerk.staff,
            name=clerk.name,
            roles=clerk.roles,
            password=clerk.password,
            pin=clerk.pin,
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    platform = make_platform(Path(tmp_path_factory.mktemp("auth")) / "data")
    onboard_town(platform, TOWN_A, "聖籠町", kana="セイロウマチ", prefecture="新潟県")
    onboard_town(platform, TOWN_B, "出雲崎町", kana="イズモザキマチ", prefecture="新潟県")
    generate_town(platform, TOWN_A, residents=60, seed=5, today=TODAY)
    generate_town(platform, TOWN_B, residents=60, seed=6, today=TODAY)
    for clerk in (X, Y, AUDITOR, IT):
        _add(platform, TOWN_A, clerk)
    _add(platform, TOWN_B, Z)
    with platform.town(TOWN_A) as town:
        row = town.session.scalars(
            select(PersonVersion)
            .where(PersonVersion.is_current.is_(True), PersonVersion.status == "resident")
            .order_by(PersonVersion.addressee_number)
        ).first()
        assert row is not None
        person, person_name = row.addressee_number, row.name
    with TestClient(create_app(platform), follow_redirects=False) as client:
        yield World(platform, client, person, person_name)
    platform.dispose()


# --------------------------------------------------------------------------- helpers


def _login(w: World, clerk: C, town: str = TOWN_A, password: str | None = None) -> Response:
    r = w.client.post(
        "/api/login",
        json={
            "town_code": town,
            "staff_number": clerk.staff,
            "password": clerk.password if password is None else password,
        },
    )
    w.client.cookies.clear()
    return r


def _token(w: World, clerk: C, town: str = TOWN_A) -> str:
    r = _login(w, clerk, town)
    assert r.status_code == 200, r.text
    return r.headers["X-Session-Token"]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _switch(w: World, token: str, staff: str, pin: str) -> Response:
    return w.client.post(
        "/api/switch", json={"staff_number": staff, "pin": pin}, headers=_auth(token)
    )


def _me(w: World, token: str) -> str:
    r = w.client.get("/api/me", headers=_auth(token))
    assert r.status_code == 200, r.text
    staff: str = r.json()["staff_number"]
    return staff


def _clerk_state(w: World, staff: str, town: str = TOWN_A) -> tuple[int, datetime | None]:
    """(failed password attempts, password lock) of a clerk."""
    with w.platform.town(town) as t:
        clerk = t.session.scalar(select(Clerk).where(Clerk.staff_number == staff))
        assert clerk is not None
        return clerk.failed_attempts, clerk.locked_until


def _pin_state(w: World, staff: str, town: str = TOWN_A) -> tuple[int, datetime | None]:
    """(failed PIN attempts, PIN lock) of a clerk."""
    with w.platform.town(town) as t:
        clerk = t.session.scalar(select(Clerk).where(Clerk.staff_number == staff))
        assert clerk is not None
        return clerk.pin_failed_attempts, clerk.pin_locked_until


def _audit(w: World, staff: str, town: str = TOWN_A) -> list[tuple[str, dict[str, Any]]]:
    """(action, detail) of every audit entry attributed to ``staff``, oldest first."""
    with w.platform.town(town) as t:
        rows = t.session.scalars(
            select(AuditEntry).where(AuditEntry.staff_number == staff).order_by(AuditEntry.seq)
        )
        return [(e.action, dict(e.detail)) for e in rows]


def _audit_head(w: World, town: str) -> int:
    with w.platform.town(town) as t:
        return t.session.scalar(select(func.max(AuditEntry.seq))) or 0


def _new_clerk(w: World, clerk: C) -> C:
    _add(w.platform, TOWN_A, clerk)
    return clerk


MOVE_IN: dict[str, Any] = {
    "kind": "domestic_move_in",
    "effective_date": "2025-04-01",
    "persons": [
        {
            "name": "転入\u3000試子",
            "kana": "テンニュウ\u3000タメコ",
            "birth_date": "1990-05-06",
            "sex": 2,
            "relationship": "世帯主",
        }
    ],
    "address": {"address": "大字諏訪山9999番地1", "postal_code": "9570117"},
    "previous_address": "東京都千代田区千代田1番1号",
}


# --------------------------------------------------------------------------- login


def test_login_success_gives_cookie_and_token(world: World) -> None:
    r = world.client.post(
        "/api/login",
        json={"town_code": TOWN_A, "staff_number": X.staff, "password": X.password},
    )
    assert r.status_code == 200
    assert r.json() == {
        "id": r.json()["id"],
        "staff_number": X.staff,
        "name": X.name,
        "roles": ["counter_clerk"],
        "town_code": TOWN_A,
    }
    token = r.headers["X-Session-Token"]
    assert len(token) >= 32
    set_cookie = r.headers["set-cookie"].lower()
    assert f"{SESSION_COOKIE}={token}".lower() in set_cookie
    assert "httponly" in set_cookie
    assert "samesite=strict" in set_cookie
    # the cookie alone authenticates (browser) ...
    assert world.client.get("/api/me").json()["staff_number"] == X.staff
    world.client.cookies.clear()
    assert world.client.get("/api/me").status_code == 401
    # ... and so does the token as a Bearer header (API clients)
    assert _me(world, token) == X.staff
    # only a hash of the token is stored
    with world.platform.platform_session() as s:
        stored = {row.token_hash for row in s.scalars(select(LoginSession))}
    assert token not in stored
    assert ("login", {}) in _audit(world, X.staff)


def test_login_failures_are_generic_and_audited(world: World) -> None:
    cases = [
        ("wrong password", TOWN_A, X.staff, "not-the-password"),
        ("unknown staff number", TOWN_A, "ZZ404", X.password),
        # X's staff number and password do not exist in town B
        ("town A clerk at town B", TOWN_B, X.staff, X.password),
        # and Z (town B) cannot log in to town A with Z's own credentials
        ("town B clerk at town A", TOWN_A, Z.staff, Z.password),
    ]
    for label, town, staff, password in cases:
        r = world.client.post(
            "/api/login", json={"town_code": town, "staff_number": staff, "password": password}
        )
        assert r.status_code == 401, label
        # the same message whatever was wrong: no staff-number enumeration
        assert r.json() == {"detail": GENERIC_FAILURE, "field": None}, label
        assert "set-cookie" not in r.headers, label
        assert "x-session-token" not in r.headers, label
    world.client.cookies.clear()

    assert ("login_failed", {"reason": "bad_secret", "locked": False}) in _audit(world, X.staff)
    assert ("login_failed", {"reason": "unknown_or_inactive"}) in _audit(world, "ZZ404")
    assert ("login_failed", {"reason": "unknown_or_inactive"}) in _audit(world, Z.staff)
    # the attempt at town B is recorded in town B (where it was made)
    assert ("login_failed", {"reason": "unknown_or_inactive"}) in _audit(world, X.staff, TOWN_B)
    assert _clerk_state(world, X.staff)[0] >= 1
    assert _clerk_state(world, Z.staff, TOWN_B) == (0, None)
    # a success resets the count
    _token(world, X)
    assert _clerk_state(world, X.staff) == (0, None)


def test_login_to_unknown_or_malformed_town(world: World) -> None:
    hosted_elsewhere = world.client.post(
        "/api/login", json={"town_code": "155811", "staff_number": X.staff, "password": X.password}
    )
    assert hosted_elsewhere.status_code == 404
    malformed = world.client.post(
        "/api/login", json={"town_code": "15307", "staff_number": X.staff, "password": X.password}
    )
    assert malformed.status_code == 422
    for r in (hosted_elsewhere, malformed):
        assert "x-session-token" not in r.headers


def test_login_page(world: World) -> None:
    page = world.client.get("/login")
    assert page.status_code == 200
    assert TOWN_A in page.text
    assert TOWN_B in page.text
    bad = world.client.post(
        "/login", data={"town_code": TOWN_A, "staff_number": X.staff, "password": "nope-nope"}
    )
    assert bad.status_code == 200
    assert GENERIC_FAILURE in bad.text
    assert SESSION_COOKIE not in world.client.cookies
    good = world.client.post(
        "/login", data={"town_code": TOWN_A, "staff_number": X.staff, "password": X.password}
    )
    assert good.status_code == 303
    assert good.headers["location"] == "/"
    page = world.client.get("/")  # with the cookie
    assert page.status_code == 200
    assert X.name in page.text
    world.client.cookies.clear()


# --------------------------------------------------------------------------- lockout


def _fail_until_locked(w: World, clerk: C) -> None:
    for attempt in range(1, MAX_FAILURES + 1):
        r = _login(w, clerk, password="wrong-password!")
        assert r.status_code == 401
        if attempt < MAX_FAILURES:
            assert r.json()["detail"] == GENERIC_FAILURE, attempt
        else:
            assert LOCK_WORD in r.json()["detail"]
            assert str(MAX_FAILURES) in r.json()["detail"]


def test_lockout_after_five_failures_then_unlock(world: World) -> None:
    victim = _new_clerk(
        world, C("A3001", "施錠\u3000一郎", frozenset({Role.COUNTER_CLERK}), "victim-pass-001")
    )
    before = utcnow()
    _fail_until_locked(world, victim)
    failed, locked_until = _clerk_state(world, victim.staff)
    assert failed == 0  # the count restarts after locking
    assert locked_until is not None
    assert before + LOCK_DURATION <= locked_until <= utcnow() + LOCK_DURATION

    # even the right password is refused while locked, with the lock message
    refused = _login(world, victim)
    assert refused.status_code == 401
    assert LOCK_WORD in refused.json()["detail"]
    assert "x-session-token" not in refused.headers

    actions = [a for a, _ in _audit(world, victim.staff)]
    assert actions.count("login_failed") == MAX_FAILURES
    assert actions.count("login_refused") == 1
    assert "login" not in actions
    last_failure = [d for a, d in _audit(world, victim.staff) if a == "login_failed"][-1]
    assert last_failure == {"reason": "bad_secret", "locked": True}

    # the IT officer lifts the lock
    it = _token(world, IT)
    r = world.client.post(f"/api/clerks/{victim.staff}/unlock", headers=_auth(it))
    assert r.status_code == 200
    assert _clerk_state(world, victim.staff) == (0, None)
    assert ("clerk_unlocked", {"staff_number": victim.staff}) in _audit(world, IT.staff)
    assert _login(world, victim).status_code == 200


def test_lock_expires_after_lock_duration(world: World) -> None:
    victim = _new_clerk(
        world, C("A3002", "施錠\u3000二郎", frozenset({Role.COUNTER_CLERK}), "victim-pass-002")
    )
    _fail_until_locked(world, victim)
    assert LOCK_WORD in _login(world, victim).json()["detail"]
    # LOCK_DURATION later (moved into the past rather than waiting)
    with world.platform.town(TOWN_A) as t:
        clerk = t.session.scalar(select(Clerk).where(Clerk.staff_number == victim.staff))
        assert clerk is not None
        assert clerk.locked_until is not None
        clerk.locked_until = utcnow() - timedelta(seconds=1)
    r = _login(world, victim)
    assert r.status_code == 200
    assert _clerk_state(world, victim.staff) == (0, None)


# --------------------------------------------------------------------------- quick switch


def test_quick_switch_attributes_actions_to_the_new_clerk(world: World) -> None:
    token = _token(world, X)
    assert _me(world, token) == X.staff
    assert Y.pin is not None
    r = _switch(world, token, Y.staff, Y.pin)
    assert r.status_code == 200
    assert r.json()["staff_number"] == Y.staff
    assert r.json()["town_code"] == TOWN_A
    # the same session (same token) is now Y's
    assert _me(world, token) == Y.staff
    page = world.client.get("/", headers=_auth(token))
    assert Y.name in page.text
    assert X.name not in page.text

    view = world.client.get(
        f"/api/persons/{world.person}",
        headers={**_auth(token), "X-Request-ID": "switch-view-0001"},
    )
    assert view.status_code == 200
    rid = view.headers["X-Request-ID"]  # made by the server, not the client's
    assert rid != "switch-view-0001" and HEX32.fullmatch(rid)
    assert view.headers["X-Client-Request-ID"] == "switch-view-0001"
    assert view.json()["person"]["name"] == world.person_name
    with world.platform.town(TOWN_A) as t:
        lines = audit_service.who_viewed(t.session, world.person)
    latest = lines[0]
    assert latest.action == "view_person"
    assert latest.staff_number == Y.staff
    assert latest.clerk_name == Y.name
    assert latest.request_id == rid

    switch_entries = [d for a, d in _audit(world, Y.staff) if a == "quick_switch"]
    assert switch_entries
    assert switch_entries[-1]["from_staff_number"] == X.staff

    # and back to X with X's PIN
    assert X.pin is not None
    assert _switch(world, token, X.staff, X.pin).status_code == 200
    assert _me(world, token) == X.staff


def test_wrong_pin_is_refused_and_counted(world: World) -> None:
    token = _token(world, X)
    r = _switch(world, token, Y.staff, "0000")
    assert r.status_code == 401
    assert r.json()["detail"] == GENERIC_FAILURE
    assert _me(world, token) == X.staff  # still X
    assert _pin_state(world, Y.staff)[0] == 1
    assert _clerk_state(world, Y.staff)[0] == 0  # the password counter is separate
    assert ("quick_switch_failed", {"reason": "bad_secret", "locked": False}) in _audit(
        world, Y.staff
    )
    assert Y.pin is not None
    assert _switch(world, token, Y.staff, Y.pin).status_code == 200
    assert _pin_state(world, Y.staff) == (0, None)


def test_pin_failures_lock_only_the_pin_and_end_the_guessing_session(world: World) -> None:
    """Wrong PINs in a row at one terminal: the PIN is locked (not the password), and the
    session that made the streak ends (issue 15: it survived any number of failures)."""
    victim = _new_clerk(
        world,
        C("A3003", "施錠\u3000三郎", frozenset({Role.COUNTER_CLERK}), "victim-pass-003", "9753"),
    )
    assert victim.pin is not None
    token = _token(world, X)
    for _ in range(1, MAX_FAILURES):
        r = _switch(world, token, victim.staff, "1111")
        assert r.status_code == 401 and r.json()["detail"] == GENERIC_FAILURE
    r = _switch(world, token, victim.staff, "1111")
    assert r.status_code == 401 and "ログインを終了しました" in r.json()["detail"]
    assert world.client.get("/api/me", headers=_auth(token)).status_code == 401
    # a colleague typing wrong PINs cannot lock the victim out of their password login
    assert _login(world, victim).status_code == 200
    # the PIN stays locked until it expires or an IT officer unlocks it
    again = _token(world, X)
    assert _switch(world, again, victim.staff, victim.pin).status_code == 401
    assert _me(world, again) == X.staff
    actions = [a for a, _ in _audit(world, victim.staff)]
    assert actions.count("quick_switch_failed") == MAX_FAILURES
    assert actions.count("quick_switch_refused") == 1
    assert "login_refused" not in actions


def test_a_right_pin_ends_the_streak(world: World) -> None:
    assert Y.pin is not None and X.pin is not None
    token = _token(world, X)
    for _ in range(MAX_FAILURES - 1):
        assert _switch(world, token, "A9999", "1111").status_code == 401  # nobody
    assert _switch(world, token, Y.staff, Y.pin).status_code == 200
    for _ in range(MAX_FAILURES - 1):
        assert _switch(world, token, "A9999", "1111").status_code == 401
    assert _me(world, token) == Y.staff  # four again after a right one: still open


def test_clerk_of_another_town_cannot_switch_in(world: World) -> None:
    assert Z.pin is not None
    assert X.pin is not None
    b_head = _audit_head(world, TOWN_B)
    token = _token(world, X)
    r = _switch(world, token, Z.staff, Z.pin)
    assert r.status_code == 401
    assert r.json()["detail"] == GENERIC_FAILURE
    assert _me(world, token) == X.staff
    assert ("quick_switch_failed", {"reason": "unknown_or_inactive"}) in _audit(world, Z.staff)
    # nothing happened in town B: Z's counters untouched, no audit entry there
    assert _clerk_state(world, Z.staff, TOWN_B) == (0, None)
    assert _audit_head(world, TOWN_B) == b_head

    # the other way round: a town B session cannot become X
    token_b = _token(world, Z, TOWN_B)
    assert _switch(world, token_b, X.staff, X.pin).status_code == 401
    assert _me(world, token_b) == Z.staff
    assert _clerk_state(world, X.staff) == (0, None)


def test_switch_page(world: World) -> None:
    assert Y.pin is not None
    token = _token(world, X)
    form = world.client.get("/switch", headers=_auth(token))
    assert form.status_code == 200
    bad = world.client.post(
        "/switch", data={"staff_number": Y.staff, "pin": "0000"}, headers=_auth(token)
    )
    assert bad.status_code == 200
    assert GENERIC_FAILURE in bad.text
    assert _me(world, token) == X.staff
    good = world.client.post(
        "/switch", data={"staff_number": Y.staff, "pin": Y.pin}, headers=_auth(token)
    )
    assert good.status_code == 303
    assert good.headers["location"] == "/"
    assert _me(world, token) == Y.staff


# --------------------------------------------------------------------------- roles


def test_counter_clerk_cannot_record_events_or_manage_clerks(world: World) -> None:
    token = _token(world, X)
    h = _auth(token)
    new_clerk = {
        "staff_number": "A4999",
        "name": "不正\u3000作成",
        "roles": ["it_officer"],
        "password": "sneaky-password",
    }
    forbidden = [
        world.client.post("/api/events", json=MOVE_IN, headers=h),
        world.client.post("/api/clerks", json=new_clerk, headers=h),
        world.client.get("/api/clerks", headers=h),
        world.client.post(f"/api/clerks/{Y.staff}/unlock", headers=h),
        world.client.get("/api/audit/verify", headers=h),
        world.client.get(f"/api/audit/who-viewed/{world.person}", headers=h),
    ]
    for r in forbidden:
        assert r.status_code == 403, r.request.url
        assert r.json() == {"detail": "この操作を行う権限がありません", "field": None}
    ok = world.client.get("/api/persons", params={"q": world.person}, headers=h)
    assert ok.status_code == 200
    assert [p["addressee_number"] for p in ok.json()] == [world.person]
    with world.platform.town(TOWN_A) as t:
        assert t.session.scalar(select(Clerk).where(Clerk.staff_number == "A4999")) is None


def test_auditor_cannot_view_residents(world: World) -> None:
    token = _token(world, AUDITOR)
    h = _auth(token)
    for r in (
        world.client.get("/api/persons", params={"q": world.person_name[:2]}, headers=h),
        world.client.get(f"/api/persons/{world.person}", headers=h),
        world.client.get(f"/api/persons/{world.person}/history", headers=h),
        world.client.get(f"/api/households/{world.person}", headers=h),
        world.client.get(f"/persons/{world.person}", headers=h),
    ):
        assert r.status_code == 403, r.request.url
        assert world.person_name not in r.text
    # the search page shows no results to a clerk without the permission
    page = world.client.get("/", params={"q": world.person}, headers=h)
    assert page.status_code == 200
    assert world.person_name not in page.text
    verify = world.client.get("/api/audit/verify", headers=h)
    assert verify.status_code == 200
    assert verify.json()["ok"] is True


def test_it_officer_creates_a_clerk(world: World) -> None:
    token = _token(world, IT)
    h = _auth(token)
    body: dict[str, Any] = {
        "staff_number": "A4001",
        "name": "新任\u3000花子",
        "roles": ["counter_clerk", "business_staff"],
        "password": "new-clerk-pass-01",
    }
    r = world.client.post("/api/clerks", json=body, headers=h)
    assert r.status_code == 201
    assert r.json()["roles"] == ["business_staff", "counter_clerk"]
    assert r.json()["town_code"] == TOWN_A
    listed = world.client.get("/api/clerks", headers=h).json()
    assert "A4001" in {c["staff_number"] for c in listed}
    assert Z.staff not in {c["staff_number"] for c in listed}  # town B's clerks are not listed
    # invalid input is refused with the field named
    short = world.client.post(
        "/api/clerks", json={**body, "staff_number": "A4002", "password": "short"}, headers=h
    )
    assert short.status_code == 422
    assert short.json()["field"] == "password"
    bad_pin = world.client.post(
        "/api/clerks", json={**body, "staff_number": "A4003", "pin": "12"}, headers=h
    )
    assert bad_pin.status_code == 422
    assert bad_pin.json()["field"] == "pin"
    # the IT officer may not look at residents or record events
    assert world.client.get("/api/persons", params={"q": "1"}, headers=h).status_code == 403
    assert world.client.post("/api/events", json=MOVE_IN, headers=h).status_code == 403
    # the new clerk logs in to town A, and only there
    new = C("A4001", body["name"], frozenset(), body["password"])
    assert _login(world, new).status_code == 200
    assert _login(world, new, TOWN_B).status_code == 401


def test_business_staff_records_an_event(world: World) -> None:
    token = _token(world, Y)
    r = world.client.post("/api/events", json=MOVE_IN, headers=_auth(token))
    assert r.status_code == 201, r.text
    (number,) = r.json()["subjects"]
    assert r.json()["kind"] == "domestic_move_in"
    found = world.client.get("/api/persons", params={"q": "転入試子"}, headers=_auth(token))
    assert [p["addressee_number"] for p in found.json()] == [number]
    assert "life_event" in [a for a, _ in _audit(world, Y.staff)]


# --------------------------------------------------------------------------- sessions


def test_logout_invalidates_the_token(world: World) -> None:
    token = _token(world, X)
    r = world.client.post("/api/logout", headers=_auth(token))
    assert r.status_code == 200
    assert f'{SESSION_COOKIE}=""' in r.headers["set-cookie"]
    assert world.client.get("/api/me", headers=_auth(token)).status_code == 401
    page = world.client.get("/", headers=_auth(token))
    assert page.status_code == 303
    assert page.headers["location"] == "/login"
    assert world.client.post("/api/logout", headers=_auth(token)).status_code == 401
    assert "logout" in [a for a, _ in _audit(world, X.staff)]

    # the page logout (browser, cookie)
    world.client.post(
        "/api/login", json={"town_code": TOWN_A, "staff_number": X.staff, "password": X.password}
    )
    cookie_token = world.client.cookies[SESSION_COOKIE]
    out = world.client.post("/logout")
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    world.client.cookies.clear()
    assert world.client.get("/api/me", headers=_auth(cookie_token)).status_code == 401


def _expire(w: World, token: str) -> None:
    with w.platform.platform_session() as s:
        row = s.get(LoginSession, token_hash(token))
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)


def test_expired_session_is_refused(world: World) -> None:
    token = _token(world, X)
    assert _me(world, token) == X.staff
    _expire(world, token)
    assert world.client.get("/api/me", headers=_auth(token)).status_code == 401
    page = world.client.get("/", headers=_auth(token))
    assert page.status_code == 303
    assert page.headers["location"] == "/login"


def test_expired_session_row_is_deleted(world: World) -> None:
    token = _token(world, X)
    _expire(world, token)
    assert world.client.get("/api/me", headers=_auth(token)).status_code == 401
    with world.platform.platform_session() as s:
        assert s.get(LoginSession, token_hash(token)) is None


def _last_seen(w: World, token: str, ago: timedelta) -> None:
    with w.platform.platform_session() as s:
        row = s.get(LoginSession, token_hash(token))
        assert row is not None
        row.last_seen_at = utcnow() - ago


def test_an_idle_session_ends(world: World) -> None:
    """A shared terminal left logged in: nobody used the session for 31 minutes, so it
    ended (and the answer says why)."""
    token = _token(world, X)
    _last_seen(world, token, timedelta(minutes=31))
    r = world.client.get("/api/me", headers=_auth(token))
    assert r.status_code == 401 and "一定時間操作がなかった" in r.json()["detail"]
    with world.platform.platform_session() as s:
        assert s.get(LoginSession, token_hash(token)) is None


def test_a_used_session_stays_and_its_use_is_written_once_a_minute(world: World) -> None:
    token = _token(world, X)
    _last_seen(world, token, timedelta(minutes=29))
    assert _me(world, token) == X.staff  # 29 minutes idle: still alive, and now touched
    with world.platform.platform_read() as s:
        row = s.get(LoginSession, token_hash(token))
        assert row is not None
        touched = row.last_seen_at
    assert utcnow() - touched < timedelta(seconds=30)
    assert _me(world, token) == X.staff  # within the minute: read only, not written again
    with world.platform.platform_read() as s:
        row = s.get(LoginSession, token_hash(token))
        assert row is not None and row.last_seen_at == touched


# --------------------------------------------------------------------------- plumbing


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("req-2026.11.23_abc", True),
        ("A" * 64, True),
        ("short", False),  # fewer than 8 characters
        ("A" * 65, False),
        ("has space here", False),
        ("a/b/c/d/e/f/g", False),
        ("<script>alert(1)</script>", False),
        (None, False),
    ],
)
def test_request_ids_are_made_by_the_server(world: World, incoming: str | None, kept: bool) -> None:
    """The id recorded for a request is always the server's own; a client's well-formed id
    comes back apart (X-Client-Request-ID), a malformed one not at all."""
    headers = {} if incoming is None else {"X-Request-ID": incoming}
    for path in ("/health", "/api/me"):  # a success and a 401
        r = world.client.get(path, headers=headers)
        assert HEX32.fullmatch(r.headers["X-Request-ID"]), r.headers["X-Request-ID"]
        assert r.headers.get("X-Client-Request-ID") == (incoming if kept else None)


def test_openapi_is_served(world: World) -> None:
    r = world.client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert spec["info"]["title"] == "lgcloud 自治体クラウド"
    assert "/api/persons/{addressee_number}" in spec["paths"]
    assert "/api/login" in spec["paths"]
    docs = world.client.get("/docs")
    assert docs.status_code == 200
    assert "openapi.json" in docs.text


# ----------------------------------------------- issue 15: the whole register, bounded input


def test_a_counter_clerk_cannot_take_the_whole_register(world: World) -> None:
    """全住民一覧 (CSV or PDF) needs export_register, which counter roles have not, and a
    stated purpose; the purpose is bounded (it is stored in the audit entry)."""
    counter, staff = _token(world, X), _token(world, Y)
    for token, query, status in (
        (counter, {"purpose": "安否確認"}, 403),
        (staff, {}, 422),
        (staff, {"purpose": "x" * 201}, 422),
        (staff, {"purpose": "安否確認"}, 200),
    ):
        r = world.client.get("/api/all-residents.csv", params=query, headers=_auth(token))
        assert r.status_code == status, (query, r.text[:200])
        pdf = world.client.post(
            "/api/certificates",
            params=query,
            json={"kind": "all_residents"},
            headers=_auth(token),
        )
        assert pdf.status_code == status, (query, pdf.text[:200])
    entries = [d for a, d in _audit(world, Y.staff) if a == "export_all_residents"]
    assert entries  # audited, with the purpose (the entry's own column)
    with world.platform.town(TOWN_A) as t:
        row = t.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "export_all_residents")
            .order_by(AuditEntry.seq.desc())
        ).first()
        assert row is not None and row.purpose == "安否確認"


def test_the_host_header_is_never_printed_into_a_certificate(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client's Host header decided the verify URL and its QR code (issue 15)."""
    from pdf_tools import extract_text  # noqa: PLC0415

    monkeypatch.delenv("LGCLOUD_PUBLIC_URL", raising=False)
    token = _token(world, X)
    r = world.client.post(
        "/api/certificates",
        json={"kind": "resident", "addressee_number": world.person},
        headers={**_auth(token), "Host": "evil.example"},
    )
    assert r.status_code == 200, r.text[:200]
    text = extract_text(r.content)
    assert "/verify/" in text and "evil.example" not in text
    monkeypatch.setenv("LGCLOUD_PUBLIC_URL", "https://lgcloud.example.lg.jp/")
    r = world.client.post(
        "/api/certificates",
        json={"kind": "resident", "addressee_number": world.person},
        headers={**_auth(token), "Host": "evil.example"},
    )
    assert "https://lgcloud.example.lg.jp/verify/" in extract_text(r.content)


def test_a_server_beyond_this_machine_needs_its_public_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415

    from lgcloud.cli import app  # noqa: PLC0415

    monkeypatch.delenv("LGCLOUD_PUBLIC_URL", raising=False)
    for argv in (["serve"], ["node", "serve", "--sites", "x.toml", "--node", "n"]):
        out = CliRunner().invoke(app, [*argv, "--host", "0.0.0.0", "--data-dir", str(tmp_path)])
        assert out.exit_code == 2, out.output
        assert "LGCLOUD_PUBLIC_URL" in out.output


# ------------------------------------------------------- issue 15: cross-site requests


def test_a_state_changing_request_from_another_site_is_refused(world: World) -> None:
    """CSRF rested on SameSite alone: a form POST with a foreign Origin created a clerk, and
    login CSRF worked. Now refused before any work, with the session cookie or on login."""
    foreign = {"Origin": "https://evil.example"}
    body = {"town_code": TOWN_A, "staff_number": X.staff, "password": X.password}
    assert world.client.post("/api/login", json=body, headers=foreign).status_code == 403
    assert world.client.post("/login", data=body, headers=foreign).status_code == 403
    assert (
        world.client.post(
            "/api/login", json=body, headers={"Sec-Fetch-Site": "cross-site"}
        ).status_code
        == 403
    )
    # the same site, by its Origin, and a client with no Origin at all: as before
    own = {"Origin": "http://testserver"}
    assert world.client.post("/api/login", json=body, headers=own).status_code == 200
    world.client.cookies.clear()
    login = world.client.post("/login", data=body, follow_redirects=False)
    assert login.status_code in (200, 303), login.text[:200]
    assert world.client.cookies  # a session cookie: ambient authority from here on
    before = _audit_head(world, TOWN_A)
    r = world.client.post("/logout", headers=foreign, follow_redirects=False)
    assert r.status_code == 403 and "別のサイト" in r.text
    assert _audit_head(world, TOWN_A) == before  # nothing done
    world.client.cookies.clear()


def test_responses_may_not_be_framed_sniffed_or_stored(world: World) -> None:
    token = _token(world, X)
    r = world.client.get(f"/api/persons/{world.person}", headers=_auth(token))
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-store"
    # the certificate preview is framed by lgcloud's own person page, and only by it
    preview = world.client.get(
        f"/persons/{world.person}/certificates/153079-0000-0000-0000", headers=_auth(token)
    )
    assert preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert preview.headers["Content-Security-Policy"] == "frame-ancestors 'self'"
