"""Tax write functions on a real town database: assessments with their installments,
payments against installments, refusals that change nothing, and the bookkeeping (one audit
entry naming the taxpayer and one journal entry per write)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from conftest import TODAY, TOWN_A, as_json, make_ctx
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.parameters.service import set_parameter
from lgcloud.register.domain import HEAD, AddressIn, EventKind, MoveIn, NewPerson, Removal, Sex
from lgcloud.register.service import record_event
from lgcloud.taxation.domain import IncomeDeclaration
from lgcloud.taxation.service import (
    InstallmentLine,
    assess_light_vehicle_tax,
    assess_property_tax,
    assess_resident_tax,
    installments_of,
    record_payment,
    resident_tax_of,
)
from lgcloud.tenancy.platform import Platform

UNKNOWN = "9999999991"
TABLES = (
    "resident_tax_assessments",
    "property_tax_assessments",
    "light_vehicle_tax_assessments",
    "tax_installments",
    "tax_payments",
    "audit_entries",
    "audit_subjects",
    "journal",
)
ORDINARY_2026 = [date(2026, 6, 30), date(2026, 8, 31), date(2026, 10, 31), date(2027, 1, 31)]
KEI = "軽四輪 乗用・自家用"


def worker(fiscal_year: int = 2026, **kw: Any) -> IncomeDeclaration:
    """The single salaried worker of test_tax_rules: 183,700 yen for fiscal 2026."""
    return IncomeDeclaration(
        fiscal_year=fiscal_year,
        age_at_year_end=40,
        salary_revenue=4_123_456,
        social_insurance=612_345,
        **kw,
    )


def move_in(platform: Platform, *people: NewPerson) -> list[str]:
    with platform.town(TOWN_A) as town:
        r = record_event(
            town,
            make_ctx(),
            MoveIn(
                kind=EventKind.DOMESTIC_MOVE_IN,
                effective_date=date(2015, 4, 1),
                previous_address="東京都千代田区千代田1番1号",
                address=AddressIn(address="聖籠町大字諏訪山1番地", postal_code="9570100"),
                persons=list(people),
            ),
            today=TODAY,
        )
    return list(r.subjects)


@pytest.fixture
def taxpayer(platform: Platform) -> str:
    (number,) = move_in(
        platform,
        NewPerson(
            name="山田\u3000太郎", birth_date=date(1985, 6, 1), sex=Sex.MALE, relationship=HEAD
        ),
    )
    return number


def snapshot(platform: Platform) -> dict[str, Any]:
    with platform.town(TOWN_A) as town:
        s = town.session
        snap: dict[str, Any] = {
            t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES
        }
        snap["audit_head"] = [tuple(r) for r in s.execute(text("SELECT * FROM audit_head"))]
        snap["journal_head"] = s.execute(text("SELECT max(seq) FROM journal")).scalar_one()
    return snap


def check_one_write(
    platform: Platform,
    before: dict[str, Any],
    action: str,
    person: str,
    detail: dict[str, Any],
    inserted: dict[str, int],
) -> list[dict[str, Any]]:
    """One audit entry and one journal entry more, naming ``person``; ``inserted`` rows per
    table both in the database and in the journal entry. Returns the journal's changes."""
    after = snapshot(platform)
    assert after["audit_entries"] == before["audit_entries"] + 1
    assert after["journal"] == before["journal"] + 1
    for table in TABLES[:5]:
        assert after[table] == before[table] + inserted.get(table, 0), table
    with platform.town(TOWN_A) as town:
        s = town.session
        audit = s.execute(
            text(
                "SELECT seq, action, subjects, detail FROM audit_entries ORDER BY seq DESC LIMIT 1"
            )
        ).one()
        assert audit.action == action
        assert as_json(audit.subjects) == [person]
        assert as_json(audit.detail) == detail
        subjects = s.execute(
            text("SELECT addressee_number FROM audit_subjects WHERE entry_seq = :q"),
            {"q": audit.seq},
        ).all()
        assert [r[0] for r in subjects] == [person]
        journal = s.execute(
            text("SELECT seq, action, audit_seq, changes FROM journal ORDER BY seq DESC LIMIT 1")
        ).one()
        assert journal.action == action
        assert journal.audit_seq == audit.seq
        seqs = [r[0] for r in s.execute(text("SELECT seq FROM journal ORDER BY seq"))]
        assert seqs == list(range(1, len(seqs) + 1))
    changes: list[dict[str, Any]] = as_json(journal.changes)
    for table, n in inserted.items():
        rows = [c for c in changes if c["table"] == table and c["op"] == "insert"]
        assert len(rows) == n, table
    assert [c["row"]["action"] for c in changes if c["table"] == "audit_entries"] == [action]
    return changes


