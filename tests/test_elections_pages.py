"""選挙 on screen and over the JSON API: who may do what (the 選管事務局 manages the roll, a
poll clerk only checks voters in and sees no register), the registration run previewed and
fixed from the page with a 和暦 date, the check-in page (accepted, then refused with where
and when), 閲覧 recorded before the 抄本 is offered, and the 入場券 printed as a job whose
files are downloaded from the election page."""

from __future__ import annotations

import csv
import fcntl
import io
import time
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import TOWN_A, add_clerks, cli_env, page_client, record_family
from lgcloud.audit.models import AuditEntry
from lgcloud.auth.roles import Role
from lgcloud.cli import app as cli
from lgcloud.core.clock import today_jst
from lgcloud.elections import queries
from lgcloud.tenancy.platform import Platform
from lgcloud.web.app import create_app

PASSWORD = "election-pages-1"


def client(platform: Platform, staff: str) -> TestClient:
    return page_client(create_app(platform), staff, PASSWORD)


@pytest.fixture
def clerks(platform: Platform) -> dict[str, str]:
    add_clerks(
        platform,
        TOWN_A,
        {"E1": [Role.ELECTION_STAFF], "P1": [Role.POLL_CLERK], "C1": [Role.COUNTER_CLERK]},
        PASSWORD,
    )
    return record_family(platform, TOWN_A, "画面")


def setup_roll(c: TestClient) -> None:
    assert (
        c.post(
            "/elections/polling-districts",
            data={"code": "01", "name": "第1投票区", "place": "亀塚公民館"},
        ).status_code
        == 303
    )
    assert (
        c.post("/elections/polling-areas", data={"area": "亀塚", "polling_code": "01"}).status_code
        == 303
    )
    r = c.post("/elections/registration-runs", data={"reference_date": "令和8年12月1日"})
    assert r.status_code == 303, r.text
    page = c.get("/elections").text
    assert "令和8年12月1日" in page and "2 人" in page  # head and wife; the child is 8
    run = page.split('data-run="', 1)[1].split('"', 1)[0]
    assert c.post(f"/elections/registration-runs/{run}/fix").status_code == 303
    assert "登録者 2 人" in c.get("/elections").text


def create_election(c: TestClient) -> str:
    today = today_jst()
    r = c.post(
        "/elections",
        data={
            "code": "test",
            "name": "画面町長選挙",
            "polling_day": (today + timedelta(days=5)).isoformat(),
            "reference_date": (today - timedelta(days=2)).isoformat(),
            "registration_date": (today - timedelta(days=1)).isoformat(),
            "early_from": (today - timedelta(days=1)).isoformat(),
        },
    )
    assert (r.status_code, r.headers["location"]) == (303, "/elections/test"), r.text
    r = c.post("/elections/test/stations", data={"station": "E", "name": "役場期日前投票所"})
    assert r.status_code == 303, r.text
    return "test"


def test_roles_see_what_they_need(platform: Platform, clerks: dict[str, str]) -> None:
    staff, poll, counter = (client(platform, s) for s in ("E1", "P1", "C1"))
    setup_roll(staff)
    create_election(staff)
    # a poll clerk lands on the elections page, sees the stations, and nothing of the roll
    assert poll.get("/").headers["location"] == "/elections"
    page = poll.get("/elections")
    assert page.status_code == 200 and "役場期日前投票所" in page.text
    assert "選挙人名簿" not in page.text and "閲覧" not in page.text
    assert poll.get(f"/persons/{clerks['head']}").status_code == 403
    assert poll.get("/api/elections/roll/01.csv").status_code == 403
    assert poll.post("/elections/registration-runs", data={}).status_code == 403
    # a counter clerk has no elections at all
    assert counter.get("/elections").status_code == 403
    assert counter.post("/api/elections/test/checkins", json={"station": "E"}).status_code == 403


def test_check_in_page_accepts_once_and_then_says_where_and_when(
    platform: Platform, clerks: dict[str, str]
) -> None:
    staff, poll = client(platform, "E1"), client(platform, "P1")
    setup_roll(staff)
    create_election(staff)
    with platform.read_town(TOWN_A) as t:
        elector = queries.active_electors(t)[clerks["wife"]]
    r = poll.post("/elections/test/checkin/E", data={"scanned": f"E{elector.elector_number}"})
    assert r.status_code == 200 and 'data-testid="checkin-ok"' in r.text
    assert "期日前投票" in r.text
    again = poll.post("/elections/test/checkin/E", data={"scanned": clerks["wife"]})
    assert again.status_code == 422 and "すでに受付済み" in again.text
    assert "役場期日前投票所（期日前投票）" in again.text
    misread = poll.post("/elections/test/checkin/E", data={"scanned": "E0000000018"})
    assert misread.status_code == 422 and "検査数字" in misread.text
    turnout = poll.get("/api/elections/test/turnout").json()["districts"]
    assert turnout == [
        {"polling_code": "01", "electors": 2, "voted": 1, "rate": 0.5, "by_hour": {"early": 1}}
    ]


