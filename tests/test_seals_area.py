"""印鑑登録 as a whole business area (the worked example of docs/adding-a-business-area.md):
its pure rules, its JSON API with permissions and an audited view, its panel on the
register's person page with the register / abolish forms, and its ``lgcloud seal``
commands. The write function itself is tested in test_seals_service.py."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import TODAY, TOWN_A, add_clerks, cli_env, page_client, person_state, record_family
from conftest import png_impression as png
from lgcloud.audit.models import AuditEntry
from lgcloud.auth.roles import Role
from lgcloud.cli import app as cli
from lgcloud.core.errors import RuleViolationError
from lgcloud.register.domain import PersonState, Status
from lgcloud.seals.domain import MAX_IMAGE_BYTES, check_abolition, check_registration
from lgcloud.tenancy.platform import Platform
from lgcloud.web.app import create_app

PASSWORD = "seal-area-pass-1"


def person(born: date, status: Status = Status.RESIDENT) -> PersonState:
    return person_state(name="印鑑\u3000太郎", birth_date=born, status=status, district="")


# --------------------------------------------------------------------------- the rules


def test_registration_rules_age_residence_image_and_one_active() -> None:
    adult = person(date(1980, 1, 1))
    check_registration(adult, TODAY, png(), already_registered=False, min_age=15)
    turning_15 = person(date(2011, 12, 1))
    check_registration(turning_15, date(2026, 12, 1), png(), already_registered=False, min_age=15)
    refusals = [
        (person(date(2011, 12, 1)), date(2026, 11, 30), png(), False, "addressee_number"),
        (person(date(1980, 1, 1), Status.REMOVED), TODAY, png(), False, "addressee_number"),
        (adult, TODAY, b"GIF89a....", False, "image_png"),
        (adult, TODAY, png() + b"\0" * MAX_IMAGE_BYTES, False, "image_png"),
        (adult, TODAY, png(), True, "addressee_number"),
    ]
    for p, on, image, already, field in refusals:
        with pytest.raises(RuleViolationError) as e:
            check_registration(p, on, image, already_registered=already, min_age=15)
        assert e.value.field == field


def test_abolition_rules_date_and_reason() -> None:
    check_abolition(date(2026, 5, 1), date(2026, 5, 1), "亡失")
    for on, reason, field in (
        (date(2026, 4, 30), "亡失", "abolished_on"),
        (date(2026, 5, 2), "  ", "reason"),
        (date(2026, 5, 2), "理" * 41, "reason"),
    ):
        with pytest.raises(RuleViolationError) as e:
            check_abolition(date(2026, 5, 1), on, reason)
        assert e.value.field == field


# --------------------------------------------------------------------------- API and page


@pytest.fixture
def family(platform: Platform) -> dict[str, str]:
    add_clerks(
        platform,
        TOWN_A,
        {"S1": {Role.BUSINESS_STAFF}, "C1": {Role.COUNTER_CLERK}},
        PASSWORD,
    )
    return record_family(platform, TOWN_A, "印鑑")


def client(platform: Platform, staff: str) -> TestClient:
    return page_client(create_app(platform), staff, PASSWORD)


def actions(platform: Platform) -> list[str]:
    with platform.read_town(TOWN_A) as town:
        return list(town.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_api_registers_views_and_abolishes_with_permissions(
    platform: Platform, family: dict[str, str]
) -> None:
    head, child = family["head"], family["child"]
    staff, counter = client(platform, "S1"), client(platform, "C1")
    upload = {"image": ("seal.png", png(), "image/png")}
    assert counter.post(f"/api/persons/{head}/seal", files=upload).status_code == 403
    r = staff.post(f"/api/persons/{head}/seal", files=upload, data={"registered_on": "2026-05-01"})
    assert r.status_code == 201, r.text
    number = r.json()["registration_number"]
    assert r.json()["registered_on"] == "2026-05-01"
    child_refused = staff.post(f"/api/persons/{child}/seal", files=upload)  # 8 years old
    assert child_refused.status_code == 422
    assert child_refused.json()["detail"] == "15歳未満の人は印鑑登録できません"

    seen = counter.get(f"/api/persons/{head}/seal")  # viewing is counter work
    assert seen.status_code == 200
    assert seen.json()["active"]["registration_number"] == number
    assert "image_png" not in seen.text
    assert actions(platform)[-1] == "view_seal"

    body = {"reason": "亡失", "abolished_on": "2026-06-01"}
    assert counter.post(f"/api/persons/{head}/seal/abolish", json=body).status_code == 403
    assert staff.post(f"/api/persons/{head}/seal/abolish", json=body).status_code == 200
    after = counter.get(f"/api/persons/{head}/seal").json()
    assert after["active"] is None
    assert after["registrations"][0]["abolition_reason"] == "亡失"
    assert {"seal_registered", "seal_abolished"} <= set(actions(platform))


def test_person_page_panel_registers_refuses_and_abolishes(
    platform: Platform, family: dict[str, str]
) -> None:
    head = family["head"]
    staff, counter = client(platform, "S1"), client(platform, "C1")
    page = staff.get(f"/persons/{head}").text
    assert 'data-testid="seal-status">登録なし' in page
    assert 'data-testid="seal-register"' in page
    assert 'data-testid="seal-register"' not in counter.get(f"/persons/{head}").text

    bad = staff.post(
        f"/persons/{head}/seal", files={"image": ("seal.jpg", b"\xff\xd8\xff\xe0", "image/jpeg")}
    )
    assert bad.status_code == 422
    assert "印影の画像はPNGで登録してください" in bad.text
    assert 'data-testid="person-name"' in bad.text  # the whole person page, with the message

    ok = staff.post(f"/persons/{head}/seal", files={"image": ("seal.png", png(), "image/png")})
    assert ok.status_code == 303
    assert ok.headers["location"] == f"/persons/{head}?seal=registered"
    page = staff.get(ok.headers["location"]).text
    assert "印鑑を登録しました" in page and "登録番号 00000001" in page
    assert 'data-testid="seal-abolish"' in page

    early = staff.post(
        f"/persons/{head}/seal/abolish", data={"reason": "亡失", "abolished_on": "2000-01-01"}
    )
    assert early.status_code == 422 and "廃止日が登録日より前です" in early.text
    gone = staff.post(f"/persons/{head}/seal/abolish", data={"reason": "廃止申請"})
    assert gone.status_code == 303
    page = staff.get(gone.headers["location"]).text
    assert 'data-testid="seal-status">登録なし' in page and "廃止申請" in page


def test_seal_commands_show_register_and_abolish(
    platform: Platform, family: dict[str, str], tmp_path: Path
) -> None:
    head = family["head"]
    image = tmp_path / "seal.png"
    image.write_bytes(png())
    runner = CliRunner(env=cli_env(platform))
    base = ["--town", TOWN_A, "--person", head, "--data-dir", str(platform.data_dir)]

    def run(*args: str) -> str:
        result = runner.invoke(cli, ["seal", *args, *base])
        assert result.exit_code == 0, result.output
        return result.output

    assert "登録なし" in run("show")
    assert "登録番号 00000001" in run("register", "--image", str(image), "--on", "2026-05-01")
    refused = runner.invoke(cli, ["seal", "register", "--image", str(image), *base])
    assert refused.exit_code == 2 and "既に登録されている印鑑があります" in refused.output
    missing = runner.invoke(cli, ["seal", "register", "--image", str(tmp_path / "x.png"), *base])
    assert missing.exit_code == 2 and "印影の画像を読めません" in missing.output
    assert "廃止しました" in run("abolish", "--reason", "転出")
    shown = run("show")
    assert "2026-05-01 登録" in shown and "廃止（転出）" in shown
    with platform.read_town(TOWN_A) as town:
        entries = town.session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("%seal%")).order_by(AuditEntry.seq)
        ).all()
    assert [e.action for e in entries] == [
        "view_seal",
        "seal_registered",
        "seal_abolished",
        "view_seal",
    ]
    assert all(e.clerk_name.startswith("operator:") for e in entries)