def lines(platform: Platform, person: str, fiscal_year: int = 2026) -> list[InstallmentLine]:
    with platform.town(TOWN_A) as town:
        return installments_of(town, person, fiscal_year)


def installment_ids(platform: Platform, person: str, kind: str) -> list[int]:
    with platform.town(TOWN_A) as town:
        rows = town.session.execute(
            text(
                "SELECT id FROM tax_installments WHERE addressee_number = :p AND tax_kind = :k "
                "ORDER BY period"
            ),
            {"p": person, "k": kind},
        )
        return [r[0] for r in rows]


# ------------------------------------------------------------------------------ 個人住民税


def test_assess_resident_tax_ordinary(platform: Platform, taxpayer: str) -> None:
    before = snapshot(platform)
    with platform.town(TOWN_A) as town:
        a = assess_resident_tax(town, make_ctx(), taxpayer, worker(), assessed_on=date(2026, 6, 1))
        assert a.id is not None
    assert a.total_tax == 183_700
    assert (a.income_levy_municipal, a.income_levy_prefectural) == (107_200, 71_500)
    assert (a.per_capita_municipal, a.per_capita_prefectural) == (3_000, 1_000)
    assert a.forest_environment_tax == 1_000
    assert a.taxable_income == 1_813_000
    assert a.collection_method == "ordinary"
    assert a.salary_revenue == 4_123_456
    assert a.salary_income == 2_856_000
    changes = check_one_write(
        platform,
        before,
        "tax_assessed",
        taxpayer,
        {"tax": "resident", "fiscal_year": 2026, "total": 183_700},
        {"resident_tax_assessments": 1, "tax_installments": 4},
    )
    journal_rows = [c["row"] for c in changes if c["table"] == "tax_installments"]
    assert {r["assessment_id"] for r in journal_rows} == {a.id}
    assert sorted(r["due_date"] for r in journal_rows) == [d.isoformat() for d in ORDINARY_2026]
    assert lines(platform, taxpayer) == [
        InstallmentLine("resident", 2026, 1, ORDINARY_2026[0], 48_700, 0),
        InstallmentLine("resident", 2026, 2, ORDINARY_2026[1], 45_000, 0),
        InstallmentLine("resident", 2026, 3, ORDINARY_2026[2], 45_000, 0),
        InstallmentLine("resident", 2026, 4, ORDINARY_2026[3], 45_000, 0),
    ]
    with platform.town(TOWN_A) as town:
        stored = resident_tax_of(town, taxpayer, 2026)
        assert stored is not None
        assert stored.total_tax == 183_700
        assert resident_tax_of(town, taxpayer, 2025) is None


def test_assess_resident_tax_special_collection(platform: Platform, taxpayer: str) -> None:
    before = snapshot(platform)
    with platform.town(TOWN_A) as town:
        assess_resident_tax(
            town,
            make_ctx(),
            taxpayer,
            worker(),
            collection_method="special",
            assessed_on=date(2026, 5, 15),
        )
    check_one_write(
        platform,
        before,
        "tax_assessed",
        taxpayer,
        {"tax": "resident", "fiscal_year": 2026, "total": 183_700},
        {"resident_tax_assessments": 1, "tax_installments": 12},
    )
    got = lines(platform, taxpayer)
    assert [line.period for line in got] == list(range(1, 13))
    assert [line.due_date for line in got] == [date(2026, m, 10) for m in range(7, 13)] + [
        date(2027, m, 10) for m in range(1, 7)
    ]
    assert sum(line.levied for line in got) == 183_700
    assert len({line.levied for line in got[1:]}) == 1


