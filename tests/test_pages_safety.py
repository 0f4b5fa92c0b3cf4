"""安否確認 (/safety) in-process: an uploaded shelter list matched against the register,
the results table and district summary, matches.csv for the same session only, the audit
entry, a refused file, a read-only disaster-recovery copy, and the menu."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import TODAY, TOWN_A, add_clerks
from lgcloud.audit.models import AuditEntry
from lgcloud.auth.roles import Role
from lgcloud.core.clock import utcnow
from lgcloud.generate.evacuees import noisy_evacuees, source_people, write_evacuees
from lgcloud.generate.town import generate_town
from lgcloud.register.models import PersonVersion
from lgcloud.safety import pages as safety_page
from lgcloud.tenancy.models import HostedTown
from lgcloud.tenancy.platform import Platform
from lgcloud.web.app import create_app

PASSWORD = "safety-pass-1"


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    generate_town(platform, TOWN_A, residents=300, seed=11, today=TODAY)
    clerks = {"C1": {Role.COUNTER_CLERK}, "C2": {Role.COUNTER_CLERK}}
    add_clerks(platform, TOWN_A, clerks, PASSWORD, surname="本部")
    return create_app(platform)


def _login(app: FastAPI, staff: str = "C1") -> TestClient:
    c = TestClient(app, follow_redirects=False)
    r = c.post("/login", data={"town_code": TOWN_A, "staff_number": staff, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return c


def _list(app: FastAPI, tmp_path: Path) -> bytes:
    platform: Platform = app.state.platform
    with platform.town(TOWN_A) as town:
        people = source_people(town)
    rows = noisy_evacuees(people, rows=60, today=TODAY, seed=3)
    path = tmp_path / "evacuees.csv"
    write_evacuees(rows, path)
    return path.read_bytes()


def _audits(app: FastAPI) -> list[AuditEntry]:
    platform: Platform = app.state.platform
    with platform.town(TOWN_A) as town:
        return list(
            town.session.scalars(
                select(AuditEntry).where(AuditEntry.action == "export_evacuee_matches")
            )
        )


def test_match_page_shows_results_and_districts(app: FastAPI, tmp_path: Path) -> None:
    c = _login(app)
    assert 'href="/safety"' in c.get("/").text  # in the menu
    assert 'data-testid="safety-form"' in c.get("/safety").text
    data = _list(app, tmp_path)
    r = c.post("/safety", files={"evacuees": ("shelter-1.csv", data, "text/csv")})
    assert r.status_code == 200, r.text
    assert 'data-testid="safety-results"' in r.text
    assert r.text.count('data-verdict="一致"') > 0
    assert 'data-testid="safety-districts"' in r.text
    # every matched row links to the resident found
    matched = r.text.split('data-verdict="一致"')[1:]
    assert matched and all('href="/persons/' in row.split("</tr>")[0] for row in matched)
    # one audited operation naming the proposed residents
    (entry,) = _audits(app)
    assert entry.detail["rows"] == 60
    # matches.csv for this session and clerk only
    href = r.text.split('data-testid="download-matches"')[0].rsplit('href="', 1)[1].split('"')[0]
    download = c.get(href)
    assert download.status_code == 200
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8"))))
    assert rows[0] == ["受付番号", "判定", "宛名番号", "スコア", "候補"]
    assert len(rows) == 61
    assert _login(app, "C2").get(href).status_code == 404


def test_bad_file_is_refused_with_row_and_column(app: FastAPI) -> None:
    c = _login(app)
    bad = "受付番号,氏名,趣味\r\n1,山田太郎,釣り\r\n".encode()
    r = c.post("/safety", files={"evacuees": ("bad.csv", bad, "text/csv")})
    assert r.status_code == 422
    assert "1 行目" in r.text and "趣味" in r.text
    assert _audits(app) == []
    r = c.post("/safety", files={"evacuees": ("bin.csv", b"\x00\x01PK\x03\x04", "text/csv")})
    assert r.status_code == 422


def test_matching_works_on_a_read_only_copy(app: FastAPI, tmp_path: Path) -> None:
    platform: Platform = app.state.platform
    with platform.platform_session() as s:
        hosted = s.get(HostedTown, TOWN_A)
        assert hosted is not None
        hosted.mode, hosted.as_of = "down_recovery", utcnow()
    c = _login(app)
    r = c.post("/safety", files={"evacuees": ("e.csv", _list(app, tmp_path), "text/csv")})
    assert r.status_code == 200, r.text
    assert "ダウンリカバリ運用" in r.text
    assert len(_audits(app)) == 1


def test_needs_login(app: FastAPI) -> None:
    anon = TestClient(app, follow_redirects=False)
    r = anon.get("/safety")
    assert (r.status_code, r.headers.get("location")) == (303, "/login")
    r = anon.post("/safety", files={"evacuees": ("e.csv", b"x", "text/csv")})
    assert r.status_code == 303
    assert _audits(app) == []


@pytest.mark.parametrize("name", ["matches.csv", "..", "../../etc/evacuees.csv", ".hidden"])
def test_any_upload_name_is_safe(app: FastAPI, tmp_path: Path, name: str) -> None:
    """The name is only shown: the upload never collides with matches.csv or leaves the
    scratch folder, and the rows as written are shown."""
    c = _login(app)
    data = _list(app, tmp_path)
    r = c.post("/safety", files={"evacuees": (name, data, "text/csv")})
    assert r.status_code == 200, r.text
    assert r.text.count('<td class="name">') == 60
    written = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    named = sum(1 for w in written if w["氏名"] or w["ふりがな"])
    assert named > 40
    # every written name or reading is shown (not the results file's columns)
    assert len(re.findall(r'<td class="name">(?!</td>)', r.text)) == named


def test_too_large_upload_is_refused(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safety_page, "MAX_UPLOAD_BYTES", 1000)
    c = _login(app)
    data = ("受付番号,氏名\r\n" + "".join(f"{i},山田太郎\r\n" for i in range(200))).encode()
    r = c.post("/safety", files={"evacuees": ("big.csv", data, "text/csv")})
    assert r.status_code == 413
    assert "大きすぎます" in r.text
    assert _audits(app) == []


def test_district_summary_counts_people_not_rows(app: FastAPI, tmp_path: Path) -> None:
    """The same resident on a list twice (two shelters) is one confirmed person."""
    platform: Platform = app.state.platform
    with platform.town(TOWN_A) as town:
        person = source_people(town)[0]
        district_residents = sum(1 for p in source_people(town) if p.district == person.district)
    row = f"{person.name},{person.kana},{person.birth.isoformat()},,,{person.address}"
    data = f"受付番号,氏名,ふりがな,生年月日,年齢,性別,住所\r\n1,{row}\r\n2,{row}\r\n".encode()
    c = _login(app)
    r = c.post("/safety", files={"evacuees": ("twice.csv", data, "text/csv")})
    assert r.text.count('data-verdict="一致"') == 2
    summary = r.text.split('data-testid="safety-districts"')[1]
    expected = (
        f"<td>{person.district}</td><td>{district_residents}</td><td>1</td><td>0</td>"
        f"<td>{district_residents - 1}</td>"
    )
    assert expected in summary


def test_former_residents_are_shown_as_gone_and_the_reference_date_is_taken(
    app: FastAPI, tmp_path: Path
) -> None:
    """A list of people who moved out or died: each match says 転出済 or 死亡 beside the
    person, the district table counts only current residents, and 基準日 is a 和暦 or ISO
    date (a wrong one is refused, and nothing is matched or audited)."""
    platform: Platform = app.state.platform
    with platform.town(TOWN_A) as town:
        gone = [p for p in source_people(town, former=True) if p.former]
    rows = noisy_evacuees(
        gone, rows=12, today=TODAY, seed=3, visitor_share=0, blank_rows=0, former_share=1
    )
    path = tmp_path / "evacuees.csv"
    write_evacuees(rows, path)
    c = _login(app)
    files = {"evacuees": ("gone.csv", path.read_bytes(), "text/csv")}
    r = c.post("/safety", files=files, data={"as_of": "令和8年11月23日"})
    assert r.status_code == 200, r.text
    assert r.text.count('data-verdict="一致"') > 0
    standings = re.findall(r'data-testid="standing">([^<]+)<', r.text)
    assert standings and all("済" in s or "死亡" in s for s in standings)
    districts = r.text.split('data-testid="safety-districts"')[1]
    confirmed = re.findall(r"<tr><td>[^<]*</td><td>\d+</td><td>(\d+)</td>", districts)
    assert confirmed and all(n == "0" for n in confirmed)
    r = c.post("/safety", files=files, data={"as_of": "令和8年13月1日"})
    assert r.status_code == 422 and "基準日" in r.text
    assert len(_audits(app)) == 1


def test_the_ledger_page_imports_decides_and_keeps(app: FastAPI, tmp_path: Path) -> None:
    """A list imported on screen joins the ledger; a 候補 row decided on screen is kept
    (the page shows it no longer, the district counts move); a counter clerk cannot
    download the whole town's list."""
    platform: Platform = app.state.platform
    with platform.town(TOWN_A) as town:
        people = source_people(town)
    seen, maybe = people[0], people[1]
    family = maybe.name.partition("\u3000")[0]
    data = (
        "受付番号,氏名,生年月日,避難所,状態\r\n"
        f"1,{seen.name},{seen.birth.isoformat()},公民館,無事\r\n"
        f"2,{family},{maybe.birth.isoformat()},公民館,負傷\r\n"
    ).encode()
    c = _login(app)
    assert 'href="/safety/ledger"' in c.get("/").text
    files = {"evacuees": ("kominkan.csv", data, "text/csv")}
    r = c.post("/safety/ledger/import", files=files, data={"reported_at": "2026-11-24T09:30"})
    assert r.status_code == 200, r.text
    assert "一致 1 行を台帳に反映、候補 1 行" in r.text
    pending = r.text.split('data-testid="ledger-pending"')[1]
    report = re.search(r'data-report="(\d+)"', pending)
    assert report is not None and f'value="{maybe.number}"' in pending
    r = c.post(f"/safety/ledger/reports/{report.group(1)}", data={"person": maybe.number})
    assert r.status_code == 303
    page = c.get("/safety/ledger").text
    assert "判断待ちの候補（0 行）" in page
    districts = page.split('data-testid="ledger-districts"')[1].split("</table>")[0]
    assert districts.count("<tr>") >= 2
    r = c.post("/safety/ledger/import", files=files)
    assert r.status_code == 422 and "すでに取り込まれています" in r.text
    r = c.post("/safety/ledger/import", files=files, data={"reported_at": "きのう"})
    assert r.status_code == 422 and "2026-12-01T09:30" in r.text
    assert 'data-testid="ledger-downloads"' not in page  # a counter clerk: no whole-town list
    assert c.get("/safety/ledger/list", params={"format": "csv"}).status_code == 403


