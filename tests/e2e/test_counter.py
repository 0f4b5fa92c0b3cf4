"""Seed 003's counter flows in normal mode, in real headless Chromium (docs/ui.md)."""

from __future__ import annotations

import re

from lgcloud.core.clock import today_jst
from pdf_tools import extract_text

from .conftest import UI, Served
from .helpers import as_of_text, hiragana, pick_person


def test_outside_requests_are_blocked_and_recorded(ui: UI, served: Served) -> None:
    """The guard itself: a page that asks for an outside resource gets nothing."""
    ui.page.goto(served.url + "/login")
    ui.page.evaluate(
        "() => { const i = document.createElement('img');"
        " i.src = 'http://cdn.example.invalid/x.png'; document.body.append(i); }"
    )
    ui.page.wait_for_timeout(300)
    assert ui.guard.foreign == ["http://cdn.example.invalid/x.png"]
    assert [u for u in ui.guard.requests if not u.startswith(served.url)] == ui.guard.foreign
    ui.guard.foreign.clear()  # (only this test expects one)


def test_issue_resident_certificate(ui: UI, served: Served) -> None:
    """Log in, search as you type (folded), open the person with the keyboard, issue a 住民票:
    the preview shows the PDF in the page, printable; the issuance history has it."""
    town = "153079"
    person = pick_person(served.platform, town)
    page = ui.page
    ui.login(served.url, town, "1001", served.passwords[town])
    assert page.get_by_test_id("mode-banner").inner_text() == "通常"
    assert "窓口\u3000一子（1001）" in page.get_by_test_id("acting-clerk").inner_text()
    ui.shot("search-page")

    # search as you type: hiragana finds the katakana reading, without a page load
    page.evaluate("() => { window.__samePage = true; }")
    results = ui.search(hiragana(person.surname_kana))
    assert page.evaluate("() => window.__samePage") is True, "the page reloaded"
    assert person.number in results.inner_text()
    assert "?q=" in page.url  # the URL follows, so a reload shows the same list
    ui.shot("results")

    # narrow down to the person with the full reading, then keyboard only: ↓ and Enter
    results = ui.search(hiragana(person.kana.replace("\u3000", "")))
    page.locator("#q").press("ArrowDown")
    focused = page.evaluate("() => document.activeElement.textContent")
    assert re.fullmatch(r"\d{10}", focused.strip())
    link = page.locator(f"#results a.result-link:text-is('{person.number}')")
    link.focus()
    link.press("Enter")
    page.wait_for_url(re.compile(rf"/persons/{person.number}"))
    assert page.get_by_test_id("person-name").inner_text() == person.name
    before = page.locator("#issuances tbody tr").all_inner_texts()
    ui.shot("person")

    issued = ui.issue("resident")
    text = issued.inner_text()
    assert "住民票の写し" in text
    number = page.get_by_test_id("issue-number").inner_text()
    code = page.get_by_test_id("verification-code").inner_text()
    ui.page.wait_for_timeout(700)  # let the viewer paint for the screenshot
    ui.shot("preview")

    # the preview is the issued PDF, from lgcloud, for this session
    src = page.locator("#pdf-preview").get_attribute("src")
    assert src == f"/persons/{person.number}/certificates/{code}"
    r = page.request.get(served.url + src)
    assert r.status == 200
    assert r.headers["content-type"] == "application/pdf"
    pdf = r.body()
    assert pdf.startswith(b"%PDF")
    pdf_text = extract_text(pdf)
    assert code in pdf_text.replace(" ", "")
    assert as_of_text(pdf_text) == as_of_text(
        "データ時点 " + issued.inner_text().split("データ時点")[1]
    )
    frame = next(f for f in page.frames if f.url.endswith(src))
    assert frame is not None

    # print is a real button, reached by keyboard (focus moved there after issuing)
    assert page.evaluate("() => document.activeElement.dataset.testid") == "print"

    # 交付履歴 updated in place
    rows = page.locator("#issuances tbody tr").all_inner_texts()
    assert len(rows) == len([b for b in before if "まだありません" not in b]) + 1
    assert number in rows[0]
    assert "窓口\u3000一子" in rows[0]
    ui.shot("history")


