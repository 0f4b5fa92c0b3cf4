"""The counter screen's 世帯主変更届 and 職権修正 in-process: recorded and shown on the person
page, the rule's message beside 続柄 with nothing stored, only changed items sent (an
emptied 本籍 cleared), the messages for nothing changed and a missing 修正理由, read-only
refusal, permission."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
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
from lgcloud.register.domain import HEAD
from lgcloud.register.models import PersonVersion
from lgcloud.register.pages import _correction_current
from lgcloud.tenancy.models import HostedTown
from lgcloud.tenancy.platform import Platform
from lgcloud.web.app import create_app

PASSWORD = "household-pass-1"
CLERKS = {"C1": {Role.COUNTER_CLERK}, "S1": {Role.BUSINESS_STAFF}}


@dataclass
class World:
    app: Any
    platform: Platform
    #: one member of each household of two or more (with one 世帯主), households differ
    households: list[list[str]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    platform = make_platform(Path(tmp_path_factory.mktemp("household")) / "data")
    onboard_town(platform, TOWN_A, "聖籠町", kana="セイロウマチ", prefecture="新潟県")
    generate_town(platform, TOWN_A, residents=60, seed=11, today=TODAY)
    add_clerks(platform, TOWN_A, CLERKS, PASSWORD, pins="1234")
    with platform.town(TOWN_A) as town:
        current = (PersonVersion.is_current.is_(True), PersonVersion.status == "resident")
        rows = list(town.session.scalars(select(PersonVersion).where(*current)))
        by_household: dict[str, list[PersonVersion]] = {}
        for r in rows:
            by_household.setdefault(r.household_number, []).append(r)
        households = [
            # the 世帯主 first
            [m.addressee_number for m in sorted(ms, key=lambda m: m.relationship != HEAD)]
            for ms in by_household.values()
            if len(ms) >= 2 and sum(m.relationship == HEAD for m in ms) == 1
        ]
    assert len(households) >= 3
    yield World(create_app(platform), platform, households)
    platform.dispose()


def client(w: World, staff: str = "S1") -> TestClient:
    return page_client(w.app, staff, PASSWORD)


def versions(w: World) -> int:
    with w.platform.town(TOWN_A) as town:
        return town.session.scalar(select(func.count()).select_from(PersonVersion)) or 0


def head_change_form(w: World, members: list[str], head: str, **rels: str) -> dict[str, str]:
    """The form as the browser sends it: every member's current 続柄 unless given."""
    with w.platform.town(TOWN_A) as town:
        people = [queries.get_person(town, n) for n in members]
    today = str(today_jst())
    form = {
        "kind": "head_change",
        "person": members[0],
        "head": head,
        "effective_date": today,
        "notified_date": today,
    }
    form |= {f"rel_{p.addressee_number}": p.relationship for p in people}
    form |= {f"rel_{n}": rel for n, rel in rels.items()}
    return form


def correction_form(w: World, person: str, **changes: str) -> dict[str, str]:
    """The 職権修正 form as prefilled, with ``changes`` typed in."""
    with w.platform.town(TOWN_A) as town:
        p = queries.get_person(town, person)
    today = str(today_jst())
    form = {"kind": "correction", "person": person, "effective_date": today, "reason": "誤記"}
    return form | _correction_current(p) | changes


def test_person_page_links_to_both_forms(world: World) -> None:
    c = client(world)
    person = world.households[0][0]
    page = c.get(f"/persons/{person}")
    for kind in ("head_change", "correction"):
        assert f'href="/events?kind={kind}&amp;person={person}"' in page.text
    form = c.get("/events", params={"kind": "head_change", "person": person})
    assert form.status_code == 200
    assert f'<option value="{person}" selected>' in form.text  # the current head
    assert f'name="rel_{world.households[0][1]}"' in form.text
    form = c.get("/events", params={"kind": "correction", "person": person})
    assert form.status_code == 200
    for name in ("name", "kana", "birth_date", "sex", "relationship", "honseki", "reason"):
        assert f'name="{name}"' in form.text, name
    assert '<details class="foreign" data-testid="foreign">' in form.text  # collapsed


def test_head_change_is_recorded(world: World) -> None:
    c = client(world)
    old, new, *others = world.households[0]
    r = c.post("/events", data=head_change_form(world, [old, new, *others], new, **{old: "夫"}))
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/persons/{old}?recorded=head_change"
    with world.platform.town(TOWN_A) as town:
        assert queries.get_person(town, new).relationship == HEAD
        assert queries.get_person(town, old).relationship == "夫"
        names = {n: queries.get_person(town, n).name for n in (old, new)}
    page = c.get(r.headers["location"]).text
    assert 'data-testid="recorded"' in page
    assert f'{new}</a></td><td class="name">{names[new]}</td><td>世帯主</td>' in page
    assert f'{old}</a></td><td class="name">{names[old]}</td><td>夫</td>' in page
    assert "<td>世帯主変更</td>" in page


