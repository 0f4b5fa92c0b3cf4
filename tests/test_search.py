"""Folded name search end to end: real town databases, the single write path, the API.

Names are stored exactly as registered (variant kanji, IVS, spaces); only the search keys
are folded, so 髙橋/高橋, 齋藤/斎藤/齊藤/斉藤, 渡邊/渡邉/渡辺 and ｻｲﾄｳ/さいとう/サイトウ find
the same people.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import TODAY, TOWN_A, TOWN_B, make_ctx, make_platform
from lgcloud.auth.roles import Role
from lgcloud.auth.service import create_clerk
from lgcloud.core.ids import with_resident_check_digit
from lgcloud.generate.town import generate_town
from lgcloud.onboarding import onboard_town
from lgcloud.register import folding, queries
from lgcloud.register.domain import AddressIn, EventKind, MoveIn, NewPerson, Removal, Sex
from lgcloud.register.models import PersonVersion
from lgcloud.register.service import record_event
from lgcloud.tenancy.platform import Platform
from lgcloud.web.app import create_app

IVS = "\U000e0102"
KASAI = f"葛{IVS}西\u3000勇"  # 葛 with an IVS (IPAmj mj022335)

#: household key -> [(name, kana, sex, relationship)], head first
HOUSEHOLDS: dict[str, list[tuple[str, str, Sex, str]]] = {
    "takahashi": [
        ("髙橋\u3000太郎", "タカハシ\u3000タロウ", Sex.MALE, "世帯主"),
        ("高橋\u3000花子", "タカハシ\u3000ハナコ", Sex.FEMALE, "妻"),
    ],
    "saito1": [("齋藤\u3000一郎", "サイトウ\u3000イチロウ", Sex.MALE, "世帯主")],
    "saito2": [("斎藤\u3000二郎", "サイトウ\u3000ジロウ", Sex.MALE, "世帯主")],
    "saito3": [("齊藤\u3000三郎", "サイトウ\u3000サブロウ", Sex.MALE, "世帯主")],
    "saito5": [("斉藤\u3000五郎", "さいとう\u3000ごろう", Sex.MALE, "世帯主")],  # moves out
    "watanabe1": [("渡邊\u3000健", "ワタナベ\u3000ケン", Sex.MALE, "世帯主")],
    "watanabe2": [("渡邉\u3000誠", "ワタナベ\u3000マコト", Sex.MALE, "世帯主")],
    "watanabe3": [("渡辺\u3000守", "ワタナベ\u3000マモル", Sex.MALE, "世帯主")],
    "kasai": [(KASAI, "カサイ\u3000イサム", Sex.MALE, "世帯主")],
    # decoys: share a character or a given name, must not match the surname searches
    "takada": [("高田\u3000一郎", "タカダ\u3000イチロウ", Sex.MALE, "世帯主")],
    "saiki": [("斉木\u3000太郎", "サイキ\u3000タロウ", Sex.MALE, "世帯主")],
}
REMOVED = "斉藤\u3000五郎"
PASSWORD = "search-clerk-pass"


@dataclass
class World:
    platform: Platform
    client: TestClient
    token_a: str
    token_b: str
    number: dict[str, str]  # name -> 宛名番号
    code: dict[str, str]  # name -> 住民票コード (unique to these people)


def _login(client: TestClient, town: str, staff: str) -> str:
    r = client.post(
        "/api/login", json={"town_code": town, "staff_number": staff, "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    client.cookies.clear()
    return r.headers["X-Session-Token"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    platform = make_platform(Path(tmp_path_factory.mktemp("search")) / "data")
    onboard_town(platform, TOWN_A, "聖籠町", kana="セイロウマチ", prefecture="新潟県")
    onboard_town(platform, TOWN_B, "出雲崎町", kana="イズモザキマチ", prefecture="新潟県")
    # a real register around the people below (its own 高橋, 斎藤, ... included)
    generate_town(platform, TOWN_A, residents=200, seed=7, today=TODAY)
    generate_town(platform, TOWN_B, residents=120, seed=8, today=TODAY)
    ctx = make_ctx(TOWN_A)
    number: dict[str, str] = {}
    code: dict[str, str] = {}
    serial = 0
    for i, (_key, members) in enumerate(HOUSEHOLDS.items()):
        persons = []
        for name, kana, sex, rel in members:
            serial += 1
            code[name] = with_resident_check_digit(f"99000{serial:05d}")
            persons.append(
                NewPerson(
                    name=name,
                    kana=kana,
                    birth_date=date(1950 + i, 4, 1 + serial),
                    sex=sex,
                    relationship=rel,
                    resident_code=code[name],
                )
            )
        event = MoveIn(
            kind=EventKind.DOMESTIC_MOVE_IN,
            effective_date=date(2026, 10, 1),
            persons=persons,
            address=AddressIn(address=f"大字諏訪山{9000 + i}番地", postal_code="9570117"),
            previous_address="東京都千代田区千代田1番1号",
        )
        with platform.town(TOWN_A) as town:
            result = record_event(town, ctx, event, today=TODAY)
        for (name, *_), n in zip(members, result.subjects, strict=True):
            number[name] = n
    with platform.town(TOWN_A) as town:
        record_event(
            town,
            ctx,
            Removal(
                kind=EventKind.DOMESTIC_MOVE_OUT,
                effective_date=date(2026, 11, 1),
                members=[number[REMOVED]],
                destination_address="新潟県新潟市中央区学校町通1番町602番地1",
            ),
            today=TODAY,
        )
    for town_code, staff in ((TOWN_A, "S1001"), (TOWN_B, "S2001")):
        with platform.town(town_code) as town:
            create_clerk(
                town,
                make_ctx(town_code),
                staff_number=staff,
                name="検索\u3000係",
                roles={Role.COUNTER_CLERK},
                password=PASSWORD,
            )
    with TestClient(create_app(platform)) as client:
        yield World(
            platform,
            client,
            _login(client, TOWN_A, "S1001"),
            _login(client, TOWN_B, "S2001"),
            number,
            code,
        )
    platform.dispose()


def found(w: World, q: str, *, include_removed: bool = False) -> set[str]:
    with w.platform.town(TOWN_A) as town:
        return {
            p.addressee_number
            for p in queries.search(town, q, include_removed=include_removed, limit=1000)
        }


def numbers(w: World, *names: str) -> set[str]:
    return {w.number[n] for n in names}


# --------------------------------------------------------------------------- repository


@pytest.mark.parametrize(
    ("queries_", "ours", "not_ours"),
    [
        (("髙橋", "高橋", "⾼橋"), ("髙橋\u3000太郎", "高橋\u3000花子"), ("高田\u3000一郎",)),
        (
            ("齋藤", "斎藤", "齊藤", "斉藤"),
            ("齋藤\u3000一郎", "斎藤\u3000二郎", "齊藤\u3000三郎"),
            ("斉木\u3000太郎", REMOVED),
        ),
        (("渡邊", "渡邉", "渡辺"), ("渡邊\u3000健", "渡邉\u3000誠", "渡辺\u3000守"), ()),
        (("葛西", f"葛{IVS}西"), (KASAI,), ()),
    ],
)
def test_variant_kanji_find_the_same_people(
    world: World, queries_: tuple[str, ...], ours: tuple[str, ...], not_ours: tuple[str, ...]
) -> None:
    results = [found(world, q) for q in queries_]
    for q, r in zip(queries_, results, strict=True):
        assert r == results[0], f"{q} finds other people than {queries_[0]}"
    assert numbers(world, *ours) <= results[0]
    assert not numbers(world, *not_ours) & results[0]


def test_readings_in_any_script_find_the_same_people(world: World) -> None:
    variants = ("ｻｲﾄｳ", "さいとう", "サイトウ", "サイトウ ", "ｻ ｲ ﾄ ｳ")
    results = [found(world, q) for q in variants]
    assert all(r == results[0] for r in results), results
    assert numbers(world, "齋藤\u3000一郎", "斎藤\u3000二郎", "齊藤\u3000三郎") <= results[0]
    assert world.number["斉木\u3000太郎"] not in results[0]
    # the removed person's reading was registered in hiragana; found only with 除票
    assert world.number[REMOVED] not in results[0]
    assert world.number[REMOVED] in found(world, "ｻｲﾄｳ", include_removed=True)
    # full readings, with or without the space, half- or full-width
    for q in ("ｻｲﾄｳ ｲﾁﾛｳ", "サイトウイチロウ", "さいとう　いちろう"):
        assert found(world, q) == numbers(world, "齋藤\u3000一郎"), q
    assert found(world, "わたなべ") >= numbers(
        world, "渡邊\u3000健", "渡邉\u3000誠", "渡辺\u3000守"
    )


def test_given_name_search(world: World) -> None:
    assert world.number["高橋\u3000花子"] in found(world, "花子")
    assert world.number["高橋\u3000花子"] in found(world, "ハナコ")
    assert world.number["高橋\u3000花子"] in found(world, "はなこ")
    ichiro = found(world, "一郎")
    assert numbers(world, "齋藤\u3000一郎", "高田\u3000一郎") <= ichiro
    assert world.number["斎藤\u3000二郎"] not in ichiro
    with world.platform.town(TOWN_A) as town:
        for p in queries.search(town, "一郎", limit=1000):
            _family, _, given = p.name.partition("\u3000")
            assert folding.name_key(given).startswith("一郎"), p.name


def test_full_name_search_with_and_without_space(world: World) -> None:
    expected = found(world, "高橋\u3000太郎")
    assert world.number["髙橋\u3000太郎"] in expected
    for q in ("髙橋　太郎", "高橋 太郎", "高橋太郎", "タカハシ タロウ", "ﾀｶﾊｼﾀﾛｳ"):
        assert found(world, q) == expected, q
    assert world.number["高橋\u3000花子"] not in expected


def test_search_by_addressee_number(world: World) -> None:
    n = world.number["渡邉\u3000誠"]
    assert found(world, n) == {n}
    assert found(world, f"  {n} ") == {n}
    assert found(world, "0000000000") == set()
    assert found(world, n[:-1]) == set()  # a number matches whole, not as a prefix
    removed = world.number[REMOVED]
    assert found(world, removed) == set()
    assert found(world, removed, include_removed=True) == {removed}


def test_removed_people_only_with_include_removed(world: World) -> None:
    current = found(world, "斎藤")
    with_removed = found(world, "斎藤", include_removed=True)
    assert world.number[REMOVED] not in current
    assert world.number[REMOVED] in with_removed
    assert current <= with_removed
    with world.platform.town(TOWN_A) as town:
        states = {p.addressee_number: p for p in queries.search(town, "斎藤", include_removed=True)}
        assert states[world.number[REMOVED]].status.value == "removed"
        assert states[world.number[REMOVED]].removal_reason == "転出"
        assert all(states[n].status.value == "resident" for n in current)
        # the generator's own 除票 behave the same
        gone = town.session.scalars(
            select(PersonVersion).where(
                PersonVersion.is_current.is_(True), PersonVersion.status == "removed"
            )
        ).first()
        assert gone is not None
    assert found(world, gone.addressee_number) == set()
    assert found(world, gone.addressee_number, include_removed=True) == {gone.addressee_number}
    assert gone.addressee_number in found(world, gone.name, include_removed=True)


def test_stored_names_come_back_byte_identical(world: World) -> None:
    with world.platform.town(TOWN_A) as town:
        for members in HOUSEHOLDS.values():
            for name, kana, *_ in members:
                person = queries.get_person(town, world.number[name])
                assert person.name.encode("utf-8") == name.encode("utf-8")
                assert person.kana.encode("utf-8") == kana.encode("utf-8")
                (hit,) = [
                    p
                    for p in queries.search(town, name, include_removed=True, limit=1000)
                    if p.addressee_number == world.number[name]
                ]
                assert hit.name == name
        row = town.session.scalar(
            select(PersonVersion).where(
                PersonVersion.addressee_number == world.number[KASAI],
                PersonVersion.is_current.is_(True),
            )
        )
        assert row is not None
        assert IVS in row.name  # kept in the name ...
        assert IVS not in row.name_key  # ... and dropped from the search key only
        assert row.name_key == "葛西勇"


# --------------------------------------------------------------------------- API


def _api(w: World, q: str, token: str | None = None, **params: str) -> list[dict[str, object]]:
    r = w.client.get(
        "/api/persons",
        params={"q": q, **params},
        headers={"Authorization": f"Bearer {token or w.token_a}"},
    )
    assert r.status_code == 200, r.text
    body: list[dict[str, object]] = r.json()
    return body


def test_api_search_folds_the_same_way(world: World) -> None:
    pairs = [("髙橋", "高橋"), ("齋藤", "斎藤"), ("ｻｲﾄｳ", "さいとう"), ("渡邊", "渡辺")]
    for a, b in pairs:
        ra, rb = _api(world, a), _api(world, b)
        assert [p["addressee_number"] for p in ra] == [p["addressee_number"] for p in rb], a
        assert ra  # and they do find someone
    by_number = {p["addressee_number"]: p for p in _api(world, "高橋")}
    assert by_number[world.number["髙橋\u3000太郎"]]["name"] == "髙橋\u3000太郎"
    assert by_number[world.number["高橋\u3000花子"]]["name"] == "高橋\u3000花子"
    (kasai,) = _api(world, "葛西勇")
    assert kasai["name"] == KASAI  # IVS survives JSON
    assert kasai["resident_code"] == world.code[KASAI]
    removed = world.number[REMOVED]
    assert removed not in {p["addressee_number"] for p in _api(world, "斎藤")}
    with_removed = {p["addressee_number"]: p for p in _api(world, "斎藤", include_removed="true")}
    assert with_removed[removed]["status"] == "removed"
    assert with_removed[removed]["name"] == REMOVED
    assert [p["addressee_number"] for p in _api(world, world.number["渡辺\u3000守"])] == [
        world.number["渡辺\u3000守"]
    ]
    assert _api(world, "   ") == []


def test_search_page_shows_names_exactly(world: World) -> None:
    r = world.client.get(
        "/", params={"q": "葛西"}, headers={"Authorization": f"Bearer {world.token_a}"}
    )
    assert r.status_code == 200
    assert KASAI in r.text
    assert world.number[KASAI] in r.text


def test_search_stays_in_the_clerks_town(world: World) -> None:
    ours = set(world.code.values())
    for q in ("高橋", "斎藤", "さいとう", "渡辺", "葛西", "一郎", "ﾀｶﾊｼ"):
        in_a = {p["resident_code"] for p in _api(world, q, include_removed="true")}
        in_b = {p["resident_code"] for p in _api(world, q, world.token_b, include_removed="true")}
        assert not in_b & ours, q
        assert in_a & ours, q
