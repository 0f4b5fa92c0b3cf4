"""Tax rules (pure: no I/O): resident tax computation, installments, fixed-asset and
light-vehicle tax amounts.

The rules follow the Local Tax Act as applied by small towns, simplified where a
certificate does not depend on the detail (each simplification is named in a comment).
All amounts are integer yen.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from lgcloud.core.errors import RuleViolationError

#: 軽自動車税 (種別割) vehicle classes: slug (its parameter's key) → the class as recorded
VEHICLE_CLASSES: dict[str, str] = {
    "moped50": "原動機付自転車 (50cc以下)",
    "moped125": "原動機付自転車 (125cc以下)",
    "light_two_wheel": "軽二輪 (250cc以下)",
    "kei_passenger": "軽四輪 乗用・自家用",
    "kei_cargo": "軽四輪 貨物・自家用",
    "small_special_farm": "小型特殊 (農耕作業用)",
}


@dataclass(frozen=True)
class TaxRates:
    """The legal rates and amounts of a tax as of its 賦課期日: dated parameters with their
    law and article (``taxation/parameters.py``), read by the service and handed in here.
    扶養控除 is the general one (特定・老人扶養の加算 not modelled); 調整控除 is approximated
    by its minimum for a 合計課税所得 of 200万円 or less."""

    municipal_rate_percent: int
    prefectural_rate_percent: int
    per_capita_municipal: int
    per_capita_prefectural: int
    forest_environment_tax: int
    basic_deduction: int
    spouse_deduction: int
    dependent_deduction: int
    adjustment_credit: int
    property_rate_per_mille: int
    land_exemption: int
    building_exemption: int
    #: 軽自動車税 per vehicle class (the values of VEHICLE_CLASSES)
    light_vehicle: Mapping[str, int] = field(default_factory=dict)


def _floor(value: int, unit: int) -> int:
    return value // unit * unit


def salary_income(revenue: int, income_year: int) -> int:
    """給与所得 from 給与収入 (所得税法別表第五の算式; 令和7年分以後は最低控除65万円)."""
    if revenue < 0:
        raise RuleViolationError("給与収入が負です", field="salary_revenue")
    if income_year >= 2025:
        if revenue < 651_000:
            return 0
        if revenue < 1_900_000:
            return revenue - 650_000
    else:
        if revenue < 551_000:
            return 0
        # the steps of 別表第五 between 1,619,000 and 1,628,000 yen
        for upper, income in (
            (1_619_000, revenue - 550_000),
            (1_620_000, 1_069_000),
            (1_622_000, 1_070_000),
            (1_624_000, 1_072_000),
            (1_628_000, 1_074_000),
        ):
            if revenue < upper:
                return income
    a = _floor(revenue // 4, 1_000)
    if revenue < 1_800_000:
        return a * 24 // 10 + 100_000
    if revenue < 3_600_000:
        return a * 28 // 10 - 80_000
    if revenue < 6_600_000:
        return a * 32 // 10 - 440_000
    if revenue < 8_500_000:
        return revenue * 9 // 10 - 1_100_000
    return revenue - 1_950_000


def pension_income(revenue: int, age: int) -> int:
    """公的年金等に係る雑所得 (other income ≤ 1,000万円), by age at year end."""
    if revenue <= 0:
        return 0
    if age >= 65:
        if revenue < 3_300_000:
            return max(0, revenue - 1_100_000)
    elif revenue < 1_300_000:
        return max(0, revenue - 600_000)
    if revenue < 4_100_000:
        return revenue * 75 // 100 - 275_000
    if revenue < 7_700_000:
        return revenue * 85 // 100 - 685_000
    if revenue < 10_000_000:
        return revenue * 95 // 100 - 1_455_000
    return revenue - 1_955_000


@dataclass(frozen=True)
class IncomeDeclaration:
    """What the town knows of a person's income for one year (申告・給与支払報告・年金)."""

    fiscal_year: int
    age_at_year_end: int
    salary_revenue: int = 0
    pension_revenue: int = 0
    business_income: int = 0
    agriculture_income: int = 0
    other_income: int = 0
    social_insurance: int = 0
    has_spouse_deduction: bool = False
    dependents: int = 0


@dataclass(frozen=True)
class ResidentTax:
    salary_income: int
    pension_income: int
    total_income: int
    social_insurance_deduction: int
    spouse_deduction: int
    dependents_deduction: int
    basic_deduction: int
    total_deductions: int
    taxable_income: int
    income_levy_municipal: int
    income_levy_prefectural: int
    per_capita_municipal: int
    per_capita_prefectural: int
    forest_environment_tax: int

    @property
    def total_tax(self) -> int:
        return (
            self.income_levy_municipal
            + self.income_levy_prefectural
            + self.per_capita_municipal
            + self.per_capita_prefectural
            + self.forest_environment_tax
        )


