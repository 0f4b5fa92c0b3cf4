"""The generator's taxes, collections, health insurance and seal registrations
(lgcloud.generate.finance) on a generated 400-resident town: every row consistent with the
register and with the pure tax rules, and every row in the journal."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from conftest import TODAY, TOWN_A, as_json, make_platform, person_state
from lgcloud.addressees.models import NonResident
from lgcloud.audit import service as audit_service
from lgcloud.generate.finance import build_finance
from lgcloud.generate.town import FINANCE_TABLES, generate_town
from lgcloud.insurance.models import NhiHousehold, NhiMember
from lgcloud.onboarding import onboard_town
from lgcloud.register.domain import EventKind, Status
from lgcloud.register.models import PersonVersion
from lgcloud.seals.models import SealRegistration
from lgcloud.taxation.domain import (
    IncomeDeclaration,
    compute_resident_tax,
    light_vehicle_due_dates,
    property_tax_due_dates,
    resident_tax_due_dates,
)
from lgcloud.taxation.models import (
    LightVehicleTaxAssessment,
    PropertyTaxAssessment,
    ResidentTaxAssessment,
    TaxInstallment,
    TaxPayment,
)
from lgcloud.taxation.parameters import assessment_day, shipped_rates
from lgcloud.tenancy.platform import Platform

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FISCAL_YEARS = (2025, 2026)  # TODAY is in fiscal 2026: this year and last


def age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


@dataclass
class Town:
    platform: Platform
    people: dict[str, PersonVersion]  # current record of everyone (除票 too)
    resident: list[ResidentTaxAssessment]
    property: list[PropertyTaxAssessment]
    vehicle: list[LightVehicleTaxAssessment]
    installments: list[TaxInstallment]
    payments: list[TaxPayment]
    nhi_households: list[NhiHousehold]
    nhi_members: list[NhiMember]
    seals: list[SealRegistration]
    non_residents: set[str]  # 住登外者: landowners elsewhere and corporations

    @property
    def residents(self) -> dict[str, PersonVersion]:
        return {n: p for n, p in self.people.items() if p.status == Status.RESIDENT.value}


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Town]:
    platform = make_platform(Path(tmp_path_factory.mktemp("finance")) / "data")
    onboard_town(platform, TOWN_A, "聖籠町", kana="セイロウマチ", prefecture="新潟県")
    generate_town(platform, TOWN_A, residents=400, seed=3, today=TODAY)
    with platform.town(TOWN_A) as t:
        s = t.session

        def rows(model: Any) -> list[Any]:
            return list(s.scalars(select(model).order_by(model.id)))

        loaded = Town(
            platform,
            {
                v.addressee_number: v
                for v in s.scalars(select(PersonVersion).where(PersonVersion.is_current))
            },
            rows(ResidentTaxAssessment),
            rows(PropertyTaxAssessment),
            rows(LightVehicleTaxAssessment),
            rows(TaxInstallment),
            rows(TaxPayment),
            rows(NhiHousehold),
            rows(NhiMember),
            rows(SealRegistration),
            set(s.scalars(select(NonResident.addressee_number))),
        )
    yield loaded
    platform.dispose()


def test_the_town_has_every_kind_of_row(town: Town) -> None:
    assert len(town.residents) == 400
    for name, got in (
        ("resident", town.resident),
        ("property", town.property),
        ("vehicle", town.vehicle),
        ("installments", town.installments),
        ("payments", town.payments),
        ("nhi_households", town.nhi_households),
        ("nhi_members", town.nhi_members),
        ("seals", town.seals),
    ):
        assert got, name
    assert {a.fiscal_year for a in town.resident} == set(FISCAL_YEARS)
    assert {a.collection_method for a in town.resident} == {"ordinary", "special"}
    # taxpayers are people of this town's register, or — for 固定資産税 — 住登外者
    for a in (*town.resident, *town.vehicle):
        assert a.addressee_number in town.residents
    for a in (*town.property, *town.installments):
        assert a.addressee_number in town.residents or a.addressee_number in town.non_residents
    assert {a.addressee_number for a in town.property} & town.non_residents


# ------------------------------------------------------------------------------ 個人住民税


@pytest.mark.parametrize("fiscal_year", FISCAL_YEARS)
def test_every_resident_aged_16_on_1_january_is_assessed(town: Town, fiscal_year: int) -> None:
    jan1 = date(fiscal_year, 1, 1)  # 賦課期日
    expected = {
        n
        for n, p in town.residents.items()
        if age(p.birth_date, jan1) >= 16 and p.resident_since <= jan1
    }
    assessed = [a.addressee_number for a in town.resident if a.fiscal_year == fiscal_year]
    assert len(assessed) == len(set(assessed))  # one assessment per person and year
    assert expected - set(assessed) == set()
    assert set(assessed) - expected == set()


def test_resident_tax_agrees_with_the_rules(town: Town) -> None:
    for a in town.resident:
        p = town.people[a.addressee_number]
        decl = IncomeDeclaration(
            fiscal_year=a.fiscal_year,
            age_at_year_end=age(p.birth_date, date(a.fiscal_year - 1, 12, 31)),
            salary_revenue=a.salary_revenue,
            pension_revenue=a.pension_revenue,
            business_income=a.business_income,
            agriculture_income=a.agriculture_income,
            other_income=a.other_income,
            social_insurance=a.social_insurance_deduction,
            has_spouse_deduction=a.spouse_deduction > 0,
            dependents=a.dependents,
        )
        t = compute_resident_tax(decl, shipped_rates(assessment_day(decl.fiscal_year, "resident")))
        assert (
            a.salary_income,
            a.pension_income,
            a.total_income,
            a.taxable_income,
            a.income_levy_municipal,
            a.income_levy_prefectural,
            a.per_capita_municipal,
            a.per_capita_prefectural,
            a.forest_environment_tax,
            a.total_tax,
        ) == (
            t.salary_income,
            t.pension_income,
            t.total_income,
            t.taxable_income,
            t.income_levy_municipal,
            t.income_levy_prefectural,
            t.per_capita_municipal,
            t.per_capita_prefectural,
            t.forest_environment_tax,
            t.total_tax,
        ), a.id
        assert a.forest_environment_tax in (0, 1_000)
    totals = Counter(a.total_tax > 0 for a in town.resident)
    assert totals[True] > 0
    assert totals[False] > 0  # children's and low incomes are 非課税


# ------------------------------------------------------------------------- 期別 and 収納


def _schedule(town: Town) -> dict[tuple[str, int], tuple[str, int, int, list[date]]]:
    """(kind, assessment id) → (person, fiscal year, total, due dates)."""
    out: dict[tuple[str, int], tuple[str, int, int, list[date]]] = {}
    for a in town.resident:
        dues = resident_tax_due_dates(a.fiscal_year, a.collection_method)
        out["resident", a.id] = (a.addressee_number, a.fiscal_year, a.total_tax, dues)
    for p in town.property:
        dues = property_tax_due_dates(p.fiscal_year)
        out["property", p.id] = (p.addressee_number, p.fiscal_year, p.total_tax, dues)
    for v in town.vehicle:
        dues = light_vehicle_due_dates(v.fiscal_year)
        out["light_vehicle", v.id] = (v.addressee_number, v.fiscal_year, v.total_tax, dues)
    return out


def test_every_assessments_installments_sum_to_its_total(town: Town) -> None:
    by_assessment: dict[tuple[str, int], list[TaxInstallment]] = defaultdict(list)
    for i in town.installments:
        by_assessment[i.tax_kind, i.assessment_id].append(i)
    schedule = _schedule(town)
    assert set(by_assessment) <= set(schedule)  # no installment without its assessment
    for key, (person, fy, total, dues) in schedule.items():
        got = sorted(by_assessment.get(key, []), key=lambda i: i.period)
        assert sum(i.amount for i in got) == total, key
        if total == 0:
            assert got == [], key
            continue
        assert [i.period for i in got] == list(range(1, len(dues) + 1)), key
        assert [i.due_date for i in got] == dues, key
        assert {(i.addressee_number, i.fiscal_year) for i in got} == {(person, fy)}, key
        assert len({i.amount for i in got[1:]}) <= 1, key
        assert all(i.amount > 0 for i in got), key


def test_no_payment_exceeds_its_installment(town: Town) -> None:
    by_id = {i.id: i for i in town.installments}
    paid: Counter[int] = Counter()
    for p in town.payments:
        inst = by_id[p.installment_id]
        assert p.amount > 0
        assert p.paid_on <= TODAY
        assert inst.due_date < TODAY  # only installments already due have payments
        paid[p.installment_id] += p.amount
    for inst_id, amount in paid.items():
        assert amount <= by_id[inst_id].amount, inst_id


def test_some_installments_are_outstanding_and_some_fully_paid(town: Town) -> None:
    paid: Counter[int] = Counter()
    for p in town.payments:
        paid[p.installment_id] += p.amount
    past = [i for i in town.installments if i.due_date < TODAY]
    fully = [i for i in past if paid[i.id] == i.amount]
    partly = [i for i in past if 0 < paid[i.id] < i.amount]
    unpaid = [i for i in past if paid[i.id] == 0]
    assert fully
    assert partly
    assert unpaid  # 滞納
    assert len(fully) > len(partly) + len(unpaid)  # most pay on time
    assert all(paid[i.id] == 0 for i in town.installments if i.due_date >= TODAY)


# ------------------------------------------------------------------------------- 国保


def test_nhi_members_are_young_enough_residents_of_their_household(town: Town) -> None:
    households = {h.id: h for h in town.nhi_households}
    seen: set[str] = set()
    branches: dict[int, list[str]] = defaultdict(list)
    numbers: dict[int, set[str]] = defaultdict(set)
    for m in town.nhi_members:
        assert m.addressee_number not in seen  # insured once
        seen.add(m.addressee_number)
        p = town.residents.get(m.addressee_number)
        assert p is not None, m.addressee_number  # a current resident
        assert age(p.birth_date, TODAY) < 75  # 75+: 後期高齢者医療
        h = households[m.nhi_household_id]
        assert p.household_number == h.household_number
        assert m.qualified_on >= max(p.birth_date, p.resident_since)
        assert m.qualified_on <= TODAY
        assert m.disqualified_on is None
        assert m.copay_percent in (20, 30)
        branches[h.id].append(m.branch)
        numbers[h.id].add(m.insured_number)
    for h in town.nhi_households:
        head = town.residents[h.householder]
        assert head.household_number == h.household_number
        assert h.symbol == "15-307"
        assert branches[h.id] == [f"{b:02d}" for b in range(1, len(branches[h.id]) + 1)]
        assert len(numbers[h.id]) == 1
    all_numbers = [n for ns in numbers.values() for n in ns]
    assert len(all_numbers) == len(set(all_numbers)) == len(town.nhi_households)
    # one 国保 household per register household
    assert len({h.household_number for h in town.nhi_households}) == len(town.nhi_households)


# ------------------------------------------------------------------------------ 印鑑登録


def test_seal_registrations(town: Town) -> None:
    active: Counter[str] = Counter()
    for s in town.seals:
        assert s.image_png.startswith(PNG_MAGIC)
        p = town.residents.get(s.addressee_number)
        assert p is not None
        assert age(p.birth_date, TODAY) >= 20
        assert p.resident_since <= s.registered_on <= TODAY
        if s.abolished_on is None:
            active[s.addressee_number] += 1
    assert max(active.values()) == 1
    numbers = [s.registration_number for s in town.seals]
    assert numbers == [f"{i:08d}" for i in range(1, len(numbers) + 1)]


class _LowestDraws(random.Random):
    """Every range draw at its lowest value; random() in the middle (every branch taken)."""

    def random(self) -> float:
        return 0.5

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:  # type: ignore[override]
        return 0 if stop is None else start


def test_generated_seals_are_registered_at_15_or_later() -> None:
    born = date(1956, 8, 20)
    person = person_state(
        name="山田\u3000太郎",
        kana="ヤマダ\u3000タロウ",
        birth_date=born,
        household_number="0000000019",
        address="聖籠町大字諏訪山1番地",
        postal_code="9570100",
        resident_since=born,
        settled_on=born,
        notified_on=born,
        last_event=EventKind.BIRTH,
        valid_from=born,
    )
    rows = build_finance(
        _LowestDraws(1), [person], TODAY, town_code=TOWN_A, seal_images=lambda _: PNG_MAGIC
    )
    (seal,) = rows.tables["seal_registrations"]
    assert age(born, seal["registered_on"]) >= 15, seal["registered_on"]


# ------------------------------------------------------------------------ audit and journal


def test_audit_chain_verifies_and_the_journal_has_every_row(town: Town) -> None:
    with town.platform.town(TOWN_A) as t:
        s = t.session
        report = audit_service.verify(s)
        assert report.ok, report.problems
        counts = {
            table: s.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in FINANCE_TABLES
        }
        journal = s.execute(text("SELECT seq, action, changes FROM journal ORDER BY seq")).all()
    assert [j.seq for j in journal] == list(range(1, len(journal) + 1))
    journalled: Counter[str] = Counter()
    ids: dict[str, list[int]] = defaultdict(list)
    for j in journal:
        assert j.action == "initial_load"
        for change in as_json(j.changes):
            if change["op"] != "insert_many":
                continue
            journalled[change["table"]] += len(change["rows"])
            if "id" in change["columns"]:
                at = change["columns"].index("id")
                ids[change["table"]] += [row[at] for row in change["rows"]]
    for table in FINANCE_TABLES:
        assert journalled[table] == counts[table] > 0, table
        assert sorted(ids[table]) == list(range(1, counts[table] + 1)), table
