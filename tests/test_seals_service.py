"""印鑑登録 on a real town database: registration (PNG impression, age 15 or more, residents
only, one active registration), abolition, re-registration under a new number; refusals
change nothing; every write has its audit and journal entry."""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from conftest import TODAY, TOWN_A, TOWN_B, as_json, make_ctx
from conftest import png_impression as png
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.register.domain import HEAD, AddressIn, EventKind, MoveIn, NewPerson, Removal, Sex
from lgcloud.register.service import record_event
from lgcloud.seals.queries import active_seal
from lgcloud.seals.service import abolish_seal, register_seal
from lgcloud.tenancy.platform import Platform

TABLES = ("seal_registrations", "audit_entries", "audit_subjects", "journal")


IMPRESSION = png()


@pytest.fixture
def people(platform: Platform) -> list[str]:
    """[adult head, child who turns 15 on 1 December 2026]."""
    with platform.town(TOWN_A) as town:
        r = record_event(
            town,
            make_ctx(),
            MoveIn(
                kind=EventKind.DOMESTIC_MOVE_IN,
                effective_date=date(2015, 4, 1),
                previous_address="東京都千代田区千代田1番1号",
                address=AddressIn(address="聖籠町大字諏訪山1番地", postal_code="9570100"),
                persons=[
                    NewPerson(
                        name="山田\u3000太郎",
                        birth_date=date(1980, 5, 5),
                        sex=Sex.MALE,
                        relationship=HEAD,
                    ),
                    NewPerson(
                        name="山田\u3000一郎",
                        birth_date=date(2011, 12, 1),
                        sex=Sex.MALE,
                        relationship="子",
                    ),
                ],
            ),
            today=TODAY,
        )
    return list(r.subjects)


def snapshot(platform: Platform) -> dict[str, Any]:
    with platform.town(TOWN_A) as town:
        s = town.session
        snap: dict[str, Any] = {
            t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES
        }
        snap["seals"] = [tuple(r) for r in s.execute(text("SELECT * FROM seal_registrations"))]
        snap["audit_head"] = [tuple(r) for r in s.execute(text("SELECT * FROM audit_head"))]
    return snap


def register(
    platform: Platform, person: str, on: date = date(2026, 5, 1), image: bytes = IMPRESSION
) -> Any:
    with platform.town(TOWN_A) as town:
        return register_seal(town, make_ctx(), person, image_png=image, registered_on=on)


def abolish(platform: Platform, person: str, on: date, reason: str = "紛失") -> None:
    with platform.town(TOWN_A) as town:
        abolish_seal(town, make_ctx(), person, abolished_on=on, reason=reason)


def active(platform: Platform, person: str) -> Any:
    with platform.town(TOWN_A) as town:
        return active_seal(town, person)


def check_one_write(
    platform: Platform, before: dict[str, Any], action: str, person: str, detail: dict[str, Any]
) -> list[dict[str, Any]]:
    after = snapshot(platform)
    assert after["audit_entries"] == before["audit_entries"] + 1
    assert after["journal"] == before["journal"] + 1
    with platform.town(TOWN_A) as town:
        s = town.session
        audit = s.execute(
            text(
                "SELECT seq, action, subjects, detail FROM audit_entries ORDER BY seq DESC LIMIT 1"
            )
        ).one()
        journal = s.execute(
            text("SELECT action, audit_seq, changes FROM journal ORDER BY seq DESC LIMIT 1")
        ).one()
        subjects = s.execute(
            text("SELECT addressee_number FROM audit_subjects WHERE entry_seq = :q"),
            {"q": audit.seq},
        ).all()
    assert audit.action == journal.action == action
    assert as_json(audit.subjects) == [person]
    assert [r[0] for r in subjects] == [person]
    assert as_json(audit.detail) == detail
    assert journal.audit_seq == audit.seq
    return [c for c in as_json(journal.changes) if c["table"] == "seal_registrations"]


def refuse_register(platform: Platform, person: str, field: str, **kw: Any) -> None:
    before = snapshot(platform)
    with pytest.raises(RuleViolationError) as exc:
        register(platform, person, **kw)
    assert exc.value.field == field
    assert snapshot(platform) == before


# ------------------------------------------------------------------------------ 登録