def test_an_exempt_person_is_assessed_at_zero_with_no_installments(
    platform: Platform, taxpayer: str
) -> None:
    before = snapshot(platform)
    decl = IncomeDeclaration(fiscal_year=2026, age_at_year_end=40, salary_revenue=1_000_000)
    with platform.town(TOWN_A) as town:
        a = assess_resident_tax(town, make_ctx(), taxpayer, decl, assessed_on=date(2026, 6, 1))
    assert a.total_tax == 0
    check_one_write(
        platform,
        before,
        "tax_assessed",
        taxpayer,
        {"tax": "resident", "fiscal_year": 2026, "total": 0},
        {"resident_tax_assessments": 1},
    )
    assert lines(platform, taxpayer) == []


def test_second_resident_tax_assessment_for_the_same_year_is_refused(
    platform: Platform, taxpayer: str
) -> None:
    with platform.town(TOWN_A) as town:
        assess_resident_tax(town, make_ctx(), taxpayer, worker(), assessed_on=date(2026, 6, 1))
    before = snapshot(platform)
    for decl in (worker(), worker(dependents=1)):
        with (
            pytest.raises(RuleViolationError) as exc,
            platform.town(TOWN_A) as town,
        ):
            assess_resident_tax(town, make_ctx(), taxpayer, decl, assessed_on=date(2026, 7, 1))
        assert exc.value.field == "fiscal_year"
        assert snapshot(platform) == before
    # another year is a different assessment
    with platform.town(TOWN_A) as town:
        assess_resident_tax(
            town, make_ctx(), taxpayer, worker(fiscal_year=2025), assessed_on=date(2025, 6, 1)
        )
    assert snapshot(platform)["resident_tax_assessments"] == before["resident_tax_assessments"] + 1


def test_bad_declarations_are_refused_and_write_nothing(platform: Platform, taxpayer: str) -> None:
    before = snapshot(platform)
    with pytest.raises(RuleViolationError) as exc, platform.town(TOWN_A) as town:
        assess_resident_tax(
            town,
            make_ctx(),
            taxpayer,
            worker(),
            collection_method="weekly",
            assessed_on=date(2026, 6, 1),
        )
    assert exc.value.field == "collection_method"
    assert snapshot(platform) == before
    with pytest.raises(RuleViolationError) as exc, platform.town(TOWN_A) as town:
        assess_resident_tax(
            town,
            make_ctx(),
            taxpayer,
            IncomeDeclaration(fiscal_year=2026, age_at_year_end=40, salary_revenue=-1),
            assessed_on=date(2026, 6, 1),
        )
    assert snapshot(platform) == before


def test_unknown_person_is_not_found_for_every_tax(platform: Platform, taxpayer: str) -> None:
    before = snapshot(platform)
    with pytest.raises(NotFoundError), platform.town(TOWN_A) as town:
        assess_resident_tax(town, make_ctx(), UNKNOWN, worker(), assessed_on=date(2026, 6, 1))
    with pytest.raises(NotFoundError), platform.town(TOWN_A) as town:
        assess_property_tax(
            town,
            make_ctx(),
            UNKNOWN,
            fiscal_year=2026,
            land_parcels=1,
            land_assessed_value=3_000_000,
            land_tax_base=500_000,
            buildings=0,
            building_assessed_value=0,
            building_tax_base=0,
            assessed_on=date(2026, 4, 1),
        )
    with pytest.raises(NotFoundError), platform.town(TOWN_A) as town:
        assess_light_vehicle_tax(
            town,
            make_ctx(),
            UNKNOWN,
            fiscal_year=2026,
            vehicle_class=KEI,
            plate_number="新潟 580 あ 1234",
            assessed_on=date(2026, 4, 1),
        )
    assert snapshot(platform) == before


def test_a_person_of_another_town_is_not_found(platform: Platform, taxpayer: str) -> None:
    with pytest.raises(NotFoundError), platform.town("154059") as town:
        assess_resident_tax(
            town, make_ctx("154059"), taxpayer, worker(), assessed_on=date(2026, 6, 1)
        )


