"""Seed 003's cases 1 and 3 in the browser: the centre and the town nodes are separate
processes (lgcloud.drill.Federation), killed with SIGKILL."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from lgcloud.core.wareki import format_datetime_jst
from lgcloud.drill import Federation
from pdf_tools import extract_text

from .conftest import RESIDENTS, SEED, UI
from .helpers import as_of_text, pick_person

TOWN = "153079"
OWN_NODE = f"node-{TOWN}"
PARTNER = "node-154059"


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    """Centre and nodes started and replicated, then the centre killed (both cases)."""
    root = Path(tmp_path_factory.mktemp("fed"))
    f = Federation(root, residents=RESIDENTS, seed=SEED, log=lambda _m: None)
    try:
        f.start("centre")
        for spec in f.specs:
            f.start(spec.name)
        f.wait_replicated()
        f.kill("centre")
        yield f
    finally:
        f.stop_all()


def _wait_mode(fed: Federation, node: str, mode: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    state: dict[str, object] = {}
    while time.monotonic() < deadline:
        state = fed.node_call(node, "GET", f"/continuity/{TOWN}/state").json()
        if state.get("mode") == mode:
            return
        time.sleep(0.3)
    raise AssertionError(f"{node} did not reach {mode}: {state}")


def _issue_and_check(ui: UI, base: str, person: str, banner_as_of: str) -> None:
    page = ui.page
    page.goto(f"{base}/persons/{person}")
    issued = ui.issue("resident")
    ui.page.wait_for_timeout(700)  # let the viewer paint for the screenshot
    ui.shot("preview")
    assert as_of_text(issued.inner_text()) == banner_as_of
    src = page.locator("#pdf-preview").get_attribute("src")
    assert src
    r = page.request.get(base + src)
    assert r.status == 200
    assert r.headers["content-type"] == "application/pdf"
    header_as_of = datetime.fromisoformat(r.headers["x-data-as-of"])
    assert re.sub(r"\s", "", format_datetime_jst(header_as_of)) == banner_as_of
    assert as_of_text(extract_text(r.body())) == banner_as_of
    # and the issuance history says where and how it was issued
    assert page.locator("#issuances tbody tr").first.inner_text().strip()


@pytest.mark.slow
def test_case1_down_recovery_in_the_browser(fed: Federation, bare_ui: UI) -> None:
    _wait_mode(fed, OWN_NODE, "down_recovery")
    base = fed.url(OWN_NODE)
    bare_ui.allow(base)
    person = pick_person(fed.centre, TOWN, offset=11).number
    pw = fed.passwords[TOWN]
    page = bare_ui.page

    bare_ui.login(base, TOWN, "1001", pw)
    banner = page.get_by_test_id("mode-banner").inner_text()
    assert banner.startswith("ダウンリカバリ運用")
    assert "データ時点" in banner
    assert "読み取り専用" in banner
    banner_as_of = as_of_text(banner)
    bare_ui.shot("banner")
    _issue_and_check(bare_ui, base, person, banner_as_of)
    assert "ダウンリカバリ" in page.locator("#issuances tbody tr").first.inner_text()

    # a change is refused, saying what to do instead
    bare_ui.switch("2001", fed.pins["2001"])
    page.goto(f"{base}/events?kind=move_within&person={person}")
    refusal = page.get_by_test_id("refusal").inner_text()
    bare_ui.shot("refusal")
    assert "ダウンリカバリ運用" in refusal
    assert "申請" in refusal and "センター" in refusal
    assert page.locator("form.event").count() == 0
    # every page keeps the banner
    assert page.get_by_test_id("mode-banner").inner_text() == banner

    # ... and the refusal leads to 申請受付: the application is received and kept at the node
    page.get_by_test_id("to-applications").click()
    page.wait_for_url(re.compile(r"/applications$"))
    assert page.get_by_test_id("mode-banner").inner_text() == banner
    assert page.get_by_test_id("no-pending").is_visible()
    page.select_option("#kind", "move_within")
    page.fill("#addressee_number", person)
    page.fill("#details", "転居届（書面を受付）新住所: 聖籠町大字東港1番地")
    bare_ui.shot("application-form")
    page.get_by_test_id("submit-application").click()
    page.wait_for_url(re.compile(r"/applications\?received=\d+$"))
    received = page.get_by_test_id("application-received").inner_text()
    number = re.search(r"受付番号 (\d+)", received)
    assert number, received
    rows = page.locator("[data-testid=pending-applications] tbody tr")
    assert rows.count() == 1
    row = rows.first.inner_text()
    assert number.group(1) in row and "転居届" in row and person in row
    assert "聖籠町大字東港1番地" in row
    bare_ui.shot("application-received")
    # kept on the node for the hand-back to the centre
    activity = fed.node_call(OWN_NODE, "GET", f"/continuity/{TOWN}/activity").json()
    assert [a["addressee_number"] for a in activity["applications"]] == [person]


@pytest.mark.slow
def test_case3_partner_after_activation_in_the_browser(fed: Federation, bare_ui: UI) -> None:
    if OWN_NODE in fed.procs:
        fed.kill(OWN_NODE)
    key_file = fed.root / "safe" / f"{TOWN}.key"
    base = fed.url(PARTNER)
    bare_ui.allow(base)
    person = pick_person(fed.centre, TOWN, offset=23).number
    page = bare_ui.page

    # the town's IT officer activates it at the partner node, from the browser: the node
    # operator's token first (a wrong one is refused), then the recovery key file
    page.goto(f"{base}/node")
    page.fill("#token", "not-the-token")
    page.click("[data-testid=node-login] button[type=submit]")
    assert "正しくありません" in page.get_by_test_id("token-error").inner_text()
    page.fill("#token", fed.node_token(PARTNER))
    bare_ui.shot("node-token")
    page.click("[data-testid=node-login] button[type=submit]")
    assert page.get_by_test_id(f"state-{TOWN}").inner_text().startswith("待機")
    page.set_input_files(f"#key_file-{TOWN}", str(key_file))
    page.fill(f"#operator-activate-{TOWN}", "聖籠町 情報担当")
    bare_ui.shot("node-activate")
    page.get_by_test_id(f"activate-button-{TOWN}").click()
    page.wait_for_selector("[data-testid=node-message], [data-testid=node-error]", timeout=120_000)
    assert page.get_by_test_id("node-error").count() == 0, page.get_by_test_id(
        "node-error"
    ).inner_text()
    assert TOWN in page.get_by_test_id("node-message").inner_text()
    assert page.get_by_test_id(f"state-{TOWN}").inner_text() == "連携町村での運用"
    assert page.get_by_test_id(f"stop-{TOWN}").is_visible()
    bare_ui.shot("node-activated")
    _wait_mode(fed, PARTNER, "partner", timeout=5)

    bare_ui.login(base, TOWN, "1001", fed.passwords[TOWN])
    banner = page.get_by_test_id("mode-banner").inner_text()
    assert banner.startswith("連携町村での運用")
    assert "読み取り専用" in banner
    assert f"・{TOWN}" in page.get_by_test_id("acting-clerk").inner_text()
    bare_ui.shot("banner")
    _issue_and_check(bare_ui, base, person, as_of_text(banner))
    assert "連携町村" in page.locator("#issuances tbody tr").first.inner_text()
