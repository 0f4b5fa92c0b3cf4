"""団体内統合宛名: 住登外者 numbered from the register's own series and searchable, the 法人番号
check digit, 名寄せ with a resident (audited, undoable, refused for another person), and
per-area 送付先, 代理人 and 口座 in force by date; every business table that points at
``persons`` can point at a 住登外者 (a tax installment is recorded for one)."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from conftest import TODAY, TOWN_A, add_clerks, make_ctx, page_client, record_family
from lgcloud.addressees.domain import NonResidentIn, check_corporate_number, corporate_check_digit
from lgcloud.addressees.queries import (
    addressee,
    contacts,
    linked_numbers,
    mail_to,
    search_addressees,
)
from lgcloud.addressees.service import (
    link,
    register_non_resident,
    set_bank_account,
    set_mailing_address,
    set_proxy,
    unlink,
)
from lgcloud.audit.models import AuditEntry
from lgcloud.auth.roles import Role
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.core.ids import validate_numbered
from lgcloud.register.domain import Sex
from lgcloud.taxation.service import assess_light_vehicle_tax
from lgcloud.tenancy.platform import Platform
from lgcloud.web.app import create_app

FORMER = NonResidentIn(
    kind="person",
    name="転出\u3000太郎",
    kana="テンシュツ\u3000タロウ",
    birth_date=date(1980, 1, 2),
    sex=Sex.MALE,
    address="東京都千代田区千代田1番1号",
    postal_code="1000001",
    reason="転出者（課税・収納）",
)
COMPANY = NonResidentIn(
    kind="corporation",
    name="株式会社\u3000聖籠物産",
    kana="カブシキガイシャ\u3000セイロウブッサン",
    corporate_number="7000012050002",  # 国税庁's own 法人番号: a real check digit
    address="新潟県新潟市中央区1番1号",
    reason="法人",
)


def add(platform: Platform, data: NonResidentIn) -> str:
    with platform.town(TOWN_A) as town:
        return register_non_resident(town, make_ctx(), data, today=TODAY)


def test_corporate_number_check_digit() -> None:
    assert corporate_check_digit("000012050002") == 7
    check_corporate_number("7000012050002")
    for bad in ("8000012050002", "700001205000", "70000120500a2"):
        with pytest.raises(RuleViolationError) as e:
            check_corporate_number(bad)
        assert e.value.field == "corporate_number"


def test_non_residents_share_the_register_series_and_are_searchable(platform: Platform) -> None:
    family = record_family(platform, TOWN_A, "宛名")
    former, company = add(platform, FORMER), add(platform, COMPANY)
    validate_numbered(former)
    numbers = {family["head"], family["wife"], family["child"], former, company}
    assert len(numbers) == 5  # one series: no number given twice
    with platform.read_town(TOWN_A) as town:
        assert [a.number for a in search_addressees(town, "てんしゅつ")] == [former]
        assert [a.kind for a in search_addressees(town, "ｾｲﾛｳﾌﾞｯｻﾝ")] == []  # reading is カブシキ…
        assert [a.number for a in search_addressees(town, "株式会社")] == [company]
        assert [a.number for a in search_addressees(town, former)] == [former]
        found = {a.number: a.kind for a in search_addressees(town, "宛名")}
        # the family's wife keeps her own surname (葛西): only the head and the child
        assert found == {family["head"]: "resident", family["child"]: "resident"}
        assert addressee(town, company).label == "法人（住登外）"
        with pytest.raises(NotFoundError):
            addressee(town, "0000000000")
        entries = town.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "non_resident_registered")
        ).all()
    assert len(entries) == 2


def test_non_resident_records_are_checked(platform: Platform) -> None:
    with pytest.raises(ValidationError):
        NonResidentIn(kind="person", name="", address="x", reason="その他")
    with pytest.raises(ValidationError):
        NonResidentIn(kind="person", name="a", address="x", reason="なんとなく")
    cases = [
        (FORMER.model_copy(update={"corporate_number": "7000012050002"}), "corporate_number"),
        (FORMER.model_copy(update={"birth_date": date(2030, 1, 1)}), "birth_date"),
        (FORMER.model_copy(update={"reason": "法人"}), "reason"),
        (COMPANY.model_copy(update={"birth_date": date(2000, 1, 1)}), "birth_date"),
        (COMPANY.model_copy(update={"corporate_number": "8000012050002"}), "corporate_number"),
    ]
    for data, field in cases:
        with pytest.raises(RuleViolationError) as e:
            add(platform, data)
        assert e.value.field == field


def test_name_yose_links_a_former_resident_and_can_be_undone(platform: Platform) -> None:
    family = record_family(platform, TOWN_A, "転出")  # head born 1980-01-02, like FORMER
    former = add(platform, FORMER)
    with platform.town(TOWN_A) as town:
        link(town, make_ctx(), former, family["head"], "転入時に本人確認、同一人と確認")
    with platform.read_town(TOWN_A) as town:
        assert linked_numbers(town, former) == (family["head"],)
        assert linked_numbers(town, family["head"]) == (former,)
        assert addressee(town, family["head"]).linked == (former,)
    with platform.town(TOWN_A) as town, pytest.raises(RuleViolationError, match="既に宛名番号"):
        link(town, make_ctx(), former, family["wife"], "x")
    with platform.town(TOWN_A) as town:
        unlink(town, make_ctx(), former, "別人と判明")
    with platform.read_town(TOWN_A) as town:
        assert linked_numbers(town, former) == ()
        actions = town.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("addressee_%"))
        ).all()
    assert actions == ["addressee_linked", "addressee_unlinked"]
    # another person (the wife, born 1982) is refused: the birth dates differ
    with platform.town(TOWN_A) as town, pytest.raises(RuleViolationError) as e:
        link(town, make_ctx(), former, family["wife"], "誤り")
    assert e.value.field == "resident"
    company = add(platform, COMPANY)
    with platform.town(TOWN_A) as town, pytest.raises(RuleViolationError, match="法人"):
        link(town, make_ctx(), company, family["head"], "x")


def test_contacts_per_area_in_force_by_date(platform: Platform) -> None:
    family = record_family(platform, TOWN_A, "送付")
    head, company = family["head"], add(platform, COMPANY)
    with platform.read_town(TOWN_A) as town:
        own = mail_to(town, head, "taxation", TODAY)
    assert not own.is_send_address and own.address.endswith("大字亀塚2番地")
    with platform.town(TOWN_A) as town:
        set_mailing_address(
            town,
            make_ctx(),
            head,
            area="taxation",
            name="送付\u3000太郎 様方",
            address="東京都港区1番1号",
            postal_code="1050001",
            valid_from=date(2026, 4, 1),
        )
    with platform.town(TOWN_A) as town:
        set_mailing_address(
            town,
            make_ctx(),
            head,
            area="taxation",
            name="送付\u3000太郎",
            address="大阪府大阪市北区1番1号",
            postal_code="5300001",
            valid_from=date(2027, 1, 1),
        )
    with platform.read_town(TOWN_A) as town:
        assert mail_to(town, head, "taxation", date(2026, 12, 31)).address == "東京都港区1番1号"
        assert mail_to(town, head, "taxation", date(2027, 1, 1)).address == "大阪府大阪市北区1番1号"
        assert not mail_to(town, head, "insurance", date(2027, 1, 1)).is_send_address
    with platform.town(TOWN_A) as town, pytest.raises(RuleViolationError) as e:
        set_mailing_address(
            town,
            make_ctx(),
            head,
            area="taxation",
            name="x",
            address="y",
            postal_code="",
            valid_from=date(2026, 12, 1),  # before the one in force began
        )
    assert e.value.field == "valid_from"
    with platform.town(TOWN_A) as town:
        set_proxy(
            town,
            make_ctx(),
            head,
            area="taxation",
            proxy=company,
            role="administrator",
            valid_from=TODAY,
        )
        set_bank_account(
            town,
            make_ctx(),
            head,
            area="taxation",
            purpose="debit",
            bank_code="0001",
            branch_code="001",
            account_type="1",
            account_number="1234567",
            holder_kana="ｿｳﾌ ﾀﾛｳ",
            valid_from=TODAY,
        )
    for kw, field in (
        ({"bank_code": "01"}, "bank_code"),
        ({"account_number": "12345"}, "account_number"),
        ({"account_type": "9"}, "account_type"),
        ({"purpose": "gift"}, "purpose"),
    ):
        values = {
            "area": "taxation",
            "purpose": "payment",
            "bank_code": "0001",
            "branch_code": "001",
            "account_type": "1",
            "account_number": "7654321",
            "holder_kana": "ｿｳﾌ",
            "valid_from": TODAY,
            **kw,
        }
        with platform.town(TOWN_A) as town, pytest.raises(RuleViolationError) as e:
            set_bank_account(town, make_ctx(), head, **values)  # type: ignore[arg-type]
        assert e.value.field == field
    with platform.town(TOWN_A) as town, pytest.raises(RuleViolationError):
        set_proxy(
            town, make_ctx(), head, area="taxation", proxy=head, role="agent", valid_from=TODAY
        )
    with platform.read_town(TOWN_A) as town:
        kinds = {(c.area, c.what) for c in contacts(town, head, TODAY)}
    assert kinds == {("taxation", "mailing"), ("taxation", "proxy"), ("taxation", "account")}


def test_a_business_record_can_point_at_a_non_resident(platform: Platform) -> None:
    """軽自動車税 of a 住登外者 (a former resident who still owns a vehicle here): the tax
    tables point at ``persons``, where every addressee is."""
    former = add(platform, FORMER)
    with platform.town(TOWN_A) as town:
        a = assess_light_vehicle_tax(
            town,
            make_ctx(),
            former,
            fiscal_year=2026,
            vehicle_class="軽四輪 乗用・自家用",
            plate_number="新潟 580 あ 12-34",
            assessed_on=date(2026, 4, 1),
        )
    assert a.addressee_number == former


def test_addressee_pages_search_register_link_and_set(platform: Platform) -> None:
    family = record_family(platform, TOWN_A, "転出")
    add_clerks(
        platform,
        TOWN_A,
        {"S1": {Role.BUSINESS_STAFF}, "C1": {Role.COUNTER_CLERK}},
        "pw-addressee-1",
    )
    app = create_app(platform)

    def login(staff: str) -> TestClient:
        return page_client(app, staff, "pw-addressee-1")

    staff, counter = login("S1"), login("C1")
    form = {
        "kind": "corporation",
        "name": "株式会社\u3000聖籠物産",
        "kana": "",
        "address": "新潟市",
        "corporate_number": "8000012050002",
        "reason": "法人",
    }
    bad = staff.post("/addressees", data=form)
    assert bad.status_code == 422 and 'data-testid="error-corporate_number"' in bad.text
    assert counter.post("/addressees", data=form).status_code == 403
    ok = staff.post(
        "/addressees",
        data={
            "kind": "person",
            "name": "転出\u3000太郎",
            "kana": "テンシュツ\u3000タロウ",
            "birth_date": "1980-01-02",
            "address": "東京都千代田区千代田1番1号",
            "reason": "転出者（課税・収納）",
        },
    )
    assert ok.status_code == 303
    number = ok.headers["location"].split("/")[-1].split("?")[0]
    page = counter.get(ok.headers["location"]).text  # viewing is counter work
    assert 'data-testid="addressee-kind">住登外者' in page and 'data-testid="link-form"' not in page
    found = counter.get("/addressees", params={"q": "転出"}).text
    assert number in found and family["head"] in found  # residents and 住登外者 together
    linked = staff.post(
        f"/addressees/{number}",
        data={"action": "link", "resident": family["head"], "reason": "転入時に本人確認"},
    )
    assert linked.status_code == 303
    assert (
        family["head"] in staff.get(f"/addressees/{number}").text.split('data-testid="linked"')[1]
    )
    refused = staff.post(
        f"/addressees/{family['head']}",
        data={"action": "account", "area": "taxation", "purpose": "debit", "bank_code": "1"},
    )
    assert refused.status_code == 422 and "金融機関コードは数字4桁です" in refused.text
    mailing = staff.post(
        f"/addressees/{family['head']}",
        data={
            "action": "mailing",
            "area": "taxation",
            "send_name": "転出\u3000太郎",
            "send_address": "東京都港区1番1号",
            "send_postal_code": "1050001",
        },
    )
    assert mailing.status_code == 303
    assert "東京都港区1番1号" in staff.get(f"/addressees/{family['head']}").text
