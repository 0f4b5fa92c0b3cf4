"""転入届 of a foreign resident from the search page, in real headless Chromium
(docs/ui.md): the foreign-resident items are folded away until opened, a missing 在留資格 is
shown beside its field, then the new person's page shows 国籍・地域."""

from __future__ import annotations

import re
from datetime import timedelta

from lgcloud.core.clock import today_jst

from .conftest import UI, Served


def test_move_in_of_a_foreign_resident(ui: UI, served: Served) -> None:
    town = "155811"
    page = ui.page
    ui.login(served.url, town, "2001", served.passwords[town])
    page.get_by_test_id("event-move_in").click()
    page.wait_for_url(re.compile(r"/events\?kind=domestic_move_in"))
    ui.shot("form")

    page.get_by_test_id("kind-foreign_move_in").check()
    page.fill("#previous_address", "フィリピン共和国マニラ市")
    page.fill("#address", "関川村大字下関912番地")
    page.fill("#postal_code", "9593265")
    page.fill("#p0_name", "SANTOS\u3000MARIA")
    page.fill("#p0_kana", "サントス\u3000マリア")
    page.fill("#p0_birth_date", "1995-03-14")
    page.select_option("#p0_sex", "2")
    assert page.locator("#p0_relationship").input_value() == "世帯主"
    # the foreign-resident items are collapsed until opened
    assert not page.locator("#p0_nationality").is_visible()
    page.get_by_test_id("p0_foreign").locator("summary").click()
    page.fill("#p0_nationality", "フィリピン")
    page.select_option("#p0_foreign_category", "中長期在留者")
    page.fill("#p0_stay_expires_on", str(today_jst() + timedelta(days=365)))
    page.fill("#p0_residence_card_number", "PH12345678AB")
    ui.shot("filled")

    # no 在留資格 for a 中長期在留者: the message beside the field, the items still open
    page.get_by_test_id("submit-event").click()
    page.wait_for_selector("[data-testid=error-p0_residence_status]")
    assert page.locator("#p0_residence_status").is_visible()
    assert page.locator("#p0_residence_status").get_attribute("aria-invalid") == "true"
    assert page.locator("#p0_nationality").input_value() == "フィリピン"
    ui.shot("error")

    page.select_option("#p0_residence_status", "技術・人文知識・国際業務")
    page.get_by_test_id("submit-event").click()
    page.wait_for_url(re.compile(r"/persons/\d{10}\?recorded=foreign_move_in"))
    assert page.get_by_test_id("person-name").inner_text() == "SANTOS\u3000MARIA"
    assert page.get_by_test_id("nationality").inner_text() == "フィリピン"
    assert "関川村大字下関912番地" in page.get_by_test_id("person-address").inner_text()
    assert page.get_by_test_id("recorded").is_visible()
    ui.shot("recorded")