def test_register_a_seal(platform: Platform, people: list[str]) -> None:
    adult, _ = people
    before = snapshot(platform)
    reg = register(platform, adult)
    assert reg.registration_number == "00000001"
    assert (reg.addressee_number, reg.registered_on) == (adult, date(2026, 5, 1))
    assert (reg.abolished_on, reg.abolition_reason) == (None, None)
    assert snapshot(platform)["seal_registrations"] == before["seal_registrations"] + 1
    (change,) = check_one_write(
        platform, before, "seal_registered", adult, {"registration_number": "00000001"}
    )
    assert change["op"] == "insert"
    assert base64.b64decode(change["row"]["image_png"]["base64"]) == IMPRESSION
    got = active(platform, adult)
    assert got is not None
    assert got.registration_number == "00000001"
    assert got.image_png == IMPRESSION  # byte-identical


def test_image_must_be_png(platform: Platform, people: list[str]) -> None:
    adult, _ = people
    for image in (b"", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", b"GIF89a", IMPRESSION[1:]):
        refuse_register(platform, adult, "image_png", image=image)
    assert active(platform, adult) is None


def test_age_15_is_needed(platform: Platform, people: list[str]) -> None:
    _, child = people  # born 1 December 2011
    refuse_register(platform, child, "addressee_number", on=date(2026, 11, 30))
    reg = register(platform, child, on=date(2026, 12, 1))
    assert reg.registered_on == date(2026, 12, 1)


def test_only_residents_can_register(platform: Platform, people: list[str]) -> None:
    adult, child = people
    with platform.town(TOWN_A) as town:
        record_event(
            town,
            make_ctx(),
            Removal(
                kind=EventKind.DOMESTIC_MOVE_OUT,
                effective_date=date(2026, 3, 1),
                members=[adult],
                destination_address="新潟県新潟市中央区学校町通1番町602番地1",
                relationships={child: HEAD},
            ),
            today=TODAY,
        )
    refuse_register(platform, adult, "addressee_number")
    before = snapshot(platform)
    with pytest.raises(NotFoundError):
        register(platform, "9999999991")
    with pytest.raises(NotFoundError), platform.town(TOWN_B) as town:
        register_seal(
            town, make_ctx(TOWN_B), adult, image_png=IMPRESSION, registered_on=date(2026, 5, 1)
        )
    assert snapshot(platform) == before


def test_one_active_registration_per_person(platform: Platform, people: list[str]) -> None:
    adult, _ = people
    register(platform, adult)
    refuse_register(platform, adult, "addressee_number", image=png((0, 0, 200)))
    assert active(platform, adult).image_png == IMPRESSION


# ------------------------------------------------------------------------------ 廃止


def test_abolish_then_register_again_gets_a_new_number(
    platform: Platform, people: list[str]
) -> None:
    adult, child = people
    register(platform, adult)
    before = snapshot(platform)
    abolish(platform, adult, date(2026, 8, 1))
    assert snapshot(platform)["seal_registrations"] == before["seal_registrations"]
    (change,) = check_one_write(
        platform,
        before,
        "seal_abolished",
        adult,
        {"registration_number": "00000001", "reason": "紛失"},
    )
    assert change["op"] == "update"
    assert (change["row"]["abolished_on"], change["row"]["abolition_reason"]) == (
        "2026-08-01",
        "紛失",
    )
    assert active(platform, adult) is None

    second = png((0, 0, 200))
    reg = register(platform, adult, on=date(2026, 8, 2), image=second)
    assert reg.registration_number == "00000002"
    assert active(platform, adult).image_png == second
    assert register(platform, child, on=date(2026, 12, 1)).registration_number == "00000003"
    with platform.town(TOWN_A) as town:
        rows = town.session.execute(
            text(
                "SELECT registration_number, abolished_on, abolition_reason "
                "FROM seal_registrations WHERE addressee_number = :p ORDER BY id"
            ),
            {"p": adult},
        ).all()
    # dates as text (SQLite) or as dates (PostgreSQL): compared as ISO text
    assert [tuple(None if v is None else str(v) for v in r) for r in rows] == [
        ("00000001", "2026-08-01", "紛失"),
        ("00000002", None, None),
    ]


def test_abolish_on_the_registration_day_is_allowed(platform: Platform, people: list[str]) -> None:
    adult, _ = people
    register(platform, adult)
    abolish(platform, adult, date(2026, 5, 1), reason="本人申請")
    assert active(platform, adult) is None


def test_abolition_refusals_write_nothing(platform: Platform, people: list[str]) -> None:
    adult, child = people
    before = snapshot(platform)
    with pytest.raises(RuleViolationError) as exc:
        abolish(platform, child, date(2026, 8, 1))
    assert exc.value.field == "addressee_number"
    assert snapshot(platform) == before
    register(platform, adult)
    before = snapshot(platform)
    with pytest.raises(RuleViolationError) as exc:
        abolish(platform, adult, date(2026, 4, 30))
    assert exc.value.field == "abolished_on"
    assert snapshot(platform) == before
    assert active(platform, adult) is not None