def test_a_person_who_moved_out_can_still_be_assessed(platform: Platform) -> None:
    """賦課期日 (1月1日) residence decides; a 除票 person still owes that year's tax."""
    (number,) = move_in(
        platform,
        NewPerson(
            name="佐藤\u3000健", birth_date=date(1970, 1, 1), sex=Sex.MALE, relationship=HEAD
        ),
    )
    with platform.town(TOWN_A) as town:
        record_event(
            town,
            make_ctx(),
            Removal(
                kind=EventKind.DOMESTIC_MOVE_OUT,
                effective_date=date(2026, 3, 1),
                members=[number],
                destination_address="新潟県新潟市中央区学校町通1番町602番地1",
            ),
            today=TODAY,
        )
    with platform.town(TOWN_A) as town:
        a = assess_resident_tax(town, make_ctx(), number, worker(), assessed_on=date(2026, 6, 1))
    assert a.total_tax == 183_700


# ------------------------------------------------------------------ 固定資産税 / 軽自動車税


def _property(town: Any, person: str, fiscal_year: int = 2026) -> Any:
    return assess_property_tax(
        town,
        make_ctx(),
        person,
        fiscal_year=fiscal_year,
        land_parcels=2,
        land_assessed_value=9_000_000,
        land_tax_base=1_500_000,
        buildings=1,
        building_assessed_value=2_000_000,
        building_tax_base=2_000_000,
        assessed_on=date(fiscal_year, 4, 1),
    )


def test_assess_property_tax(platform: Platform, taxpayer: str) -> None:
    before = snapshot(platform)
    with platform.town(TOWN_A) as town:
        a = _property(town, taxpayer)
    assert a.total_tax == 49_000  # 3,500,000 × 1.4%
    check_one_write(
        platform,
        before,
        "tax_assessed",
        taxpayer,
        {"tax": "property", "fiscal_year": 2026, "total": 49_000},
        {"property_tax_assessments": 1, "tax_installments": 4},
    )
    assert lines(platform, taxpayer) == [
        InstallmentLine("property", 2026, 1, date(2026, 4, 30), 13_000, 0),
        InstallmentLine("property", 2026, 2, date(2026, 7, 31), 12_000, 0),
        InstallmentLine("property", 2026, 3, date(2026, 12, 25), 12_000, 0),
        InstallmentLine("property", 2026, 4, date(2027, 2, 28), 12_000, 0),
    ]


def test_property_below_the_exemption_points_is_assessed_at_zero(
    platform: Platform, taxpayer: str
) -> None:
    with platform.town(TOWN_A) as town:
        a = assess_property_tax(
            town,
            make_ctx(),
            taxpayer,
            fiscal_year=2026,
            land_parcels=1,
            land_assessed_value=299_999,
            land_tax_base=299_999,
            buildings=1,
            building_assessed_value=199_999,
            building_tax_base=199_999,
            assessed_on=date(2026, 4, 1),
        )
    assert a.total_tax == 0
    assert lines(platform, taxpayer) == []


def test_second_property_tax_assessment_for_the_same_year_is_refused(
    platform: Platform, taxpayer: str
) -> None:
    with platform.town(TOWN_A) as town:
        _property(town, taxpayer)
    before = snapshot(platform)
    with pytest.raises(RuleViolationError), platform.town(TOWN_A) as town:
        _property(town, taxpayer)
    assert snapshot(platform) == before


def test_assess_light_vehicle_tax(platform: Platform, taxpayer: str) -> None:
    before = snapshot(platform)
    with platform.town(TOWN_A) as town:
        a = assess_light_vehicle_tax(
            town,
            make_ctx(),
            taxpayer,
            fiscal_year=2026,
            vehicle_class=KEI,
            plate_number="新潟 580 あ 1234",
            assessed_on=date(2026, 4, 1),
        )
    assert a.total_tax == 10_800
    check_one_write(
        platform,
        before,
        "tax_assessed",
        taxpayer,
        {"tax": "light_vehicle", "fiscal_year": 2026, "total": 10_800},
        {"light_vehicle_tax_assessments": 1, "tax_installments": 1},
    )
    # a second vehicle the same year is a second assessment
    with platform.town(TOWN_A) as town:
        assess_light_vehicle_tax(
            town,
            make_ctx(),
            taxpayer,
            fiscal_year=2026,
            vehicle_class="原動機付自転車 (50cc以下)",
            plate_number="聖籠町 あ 12",
            assessed_on=date(2026, 4, 1),
        )
    assert lines(platform, taxpayer) == [
        InstallmentLine("light_vehicle", 2026, 1, date(2026, 5, 31), 10_800, 0),
        InstallmentLine("light_vehicle", 2026, 1, date(2026, 5, 31), 2_000, 0),
    ]