def compute_resident_tax(d: IncomeDeclaration, rates: TaxRates) -> ResidentTax:
    """個人住民税 for fiscal year ``d.fiscal_year`` (on income of the previous year), with the
    ``rates`` of its 賦課期日 (1 January of the fiscal year).

    Non-taxable thresholds are those of a 3級地 town (Niigata's rural towns): 均等割 is not
    levied when 総所得 ≤ 28万円 × (本人+配偶者+扶養) + 10万円 (+16.8万円 with dependents);
    所得割 not when ≤ 35万円 × (…) + 10万円 (+32万円 with dependents).
    """
    for name in ("salary_revenue", "pension_revenue", "social_insurance", "dependents"):
        if getattr(d, name) < 0:
            raise RuleViolationError(f"{name} が負です", field=name)
    income_year = d.fiscal_year - 1
    s_income = salary_income(d.salary_revenue, income_year)
    p_income = pension_income(d.pension_revenue, d.age_at_year_end)
    total = max(0, s_income + p_income + d.business_income + d.agriculture_income + d.other_income)
    spouse = rates.spouse_deduction if d.has_spouse_deduction else 0
    dependents = rates.dependent_deduction * d.dependents
    deductions = d.social_insurance + spouse + dependents + rates.basic_deduction
    taxable = _floor(max(0, total - deductions), 1_000)
    people = 1 + int(d.has_spouse_deduction) + d.dependents
    with_dependents = d.has_spouse_deduction or d.dependents > 0
    per_capita_exempt = total <= 280_000 * people + 100_000 + (168_000 if with_dependents else 0)
    income_exempt = total <= 350_000 * people + 100_000 + (320_000 if with_dependents else 0)
    if income_exempt or taxable == 0:
        municipal = prefectural = 0
    else:
        # 調整控除 is split 3:2 like the rates; each levy is rounded down to 100 yen.
        credit = rates.adjustment_credit
        municipal = max(0, taxable * rates.municipal_rate_percent // 100 - credit * 3 // 5)
        prefectural = max(0, taxable * rates.prefectural_rate_percent // 100 - credit * 2 // 5)
        municipal, prefectural = _floor(municipal, 100), _floor(prefectural, 100)
    pc_m = 0 if per_capita_exempt else rates.per_capita_municipal
    pc_p = 0 if per_capita_exempt else rates.per_capita_prefectural
    forest = 0 if per_capita_exempt else rates.forest_environment_tax
    return ResidentTax(
        salary_income=s_income,
        pension_income=p_income,
        total_income=total,
        social_insurance_deduction=d.social_insurance,
        spouse_deduction=spouse,
        dependents_deduction=dependents,
        basic_deduction=rates.basic_deduction,
        total_deductions=deductions,
        taxable_income=taxable,
        income_levy_municipal=municipal,
        income_levy_prefectural=prefectural,
        per_capita_municipal=pc_m,
        per_capita_prefectural=pc_p,
        forest_environment_tax=forest,
    )


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def split_installments(
    total: int, due_dates: list[date], *, unit: int | None = None
) -> list[tuple[int, date, int]]:
    """(period, due date, amount): the first period takes the remainder (端数は第1期).

    Later periods are multiples of ``unit`` yen; by default 1,000 yen when possible (as
    towns bill 普通徴収), else 100. 特別徴収 passes 100 (地方税法321条の5: monthly amounts
    in 100-yen units, the remainder in June).
    """
    if total < 0:
        raise RuleViolationError("税額が負です")
    if not due_dates:
        raise RuleViolationError("納期限がありません")
    if total == 0:
        return []
    n = len(due_dates)
    if unit is None:
        unit = 1_000 if total >= 1_000 * n else 100
    later = _floor(total // n, unit)
    first = total - later * (n - 1)
    return [(i + 1, due, first if i == 0 else later) for i, due in enumerate(due_dates)]


def resident_tax_unit(collection_method: str) -> int | None:
    """Installment unit: 特別徴収 in 100-yen months, 普通徴収 the default."""
    return 100 if collection_method == "special" else None


def resident_tax_due_dates(fiscal_year: int, collection_method: str) -> list[date]:
    """普通徴収: 6, 8, 10月末 and 翌年1月末; 特別徴収: the employer pays what it withheld
    from each month's salary (June to May) by the 10th of the following month."""
    if collection_method == "ordinary":
        return [
            _month_end(fiscal_year, 6),
            _month_end(fiscal_year, 8),
            _month_end(fiscal_year, 10),
            _month_end(fiscal_year + 1, 1),
        ]
    if collection_method == "special":
        months = [(fiscal_year, m) for m in range(7, 13)] + [
            (fiscal_year + 1, m) for m in range(1, 7)
        ]
        return [date(y, m, 10) for y, m in months]
    raise RuleViolationError(f"徴収方法が不明です: {collection_method}", field="collection_method")


def property_tax_due_dates(fiscal_year: int) -> list[date]:
    """固定資産税: 4月末, 7月末, 12月25日, 翌年2月末 (common schedule)."""
    return [
        _month_end(fiscal_year, 4),
        _month_end(fiscal_year, 7),
        date(fiscal_year, 12, 25),
        _month_end(fiscal_year + 1, 2),
    ]


def light_vehicle_due_dates(fiscal_year: int) -> list[date]:
    """軽自動車税: 5月末, one installment."""
    return [_month_end(fiscal_year, 5)]


def property_tax(land_tax_base: int, building_tax_base: int, rates: TaxRates) -> int:
    """固定資産税額: the rate (1.4%) of the tax base (1,000円未満切捨て), 100円未満切捨て;
    免税点 applied."""
    land = land_tax_base if land_tax_base >= rates.land_exemption else 0
    building = building_tax_base if building_tax_base >= rates.building_exemption else 0
    return _floor(_floor(land + building, 1_000) * rates.property_rate_per_mille // 1_000, 100)