def test_quick_switch_then_view_then_audit_names_the_switched_clerk(ui: UI, served: Served) -> None:
    town = "153079"
    person = pick_person(served.platform, town, offset=7)
    page = ui.page
    pw = served.passwords[town]
    ui.login(served.url, town, "1001", pw)
    ui.switch("1002", served.pins["1002"])
    assert "窓口\u3000二郎（1002）" in page.get_by_test_id("acting-clerk").inner_text()
    ui.shot("switched")

    ui.search(person.number)
    page.locator(f"#results a.result-link:text-is('{person.number}')").click()
    page.wait_for_url(re.compile(rf"/persons/{person.number}"))
    ui.shot("viewed-by-1002")

    # the auditor takes the terminal (quick switch again) and asks who viewed the person
    ui.switch("9101", served.pins["9101"])
    assert "監査\u3000五月（9101）" in page.get_by_test_id("acting-clerk").inner_text()
    page.click("nav a[href='/audit']")
    page.fill("#person", person.number)
    page.get_by_test_id("who-viewed").click()
    page.wait_for_selector("[data-testid=audit-lines]")
    ui.shot("who-viewed")
    views = page.locator("tr[data-action=view_person]")
    assert views.count() >= 1
    staff = {views.nth(i).get_attribute("data-staff") for i in range(views.count())}
    assert staff == {"1002"}, staff
    assert "窓口\u3000二郎" in views.first.inner_text()
    assert "個人の閲覧" in views.first.inner_text()

    # what did 1002 do: the switch, the search, the view of this person
    page.fill("#clerk", "1002")
    page.get_by_test_id("by-clerk").click()
    page.wait_for_url(re.compile(r"clerk=1002"))
    ui.shot("by-clerk")
    actions = page.locator("[data-testid=audit-lines] tbody tr")
    done = [actions.nth(i).get_attribute("data-action") for i in range(actions.count())]
    # newest first: the view, the searches typed before it, the switch to 1002
    first_switch = done.index("quick_switch")
    assert done[0] == "view_person", done
    assert set(done[1:first_switch]) == {"search"}, done
    assert person.number in actions.first.inner_text()

    # and 1001 (who logged in on this terminal) did not view the person
    page.fill("#clerk", "1001")
    page.get_by_test_id("by-clerk").click()
    page.wait_for_url(re.compile(r"clerk=1001"))
    views_1001 = page.locator("tr[data-action=view_person]").all_inner_texts()
    assert not [v for v in views_1001 if person.number in v], views_1001


def test_life_event_form_shows_messages_next_to_the_field(ui: UI, served: Served) -> None:
    town = "155811"
    person = pick_person(served.platform, town, offset=3)
    page = ui.page
    ui.login(served.url, town, "2001", served.passwords[town])
    page.goto(f"{served.url}/persons/{person.number}")
    page.get_by_test_id("event-move_within").click()
    page.wait_for_url(re.compile(r"/events\?kind=move_within"))
    ui.shot("form")

    # empty address and a future date: both refused, each message beside its field
    page.fill("#effective_date", "2099-01-01")
    page.fill("#address", "")
    page.fill("#postal_code", "12ab")
    page.get_by_test_id("submit-event").click()
    page.wait_for_selector("[data-testid=error-summary]")
    ui.shot("errors")
    assert page.get_by_test_id("error-address").is_visible()
    assert page.get_by_test_id("error-postal_code").is_visible()
    assert page.locator("#address").get_attribute("aria-invalid") == "true"
    assert page.locator("#address").get_attribute("aria-describedby") == "err-address"

    # the domain's rule (a date in the future) next to the date field
    page.fill("#address", "関川村大字テスト1番地")
    page.fill("#postal_code", "9593200")
    page.get_by_test_id("submit-event").click()
    page.wait_for_selector("[data-testid=error-effective_date]")
    assert "未来" in page.get_by_test_id("error-effective_date").inner_text()
    assert page.locator("#address").input_value() == "関川村大字テスト1番地"
    ui.shot("rule-error")

    # fixed: recorded, back on the person with the new address
    page.fill("#effective_date", str(today_jst()))
    page.get_by_test_id("submit-event").click()
    page.wait_for_url(re.compile(rf"/persons/{person.number}\?recorded=move_within"))
    assert "関川村大字テスト1番地" in page.get_by_test_id("person-address").inner_text()
    ui.shot("recorded")


def test_every_asset_is_lgcloud_s_own(ui: UI, served: Served) -> None:
    """The pages load htmx and the styles from lgcloud; the vendored htmx keeps its licence."""
    ui.page.goto(served.url + "/login")
    scripts = ui.page.eval_on_selector_all("script[src]", "els => els.map(e => e.src)")
    assert any(s.endswith("/static/htmx.min.js") for s in scripts)
    r = ui.page.request.get(served.url + "/static/htmx.min.js")
    assert r.status == 200
    assert "0BSD" in r.text()[:400] or "Zero-Clause BSD" in r.text()[:400]
    assert ui.page.evaluate("() => typeof htmx") == "object"
