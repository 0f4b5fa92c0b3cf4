"""The counter screen's routes in-process (the browser flows are in tests/e2e/)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import TODAY, TOWN_A, add_clerks, make_platform, page_client
from lgcloud.auth.roles import Role
from lgcloud.generate.town import generate_town
from lgcloud.interface.ui import PreviewStore
from lgcloud.onboarding import onboard_town
from lgcloud.register.models import PersonVersion
from lgcloud.web.app import create_app

PASSWORD = "pages-pass-1"
CLERKS = {
    "C1": ({Role.COUNTER_CLERK}, "1111"),
    "C2": ({Role.COUNTER_CLERK}, "2222"),
    "S1": ({Role.BUSINESS_STAFF}, "3333"),
    "A1": ({Role.AUDITOR}, "4444"),
}


@dataclass
class World:
    app: object
    person: str
    household_size: int


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    platform = make_platform(Path(tmp_path_factory.mktemp("pages")) / "data")
    onboard_town(platform, TOWN_A, "聖籠町", kana="セイロウマチ", prefecture="新潟県")
    generate_town(platform, TOWN_A, residents=120, seed=5, today=TODAY)
    add_clerks(
        platform,
        TOWN_A,
        {staff: roles for staff, (roles, _) in CLERKS.items()},
        PASSWORD,
        pins={staff: pin for staff, (_, pin) in CLERKS.items()},
    )
    with platform.town(TOWN_A) as town:
        person = town.session.scalars(
            select(PersonVersion.addressee_number).where(
                PersonVersion.is_current.is_(True), PersonVersion.status == "resident"
            )
        ).first()
    assert person
    yield World(create_app(platform), person, 1)
    platform.dispose()


def client(w: World, staff: str) -> TestClient:
    return page_client(w.app, staff, PASSWORD)


HX = {"HX-Request": "true"}


def test_search_as_you_type_answers_the_list_only(world: World) -> None:
    c = client(world, "C1")
    full = c.get("/", params={"q": world.person})
    assert "<html" in full.text and world.person in full.text
    part = c.get("/", params={"q": world.person}, headers={**HX, "HX-Target": "results"})
    assert part.status_code == 200
    assert "<html" not in part.text
    assert part.text.lstrip().startswith('<section id="results"')
    assert world.person in part.text


def test_issue_preview_is_only_for_the_issuing_session_and_clerk(world: World) -> None:
    c = client(world, "C1")
    r = c.post(f"/persons/{world.person}/certificates", data={"kind": "resident"}, headers=HX)
    assert r.status_code == 200, r.text
    assert "<html" not in r.text
    assert 'id="issuances" data-testid="issuances" hx-swap-oob="true"' in r.text
    src = re.search(r'src="(/persons/[^"]+)"', r.text)
    assert src
    pdf = c.get(src.group(1))
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert pdf.headers["x-data-as-of"]
    assert pdf.headers["cache-control"] == "no-store"
    # another session (even of the same clerk) gets nothing
    assert client(world, "C1").get(src.group(1)).status_code == 404
    # after a quick switch on the same terminal, the next clerk gets nothing either
    assert c.post("/switch", data={"staff_number": "C2", "pin": "2222"}).status_code == 303
    assert c.get(src.group(1)).status_code == 404
    # a wrong person in the path: nothing
    other = src.group(1).replace(world.person, "0000000000")
    assert client(world, "C1").get(other).status_code == 404


def test_issue_without_javascript_returns_the_whole_page(world: World) -> None:
    c = client(world, "C1")
    r = c.post(f"/persons/{world.person}/certificates", data={"kind": "resident"})
    assert r.status_code == 200
    assert "<html" in r.text and 'id="pdf-preview"' in r.text


def test_audit_page_needs_the_audit_permission(world: World) -> None:
    assert client(world, "C1").get("/audit").status_code == 403
    a = client(world, "A1")
    r = a.get("/audit", params={"person": world.person})
    assert r.status_code == 200
    assert "監査レポート" in r.text
    home = a.get("/")
    assert "この職員の役割では住民の検索はできません" in home.text


def test_event_form_errors_are_next_to_the_field(world: World) -> None:
    s = client(world, "S1")
    form = s.get("/events", params={"kind": "death", "person": world.person})
    assert form.status_code == 200
    r = s.post(
        "/events",
        data={
            "kind": "death",
            "person": world.person,
            "members": world.person,
            "effective_date": "",
        },
    )
    assert r.status_code == 422
    assert 'data-testid="error-effective_date"' in r.text
    assert 'aria-describedby="err-effective_date"' in r.text
    # a counter clerk may not record events
    assert (
        client(world, "C1")
        .get("/events", params={"kind": "death", "person": world.person})
        .status_code
        == 403
    )


def test_preview_store_expires_and_is_bounded(tmp_path: Path) -> None:
    from lgcloud.interface.ui import Preview  # noqa: PLC0415

    store = PreviewStore(tmp_path / "expired", ttl_s=0.0, max_items=2)
    p = Preview(b"%PDF", "153079", 1, "0000000019", "n", "c1", "住民票の写し", "x", 0.0)
    store.put("tok", p)
    assert (
        store.get("tok", "c1", town_code="153079", clerk_id=1, addressee_number="0000000019")
        is None
    )
    store = PreviewStore(tmp_path / "bounded", max_items=2)
    now = time.time()
    for i, code in enumerate(("a", "b", "c")):  # stored one after another: a is the oldest
        store.put("tok", Preview(b"", "153079", 1, "p", "n", code, "k", "x", now + i))
    assert store.get("tok", "a", town_code="153079", clerk_id=1, addressee_number="p") is None
    assert store.get("tok", "c", town_code="153079", clerk_id=1, addressee_number="p")
