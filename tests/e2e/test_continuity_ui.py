"""Seed 003's cases 1 and 3 in the browser: the centre and the town nodes are separate
processes (lgcloud.continuity.drill.Federation), killed with SIGKILL."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from lgcloud.certificates.wareki import format_datetime_jst
from lgcloud.continuity.drill import Federation
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


@pytest.mark.slow
def test_case3_partner_after_activation_in_the_browser(fed: Federation, bare_ui: UI) -> None:
    if OWN_NODE in fed.procs:
        fed.kill(OWN_NODE)
    key = (fed.root / "safe" / f"{TOWN}.key").read_bytes()
    r = fed.node_call(PARTNER, "POST", f"/continuity/{TOWN}/activate", content=key)
    assert r.status_code == 200, r.text
    _wait_mode(fed, PARTNER, "partner")
    base = fed.url(PARTNER)
    bare_ui.allow(base)
    person = pick_person(fed.centre, TOWN, offset=23).number
    page = bare_ui.page

    bare_ui.login(base, TOWN, "1001", fed.passwords[TOWN])
    banner = page.get_by_test_id("mode-banner").inner_text()
    assert banner.startswith("連携町村での運用")
    assert "読み取り専用" in banner
    assert f"・{TOWN}" in page.get_by_test_id("acting-clerk").inner_text()
    bare_ui.shot("banner")
    _issue_and_check(bare_ui, base, person, as_of_text(banner))
    assert "連携町村" in page.locator("#issuances tbody tr").first.inner_text()