def test_two_heads_shown_beside_the_relationships(world: World) -> None:
    c = client(world)
    before = versions(world)
    old, new, *others = world.households[1]
    # the old 世帯主 keeps 世帯主
    r = c.post("/events", data=head_change_form(world, [old, new, *others], new))
    assert r.status_code == 422
    assert 'data-testid="error-relationships"' in r.text
    assert "世帯主が 2 人になります" in r.text
    assert (
        f'id="rel_{old}" name="rel_{old}" data-testid="rel_{old}" aria-invalid="true" '
        'aria-describedby="err-relationships"'
    ) in r.text
    assert f'<option value="{new}" selected>' in r.text  # what was chosen comes back
    # nothing changed at all
    r = c.post("/events", data=head_change_form(world, [old, new, *others], old))
    assert r.status_code == 422 and 'data-testid="error-head"' in r.text
    assert versions(world) == before


def test_correction_of_kana_and_honseki(world: World) -> None:
    c = client(world)
    person = world.households[2][0]
    with world.platform.town(TOWN_A) as town:
        was = queries.get_person(town, person)
    honseki = "新潟県北蒲原郡聖籠町大字諏訪山1635番地"
    form = correction_form(world, person, kana="シュウセイ\u3000タロウ", honseki=honseki)
    r = c.post("/events", data=form)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/persons/{person}?recorded=correction"
    with world.platform.town(TOWN_A) as town:
        p = queries.get_person(town, person)
    assert (p.kana, p.honseki) == ("シュウセイ\u3000タロウ", honseki)
    assert (p.name, p.birth_date, p.relationship, p.hittousha) == (
        was.name,
        was.birth_date,
        was.relationship,
        None,
    )
    page = c.get(f"/persons/{person}").text
    assert "<td>職権修正</td>" in page

    # emptying 本籍 clears it (and changes nothing else)
    r = c.post("/events", data=correction_form(world, person, honseki=""))
    assert r.status_code == 303, r.text
    with world.platform.town(TOWN_A) as town:
        p = queries.get_person(town, person)
    assert p.honseki is None and p.kana == "シュウセイ\u3000タロウ"


def test_correction_messages(world: World) -> None:
    c = client(world)
    before = versions(world)
    person = world.households[2][1]
    r = c.post("/events", data=correction_form(world, person))
    assert r.status_code == 422
    assert 'data-testid="error-form"' in r.text and "修正する項目がありません" in r.text
    r = c.post("/events", data=correction_form(world, person, kana="カナ", reason=""))
    assert r.status_code == 422
    assert 'data-testid="error-reason"' in r.text
    assert 'aria-describedby="err-reason"' in r.text
    assert 'value="カナ"' in r.text  # what was typed comes back
    # an emptied 氏名 may not be cleared: the message beside 氏名
    r = c.post("/events", data=correction_form(world, person, name=""))
    assert r.status_code == 422 and 'data-testid="error-name"' in r.text
    # a 世帯員 corrected to 世帯主: two heads, beside 続柄
    r = c.post("/events", data=correction_form(world, person, relationship=HEAD))
    assert r.status_code == 422 and 'data-testid="error-relationship"' in r.text
    assert versions(world) == before


def test_read_only_mode_refuses_instead_of_the_forms(world: World) -> None:
    c = client(world)
    old, new, *others = world.households[1]
    with world.platform.platform_session() as s:
        hosted = s.get(HostedTown, TOWN_A)
        assert hosted is not None
        hosted.mode, hosted.as_of = "down_recovery", utcnow()
    try:
        before = versions(world)
        for kind in ("head_change", "correction"):
            page = c.get("/events", params={"kind": kind, "person": old})
            assert page.status_code == 200
            assert 'data-testid="refusal"' in page.text
            assert 'href="/applications"' in page.text
            assert 'data-testid="submit-event"' not in page.text
        form = head_change_form(world, [old, new, *others], new, **{old: "妻"})
        for data in (form, correction_form(world, old, kana="ヨミトリ")):
            r = c.post("/events", data=data)
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
    old, new, *others = world.households[1]
    for kind in ("head_change", "correction"):
        assert c.get("/events", params={"kind": kind, "person": old}).status_code == 403
    form = head_change_form(world, [old, new, *others], new, **{old: "妻"})
    assert c.post("/events", data=form).status_code == 403
    assert c.post("/events", data=correction_form(world, old, kana="カナ")).status_code == 403
    assert versions(world) == before
    assert "kind=head_change" not in c.get(f"/persons/{old}").text
