"""Route-walking security test: every route needs a session, and no route crosses towns.

Every (method, path) of the application is discovered from the app itself and must be
listed in :func:`route_calls` below, with the requests that exercise it. Adding a route
without adding it here fails :func:`test_every_route_is_exercised`, so a new route cannot
ship without being checked for (a) refusing anonymous callers and (b) never showing one
town's data to a clerk of another town.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from starlette.routing import Mount

from conftest import TODAY, TOWN_A, TOWN_B, make_ctx, make_platform
from lgcloud.audit.models import AuditEntry
from lgcloud.auth.roles import Role
from lgcloud.auth.service import create_clerk
from lgcloud.continuity.pages import NODE_OPERATOR_PATHS
from lgcloud.core.context import Actor, RequestContext
from lgcloud.elections import queries as election_queries
from lgcloud.elections import service as election_service
from lgcloud.generate.town import generate_town
from lgcloud.onboarding import onboard_town
from lgcloud.register.models import PersonVersion
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.models import JournalEntry
from lgcloud.web.app import PUBLIC_PATHS, create_app
from lgcloud.worklist.service import raise_task

PASSWORD_A = "all-roles-pass-A1"
PASSWORD_B = "town-b-pass-B22"
STAFF_A = "A0001"
STAFF_B = "B7001"  # exists only in town B
PIN_B = "4321"
CLERK_NAME_A = "全権\u3000試験子"
CLERK_NAME_B = "出雲崎\u3000監査員"
BOGUS_NUMBER = "0000000000"  # never issued: sequence 0 does not exist
BOGUS_STAFF = "NOSUCH9"
NEW_STAFF = "W0001"  # created in town A by the walk (POST /api/clerks)
NEW_PAGE_STAFF = "W0002"  # created in town A by the walk (POST /clerks)
#: where a page sends after success
PAGE_REDIRECTS = (
    f"/clerks?created={NEW_PAGE_STAFF}",
    "/parameters?set=seals.min_age",
    "/elections/a-2029",  # the election created by the walk (POST /elections)
    "/elections?done=districts#districts",
    "/elections?done=runs#runs",
    "/safety/victims?disaster=A-01",  # the disaster created by the walk
)

UNAUTHENTICATED_JSON = {"detail": "ログインしてください", "field": None}


# --------------------------------------------------------------------------- route discovery


def discovered_routes(app: FastAPI) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(authenticated routes, public routes) as (method, path) pairs, from the app itself.

    FastAPI >= 0.16x keeps included routers as nested ``_IncludedRouter`` entries in
    ``app.routes``, so a plain walk over ``app.routes`` sees only ``/health`` and the docs;
    ``fastapi.routing.iter_route_contexts`` flattens them (older FastAPI flattens already).
    """
    try:
        from fastapi.routing import iter_route_contexts  # noqa: PLC0415
    except ImportError:  # pragma: no cover - FastAPI before included-router contexts
        flat: list[Any] = list(app.routes)
    else:
        flat = list(iter_route_contexts(app.routes))
    authed: set[tuple[str, str]] = set()
    public: set[tuple[str, str]] = set()
    for route in flat:
        original = getattr(route, "original_route", route)
        if isinstance(original, Mount) or isinstance(route, Mount):
            assert route.path == "/static", f"unexpected mount {route.path}"
            continue
        path = route.path
        methods = route.methods or set()
        assert methods, f"route without methods: {path}"
        for method in methods:
            (public if path in PUBLIC_PATHS | NODE_OPERATOR_PATHS else authed).add((method, path))
    return authed, public


# --------------------------------------------------------------------------- the two towns


@dataclass
class World:
    platform: Platform
    app: FastAPI
    token_a: str  # session of the all-roles clerk of town A
    revoked_token: str  # a token whose session was logged out
    b_person: str  # 宛名番号 of a current resident of B; no such number exists in A
    b_person_name: str
    b_household: str  # 世帯番号 of B that is not a household of A
    b_address: str
    b_markers: frozenset[str]  # values of town B that must never appear in A's responses
    all_markers: frozenset[str]  # values of both towns (for anonymous responses)
    b_job: str = ""  # an import job of town B (/interchange)
    b_export: str = ""  # a finished export job of town B (/interchange)
    b_result: str = ""  # a matching result of town B (/safety)
    b_task: str = ""  # a 処理待ち item of town B (/worklist)
    b_election: str = ""  # an election of town B, its run, a ticket and a printed file
    b_run: str = ""
    b_ticket: str = ""
    b_notice_run: str = ""
    b_report: str = ""  # a 候補 row of town B's safety ledger (/safety/ledger)
    b_grant: str = ""  # a 支援金 application of town B (/safety/victims), disaster B-01
    b_notice_file: str = ""


def _rows(platform: Platform, code: str) -> list[PersonVersion]:
    with platform.town(code) as town:
        return list(town.session.scalars(select(PersonVersion)))