def test_inspection_is_recorded_before_the_extract_is_offered(
    platform: Platform, clerks: dict[str, str]
) -> None:
    staff = client(platform, "E1")
    setup_roll(staff)
    refused = staff.post(
        "/elections/inspections",
        data={
            "purpose": "marketing",
            "applicant": "業者",
            "viewers": "a",
            "reason": "DM",
            "polling_code": "01",
        },
    )
    assert refused.status_code == 422 and "法の定める目的" in refused.text
    r = staff.post(
        "/elections/inspections",
        data={
            "purpose": "confirm_person",
            "applicant": "画面 太郎",
            "viewers": "画面 太郎",
            "reason": "自分の登録の確認",
            "polling_code": "01",
        },
    )
    assert r.status_code == 200 and 'data-testid="extract-link"' in r.text
    extract = staff.get("/api/elections/roll/01.pdf?extract=true")
    assert extract.status_code == 200 and extract.content.startswith(b"%PDF")
    with platform.read_town(TOWN_A) as t:
        actions = list(t.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert actions[-2:] == ["view_roll_inspection", "export_electoral_roll"]


def test_tickets_are_printed_as_a_job_and_downloaded(
    platform: Platform, clerks: dict[str, str]
) -> None:
    staff = client(platform, "E1")
    setup_roll(staff)
    create_election(staff)
    # another server process printing this town's cards holds the lock: refused, not doubled
    lock_path = platform.data_dir / "run" / f"tickets-{TOWN_A}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        busy = staff.post("/elections/test/tickets", data={"per": "voter"})
        assert busy.status_code == 409 and "実行中" in busy.text
        assert 'data-testid="tickets-running"' in staff.get("/elections/test").text
    r = staff.post("/elections/test/tickets", data={"per": "voter"})
    assert r.status_code == 303, r.text
    for _ in range(600):
        page = staff.get("/elections/test").text
        if "（完了）" in page:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the 入場券 job did not finish")
    assert "2 / 2 通" in page
    link = page.split('href="/elections/notices/', 1)[1].split('"', 1)[0]
    pdf = staff.get(f"/elections/notices/{link}")
    assert pdf.status_code == 200
    assert len(PdfReader(BytesIO(pdf.content)).pages) == 2
    assert staff.get(f"/elections/notices/{link.split('/')[0]}/other.pdf").status_code == 404


def test_the_commands_set_up_register_print_and_draw(
    platform: Platform, clerks: dict[str, str], tmp_path: Path
) -> None:
    """``lgcloud election …`` end to end on the same town: 投票区 and table, a 定時登録
    previewed then fixed, the roll as CSV read back, the 入場券, the draw (redrawn from its
    seed), turnout; a refused command exits 2 with the Japanese message."""
    runner = CliRunner(env=cli_env(platform))
    base = ["--town", TOWN_A, "--data-dir", str(platform.data_dir)]

    def run(*args: str) -> str:
        result = runner.invoke(cli, ["election", *args, *base])
        assert result.exit_code == 0, result.output
        return str(result.output)

    assert "投票区 01" in run("district", "--code", "01", "--name", "第1投票区")
    run("area", "--area", "亀塚", "--district", "01")
    refused = runner.invoke(cli, ["election", "preview", "--reference-date", "2026-11-01", *base])
    assert refused.exit_code == 2 and "定時登録の基準日" in refused.output
    preview = run("preview", "--reference-date", "2026-12-01")
    assert "登録 2 人" in preview
    code = preview.split()[0]
    fixed = " ".join(run("fix", "--run", code).split())  # the console wraps long lines
    assert "状態: 確定済み" in fixed and "年齢満18年に達していない" in fixed
    out = tmp_path / "roll-01.csv"
    run("roll", "--district", "01", "--out", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert {r["宛名番号"] for r in rows} == {clerks["head"], clerks["wife"]}
    create_election(page_client(create_app(platform), "E1", PASSWORD))
    printed = run("tickets", "--election", "test", "--out-dir", str(tmp_path / "t"))
    assert "1 通（1 ファイル）" in printed  # one household, one card
    drawn = run("draw-jurors", "--year", "2027", "--count", "1")
    seed = drawn.split()[1]
    again = run("draw-jurors", "--year", "2027", "--count", "1", "--seed", seed)
    assert drawn.splitlines()[-1] == again.splitlines()[-1]
    assert "01" in run("turnout", "--election", "test")
