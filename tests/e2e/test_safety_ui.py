"""安否確認 in the browser: a clerk uploads a shelter's list, sees each row's 判定 with the
residents found (linked to their pages) and the district summary, and downloads
matches.csv."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from lgcloud.core.clock import today_jst
from lgcloud.generate.evacuees import noisy_evacuees, source_people, write_evacuees

from .conftest import UI, Served


def test_match_a_shelter_list(ui: UI, served: Served, tmp_path: Path) -> None:
    town = "153079"
    with served.platform.town(town) as t:
        people = source_people(t)
    rows = noisy_evacuees(people, rows=40, today=today_jst(), seed=5)
    upload = tmp_path / "shelter.csv"
    write_evacuees(rows, upload)

    ui.login(served.url, town, "1001", served.passwords[town])
    page = ui.page
    page.click("nav a[href='/safety']")
    page.wait_for_url(re.compile(r"/safety$"))
    page.set_input_files("#evacuees", str(upload))
    ui.shot("safety-form")
    page.click("[data-testid=match]")
    table = page.locator("[data-testid=safety-results]")
    table.wait_for()
    ui.shot("safety-results")
    assert page.locator("[data-testid=safety-results] tbody tr").count() == 40
    matched = page.locator("tr[data-verdict='一致']")
    assert matched.count() > 0
    # a matched row links to the resident's page
    link = matched.first.locator("a").first
    number = link.get_attribute("href").rsplit("/", 1)[1]  # type: ignore[union-attr]
    assert number in {p.number for p in people}
    assert page.locator("[data-testid=safety-districts] tbody tr").count() > 0

    with page.expect_download() as download:
        page.click("[data-testid=download-matches]")
    saved = tmp_path / "matches.csv"
    download.value.save_as(saved)
    out = list(csv.reader(io.StringIO(saved.read_bytes().decode("utf-8"))))
    assert out[0] == ["受付番号", "判定", "宛名番号", "スコア", "候補"]
    assert len(out) == 41


def test_the_safety_ledger_in_the_browser(ui: UI, served: Served, tmp_path: Path) -> None:
    """A clerk imports a shelter's list into the 安否台帳, decides a 候補 row on screen
    (the row leaves the list, the district table counts it), and the page passes axe."""
    from .test_accessibility import Axe  # noqa: PLC0415

    town = "153079"
    with served.platform.town(town) as t:
        people = source_people(t)
    seen, maybe = people[3], people[4]
    family = maybe.name.partition("\u3000")[0]
    upload = tmp_path / "kominkan.csv"
    upload.write_text(
        "受付番号,氏名,生年月日,避難所,状態\r\n"
        f"1,{seen.name},{seen.birth.isoformat()},公民館,無事\r\n"
        f"2,{family},{maybe.birth.isoformat()},公民館,負傷\r\n",
        encoding="utf-8",
    )
    ui.login(served.url, town, "1001", served.passwords[town])
    page = ui.page
    axe = Axe(ui)
    page.click("nav a[href='/safety/ledger']")
    page.wait_for_url(re.compile(r"/safety/ledger$"))
    axe.check("ledger")
    page.set_input_files("#ledger-evacuees", str(upload))
    page.click("[data-testid=ledger-import] button[type=submit]")
    page.locator("[data-testid=ledger-message]").wait_for()
    ui.shot("ledger-imported")
    pending = page.locator("[data-testid=ledger-pending] tbody tr")
    assert pending.count() >= 1
    axe.check("ledger-pending")
    row = page.locator("[data-testid=ledger-pending] tbody tr", has_text=family).first
    row.locator(f"input[value='{maybe.number}']").check()
    row.get_by_role("button", name="決定").click()
    page.wait_for_url(re.compile(r"/safety/ledger$"))
    assert page.locator(f"[data-testid=ledger-pending] input[value='{maybe.number}']").count() == 0
    axe.assert_clean()


def test_the_victim_ledger_in_the_browser(ui: UI, served: Served) -> None:
    """Business staff open a disaster and record a survey on screen; the page passes axe
    with the ledger and its forms, and with an identity check's result."""
    from .test_accessibility import Axe  # noqa: PLC0415

    town = "155811"
    with served.platform.town(town) as t:
        person = source_people(t)[2]
    from sqlalchemy import select  # noqa: PLC0415

    from lgcloud.register.models import PersonVersion  # noqa: PLC0415

    with served.platform.read_town(town) as t:
        household = t.session.scalar(
            select(PersonVersion.household_number).where(
                PersonVersion.addressee_number == person.number, PersonVersion.is_current
            )
        )
    ui.login(served.url, town, "2001", served.passwords[town])
    page = ui.page
    axe = Axe(ui)
    page.click("nav a[href='/safety/victims']")
    page.wait_for_url(re.compile(r"/safety/victims$"))
    axe.check("victims-empty")
    page.fill("#d-code", "2026-E2E")
    page.fill("#d-name", "試験の豪雨")
    page.fill("#d-on", "令和8年11月20日")
    page.get_by_test_id("disaster-form").get_by_role("button").click()
    page.wait_for_url(re.compile(r"disaster=2026-E2E"))
    page.fill("#s-household", str(household))
    page.fill("#s-damage", "55")
    page.fill("#s-on", "2026-11-22")
    page.fill("#s-surveyor", "調査班A")
    page.get_by_test_id("survey-form").get_by_role("button").click()
    page.locator("[data-testid=victim-ledger]").wait_for()
    assert "全壊" in page.locator("[data-testid=victim-ledger]").inner_text()
    axe.check("victims-ledger")
    page.fill("#i-name", person.name)
    page.fill("#i-birth", person.birth.isoformat())
    page.fill("#i-address", person.address)
    page.get_by_test_id("identity-form").get_by_role("button").click()
    page.locator("[data-testid=identity-result]").wait_for()
    ui.shot("victims-identity")
    axe.check("victims-identity")
    axe.assert_clean()
