"""Accessibility of the counter pages: axe-core (WCAG 2.1 A/AA rules) on each main page, in
real headless Chromium (docs/ui.md).

axe is vendored (``vendor/axe-core/axe.min.js``, MPL-2.0) and injected from that file, so
the pages make no outside request. A violation of impact ``serious`` or ``critical`` fails
the test; ``moderate`` and ``minor`` ones are printed (``pytest -s``) so they stay visible.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from lgcloud.core.clock import today_jst
from lgcloud.elections import queries as election_queries
from lgcloud.generate.evacuees import noisy_evacuees, source_people, write_evacuees

from .conftest import UI, Served
from .helpers import hiragana, pick_person

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}
#: iframes: false — the only frame on these pages is the issued PDF (Chromium's own PDF
#: viewer, not lgcloud's HTML, and axe cannot be injected into it); axe still checks the
#: <iframe> element itself (frame-title), so nothing of lgcloud's is skipped.
RUN_AXE = """async (tags) => await axe.run(document, {
    runOnly: {type: 'tag', values: tags},
    iframes: false,
    resultTypes: ['violations', 'incomplete'],
})"""
DUPLICATE_IDS = """() => {
    const seen = new Set(), dup = new Set();
    for (const e of document.querySelectorAll('[id]')) {
        (seen.has(e.id) ? dup : seen).add(e.id);
    }
    return [...dup];
}"""
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: axe's best practices (landmarks, heading order, …): not WCAG success criteria, so only
#: printed, never failing the test
ADVICE = ["best-practice"]


def _targets(v: dict[str, Any]) -> str:
    return "; ".join(", ".join(map(str, n["target"])) for n in v["nodes"][:5])


class Axe:
    """Runs axe on the page as it is now; collects every violation by page label."""

    def __init__(self, ui: UI) -> None:
        self.ui = ui
        self.found: list[tuple[str, dict[str, Any]]] = []

    def check(self, label: str) -> None:
        page = self.ui.page
        page.wait_for_load_state("load")
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.add_script_tag(path=str(AXE))
        result = page.evaluate(RUN_AXE, WCAG)
        assert result["passes"] or result["violations"], "axe checked nothing"
        for v in result["violations"]:
            self.found.append((label, v))
            print(f"[axe {v['impact']}] {label}: {v['id']} — {v['help']} — {_targets(v)}")
        for v in result["incomplete"]:  # axe could not decide: for a person to look at
            why = {m["message"] for n in v["nodes"] for m in n["any"] + n["all"] + n["none"]}
            print(f"[axe needs review] {label}: {v['id']} — {_targets(v)} — {sorted(why)}")
        # axe 4.x no longer checks plain duplicate ids (WCAG 2.2 dropped 4.1.1), but a
        # repeated id still breaks <label for> and aria-describedby on these forms
        dup = page.evaluate(DUPLICATE_IDS)
        assert not dup, f"{label}: duplicate ids {dup}"
        advice = page.evaluate(RUN_AXE, ADVICE)
        for v in advice["violations"]:
            print(f"[axe best-practice {v['impact']}] {label}: {v['id']} — {_targets(v)}")
        self.ui.shot(f"axe-{label}")

    def assert_clean(self) -> None:
        blocking = [
            f"{label}: {v['id']} ({v['impact']}) {v['help']} at {_targets(v)}"
            for label, v in self.found
            if v["impact"] in BLOCKING
        ]
        assert not blocking, "axe found serious/critical violations:\n" + "\n".join(blocking)


def test_axe_finds_a_violation(ui: UI, served: Served) -> None:
    """The check itself: an unlabelled field and an image without alt text are reported."""
    axe = Axe(ui)
    ui.page.goto(served.url + "/login")
    ui.page.evaluate(
        "() => { const i = document.createElement('input'); i.type = 'text';"
        " const m = document.createElement('img'); m.src = '/static/none.png';"
        " document.querySelector('main').append(i, m); }"
    )
    axe.check("probe")
    assert {v["id"] for _, v in axe.found} >= {"label", "image-alt"}
    assert {v["impact"] for _, v in axe.found} & BLOCKING


def test_login_page(ui: UI, served: Served) -> None:
    axe = Axe(ui)
    ui.page.goto(served.url + "/login")
    axe.check("login")
    # a failed login shows its message on the same page
    ui.page.select_option("#town_code", "153079")
    ui.page.fill("#staff_number", "9101")  # logs in by PIN only in the other tests
    ui.page.fill("#password", "wrong-password")
    ui.page.click("button[type=submit]")
    ui.page.wait_for_load_state("load")
    axe.check("login-refused")
    axe.assert_clean()


def test_counter_pages(ui: UI, served: Served) -> None:
    """住民検索 with results, a person, the issued 住民票's preview and its 照合 page, 職員切替,
    申請受付 (in normal mode: the note only)."""
    town = "153079"
    person = pick_person(served.platform, town, offset=11)
    page = ui.page
    axe = Axe(ui)
    ui.login(served.url, town, "1001", served.passwords[town])
    axe.check("search")
    ui.search(hiragana(person.surname_kana))
    axe.check("search-results")

    page.locator(f"#results a.result-link:text-is('{person.number}')").click()
    page.wait_for_url(re.compile(rf"/persons/{person.number}"))
    axe.check("person")
    ui.issue("resident")
    axe.check("issued-preview")
    code = page.get_by_test_id("verification-code").inner_text()

    page.goto(f"{served.url}/verify/{code}")  # the page a certificate's QR code opens
    axe.check("verify")

    page.goto(served.url + "/switch")
    axe.check("switch")
    page.goto(served.url + "/applications")
    axe.check("applications")
    axe.assert_clean()


def test_life_event_forms(ui: UI, served: Served) -> None:
    """Each life-event form, 転入届, and a form showing its messages next to the fields."""
    town = "155811"
    person = pick_person(served.platform, town, offset=5)
    page = ui.page
    axe = Axe(ui)
    ui.login(served.url, town, "2001", served.passwords[town])
    for kind in ("move_within", "domestic_move_out", "death", "birth", "head_change", "correction"):
        page.goto(f"{served.url}/events?kind={kind}&person={person.number}")
        page.get_by_test_id("submit-event").wait_for()
        axe.check(f"event-{kind}")
    for kind in ("domestic_move_in", "foreign_move_in"):
        page.goto(f"{served.url}/events?kind={kind}")
        axe.check(f"event-{kind}")

    # field errors: an empty address, a malformed postal code
    page.goto(f"{served.url}/events?kind=move_within&person={person.number}")
    page.fill("#address", "")
    page.fill("#postal_code", "12ab")
    page.get_by_test_id("submit-event").click()
    page.wait_for_selector("[data-testid=error-summary]")
    axe.check("event-errors")

    # 転入届 with a person's error in their row (foreign items opened)
    page.goto(f"{served.url}/events?kind=foreign_move_in")
    page.get_by_test_id("kind-foreign_move_in").check()
    page.fill("#previous_address", "フィリピン共和国マニラ市")
    page.fill("#address", "関川村大字下関912番地")
    page.fill("#postal_code", "9593265")
    page.fill("#p0_name", "SANTOS\u3000MARIA")
    page.fill("#p0_kana", "サントス\u3000マリア")
    page.fill("#p0_birth_date", "1995-03-14")
    page.select_option("#p0_sex", "2")
    page.get_by_test_id("p0_foreign").locator("summary").click()
    page.fill("#p0_nationality", "フィリピン")
    page.select_option("#p0_foreign_category", "中長期在留者")
    page.fill("#p0_stay_expires_on", str(today_jst() + timedelta(days=365)))
    page.fill("#p0_residence_card_number", "PH12345678AB")
    page.get_by_test_id("submit-event").click()
    page.wait_for_selector("[data-testid=error-p0_residence_status]")
    axe.check("move-in-errors")
    axe.assert_clean()


def test_safety_pages(ui: UI, served: Served, tmp_path: Path) -> None:
    town = "153079"
    with served.platform.town(town) as t:
        people = source_people(t)
    upload = tmp_path / "shelter.csv"
    write_evacuees(noisy_evacuees(people, rows=12, today=today_jst(), seed=7), upload)
    page = ui.page
    axe = Axe(ui)
    ui.login(served.url, town, "1001", served.passwords[town])
    page.goto(served.url + "/safety")
    axe.check("safety")
    page.set_input_files("#evacuees", str(upload))
    page.click("[data-testid=match]")
    page.locator("[data-testid=safety-results]").wait_for()
    axe.check("safety-results")
    axe.assert_clean()


def test_audit_clerks_and_interchange(ui: UI, served: Served) -> None:
    """The IT officer's pages: 監査レポート (with a report), 職員と役割, 取り込みと出力."""
    town = "153079"
    person = pick_person(served.platform, town, offset=2)
    page = ui.page
    axe = Axe(ui)
    ui.login(served.url, town, "9001", served.passwords[town])
    page.goto(served.url + "/audit")
    axe.check("audit")
    page.goto(f"{served.url}/audit?person={person.number}")
    axe.check("audit-who-viewed")
    page.goto(f"{served.url}/audit?clerk=9001")
    axe.check("audit-by-clerk")
    page.goto(served.url + "/clerks")
    axe.check("clerks")
    page.goto(served.url + "/interchange")
    axe.check("interchange")
    axe.assert_clean()