def test_unknown_light_vehicle_class_is_refused(platform: Platform, taxpayer: str) -> None:
    before = snapshot(platform)
    for vehicle_class in ("普通自動車", "", "軽四輪"):
        with pytest.raises(RuleViolationError) as exc, platform.town(TOWN_A) as town:
            assess_light_vehicle_tax(
                town,
                make_ctx(),
                taxpayer,
                fiscal_year=2026,
                vehicle_class=vehicle_class,
                plate_number="新潟 300 あ 1",
                assessed_on=date(2026, 4, 1),
            )
        assert exc.value.field == "vehicle_class"
    assert snapshot(platform) == before


def test_installments_of_lists_every_kind_of_the_year_only(
    platform: Platform, taxpayer: str
) -> None:
    with platform.town(TOWN_A) as town:
        assess_resident_tax(town, make_ctx(), taxpayer, worker(), assessed_on=date(2026, 6, 1))
        assess_resident_tax(
            town, make_ctx(), taxpayer, worker(fiscal_year=2025), assessed_on=date(2025, 6, 1)
        )
        _property(town, taxpayer)
        assess_light_vehicle_tax(
            town,
            make_ctx(),
            taxpayer,
            fiscal_year=2026,
            vehicle_class=KEI,
            plate_number="新潟 580 あ 1234",
            assessed_on=date(2026, 4, 1),
        )
    got = lines(platform, taxpayer)
    assert [(line.tax_kind, line.period) for line in got] == [
        ("light_vehicle", 1),
        *(("property", p) for p in range(1, 5)),
        *(("resident", p) for p in range(1, 5)),
    ]
    assert {line.fiscal_year for line in got} == {2026}
    assert sum(line.levied for line in got) == 10_800 + 49_000 + 183_700
    assert [line.due_date for line in lines(platform, taxpayer, 2025) if line.period == 4] == [
        date(2026, 1, 31)
    ]


# ----------------------------------------------------------------------------------- 収納


def test_partial_payment_then_the_rest(platform: Platform, taxpayer: str) -> None:
    with platform.town(TOWN_A) as town:
        assess_resident_tax(town, make_ctx(), taxpayer, worker(), assessed_on=date(2026, 6, 1))
    first, second, *_ = installment_ids(platform, taxpayer, "resident")

    before = snapshot(platform)
    with platform.town(TOWN_A) as town:
        p = record_payment(town, make_ctx(), first, paid_on=date(2026, 6, 20), amount=20_000)
    assert (p.amount, p.installment_id, p.channel) == (20_000, first, "counter")
    changes = check_one_write(
        platform,
        before,
        "tax_payment",
        taxpayer,
        {"installment_id": first, "amount": 20_000},
        {"tax_payments": 1},
    )
    (row,) = [c["row"] for c in changes if c["table"] == "tax_payments"]
    assert (row["installment_id"], row["amount"], row["paid_on"]) == (first, 20_000, "2026-06-20")
    got = lines(platform, taxpayer)
    assert (got[0].levied, got[0].paid, got[0].outstanding) == (48_700, 20_000, 28_700)
    assert all(line.paid == 0 for line in got[1:])

    before = snapshot(platform)
    with platform.town(TOWN_A) as town:
        record_payment(
            town, make_ctx(), first, paid_on=date(2026, 6, 30), amount=28_700, channel="bank"
        )
    check_one_write(
        platform,
        before,
        "tax_payment",
        taxpayer,
        {"installment_id": first, "amount": 28_700},
        {"tax_payments": 1},
    )
    with platform.town(TOWN_A) as town:
        record_payment(town, make_ctx(), second, paid_on=date(2026, 8, 1), amount=45_000)
    got = lines(platform, taxpayer)
    assert [(line.paid, line.outstanding) for line in got] == [
        (48_700, 0),
        (45_000, 0),
        (0, 45_000),
        (0, 45_000),
    ]