def test_the_victim_ledger_page(app: FastAPI) -> None:
    """Business staff open a disaster, record a survey and a 支援金 and decide it on the
    page; any clerk checks an identity there; a counter clerk cannot write."""
    platform: Platform = app.state.platform
    add_clerks(platform, TOWN_A, {"G1": {Role.BUSINESS_STAFF}}, PASSWORD, surname="業務")
    with platform.read_town(TOWN_A) as town:
        v = town.session.scalars(
            select(PersonVersion).where(
                PersonVersion.is_current, PersonVersion.status == "resident"
            )
        ).first()
        assert v is not None
        household, name, birth = v.household_number, v.name, v.birth_date.isoformat()
        address = v.address
        size = len(
            town.session.scalars(
                select(PersonVersion.addressee_number).where(
                    PersonVersion.household_number == household,
                    PersonVersion.is_current,
                    PersonVersion.status == "resident",
                )
            ).all()
        )
    basic = "375,000 円" if size == 1 else "500,000 円"  # 大規模半壊; 3/4 for one person
    c = _login(app, "G1")
    assert 'href="/safety/victims"' in c.get("/").text
    form = {"code": "2026-01", "name": "令和8年11月豪雨", "occurred_on": "令和8年11月20日"}
    r = c.post("/safety/victims/disasters", data=form)
    assert r.status_code == 303 and r.headers["location"] == "/safety/victims?disaster=2026-01"
    survey = {"household_number": household, "damage_percent": "45", "surveyed_on": "2026-11-22",
              "surveyor": "調査班A"}  # fmt: skip
    assert c.post("/safety/victims/2026-01/surveys", data=survey).status_code == 303
    bad = c.post("/safety/victims/2026-01/surveys", data=survey | {"damage_percent": "145"})
    assert bad.status_code == 422 and "損害割合" in bad.text
    support = {"household_number": household, "kind": "基礎支援金", "applied_on": "2026-11-25"}
    assert c.post("/safety/victims/2026-01/support", data=support).status_code == 303
    page = c.get("/safety/victims", params={"disaster": "2026-01"}).text
    ledger = page.split('data-testid="victim-ledger"')[1].split("</table>")[0]
    assert household in ledger and "大規模半壊" in ledger and basic in page
    grant = re.search(r'data-testid="grant-(\d+)"', page)
    assert grant is not None
    decided = {"outcome": "granted", "decided_on": "2026-11-27"}
    assert c.post(f"/safety/victims/grants/{grant.group(1)}", data=decided).status_code == 303
    assert f"{basic}／0 円" in c.get("/safety/victims").text
    r = c.post("/safety/victims/identity", data={"name": name, "birth": birth, "address": address})
    assert r.status_code == 200 and "確認できました" in r.text
    counter = _login(app, "C1")
    assert counter.post("/safety/victims/disasters", data=form | {"code": "x"}).status_code == 403