def test_common_function_pages(ui: UI, served: Served) -> None:
    """宛名 (search, a refused 住登外者 form, an addressee with its contact forms), 処理待ち,
    and the IT officer's 法令パラメータ."""
    town = "155811"
    person = pick_person(served.platform, town, offset=3)
    page = ui.page
    axe = Axe(ui)
    ui.login(served.url, town, "2001", served.passwords[town])
    page.goto(f"{served.url}/addressees?q={person.number}")
    axe.check("addressees-search")
    page.fill("#name", "")
    page.fill("#address", "")
    page.get_by_test_id("non-resident-submit").click()
    page.wait_for_load_state("load")
    axe.check("addressees-refused")
    page.goto(f"{served.url}/addressees/{person.number}")
    axe.check("addressee")
    page.goto(served.url + "/worklist")
    axe.check("worklist")
    page.context.clear_cookies()  # a second clerk on the same browser
    ui.login(served.url, town, "9001", served.passwords[town])
    page.goto(served.url + "/parameters")
    axe.check("parameters")
    axe.assert_clean()


def test_election_pages(ui: UI, served: Served) -> None:
    """選挙: the 選管's overview (roll, runs, 投票区, 閲覧, draw), a refused preview, an
    election, 受付 accepted then refused with where and when; the poll clerk lands on the
    elections page and sees only the stations."""
    town = "154059"
    page = ui.page
    axe = Axe(ui)
    ui.login(served.url, town, "3001", served.passwords[town])
    page.goto(served.url + "/elections")
    axe.check("elections")
    page.fill("#run-reference", "令和8年11月2日")  # not a 定時登録 基準日
    page.get_by_test_id("run-preview").click()
    page.wait_for_load_state("load")
    assert "定時登録の基準日" in page.get_by_test_id("error-runs").inner_text()
    axe.check("elections-refused")
    page.goto(served.url + "/elections/demo")
    axe.check("election")
    with served.platform.read_town(town) as t:
        elector = next(iter(election_queries.active_electors(t).values()))
    page.goto(served.url + "/elections/demo/checkin/E")
    page.fill("#scanned", f"E{elector.elector_number}")
    page.get_by_test_id("checkin-submit").click()
    page.wait_for_load_state("load")
    assert "受付しました" in page.get_by_test_id("checkin-ok").inner_text()
    axe.check("checkin-accepted")
    page.fill("#scanned", elector.addressee_number)
    page.get_by_test_id("checkin-submit").click()
    page.wait_for_load_state("load")
    assert "すでに受付済み" in page.get_by_test_id("checkin-error").inner_text()
    axe.check("checkin-refused")
    page.context.clear_cookies()  # the poll clerk, on the same browser
    page.goto(served.url + "/login")
    page.select_option("#town_code", town)
    page.fill("#staff_number", "3101")
    page.fill("#password", served.passwords[town])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/elections$"))
    assert page.get_by_test_id("checkin-link-E").is_visible()
    assert page.get_by_test_id("roll-size").count() == 0
    axe.check("elections-poll-clerk")
    axe.assert_clean()