def test_bad_payments_are_refused_and_write_nothing(platform: Platform, taxpayer: str) -> None:
    with platform.town(TOWN_A) as town:
        assess_resident_tax(town, make_ctx(), taxpayer, worker(), assessed_on=date(2026, 6, 1))
    first = installment_ids(platform, taxpayer, "resident")[0]
    with platform.town(TOWN_A) as town:
        record_payment(town, make_ctx(), first, paid_on=date(2026, 6, 20), amount=40_000)
    before = snapshot(platform)
    for amount in (8_701, 48_700, 0, -100):  # 8,700 outstanding
        with pytest.raises(RuleViolationError) as exc, platform.town(TOWN_A) as town:
            record_payment(town, make_ctx(), first, paid_on=date(2026, 6, 25), amount=amount)
        assert exc.value.field == "amount"
        assert snapshot(platform) == before
    with pytest.raises(NotFoundError), platform.town(TOWN_A) as town:
        record_payment(town, make_ctx(), 999_999, paid_on=date(2026, 6, 25), amount=100)
    assert snapshot(platform) == before
    # paying exactly what is outstanding settles it; then nothing more is accepted
    with platform.town(TOWN_A) as town:
        record_payment(town, make_ctx(), first, paid_on=date(2026, 6, 25), amount=8_700)
    before = snapshot(platform)
    with pytest.raises(RuleViolationError), platform.town(TOWN_A) as town:
        record_payment(town, make_ctx(), first, paid_on=date(2026, 6, 26), amount=1)
    assert snapshot(platform) == before
    assert lines(platform, taxpayer)[0].outstanding == 0


def test_payments_of_one_taxpayer_do_not_show_for_another(platform: Platform) -> None:
    a, b = move_in(
        platform,
        NewPerson(
            name="山田\u3000太郎", birth_date=date(1985, 6, 1), sex=Sex.MALE, relationship=HEAD
        ),
        NewPerson(
            name="山田\u3000花子", birth_date=date(1986, 7, 2), sex=Sex.FEMALE, relationship="妻"
        ),
    )
    with platform.town(TOWN_A) as town:
        assess_resident_tax(town, make_ctx(), a, worker(), assessed_on=date(2026, 6, 1))
        assess_resident_tax(town, make_ctx(), b, worker(), assessed_on=date(2026, 6, 1))
    first_of_a = installment_ids(platform, a, "resident")[0]
    with platform.town(TOWN_A) as town:
        record_payment(town, make_ctx(), first_of_a, paid_on=date(2026, 6, 20), amount=48_700)
    assert lines(platform, a)[0].outstanding == 0
    assert all(line.paid == 0 for line in lines(platform, b))


def test_a_town_rate_set_from_next_year_applies_from_that_years_assessment_day(
    platform: Platform, taxpayer: str
) -> None:
    """The amounts are dated parameters read as of the 賦課期日: a town that levies its
    均等割 above the standard rate from 令和9年度 (条例) sets it from 2027-01-01; the 2026
    assessment keeps 3,000 yen, the 2027 one takes 3,500, and nothing in the code changed."""
    with platform.town(TOWN_A) as town:
        set_parameter(
            town,
            make_ctx(),
            "taxation.per_capita_municipal",
            "3500",
            effective_from=date(2027, 1, 1),
            today=TODAY,
            source="聖籠町税条例 第24条（超過課税、令和9年度から）",
            reason="条例改正",
        )
    with platform.town(TOWN_A) as town:
        now = assess_resident_tax(town, make_ctx(), taxpayer, worker(), assessed_on=TODAY)
        later = assess_resident_tax(
            town, make_ctx(), taxpayer, worker(2027), assessed_on=date(2027, 6, 1)
        )
    assert (now.per_capita_municipal, later.per_capita_municipal) == (3_000, 3_500)
    assert later.total_tax - now.total_tax == 500
