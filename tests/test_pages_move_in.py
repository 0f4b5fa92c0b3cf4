"""The counter screen's 転入届 and 出生届 in-process (the browser flow is in
tests/e2e/test_move_in_ui.py): recorded, foreign-resident items stored and shown, messages
next to the field (a person's next to their row) with nothing stored, read-only refusal,
permission."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from conftest import TODAY, TOWN_A, add_clerks, make_platform, page_client
from lgcloud.auth.roles import Role
from lgcloud.core.clock import today_jst, utcnow
from lgcloud.generate.town import generate_town
from lgcloud.onboarding import onboard_town
from lgcloud.register import queries
from lgcloud.register.models import PersonVersion
from lgcloud.tenancy.models import HostedTown
from lgcloud.tenancy.platform import Platform
from lgcloud.web.app import create_app

PASSWORD = "move-in-pass-1"
CLERKS = {"C1": {Role.COUNTER_CLERK}, "S1": {Role.BUSINESS_STAFF}}


@dataclass
class World:
    app: Any
    platform: Platform
    person: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    platform = make_platform(Path(tmp_path_factory.mktemp("move_in")) / "data")
    onboard_town(platform, TOWN_A, "聖籠町", kana="セイロウマチ", prefecture="新潟県")
    generate_town(platform, TOWN_A, residents=60, seed=7, today=TODAY)
    add_clerks(platform, TOWN_A, CLERKS, PASSWORD, pins="1234")
    with platform.town(TOWN_A) as town:
        person = town.session.scalars(
            select(PersonVersion.addressee_number).where(
                PersonVersion.is_current.is_(True), PersonVersion.status == "resident"
            )
        ).first()
    assert person
    yield World(create_app(platform), platform, person)
    platform.dispose()


def client(w: World, staff: str = "S1") -> TestClient:
    return page_client(w.app, staff, PASSWORD)


def versions(w: World) -> int:
    with w.platform.town(TOWN_A) as town:
        return town.session.scalar(select(func.count()).select_from(PersonVersion)) or 0


def move_in(**overrides: str) -> dict[str, str]:
    today = str(today_jst())
    form = {
        "kind": "domestic_move_in",
        "effective_date": today,
        "notified_date": today,
        "previous_address": "新潟県新潟市中央区学校町通1番町602番地1",
        "address": "聖籠町大字諏訪山1635番地4",
        "address_detail": "",
        "postal_code": "957-0117",
        "district": "諏訪山",
        "p0_name": "転入\u3000一郎",
        "p0_kana": "テンニュウ\u3000イチロウ",
        "p0_birth_date": "1980-04-01",
        "p0_sex": "1",
        "p0_relationship": "世帯主",
        "p1_name": "転入\u3000花子",
        "p1_kana": "テンニュウ\u3000ハナコ",
        "p1_birth_date": "1982-05-02",
        "p1_sex": "2",
        "p1_relationship": "妻",
        # rows 2 and 3 left blank (性別・続柄 as the browser sends them)
        "p2_sex": "",
        "p2_relationship": "",
        "p3_name": "  ",
    }
    form.update(overrides)
    return form


def redirected_person(r: Any) -> str:
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert location.startswith("/persons/") and "?recorded=" in location
    return str(location.split("/persons/")[1].split("?")[0])


def test_search_page_links_to_the_move_in_form(world: World) -> None:
    assert 'href="/events?kind=domestic_move_in"' in client(world).get("/").text
    assert 'data-testid="event-move_in"' not in client(world, "C1").get("/").text
    form = client(world).get("/events", params={"kind": "domestic_move_in"})
    assert form.status_code == 200
    assert 'name="p3_name"' in form.text and 'name="p4_name"' not in form.text
    assert '<details class="foreign" data-testid="p0_foreign">' in form.text  # collapsed
    assert "<option selected>世帯主</option>" in form.text


def test_move_in_of_a_japanese_household(world: World) -> None:
    c = client(world)
    r = c.post("/events", data=move_in())
    head = redirected_person(r)
    assert r.headers["location"].endswith("?recorded=domestic_move_in")
    with world.platform.town(TOWN_A) as town:
        p = queries.get_person(town, head)
        household = queries.current_household(town, p.household_number)
    assert p.name == "転入\u3000一郎" and p.relationship == "世帯主"
    assert p.postal_code == "9570117" and p.district == "諏訪山"
    assert p.previous_address == "新潟県新潟市中央区学校町通1番町602番地1"
    assert p.nationality is None
    assert sorted(m.name for m in household) == ["転入\u3000一郎", "転入\u3000花子"]
    page = c.get(r.headers["location"])
    assert 'data-testid="recorded"' in page.text
    assert 'data-testid="nationality"' not in page.text


def test_move_in_of_a_foreign_resident(world: World) -> None:
    c = client(world)
    expires = str(today_jst() + timedelta(days=700))
    form = move_in(
        kind="foreign_move_in",
        previous_address="ベトナム社会主義共和国ハノイ市",
        p0_name="NGUYEN\u3000VAN AN",
        p0_kana="グエン\u3000ヴァン\u3000アン",
        p0_nationality="ベトナム",
        p0_foreign_category="中長期在留者",
        p0_residence_status="特定技能",
        p0_residence_status_kind="１号",  # full-width, as typed on a Japanese IME
        p0_stay_expires_on=expires,
        p0_residence_card_number="ab12345678cd",
        p1_name="",
        p1_kana="",
        p1_birth_date="",
    )
    head = redirected_person(c.post("/events", data=form))
    with world.platform.town(TOWN_A) as town:
        p = queries.get_person(town, head)
        household = queries.current_household(town, p.household_number)
    assert len(household) == 1
    assert (p.nationality, p.foreign_category, p.residence_status) == (
        "ベトナム",
        "中長期在留者",
        "特定技能1号",
    )
    assert str(p.stay_expires_on) == expires
    assert p.residence_card_number == "AB12345678CD"
    page = c.get(f"/persons/{head}")
    assert "国籍・地域" in page.text
    assert '<dd data-testid="nationality">ベトナム</dd>' in page.text
    assert "特定技能1号" in page.text


def test_birth_joins_the_household(world: World) -> None:
    c = client(world)
    form = c.get("/events", params={"kind": "birth", "person": world.person})
    assert form.status_code == 200
    assert "<option selected>子</option>" in form.text
    assert 'data-testid="foreign"' in form.text and "外国人住民の場合" in form.text
    with world.platform.town(TOWN_A) as town:
        parent = queries.get_person(town, world.person)
    born = str(today_jst())
    r = c.post(
        "/events",
        data={
            "kind": "birth",
            "person": world.person,
            "name": "出生\u3000赤子",
            "kana": "シュッセイ\u3000アカコ",
            "birth_date": born,
            "sex": "2",
            "relationship": "子",
            "notified_date": born,
        },
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/persons/{world.person}?recorded=birth"
    with world.platform.town(TOWN_A) as town:
        household = queries.current_household(town, parent.household_number)
    child = [m for m in household if m.name == "出生\u3000赤子"]
    assert len(child) == 1
    assert str(child[0].birth_date) == born and str(child[0].resident_since) == born
    assert child[0].address == parent.address
    # the person page links to the form
    page = c.get(f"/persons/{world.person}")
    assert f'href="/events?kind=birth&amp;person={world.person}"' in page.text


def test_birth_errors_next_to_the_field(world: World) -> None:
    c = client(world)
    before = versions(world)
    base = {"kind": "birth", "person": world.person, "kana": "", "relationship": "子"}
    # shape: no name, no date, no sex
    r = c.post("/events", data={**base, "name": "", "birth_date": "", "sex": ""})
    assert r.status_code == 422
    for name in ("name", "birth_date", "sex"):
        assert f'data-testid="error-{name}"' in r.text, name
        assert f'aria-describedby="err-{name}"' in r.text, name
    # rules: a future birth date, then a 中長期在留者 without 在留資格 (details opened)
    ok = {**base, "name": "出生\u3000次郎", "sex": "1"}
    future = str(today_jst() + timedelta(days=3))
    r = c.post("/events", data={**ok, "birth_date": future})
    assert r.status_code == 422
    assert 'data-testid="error-birth_date"' in r.text and "未来" in r.text
    r = c.post(
        "/events",
        data={
            **ok,
            "birth_date": str(today_jst()),
            "nationality": "フィリピン",
            "foreign_category": "中長期在留者",
        },
    )
    assert r.status_code == 422
    assert 'data-testid="error-residence_status"' in r.text
    assert "中長期在留者には在留資格が必要です" in r.text
    assert '<details class="foreign" data-testid="foreign" open>' in r.text
    assert 'value="フィリピン"' in r.text  # what was typed comes back
    assert versions(world) == before


def test_move_in_errors_next_to_the_row(world: World) -> None:
    c = client(world)
    before = versions(world)
    # two 世帯主: at the second one's 続柄
    r = c.post("/events", data=move_in(p1_relationship="世帯主"))
    assert r.status_code == 422
    assert 'data-testid="error-p1_relationship"' in r.text
    assert 'id="p1_relationship" name="p1_relationship" aria-invalid="true"' in r.text
    assert "世帯主" in r.text and 'data-testid="error-summary"' in r.text
    # a 中長期在留者 without 在留資格, in the second row
    r = c.post(
        "/events",
        data=move_in(p1_nationality="ブラジル", p1_foreign_category="中長期在留者"),
    )
    assert r.status_code == 422
    assert 'data-testid="error-p1_residence_status"' in r.text
    assert 'aria-describedby="err-p1_residence_status"' in r.text
    assert '<details class="foreign" data-testid="p1_foreign" open>' in r.text
    assert '<details class="foreign" data-testid="p0_foreign">' in r.text
    # a future 異動日, next to the date
    future = str(today_jst() + timedelta(days=1))
    r = c.post("/events", data=move_in(effective_date=future, notified_date=""))
    assert r.status_code == 422
    assert 'data-testid="error-effective_date"' in r.text and "未来" in r.text
    # shape errors: an address, a row's birth date, a bad card number
    r = c.post(
        "/events",
        data=move_in(
            address="",
            postal_code="12ab",
            p1_birth_date="",
            p0_residence_card_number="X1",
            p0_nationality="韓国",
            p0_foreign_category="特別永住者",
        ),
    )
    assert r.status_code == 422
    for name in ("address", "postal_code", "p1_birth_date"):
        assert f'data-testid="error-{name}"' in r.text, name
    # the domain's card rule once the shape is right
    r = c.post(
        "/events",
        data=move_in(
            p0_residence_card_number="X1", p0_nationality="韓国", p0_foreign_category="特別永住者"
        ),
    )
    assert r.status_code == 422
    assert 'data-testid="error-p0_residence_card_number"' in r.text
    # no person at all, and no 転入前住所
    blank = {f"p{i}_{f}": "" for i in range(2) for f in ("name", "kana", "birth_date")}
    r = c.post("/events", data=move_in(**blank))
    assert r.status_code == 422 and 'data-testid="error-p0_name"' in r.text
    r = c.post("/events", data=move_in(previous_address=""))
    assert r.status_code == 422 and 'data-testid="error-previous_address"' in r.text
    assert versions(world) == before


def test_read_only_mode_refuses_instead_of_the_form(world: World) -> None:
    c = client(world)
    with world.platform.platform_session() as s:
        hosted = s.get(HostedTown, TOWN_A)
        assert hosted is not None
        hosted.mode, hosted.as_of = "down_recovery", utcnow()
    try:
        before = versions(world)
        for params in (
            {"kind": "domestic_move_in"},
            {"kind": "birth", "person": world.person},
        ):
            page = c.get("/events", params=params)
            assert page.status_code == 200
            assert 'data-testid="refusal"' in page.text
            assert 'href="/applications"' in page.text
            assert 'data-testid="submit-event"' not in page.text
        r = c.post("/events", data=move_in())
        assert r.status_code == 422
        assert 'data-testid="refusal"' in r.text
        assert versions(world) == before
    finally:
        with world.platform.platform_session() as s:
            hosted = s.get(HostedTown, TOWN_A)
            assert hosted is not None
            hosted.mode, hosted.as_of = "normal", None


def test_counter_clerk_may_not_record(world: World) -> None:
    c = client(world, "C1")
    before = versions(world)
    assert c.get("/events", params={"kind": "domestic_move_in"}).status_code == 403
    assert c.get("/events", params={"kind": "birth", "person": world.person}).status_code == 403
    assert c.post("/events", data=move_in()).status_code == 403
    birth = {"kind": "birth", "person": world.person, "name": "x", "birth_date": "2026-01-01"}
    assert c.post("/events", data=birth).status_code == 403
    assert versions(world) == before
    person_page = c.get(f"/persons/{world.person}")
    assert "kind=birth" not in person_page.text