def _login(client: TestClient, town: str, staff: str, password: str) -> str:
    r = client.post(
        "/api/login", json={"town_code": town, "staff_number": staff, "password": password}
    )
    assert r.status_code == 200, r.text
    client.cookies.clear()  # requests below authenticate explicitly (Bearer) or not at all
    return r.headers["X-Session-Token"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    platform = make_platform(Path(tmp_path_factory.mktemp("routes")) / "data")
    onboard_town(platform, TOWN_A, "聖籠町", kana="セイロウマチ", prefecture="新潟県")
    onboard_town(platform, TOWN_B, "出雲崎町", kana="イズモザキマチ", prefecture="新潟県")
    # B is bigger, so B issued 宛名番号 / 世帯番号 that A never issued.
    generate_town(platform, TOWN_A, residents=250, seed=11, today=TODAY)
    generate_town(platform, TOWN_B, residents=400, seed=22, today=TODAY)
    setup = Actor(None, "test-setup", "")
    with platform.town(TOWN_A) as town:
        create_clerk(
            town,
            RequestContext(TOWN_A, setup),
            staff_number=STAFF_A,
            name=CLERK_NAME_A,
            roles=set(Role),
            password=PASSWORD_A,
        )
    with platform.town(TOWN_B) as town:
        create_clerk(
            town,
            RequestContext(TOWN_B, setup),
            staff_number=STAFF_B,
            name=CLERK_NAME_B,
            roles=set(Role),
            password=PASSWORD_B,
            pin=PIN_B,
        )

    a_rows, b_rows = _rows(platform, TOWN_A), _rows(platform, TOWN_B)
    a_numbers = {r.addressee_number for r in a_rows} | {r.household_number for r in a_rows}
    a_households = {r.household_number for r in a_rows}
    a_names = {r.name for r in a_rows}
    a_corpus = (
        "\n".join(
            str(v)
            for r in a_rows
            for v in (
                r.addressee_number,
                r.household_number,
                r.name,
                r.kana,
                r.address,
                r.resident_code,
                r.previous_address,
                r.destination_address,
            )
            if v
        )
        + f"\n{CLERK_NAME_A}\n{STAFF_A}"
    )

    def b_values(r: PersonVersion) -> list[str]:
        return [
            v
            for v in (r.addressee_number, r.household_number, r.name, r.address, r.resident_code)
            if v
        ]

    # A value of B is a marker when it cannot legitimately occur in A's data: it is not a
    # substring of anything of A (宛名番号 sequences are per town and coincide, names too).
    b_markers = {v for r in b_rows for v in b_values(r) if v not in a_corpus} | {CLERK_NAME_B}
    all_markers = b_markers | {v for r in a_rows for v in b_values(r)} | {CLERK_NAME_A}

    b_current = [r for r in b_rows if r.is_current and r.status == "resident"]
    candidates = sorted(
        (
            r
            for r in b_current
            if r.addressee_number not in a_numbers
            and r.household_number not in a_households
            and r.name not in a_names
            and r.name in b_markers
            and r.resident_code in b_markers
        ),
        key=lambda r: r.addressee_number,
    )
    assert len(b_markers) > 500, "too few town B values to look for"
    assert candidates, "town B has no resident that is unambiguous in town A"
    person = candidates[-1]
    assert person.address in b_markers

    app = create_app(platform)
    with TestClient(app) as c:
        token_a = _login(c, TOWN_A, STAFF_A, PASSWORD_A)
        revoked = _login(c, TOWN_A, STAFF_A, PASSWORD_A)
        assert (
            c.post("/api/logout", headers={"Authorization": f"Bearer {revoked}"}).status_code == 200
        )
        b_job = _b_import_job(c)
        b_export = _b_export_job(c)
        b_result = _b_safety_result(c, person.name)
    with platform.town(TOWN_B) as town:
        b_task = raise_task(
            town,
            area="insurance",
            kind="nhi_loss",
            addressee_number=person.addressee_number,
            summary=f"{person.name}: 試験",
            proposal={},
            raised_on=TODAY,
            days_allowed=14,
        ).code
    b_report = _b_pending_report(platform, platform.data_dir, person.name, person.birth_date)
    b_grant = _b_grant(platform, person.household_number)
    b_elections = _b_elections(platform)
    _a_election(platform)
    yield World(
        platform=platform,
        app=app,
        token_a=token_a,
        revoked_token=revoked,
        b_person=person.addressee_number,
        b_person_name=person.name,
        b_household=person.household_number,
        b_address=person.address,
        b_markers=frozenset(b_markers),
        all_markers=frozenset(all_markers),
        b_job=b_job,
        b_export=b_export,
        b_result=b_result,
        b_task=b_task,
        b_report=str(b_report),
        b_grant=str(b_grant),
        **b_elections,
    )
    platform.dispose()


A_ELECTION, B_ELECTION = "a-2027", "b-2027"


def _elections_setup(platform: Platform, code: str, district: str, election: str) -> None:
    ctx = RequestContext(code, Actor(None, "test-setup", ""))
    areas = {r.district for r in _rows(platform, code)} | {"大字"}
    with platform.town(code) as town:
        election_service.set_polling_district(town, ctx, district, "第1投票区", "公民館")
        for area in areas:
            if area:
                election_service.set_polling_area(town, ctx, area, district)
        election_service.create_election(
            town,
            ctx,
            code=election,
            name="町長選挙",
            national=False,
            polling_day=date(2027, 4, 11),
            reference_date=date(2027, 4, 5),
            registration_date=date(2027, 4, 6),
            early_from=date(2027, 4, 6),
        )
        election_service.add_station(
            town, ctx, election, code=f"{district}S", name="第1投票所", polling_codes=[district]
        )


def _a_election(platform: Platform) -> None:
    _elections_setup(platform, TOWN_A, "A1", A_ELECTION)


def _b_elections(platform: Platform) -> dict[str, str]:
    """Town B's roll (fixed), an election, and a printed 入場券 file."""
    _elections_setup(platform, TOWN_B, "B1", B_ELECTION)
    ctx = RequestContext(TOWN_B, Actor(None, "test-setup", ""))
    run = election_service.preview_registration(platform, ctx, reference_date=date(2026, 12, 1))
    election_service.fix_registration(platform, ctx, run.code)
    with platform.read_town(TOWN_B) as town:
        elector = next(iter(election_queries.active_electors(town).values()))
    printed = election_service.issue_tickets(
        platform,
        ctx,
        election_code=B_ELECTION,
        per_household=True,
        out_dir=platform.data_dir / "notices" / TOWN_B,
        today=TODAY,
        per_file=2000,
    )
    return {
        "b_election": B_ELECTION,
        "b_run": run.code,
        "b_ticket": f"E{elector.elector_number}",
        "b_notice_run": printed.code,
        "b_notice_file": printed.files[0].name,
    }


def _b_import_job(c: TestClient) -> str:
    """A finished import job of town B (a header-only file: refused, nothing stored)."""
    token_b = _login(c, TOWN_B, STAFF_B, PASSWORD_B)
    auth = {"Authorization": f"Bearer {token_b}"}
    r = c.post(
        "/interchange/import",
        files={"residents": ("residents.csv", "宛名番号,世帯番号\r\n".encode(), "text/csv")},
        headers=auth,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    job = r.headers["location"].rsplit("/", 1)[-1]
    for _ in range(200):
        if 'data-phase="refused"' in c.get(f"/interchange/jobs/{job}", headers=auth).text:
            return job
        time.sleep(0.05)
    raise AssertionError("town B's import job did not end")


def _b_export_job(c: TestClient) -> str:
    """A finished export job of town B (its residents.csv names B's people)."""
    token_b = _login(c, TOWN_B, STAFF_B, PASSWORD_B)
    auth = {"Authorization": f"Bearer {token_b}"}
    r = c.post(
        "/interchange/exports",
        data={"what": "residents", "encoding": "utf-8"},
        headers=auth,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    job = r.headers["location"].rsplit("/", 1)[-1]
    for _ in range(600):
        if 'data-phase="done"' in c.get(f"/interchange/exports/{job}", headers=auth).text:
            return job
        time.sleep(0.05)
    raise AssertionError("town B's export job did not end")


def _b_grant(platform: Platform, household: str) -> int:
    """Town B's disaster B-01, a survey of a household's home and its 支援金 application."""
    from lgcloud.safety import victims  # noqa: PLC0415

    with platform.town(TOWN_B) as town:
        victims.open_disaster(town, make_ctx(TOWN_B), "B-01", "B町の試験災害", date(2026, 11, 1))
        victims.record_survey(
            town, make_ctx(TOWN_B), "B-01", household, "60", date(2026, 11, 2), "B班"
        )
        return victims.apply_support(
            town, make_ctx(TOWN_B), "B-01", household, "基礎支援金", None, date(2026, 11, 3)
        ).id


def _b_pending_report(platform: Platform, folder: Path, name: str, birth: date) -> int:
    """A 候補 row of town B's safety ledger, its number above any town A will have."""
    from lgcloud.safety.ledger import import_list  # noqa: PLC0415
    from lgcloud.safety.queries import pending_rows  # noqa: PLC0415

    family = name.partition("\u3000")[0]
    lines = [f"{n}," for n in range(1, 61)]  # rows without a name: kept, reaching nobody
    lines.append(f"61,{family},{birth.isoformat()}")
    path = folder / "b-shelter.csv"
    path.write_text("受付番号,氏名,生年月日\r\n" + "".join(x + "\r\n" for x in lines))
    import_list(platform, TOWN_B, make_ctx(TOWN_B), path)
    with platform.read_town(TOWN_B) as town:
        (row,) = pending_rows(town)
    return row.report_id


def _b_safety_result(c: TestClient, name: str) -> str:
    """A matching result of town B (/safety), downloadable by B's session only."""
    token_b = _login(c, TOWN_B, STAFF_B, PASSWORD_B)
    r = c.post(
        "/safety",
        files={"evacuees": ("e.csv", f"受付番号,氏名\r\n1,{name}\r\n".encode(), "text/csv")},
        headers={"Authorization": f"Bearer {token_b}"},
    )
    assert r.status_code == 200, r.text
    return r.text.split("/safety/matches/", 1)[1].split(".csv", 1)[0]


# --------------------------------------------------------------------------- the route table


@dataclass(frozen=True)
class Call:
    """One request to a route, and what a town A clerk with every role must get back."""

    label: str
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] | None = None
    json: Any = None
    form: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None  # uploads (name, content, type)
    expect: frozenset[int] = frozenset({200})
    expect_json: Any = None  # exact JSON body for the town A clerk, when given
    fresh_session: bool = False  # the call ends the session (logout)

    def url(self, template: str) -> str:
        return template.format(**{k: quote(v, safe="") for k, v in self.path.items()})

    def values(self) -> set[str]:
        """Every value this call sends (a response may echo them)."""
        out = set(self.path.values())
        for part in (self.query, self.form):
            out |= set((part or {}).values())
        if self.json is not None:
            out |= _strings(self.json)
        for _, content, _ in (self.files or {}).values():
            text = content.decode("utf-8", "replace")  # an image is not text: no values
            out |= {v for line in text.splitlines() for v in line.split(",")}
        return out


def _strings(obj: Any) -> set[str]:
    if isinstance(obj, str):
        return {obj}
    if isinstance(obj, dict):
        return {s for k, v in obj.items() for s in _strings(k) | _strings(v)}
    if isinstance(obj, list):
        return {s for v in obj for s in _strings(v)}
    return set()


def _impression() -> dict[str, tuple[str, bytes, str]]:
    """A PNG upload (the signature is enough: the person is checked first)."""
    return {"image": ("seal.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 16, "image/png")}


def _removal(member: str) -> dict[str, Any]:
    return {"kind": "death", "effective_date": str(TODAY), "members": [member]}


def _birth(household: str) -> dict[str, Any]:
    return {
        "kind": "birth",
        "effective_date": str(TODAY),
        "household_number": household,
        "person": {
            "name": "試験\u3000赤子",
            "kana": "シケン\u3000アカコ",
            "birth_date": str(TODAY),
            "sex": 2,
            "relationship": "子",
        },
    }


def route_calls(w: World) -> dict[tuple[str, str], list[Call]]:
    """Every authenticated route, with a real value of town B and a bogus value."""
    n, h = w.b_person, w.b_household
    not_found = frozenset({404})
    refused = frozenset({422})
    started = frozenset({303})
    return {
        ("POST", "/api/logout"): [Call("logout", fresh_session=True)],
        ("POST", "/api/switch"): [
            Call("B clerk", json={"staff_number": STAFF_B, "pin": PIN_B}, expect=frozenset({401})),
            Call(
                "bogus",
                json={"staff_number": BOGUS_STAFF, "pin": "0000"},
                expect=frozenset({401}),
            ),
        ],
        ("GET", "/api/me"): [Call("me")],
        ("GET", "/api/persons"): [
            Call("B name", query={"q": w.b_person_name}),
            Call("B number", query={"q": n}, expect_json=[]),
            Call(
                "B number, removed too", query={"q": n, "include_removed": "true"}, expect_json=[]
            ),
            Call("bogus", query={"q": BOGUS_NUMBER}, expect_json=[]),
        ],
        ("GET", "/api/persons/{addressee_number}"): [
            Call("B person", {"addressee_number": n}, expect=not_found),
            Call("bogus", {"addressee_number": BOGUS_NUMBER}, expect=not_found),
        ],
        ("GET", "/api/persons/{addressee_number}/history"): [
            Call("B person", {"addressee_number": n}, expect=not_found),
            Call("bogus", {"addressee_number": BOGUS_NUMBER}, expect=not_found),
        ],
        ("GET", "/api/households/{household_number}"): [
            Call("B household", {"household_number": h}, expect_json=[]),
            Call("B household on", {"household_number": h}, {"on": str(TODAY)}, expect_json=[]),
            Call("bogus", {"household_number": BOGUS_NUMBER}, expect_json=[]),
        ],
        ("GET", "/api/addresses/residents"): [
            Call("B address", query={"address": w.b_address, "on": str(TODAY)}, expect_json=[]),
            Call("bogus", query={"address": "どこにもない1番地", "on": str(TODAY)}, expect_json=[]),
        ],
        ("POST", "/api/events"): [
            Call("death of B person", json=_removal(n), expect=refused),
            Call("birth into B household", json=_birth(h), expect=refused),
            Call("bogus", json=_removal(BOGUS_NUMBER), expect=refused),
        ],
        ("POST", "/api/applications"): [
            # normal mode: applications are recorded as events, not received as pending
            Call("B person", json={"kind": "death", "addressee_number": n}, expect=refused),
        ],
        ("GET", "/api/clerks"): [Call("list")],
        ("POST", "/api/clerks"): [
            Call(
                "new clerk",
                json={
                    "staff_number": NEW_STAFF,
                    "name": "新任\u3000職員",
                    "roles": ["counter_clerk"],
                    "password": "new-clerk-pass-1",
                },
                expect=frozenset({201}),
            ),
            Call(
                "duplicate",
                json={
                    "staff_number": NEW_STAFF,
                    "name": "重複\u3000職員",
                    "roles": ["counter_clerk"],
                    "password": "new-clerk-pass-2",
                },
                expect=refused,
            ),
        ],
        ("POST", "/api/clerks/{staff_number}/unlock"): [
            Call("B clerk", {"staff_number": STAFF_B}, expect=not_found),
            Call("bogus", {"staff_number": BOGUS_STAFF}, expect=not_found),
        ],
        ("GET", "/api/audit/verify"): [Call("verify")],
        ("GET", "/api/audit/who-viewed/{addressee_number}"): [
            Call("B person", {"addressee_number": n}, expect_json=[]),
            Call("bogus", {"addressee_number": BOGUS_NUMBER}, expect_json=[]),
        ],
        ("GET", "/api/audit/by-clerk/{staff_number}"): [
            Call("B clerk", {"staff_number": STAFF_B}),
            # (A's own audit lists the refused switch attempts made above with these numbers)
            Call("bogus", {"staff_number": BOGUS_STAFF}),
        ],
        ("POST", "/api/certificates"): [
            Call("B person", json={"kind": "resident", "addressee_number": n}, expect=not_found),
            Call(
                "bogus", json={"kind": "seal", "addressee_number": BOGUS_NUMBER}, expect=not_found
            ),
            # the town's own list: town A's residents only
            Call(
                "all residents",
                query={"purpose": "安否確認"},
                json={"kind": "all_residents"},
            ),
        ],
        ("GET", "/api/persons/{addressee_number}/issuances"): [
            Call("B person", {"addressee_number": n}, expect=not_found),
            Call("bogus", {"addressee_number": BOGUS_NUMBER}, expect=not_found),
        ],
        ("GET", "/api/all-residents.csv"): [Call("csv", query={"purpose": "安否確認"})],
        ("GET", "/addressees"): [
            Call("empty"),
            Call("B name", query={"q": w.b_person_name}),
            Call("B number", query={"q": n}),
        ],
        ("POST", "/addressees"): [
            Call(
                "refused", form={"kind": "person", "name": "", "reason": "その他"}, expect=refused
            ),
        ],
        ("GET", "/addressees/{number}"): [
            Call("B person", {"number": n}, expect=not_found),
            Call("bogus", {"number": BOGUS_NUMBER}, expect=not_found),
        ],
        ("POST", "/addressees/{number}"): [
            Call(
                "B person",
                {"number": n},
                form={
                    "action": "mailing",
                    "area": "taxation",
                    "send_name": "x",
                    "send_address": "y",
                },
                expect=not_found,
            ),
            Call(
                "bogus",
                {"number": BOGUS_NUMBER},
                form={"action": "link", "resident": n, "reason": "x"},
                expect=not_found,
            ),
        ],
        ("GET", "/parameters"): [Call("page")],
        ("POST", "/parameters"): [
            Call(
                "set",
                form={
                    "key": "seals.min_age",
                    "value": "15",
                    "effective_from": "2099-04-01",
                    "source": "条例",
                    "reason": "試験",
                },
                expect=started,
            ),
            Call("bogus key", form={"key": "nothing.here", "value": "1"}, expect=refused),
        ],
        ("GET", "/worklist"): [Call("page"), Call("area", query={"area": "insurance"})],
        ("POST", "/worklist/{code}"): [
            Call(
                "B item",
                {"code": w.b_task},
                form={"area": "insurance", "outcome": "done"},
                expect=not_found,
            ),
            Call(
                "bogus",
                {"code": BOGUS_STAFF},
                form={"area": "insurance", "outcome": "done"},
                expect=not_found,
            ),
        ],
        ("GET", "/api/persons/{addressee_number}/seal"): [
            Call("B person", {"addressee_number": n}, expect=not_found),
            Call("bogus", {"addressee_number": BOGUS_NUMBER}, expect=not_found),
        ],
        ("POST", "/api/persons/{addressee_number}/seal"): [
            Call("B person", {"addressee_number": n}, files=_impression(), expect=not_found),
            Call(
                "bogus", {"addressee_number": BOGUS_NUMBER}, files=_impression(), expect=not_found
            ),
        ],
        ("POST", "/api/persons/{addressee_number}/seal/abolish"): [
            Call("B person", {"addressee_number": n}, json={"reason": "亡失"}, expect=not_found),
            Call(
                "bogus",
                {"addressee_number": BOGUS_NUMBER},
                json={"reason": "亡失"},
                expect=not_found,
            ),
        ],
        ("POST", "/persons/{addressee_number}/seal"): [
            Call("B person", {"addressee_number": n}, files=_impression(), expect=not_found),
            Call(
                "bogus", {"addressee_number": BOGUS_NUMBER}, files=_impression(), expect=not_found
            ),
        ],
        ("POST", "/persons/{addressee_number}/seal/abolish"): [
            # refused on the person page, which does not exist in town A: 404
            Call("B person", {"addressee_number": n}, form={"reason": "亡失"}, expect=not_found),
            Call(
                "bogus",
                {"addressee_number": BOGUS_NUMBER},
                form={"reason": "亡失"},
                expect=not_found,
            ),
        ],
        # pages
        ("POST", "/logout"): [Call("logout", fresh_session=True, expect=frozenset({303}))],
        ("GET", "/switch"): [Call("page")],
        ("POST", "/switch"): [
            # a refused switch shows the form again with the error (200), session unchanged
            Call("B clerk", form={"staff_number": STAFF_B, "pin": PIN_B}),
            Call("bogus", form={"staff_number": BOGUS_STAFF, "pin": "0000"}),
        ],
        ("GET", "/"): [
            Call("empty"),
            Call("B name", query={"q": w.b_person_name, "include_removed": "true"}),
            Call("B number", query={"q": n}),
        ],
        ("GET", "/persons/{addressee_number}"): [
            Call("B person", {"addressee_number": n}, expect=not_found),
            Call("bogus", {"addressee_number": BOGUS_NUMBER}, expect=not_found),
        ],
        # the counter screen (docs/ui.md)
        ("POST", "/persons/{addressee_number}/certificates"): [
            Call("B person", {"addressee_number": n}, form={"kind": "resident"}, expect=not_found),
            Call(
                "bogus", {"addressee_number": BOGUS_NUMBER}, form={"kind": "seal"}, expect=not_found
            ),
        ],
        ("GET", "/persons/{addressee_number}/certificates/{code}"): [
            Call("B person", {"addressee_number": n, "code": BOGUS_NUMBER}, expect=not_found),
            Call("bogus", {"addressee_number": BOGUS_NUMBER, "code": n}, expect=not_found),
        ],
        ("GET", "/events"): [
            Call("B person", query={"kind": "move_within", "person": n}, expect=not_found),
            Call("B person, birth", query={"kind": "birth", "person": n}, expect=not_found),
            Call(
                "B person, head change",
                query={"kind": "head_change", "person": n},
                expect=not_found,
            ),
            Call(
                "B person, correction", query={"kind": "correction", "person": n}, expect=not_found
            ),
            # 転入届 names no person: the town's own empty form
            Call("move-in form", query={"kind": "domestic_move_in"}),
            Call("bogus", query={"kind": "death", "person": BOGUS_NUMBER}, expect=not_found),
        ],
        ("POST", "/events"): [
            Call(
                "death of B person",
                form={"kind": "death", "person": n, "members": n, "effective_date": str(TODAY)},
                expect=not_found,
            ),
            Call(
                "move of B person",
                form={
                    "kind": "move_within",
                    "person": n,
                    "members": n,
                    "effective_date": str(TODAY),
                    "address": w.b_address,
                },
                expect=not_found,
            ),
            Call(
                "birth into B person's household",
                form={
                    "kind": "birth",
                    "person": n,
                    "name": "試験\u3000赤子",
                    "birth_date": str(TODAY),
                    "sex": "2",
                    "relationship": "子",
                },
                expect=not_found,
            ),
            Call(
                "head change of B person's household",
                form={
                    "kind": "head_change",
                    "person": n,
                    "head": n,
                    f"rel_{n}": "世帯主",
                    "effective_date": str(TODAY),
                },
                expect=not_found,
            ),
            Call(
                "correction of B person",
                form={
                    "kind": "correction",
                    "person": n,
                    "kana": "シュウセイ",
                    "reason": "誤記",
                    "effective_date": str(TODAY),
                },
                expect=not_found,
            ),
            Call(
                "bogus",
                form={"kind": "death", "person": BOGUS_NUMBER, "effective_date": str(TODAY)},
                expect=not_found,
            ),
        ],
        # 申請受付 (normal mode here: no form, receiving is refused)
        ("GET", "/applications"): [Call("page"), Call("received", query={"received": n})],
        ("POST", "/applications"): [
            Call("B person", form={"kind": "death", "addressee_number": n}, expect=refused),
            Call("bogus", form={"kind": "other", "addressee_number": BOGUS_NUMBER}, expect=refused),
        ],
        # 職員と役割
        ("GET", "/clerks"): [Call("page"), Call("created", query={"created": STAFF_B})],
        ("POST", "/clerks"): [
            Call(
                "new clerk",
                form={
                    "staff_number": NEW_PAGE_STAFF,
                    "name": "画面\u3000職員",
                    "roles": "auditor",
                    "password": "new-clerk-pass-3",
                },
                expect=frozenset({303}),
            ),
            Call(
                "duplicate",
                form={
                    "staff_number": NEW_PAGE_STAFF,
                    "name": "重複\u3000職員",
                    "roles": "auditor",
                    "password": "new-clerk-pass-5",
                },
                expect=refused,
            ),
        ],
        ("POST", "/clerks/{staff_number}/unlock"): [
            Call("B clerk", {"staff_number": STAFF_B}, expect=not_found),
            Call("bogus", {"staff_number": BOGUS_STAFF}, expect=not_found),
        ],
        # 取り込みと出力
        ("GET", "/interchange"): [Call("page")],
        ("POST", "/interchange/import"): [
            Call("no file", form={"encoding": "auto"}, expect=refused),
        ],
        ("GET", "/interchange/jobs/{job_id}"): [
            Call("B job", {"job_id": w.b_job}, expect=not_found),
            Call("bogus", {"job_id": BOGUS_NUMBER}, expect=not_found),
        ],
        ("GET", "/interchange/jobs/{job_id}/rejected.csv"): [
            Call("B job", {"job_id": w.b_job}, expect=not_found),
            Call("bogus", {"job_id": BOGUS_NUMBER}, expect=not_found),
        ],
        ("POST", "/interchange/exports"): [
            Call("residents", form={"what": "residents", "encoding": "utf-8"}, expect=started),
            # one export per town at a time: the first may still be running (409)
            Call(
                "layouts",
                form={"what": "layouts", "encoding": "cp932"},
                expect=started | frozenset({409}),
            ),
            Call("bogus", form={"what": "everything", "encoding": "utf-8"}, expect=refused),
        ],
        ("GET", "/interchange/exports/{job_id}"): [
            Call("B job", {"job_id": w.b_export}, expect=not_found),
            Call("bogus", {"job_id": BOGUS_NUMBER}, expect=not_found),
        ],
        ("GET", "/interchange/exports/{job_id}/download"): [
            Call("B job", {"job_id": w.b_export}, expect=not_found),
            Call("bogus", {"job_id": BOGUS_NUMBER}, expect=not_found),
        ],
        # 安否確認: a list naming town B's resident is matched against town A only
        ("GET", "/safety"): [Call("page")],
        ("POST", "/safety"): [
            Call(
                "B person's name",
                files={
                    "evacuees": (
                        "e.csv",
                        f"受付番号,氏名,住所\r\n1,{w.b_person_name},{w.b_address}\r\n".encode(),
                        "text/csv",
                    )
                },
            ),
            Call("no file", expect=refused),
        ],
        ("GET", "/safety/matches/{result_id}.csv"): [
            Call("B result", {"result_id": w.b_result}, expect=not_found),
            Call("bogus", {"result_id": BOGUS_NUMBER}, expect=not_found),
        ],
        # 安否台帳: town B's resident is never reached from town A
        ("GET", "/safety/ledger"): [Call("page")],
        ("POST", "/safety/ledger/import"): [
            Call(
                "B person's name",
                files={
                    "evacuees": (
                        "e.csv",
                        f"受付番号,氏名,住所\r\n1,{w.b_person_name},{w.b_address}\r\n".encode(),
                        "text/csv",
                    )
                },
            ),
            Call("no file", expect=refused),
        ],
        ("POST", "/safety/ledger/reports/{report_id}"): [
            Call("B row", {"report_id": w.b_report}, form={"person": "visitor"}, expect=not_found),
            Call(
                "bogus", {"report_id": BOGUS_NUMBER}, form={"person": "visitor"}, expect=not_found
            ),
            Call("nobody chosen", {"report_id": BOGUS_NUMBER}, form={}, expect=refused),
        ],
        ("POST", "/safety/ledger/status"): [
            Call(
                "B person",
                form={"person": w.b_person, "status": "無事", "location_kind": "自宅"},
                expect=not_found,
            ),
            Call(
                "bogus status",
                form={"person": w.b_person, "status": "元気", "location_kind": "自宅"},
                expect=refused,
            ),
        ],
        # 被災者台帳: town B's household and disaster are never reached from town A
        ("GET", "/safety/victims"): [Call("page"), Call("B disaster", query={"disaster": "B-01"})],
        ("POST", "/safety/victims/disasters"): [
            Call(
                "A",
                form={"code": "A-01", "name": "試験災害", "occurred_on": "2026-11-20"},
                expect=started,
            ),
            Call(
                "bad date",
                form={"code": "A-02", "name": "x", "occurred_on": "昨日"},
                expect=refused,
            ),
        ],
        ("POST", "/safety/victims/{code}/surveys"): [
            Call(
                "B disaster",
                {"code": "B-01"},
                form={
                    "household_number": w.b_household,
                    "damage_percent": "60",
                    "surveyed_on": "2026-11-22",
                    "surveyor": "班",
                },
                expect=not_found,
            ),
            Call(
                "B household",
                {"code": "A-01"},
                form={
                    "household_number": w.b_household,
                    "damage_percent": "60",
                    "surveyed_on": "2026-11-22",
                    "surveyor": "班",
                },
                expect=not_found,
            ),
            Call(
                "bogus",
                {"code": BOGUS_NUMBER},
                form={
                    "household_number": BOGUS_NUMBER,
                    "damage_percent": "60",
                    "surveyed_on": "2026-11-22",
                    "surveyor": "班",
                },
                expect=not_found,
            ),
        ],
        ("POST", "/safety/victims/{code}/support"): [
            Call(
                "B disaster",
                {"code": "B-01"},
                form={
                    "household_number": w.b_household,
                    "kind": "基礎支援金",
                    "applied_on": "2026-11-25",
                },
                expect=not_found,
            ),
            Call(
                "B household",
                {"code": "A-01"},
                form={
                    "household_number": w.b_household,
                    "kind": "基礎支援金",
                    "applied_on": "2026-11-25",
                },
                expect=refused | not_found,
            ),
            Call(
                "bogus",
                {"code": BOGUS_NUMBER},
                form={
                    "household_number": BOGUS_NUMBER,
                    "kind": "基礎支援金",
                    "applied_on": "2026-11-25",
                },
                expect=not_found,
            ),
        ],
        ("POST", "/safety/victims/grants/{grant_id}"): [
            Call(
                "B grant",
                {"grant_id": w.b_grant},
                form={"outcome": "granted", "decided_on": "2026-11-26"},
                expect=not_found,
            ),
            Call(
                "bogus",
                {"grant_id": BOGUS_NUMBER},
                form={"outcome": "granted", "decided_on": "2026-11-26"},
                expect=not_found,
            ),
        ],
        ("POST", "/safety/victims/identity"): [
            Call(
                "B person",
                form={"name": w.b_person_name, "birth": "1970-01-01", "address": w.b_address},
            ),
        ],
        ("GET", "/safety/ledger/list"): [
            Call("csv", query={"format": "csv"}),
            Call("unaccounted pdf", query={"format": "pdf", "unaccounted": "1"}),
            Call("bogus format", query={"format": "txt"}, expect=refused),
        ],
        **_election_calls(w),
        ("GET", "/audit"): [
            Call("page"),
            Call("B person", query={"person": n}),
            Call("B clerk", query={"clerk": STAFF_B}),
            Call("bogus", query={"person": BOGUS_NUMBER}),
        ],
    }


def _election_calls(w: World) -> dict[tuple[str, str], list[Call]]:
    """選挙: town A has its own 投票区 A1 and election; everything of town B is 404 or
    refused, never shown."""
    not_found, refused = frozenset({404}), frozenset({422})
    created, started = frozenset({201}), frozenset({303})
    b_run, b_election, b_ticket = w.b_run, w.b_election, w.b_ticket
    election = {
        "code": "a-2028",
        "name": "町議会議員選挙",
        "national": False,
        "polling_day": "2028-04-09",
        "reference_date": "2028-04-03",
        "registration_date": "2028-04-04",
        "early_from": "2028-04-04",
    }
    inspection = {
        "purpose": "public_research",
        "applicant": "大学",
        "viewers": ["研究 一郎"],
        "reason": "研究",
        "polling_code": "B1",
    }
    checkin = {"station": "B1S", "code": b_ticket}
    return {
        ("GET", "/api/elections"): [Call("list")],
        ("POST", "/api/elections"): [
            Call("new", json=election, expect=created),
            Call(
                "bad dates",
                json={**election, "code": "x", "early_from": "2029-01-01"},
                expect=refused,
            ),
        ],
        ("GET", "/api/elections/polling-districts"): [Call("list")],
        ("POST", "/api/elections/polling-districts"): [
            Call("new", json={"code": "A2", "name": "第2投票区"}, expect=created),
            Call("bogus", json={"code": "", "name": ""}, expect=refused),
        ],
        ("POST", "/api/elections/polling-areas"): [
            Call("B district", json={"area": "大字どこか", "polling_code": "B1"}, expect=refused),
        ],
        ("POST", "/api/elections/registration-runs"): [
            Call("December", json={"reference_date": "2026-12-01"}, expect=created),
            Call("B election", json={"election": b_election}, expect=not_found),
        ],
        ("POST", "/api/elections/registration-runs/{run_code}/fix"): [
            Call("B run", {"run_code": b_run}, expect=not_found),
            Call("bogus", {"run_code": BOGUS_STAFF}, expect=not_found),
        ],
        ("POST", "/api/elections/registration-runs/{run_code}/discard"): [
            Call("B run", {"run_code": b_run}, expect=not_found),
            Call("bogus", {"run_code": BOGUS_STAFF}, expect=not_found),
        ],
        ("GET", "/api/elections/roll/{polling_code}.{fmt}"): [
            Call("A district", {"polling_code": "A1", "fmt": "pdf"}),
            Call("B district", {"polling_code": "B1", "fmt": "csv"}, expect=not_found),
            Call("bogus format", {"polling_code": "A1", "fmt": "xls"}, expect=refused),
            Call("bogus", {"polling_code": BOGUS_STAFF, "fmt": "csv"}, expect=not_found),
        ],
        ("POST", "/api/elections/{election_code}/stations"): [
            Call(
                "B election",
                {"election_code": b_election},
                json={"code": "X", "name": "x"},
                expect=not_found,
            ),
            Call(
                "bogus",
                {"election_code": BOGUS_STAFF},
                json={"code": "X", "name": "x"},
                expect=not_found,
            ),
        ],
        ("POST", "/api/elections/{election_code}/checkins"): [
            Call("B election", {"election_code": b_election}, json=checkin, expect=not_found),
            Call(
                "B voter",
                {"election_code": A_ELECTION},
                json={"station": "A1S", "code": b_ticket},
                expect=not_found,
            ),
            Call("bogus", {"election_code": BOGUS_STAFF}, json=checkin, expect=not_found),
        ],
        ("GET", "/api/elections/{election_code}/turnout"): [
            Call("A election", {"election_code": A_ELECTION}),
            Call("B election", {"election_code": b_election}, expect=not_found),
            Call("bogus", {"election_code": BOGUS_STAFF}, expect=not_found),
        ],
        ("POST", "/api/elections/inspections"): [
            Call("B district", json=inspection, expect=refused),
        ],
        ("POST", "/api/elections/juror-draws"): [
            Call("empty roll", json={"year": 2027, "count": 1}, expect=refused),
        ],
        ("GET", "/elections"): [Call("page")],
        ("POST", "/elections"): [
            Call("new", form={**election, "code": "a-2029", "national": ""}, expect=started),
            Call("no dates", form={"code": "y", "name": "y"}, expect=refused),
        ],
        ("POST", "/elections/polling-districts"): [
            Call("new", form={"code": "A3", "name": "第3投票区"}, expect=started),
        ],
        ("POST", "/elections/polling-areas"): [
            Call("B district", form={"area": "大字", "polling_code": "B1"}, expect=refused),
        ],
        ("POST", "/elections/registration-runs"): [
            Call("December", form={"reference_date": "令和8年12月1日"}, expect=started),
            Call("bogus date", form={"reference_date": "12月1日"}, expect=refused),
        ],
        ("POST", "/elections/registration-runs/{run_code}/{action}"): [
            Call("B run", {"run_code": b_run, "action": "fix"}, expect=not_found),
            Call("bogus action", {"run_code": b_run, "action": "erase"}, expect=not_found),
            Call("bogus", {"run_code": BOGUS_STAFF, "action": "fix"}, expect=not_found),
        ],
        ("POST", "/elections/inspections"): [
            Call("B district", form={**inspection, "viewers": "研究 一郎"}, expect=refused),
        ],
        ("POST", "/elections/juror-draws"): [
            Call("empty roll", form={"year": "2027", "count": "1"}, expect=refused),
        ],
        ("GET", "/elections/{code}"): [
            Call("A election", {"code": A_ELECTION}),
            Call("B election", {"code": b_election}, expect=not_found),
            Call("bogus", {"code": BOGUS_STAFF}, expect=not_found),
        ],
        ("POST", "/elections/{code}/stations"): [
            Call(
                "B election",
                {"code": b_election},
                form={"station": "X", "name": "x"},
                expect=not_found,
            ),
            Call("bogus", {"code": BOGUS_STAFF}, form={"station": "X"}, expect=not_found),
        ],
        ("POST", "/elections/{code}/tickets"): [
            Call("B election", {"code": b_election}, expect=not_found),
            Call("bogus", {"code": BOGUS_STAFF}, expect=not_found),
        ],
        ("GET", "/elections/notices/{run_code}/{file_name}"): [
            Call(
                "B file",
                {"run_code": w.b_notice_run, "file_name": w.b_notice_file},
                expect=not_found,
            ),
            Call("bogus", {"run_code": BOGUS_STAFF, "file_name": "x.pdf"}, expect=not_found),
        ],
        ("GET", "/elections/{code}/checkin/{station}"): [
            Call("A station", {"code": A_ELECTION, "station": "A1S"}),
            Call("B station", {"code": A_ELECTION, "station": "B1S"}, expect=not_found),
            Call("B election", {"code": b_election, "station": "B1S"}, expect=not_found),
            Call("bogus", {"code": BOGUS_STAFF, "station": "A1S"}, expect=not_found),
        ],
        ("POST", "/elections/{code}/checkin/{station}"): [
            Call(
                "B voter",
                {"code": A_ELECTION, "station": "A1S"},
                form={"scanned": b_ticket},
                expect=not_found,
            ),
            Call(
                "B election",
                {"code": b_election, "station": "B1S"},
                form={"scanned": b_ticket},
                expect=not_found,
            ),
            Call(
                "bogus",
                {"code": BOGUS_STAFF, "station": "A1S"},
                form={"scanned": "E0000000000"},
                expect=frozenset({404, 422}),
            ),
        ],
    }


def _all_calls(w: World) -> Iterator[tuple[str, str, Call]]:
    for (method, template), calls in route_calls(w).items():
        for call in calls:
            yield method, template, call


def _send(
    client: TestClient, method: str, template: str, call: Call, token: str | None
) -> Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs: dict[str, Any] = {"params": call.query, "headers": headers}
    if call.json is not None:
        kwargs["json"] = call.json
    if call.form is not None:
        kwargs["data"] = call.form
    if call.files is not None:
        kwargs["files"] = call.files
    return client.request(method, call.url(template), **kwargs)


def _leaks(response: Response, markers: frozenset[str], sent: set[str]) -> list[str]:
    """Markers found in the body or headers (values the request itself sent are echoes).
    A PDF is searched by its text: its raw bytes hold 10-digit cross-reference offsets
    ("0000004219 00000 n") that look like a 宛名番号."""
    body = response.text
    if response.headers.get("content-type", "").startswith("application/pdf"):
        from pdf_tools import extract_text  # noqa: PLC0415

        body = extract_text(response.content)
    text = body + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return sorted(m for m in markers - sent if m in text)


# --------------------------------------------------------------------------- tests


def test_every_route_is_exercised(world: World) -> None:
    """A new route must be added to route_calls() (and so to both checks below)."""
    authed, public = discovered_routes(world.app)
    assert ("GET", "/api/persons/{addressee_number}") in authed  # discovery sees routers
    known = set(route_calls(world))
    assert authed == known, (
        f"routes not exercised by this test: {sorted(authed - known)}; "
        f"listed here but gone from the app: {sorted(known - authed)}"
    )
    # the node operator's page has no clerk session: it is authorised by the node's token
    # (tests below and tests/test_pages_admin.py)
    assert {p for _, p in public} <= PUBLIC_PATHS | NODE_OPERATOR_PATHS
    assert ("POST", "/api/login") in public
    assert ("POST", "/login") in public


def test_route_table_has_real_and_bogus_values(world: World) -> None:
    """Every route with a path parameter is called with a real town B value and a bogus one."""
    for (_method, template), calls in route_calls(world).items():
        if "{" not in template:
            continue
        used = {v for c in calls for v in c.path.values()}
        real = {
            world.b_person,
            world.b_household,
            STAFF_B,
            world.b_job,
            world.b_export,
            world.b_result,
            world.b_task,
            world.b_election,
            world.b_run,
            world.b_notice_run,
            world.b_report,
            world.b_grant,
            "B-01",  # town B's disaster
            "B1",  # town B's 投票区
        }
        assert used & real, template
        assert used & {BOGUS_NUMBER, BOGUS_STAFF}, template


@pytest.mark.parametrize(
    "credentials", ["none", "garbage bearer", "garbage cookie", "revoked token", "empty bearer"]
)
def test_without_a_session_every_route_refuses(world: World, credentials: str) -> None:
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    if credentials == "garbage bearer":
        headers["Authorization"] = "Bearer not-a-real-token"
    elif credentials == "garbage cookie":
        cookies["lgcloud_session"] = "not-a-real-token"
    elif credentials == "revoked token":
        headers["Authorization"] = f"Bearer {world.revoked_token}"
    elif credentials == "empty bearer":
        headers["Authorization"] = "Bearer "
    with TestClient(world.app, follow_redirects=False, headers=headers, cookies=cookies) as c:
        for method, template, call in _all_calls(world):
            r = _send(c, method, template, call, token=None)
            where = f"{method} {template} [{call.label}] -> {r.status_code}"
            assert not 200 <= r.status_code < 300, where
            if template.startswith("/api/"):
                assert r.status_code == 401, where
                assert r.json() == UNAUTHENTICATED_JSON, where
            else:
                assert r.status_code == 303, where
                assert r.headers["location"] == "/login", where
                assert r.text == "", where
            assert not _leaks(r, world.all_markers, call.values()), where
            assert "set-cookie" not in r.headers, where


def test_clerk_of_town_a_never_sees_town_b(world: World) -> None:
    def counts(code: str) -> tuple[int, int, int]:
        with world.platform.town(code) as town:
            s = town.session
            return (
                s.scalar(select(func.count()).select_from(PersonVersion)) or 0,
                s.scalar(select(func.max(AuditEntry.seq))) or 0,
                s.scalar(select(func.max(JournalEntry.seq))) or 0,
            )

    b_before = counts(TOWN_B)
    sent: set[str] = set()
    with TestClient(world.app, follow_redirects=False) as c:
        for method, template, call in _all_calls(world):
            token = _login(c, TOWN_A, STAFF_A, PASSWORD_A) if call.fresh_session else world.token_a
            r = _send(c, method, template, call, token)
            sent |= call.values()
            where = f"{method} {template} [{call.label}] -> {r.status_code} {r.text[:300]}"
            assert r.status_code in call.expect, where
            if call.expect_json is not None:
                assert r.json() == call.expect_json, where
            assert not _leaks(r, world.b_markers, sent), where
            if r.status_code == 303:
                location = r.headers["location"]
                # a job started by the call: its own page (town A's, new)
                job = re.fullmatch(r"/interchange/exports/[A-Za-z0-9_-]+", location)
                assert location in ("/", "/login", *PAGE_REDIRECTS) or job, where

        # The refused switches left the session with the same clerk of town A.
        me = c.get("/api/me", headers={"Authorization": f"Bearer {world.token_a}"})
        assert me.status_code == 200
        assert me.json()["staff_number"] == STAFF_A
        assert me.json()["town_code"] == TOWN_A

    # Nothing was written to town B: no version, no audit entry, no journal entry.
    assert counts(TOWN_B) == b_before


@pytest.mark.parametrize(
    "template",
    ["/api/persons/{n}", "/api/persons/{n}/history", "/persons/{n}"],
)
def test_town_b_addressee_number_is_not_found_in_town_a(world: World, template: str) -> None:
    with TestClient(world.app, follow_redirects=False) as c:
        auth = {"Authorization": f"Bearer {world.token_a}"}
        r = c.get(template.format(n=world.b_person), headers=auth)
        assert r.status_code == 404
        assert world.b_person_name not in r.text
        # and the same number is found by a clerk of town B (so the 404 is about the town)
        token_b = _login(c, TOWN_B, STAFF_B, PASSWORD_B)
        rb = c.get(
            template.format(n=world.b_person), headers={"Authorization": f"Bearer {token_b}"}
        )
        assert rb.status_code == 200
        assert world.b_person_name in rb.text


def test_public_routes_show_no_resident_data(world: World) -> None:
    with TestClient(world.app, follow_redirects=False) as c:
        for path in ("/health", "/login", "/openapi.json", "/docs", "/redoc"):
            r = c.get(path)
            assert r.status_code == 200, path
            assert not _leaks(r, world.all_markers, set()), path


def _schema_names(schema: Any, components: dict[str, Any], seen: set[str]) -> set[str]:
    """Property names of a JSON schema, following $ref, unions and arrays."""
    names: set[str] = set()
    if isinstance(schema, list):
        for s in schema:
            names |= _schema_names(s, components, seen)
        return names
    if not isinstance(schema, dict):
        return names
    ref = schema.get("$ref")
    if isinstance(ref, str):
        key = ref.rsplit("/", 1)[-1]
        if key not in seen:
            seen.add(key)
            names |= _schema_names(components.get(key, {}), components, seen)
    for prop, sub in (schema.get("properties") or {}).items():
        names.add(prop)
        names |= _schema_names(sub, components, seen)
    for key in ("anyOf", "oneOf", "allOf", "items", "additionalProperties"):
        if key in schema:
            names |= _schema_names(schema[key], components, seen)
    return names


TENANT_NAMES = {"town", "town_code", "towncode", "x_town", "x_town_code", "tenant"}


def test_no_route_takes_the_town_from_the_client(world: World) -> None:
    """The tenant comes from the login only: no authenticated route has a town parameter."""
    with TestClient(world.app) as c:
        spec = c.get("/openapi.json").json()
    components = spec.get("components", {}).get("schemas", {})
    login_bodies: dict[str, set[str]] = {}
    node_operator: dict[str, set[str]] = {}
    checked = 0
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            params = {p["name"] for p in op.get("parameters", [])}
            body: set[str] = set()
            for media in (op.get("requestBody") or {}).get("content", {}).values():
                body |= _schema_names(media.get("schema", {}), components, set())
            norm = {x.lower().replace("-", "_") for x in params}
            where = f"{method.upper()} {path}"
            assert not norm & TENANT_NAMES, f"{where} takes a town parameter: {params}"
            if path in ("/api/login", "/login") and method == "post":
                login_bodies[path] = body
                continue
            if path in NODE_OPERATOR_PATHS:
                # no clerk session: the node's operator (node token) acts on the towns the
                # sites file gives this node; a clerk never reaches these routes
                node_operator[where] = norm | {x.lower() for x in body}
                continue
            assert not {x.lower() for x in body} & TENANT_NAMES, f"{where} body has a town"
            checked += 1
    # The walk really reads bodies: the login forms do name the town.
    assert "town_code" in login_bodies["/api/login"]
    assert "town_code" in login_bodies["/login"]
    assert "town" in node_operator["POST /node/activate"]
    assert checked >= 20


def test_node_operator_routes_are_absent_on_a_plain_app(world: World) -> None:
    """Without a NodeService (the centre, a plain platform) the node operator's routes answer
    404 to everyone, with or without a clerk session, and show nothing of any town.
    On a node they need the node's token (tests/test_pages_admin.py)."""
    calls: list[tuple[str, str, dict[str, str] | None]] = [
        ("GET", "/node", None),
        ("POST", "/node/login", {"token": "guess"}),
        ("POST", "/node/logout", None),
        ("POST", "/node/activate", {"town": TOWN_B, "key_text": "AGE-SECRET-KEY-1"}),
        ("POST", "/node/down-recovery", {"town": TOWN_A}),
        ("POST", "/node/stop", {"town": TOWN_B}),
    ]
    assert {p for _, p, _ in calls} == NODE_OPERATOR_PATHS
    with TestClient(world.app, follow_redirects=False) as c:
        for token in (None, world.token_a):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            for method, path, form in calls:
                r = c.request(method, path, data=form, headers=headers)
                where = f"{method} {path} -> {r.status_code}"
                assert r.status_code == 404, where
                assert "set-cookie" not in r.headers, where
                assert not _leaks(r, world.all_markers, set((form or {}).values())), where
