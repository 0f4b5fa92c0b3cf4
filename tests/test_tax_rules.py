"""The pure tax rules (no database): 給与所得, 公的年金等所得, 個人住民税, 期別, 納期限,
固定資産税. Expected values are computed by hand from the statute tables, not by the code."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lgcloud.core.errors import RuleViolationError
from lgcloud.taxation.domain import (
    IncomeDeclaration,
    ResidentTax,
    compute_resident_tax,
    light_vehicle_due_dates,
    pension_income,
    property_tax,
    property_tax_due_dates,
    resident_tax_due_dates,
    resident_tax_unit,
    salary_income,
    split_installments,
)
from lgcloud.taxation.parameters import assessment_day, shipped_rates


def resident_tax(d: IncomeDeclaration) -> ResidentTax:
    """The rule with the rates lgcloud ships for the declaration's 賦課期日."""
    return compute_resident_tax(d, shipped_rates(assessment_day(d.fiscal_year, "resident")))


# ------------------------------------------------------------------------------ 給与所得


@pytest.mark.parametrize(
    ("revenue", "income"),
    [
        (0, 0),
        (550_999, 0),
        (551_000, 1_000),  # 最低控除 55万円
        (1_000_000, 450_000),
        (1_618_999, 1_068_999),
        # the steps of 別表第五 between 1,619,000 and 1,628,000
        (1_619_000, 1_069_000),
        (1_619_999, 1_069_000),
        (1_620_000, 1_070_000),
        (1_621_999, 1_070_000),
        (1_622_000, 1_072_000),
        (1_623_999, 1_072_000),
        (1_624_000, 1_074_000),
        (1_627_999, 1_074_000),
        # A = 収入÷4 (千円未満切捨て): A×2.4+10万
        (1_628_000, 1_076_800),  # A = 407,000
        (1_700_000, 1_120_000),  # A = 425,000
        (1_799_999, 1_177_600),  # A = 449,000
        # A×2.8−8万
        (1_800_000, 1_180_000),
        (3_000_000, 2_020_000),
        (3_003_999, 2_020_000),  # A still 750,000
        (3_004_000, 2_022_800),  # A = 751,000
        (3_599_999, 2_437_200),  # A = 899,000
        # A×3.2−44万
        (3_600_000, 2_440_000),
        (5_000_000, 3_560_000),
        (6_599_999, 4_836_800),  # A = 1,649,000
        # 収入×0.9−110万, then 収入−195万
        (6_600_000, 4_840_000),
        (7_000_000, 5_200_000),
        (8_499_999, 6_549_999),
        (8_500_000, 6_550_000),
        (9_000_000, 7_050_000),
        (20_000_000, 18_050_000),
    ],
)
def test_salary_income_before_2025(revenue: int, income: int) -> None:
    assert salary_income(revenue, 2024) == income
    assert salary_income(revenue, 2020) == income


@pytest.mark.parametrize(
    ("revenue", "income"),
    [
        (0, 0),
        (650_999, 0),
        (651_000, 1_000),  # 最低控除 65万円 (令和7年分以後)
        (1_000_000, 350_000),
        (1_619_000, 969_000),  # no steps any more
        (1_624_000, 974_000),
        (1_700_000, 1_050_000),  # the 2.4 band is gone
        (1_899_999, 1_249_999),
        (1_900_000, 1_250_000),  # A = 475,000: A×2.8−8万 = 190万−65万, continuous
        (1_904_000, 1_252_800),  # A = 476,000
        (3_000_000, 2_020_000),
        (5_000_000, 3_560_000),
        (7_000_000, 5_200_000),
        (9_000_000, 7_050_000),
    ],
)
def test_salary_income_from_2025(revenue: int, income: int) -> None:
    assert salary_income(revenue, 2025) == income
    assert salary_income(revenue, 2026) == income


def test_salary_income_is_continuous_at_every_band_edge() -> None:
    for year in (2024, 2025):
        for edge in (1_628_000, 1_800_000, 1_900_000, 3_600_000, 6_600_000, 8_500_000):
            below, at = salary_income(edge - 1, year), salary_income(edge, year)
            assert 0 <= at - below <= 4_000, (year, edge)


def test_negative_salary_revenue_is_refused() -> None:
    with pytest.raises(RuleViolationError) as exc:
        salary_income(-1, 2024)
    assert exc.value.field == "salary_revenue"


# -------------------------------------------------------------------------- 公的年金等所得


@pytest.mark.parametrize(
    ("revenue", "income"),
    [
        (-5, 0),
        (0, 0),
        (600_000, 0),
        (600_001, 1),
        (1_000_000, 400_000),  # 最低控除 60万円
        (1_299_999, 699_999),
        (1_300_000, 700_000),  # ×75%−27.5万, continuous
        (2_000_000, 1_225_000),
        (4_099_999, 2_799_999),
        (4_100_000, 2_800_000),  # ×85%−68.5万
        (5_000_000, 3_565_000),
        (7_699_999, 5_859_999),
        (7_700_000, 5_860_000),  # ×95%−145.5万
        (8_000_000, 6_145_000),
        (9_999_999, 8_044_999),
        (10_000_000, 8_045_000),  # −195.5万
        (12_000_000, 10_045_000),
    ],
)
def test_pension_income_under_65(revenue: int, income: int) -> None:
    assert pension_income(revenue, 64) == income
    assert pension_income(revenue, 30) == income


@pytest.mark.parametrize(
    ("revenue", "income"),
    [
        (0, 0),
        (1_000_000, 0),
        (1_100_000, 0),
        (1_100_001, 1),  # 最低控除 110万円
        (2_000_000, 900_000),
        (3_299_999, 2_199_999),
        (3_300_000, 2_200_000),  # ×75%−27.5万, continuous
        (4_099_999, 2_799_999),
        (4_100_000, 2_800_000),
        (5_000_000, 3_565_000),
        (8_000_000, 6_145_000),
        (12_000_000, 10_045_000),
    ],
)
def test_pension_income_65_and_over(revenue: int, income: int) -> None:
    assert pension_income(revenue, 65) == income
    assert pension_income(revenue, 90) == income


def test_pension_age_boundary() -> None:
    assert pension_income(1_200_000, 64) == 600_000
    assert pension_income(1_200_000, 65) == 100_000


# -------------------------------------------------------------------------- 個人住民税


def test_single_salaried_worker() -> None:
    t = resident_tax(
        IncomeDeclaration(
            fiscal_year=2026,
            age_at_year_end=40,
            salary_revenue=4_123_456,
            social_insurance=612_345,
        )
    )
    # A = 1,030,000 (4,123,456÷4, 千円未満切捨て): 1,030,000×3.2−440,000
    assert t.salary_income == 2_856_000
    assert t.pension_income == 0
    assert t.total_income == 2_856_000
    assert t.total_deductions == 612_345 + 430_000
    assert (t.spouse_deduction, t.dependents_deduction, t.basic_deduction) == (0, 0, 430_000)
    assert t.taxable_income == 1_813_000  # 1,813,655 → 千円未満切捨て
    assert t.income_levy_municipal == 107_200  # 108,780 − 1,500 = 107,280 → 百円未満切捨て
    assert t.income_levy_prefectural == 71_500  # 72,520 − 1,000 = 71,520
    assert (t.per_capita_municipal, t.per_capita_prefectural) == (3_000, 1_000)
    assert t.forest_environment_tax == 1_000
    assert t.total_tax == 107_200 + 71_500 + 3_000 + 1_000 + 1_000 == 183_700


def test_married_with_spouse_and_one_dependent() -> None:
    t = resident_tax(
        IncomeDeclaration(
            fiscal_year=2025,  # income of 2024: the old salary table
            age_at_year_end=45,
            salary_revenue=5_000_000,
            social_insurance=750_000,
            has_spouse_deduction=True,
            dependents=1,
        )
    )
    assert t.salary_income == t.total_income == 3_560_000
    assert t.spouse_deduction == 330_000
    assert t.dependents_deduction == 330_000
    assert t.total_deductions == 750_000 + 330_000 + 330_000 + 430_000 == 1_840_000
    assert t.taxable_income == 1_720_000
    assert t.income_levy_municipal == 101_700  # 103,200 − 1,500
    assert t.income_levy_prefectural == 67_800  # 68,800 − 1,000
    assert t.forest_environment_tax == 1_000
    assert t.total_tax == 174_500


def test_two_dependents_count_in_the_deduction() -> None:
    t = resident_tax(
        IncomeDeclaration(
            fiscal_year=2026, age_at_year_end=45, salary_revenue=6_000_000, dependents=2
        )
    )
    assert t.dependents_deduction == 660_000
    assert t.spouse_deduction == 0


def _pensioner(revenue: int, *, spouse: bool = False, fiscal_year: int = 2026) -> int:
    return resident_tax(
        IncomeDeclaration(
            fiscal_year=fiscal_year,
            age_at_year_end=72,
            pension_revenue=revenue,
            has_spouse_deduction=spouse,
        )
    ).total_tax


def test_low_income_single_pensioner_thresholds() -> None:
    # 均等割: 28万×1 + 10万 = 38万 (3級地); pension income = revenue − 110万
    exempt = resident_tax(
        IncomeDeclaration(fiscal_year=2026, age_at_year_end=72, pension_revenue=1_480_000)
    )
    assert exempt.total_income == 380_000
    assert exempt.total_tax == 0
    assert exempt.per_capita_municipal == exempt.per_capita_prefectural == 0
    assert exempt.forest_environment_tax == 0
    # one yen over: 均等割 and 森林環境税, but no 所得割 (≤ 35万 + 10万 = 45万)
    above = resident_tax(
        IncomeDeclaration(fiscal_year=2026, age_at_year_end=72, pension_revenue=1_480_001)
    )
    assert above.total_income == 380_001
    assert (above.per_capita_municipal, above.per_capita_prefectural) == (3_000, 1_000)
    assert above.forest_environment_tax == 1_000
    assert above.income_levy_municipal == above.income_levy_prefectural == 0
    assert above.total_tax == 5_000
    assert _pensioner(1_550_000) == 5_000  # total income 450,000: 所得割 exempt


def test_married_pensioner_thresholds() -> None:
    # 均等割: 28万×2 + 10万 + 16.8万 = 82.8万
    assert _pensioner(1_928_000, spouse=True) == 0
    assert _pensioner(1_928_001, spouse=True) == 5_000
    # 所得割: 35万×2 + 10万 + 32万 = 112万 (total income), exactly at the limit: exempt
    assert _pensioner(2_220_000, spouse=True) == 5_000
    # one yen over: taxable 1,120,001 − 330,000 − 430,000 → 360,000
    t = resident_tax(
        IncomeDeclaration(
            fiscal_year=2026,
            age_at_year_end=72,
            pension_revenue=2_220_001,
            has_spouse_deduction=True,
        )
    )
    assert t.taxable_income == 360_000
    assert t.income_levy_municipal == 20_100  # 21,600 − 1,500
    assert t.income_levy_prefectural == 13_400  # 14,400 − 1,000
    assert t.total_tax == 38_500


def test_salaried_single_threshold_uses_the_2025_table() -> None:
    # income year 2025: 1,030,000 − 650,000 = 380,000 → exempt; one yen more → 均等割
    def tax(revenue: int) -> int:
        return resident_tax(
            IncomeDeclaration(fiscal_year=2026, age_at_year_end=30, salary_revenue=revenue)
        ).total_tax

    assert tax(1_030_000) == 0
    assert tax(1_030_001) == 5_000
    # the same revenue a year earlier (55万 minimum) is 480,000 of income: 均等割 and 所得割
    earlier = resident_tax(
        IncomeDeclaration(fiscal_year=2025, age_at_year_end=30, salary_revenue=1_030_000)
    )
    assert earlier.total_income == 480_000
    assert earlier.taxable_income == 50_000
    assert earlier.income_levy_municipal == 1_500  # 3,000 − 1,500
    assert earlier.income_levy_prefectural == 1_000  # 2,000 − 1,000
    assert earlier.total_tax == 7_500


def test_forest_environment_tax_from_fiscal_2024_as_the_reconstruction_surcharge_ends() -> None:
    """令和5年度 (賦課期日 2023-01-01): 均等割 3,500 + 1,500 (復興財源の臨時特例,
    平成26〜令和5年度), no 森林環境税; 令和6年度: 3,000 + 1,000 and 森林環境税 1,000 — the
    same total."""

    def decl(fy: int) -> IncomeDeclaration:
        return IncomeDeclaration(
            fiscal_year=fy, age_at_year_end=50, salary_revenue=3_000_000, social_insurance=450_000
        )

    t23, t24 = resident_tax(decl(2023)), resident_tax(decl(2024))
    # 2,020,000 − 880,000 = 1,140,000: 68,400 − 1,500 and 45,600 − 1,000
    for t in (t23, t24):
        assert t.taxable_income == 1_140_000
        assert (t.income_levy_municipal, t.income_levy_prefectural) == (66_900, 44_600)
    assert (t23.per_capita_municipal, t23.per_capita_prefectural) == (3_500, 1_500)
    assert t23.forest_environment_tax == 0
    assert t23.total_tax == 116_500
    assert (t24.per_capita_municipal, t24.per_capita_prefectural) == (3_000, 1_000)
    assert t24.forest_environment_tax == 1_000
    assert t24.total_tax == 116_500
    assert _pensioner(1_480_001, fiscal_year=2023) == 5_000  # 均等割 only: 3,500 + 1,500


def test_adjustment_credit_never_makes_a_levy_negative() -> None:
    # single, total income 450,001: above the 所得割 limit, taxable 20,000 → 1,200 − 1,500 < 0
    t = resident_tax(IncomeDeclaration(fiscal_year=2026, age_at_year_end=30, other_income=450_001))
    assert t.taxable_income == 20_000
    assert t.income_levy_municipal == t.income_levy_prefectural == 0
    assert t.total_tax == 5_000


def test_business_losses_do_not_make_income_negative() -> None:
    t = resident_tax(
        IncomeDeclaration(
            fiscal_year=2026, age_at_year_end=50, salary_revenue=1_000_000, business_income=-900_000
        )
    )
    assert t.total_income == 0
    assert t.total_tax == 0


@pytest.mark.parametrize(
    "name", ["salary_revenue", "pension_revenue", "social_insurance", "dependents"]
)
def test_negative_declaration_amounts_are_refused(name: str) -> None:
    decl = IncomeDeclaration(fiscal_year=2026, age_at_year_end=40, **{name: -1})
    with pytest.raises(RuleViolationError) as exc:
        resident_tax(decl)
    assert exc.value.field == name


# --------------------------------------------------------------------------------- 期別

ORDINARY_2026 = [date(2026, 6, 30), date(2026, 8, 31), date(2026, 10, 31), date(2027, 1, 31)]


def test_split_gives_the_remainder_to_the_first_period() -> None:
    assert split_installments(10_000, ORDINARY_2026) == [
        (1, date(2026, 6, 30), 4_000),
        (2, date(2026, 8, 31), 2_000),
        (3, date(2026, 10, 31), 2_000),
        (4, date(2027, 1, 31), 2_000),
    ]
    assert [a for _, _, a in split_installments(183_700, ORDINARY_2026)] == [
        48_700,
        45_000,
        45_000,
        45_000,
    ]
    # below 1,000 yen a period, later periods are in 100-yen units
    assert [a for _, _, a in split_installments(3_900, ORDINARY_2026)] == [1_200, 900, 900, 900]
    assert split_installments(10_800, [date(2026, 5, 31)]) == [(1, date(2026, 5, 31), 10_800)]


def test_split_of_zero_gives_no_installments() -> None:
    assert split_installments(0, ORDINARY_2026) == []


def test_split_of_a_negative_total_is_refused() -> None:
    with pytest.raises(RuleViolationError):
        split_installments(-1, ORDINARY_2026)


def test_special_collection_months_are_in_100_yen_units() -> None:
    amounts = [
        a
        for _, _, a in split_installments(
            175_500,
            resident_tax_due_dates(2026, "special"),
            unit=resident_tax_unit("special"),
        )
    ]
    # 175,500 ÷ 12 = 14,625 → 14,600 a month, June takes 175,500 − 11 × 14,600
    assert amounts == [14_900] + [14_600] * 11


@given(
    total=st.integers(min_value=0, max_value=50_000_000),
    n=st.sampled_from([1, 4, 12]),
)
def test_split_always_sums_exactly_and_later_periods_are_equal(total: int, n: int) -> None:
    dues = [date(2026, 1, 1 + i) for i in range(n)]
    parts = split_installments(total, dues)
    if total == 0:
        assert parts == []
        return
    assert [p for p, _, _ in parts] == list(range(1, n + 1))
    assert [d for _, d, _ in parts] == dues
    amounts = [a for _, _, a in parts]
    assert sum(amounts) == total
    assert len(set(amounts[1:])) <= 1
    assert all(a >= 0 for a in amounts)
    assert amounts[0] >= max(amounts[1:], default=0)
    assert all(a % 100 == 0 for a in amounts[1:])


# ------------------------------------------------------------------------------- 納期限


def test_ordinary_collection_due_dates() -> None:
    assert resident_tax_due_dates(2026, "ordinary") == ORDINARY_2026
    assert resident_tax_due_dates(2023, "ordinary") == [
        date(2023, 6, 30),
        date(2023, 8, 31),
        date(2023, 10, 31),
        date(2024, 1, 31),
    ]


def test_special_collection_due_dates() -> None:
    # Withheld from the salaries of June to May; the employer pays each month's amount in
    # by the 10th of the next month: 7月10日 … 翌年6月10日.
    dues = resident_tax_due_dates(2026, "special")
    assert len(dues) == 12
    assert dues[0] == date(2026, 7, 10)
    assert dues[-1] == date(2027, 6, 10)
    assert all(d.day == 10 for d in dues)
    months = [(d.year, d.month) for d in dues]
    assert months == sorted(set(months))
    assert months == [(2026, m) for m in range(7, 13)] + [(2027, m) for m in range(1, 7)]


def test_unknown_collection_method_is_refused() -> None:
    with pytest.raises(RuleViolationError) as exc:
        resident_tax_due_dates(2026, "monthly")
    assert exc.value.field == "collection_method"


def test_property_and_light_vehicle_due_dates() -> None:
    assert property_tax_due_dates(2026) == [
        date(2026, 4, 30),
        date(2026, 7, 31),
        date(2026, 12, 25),
        date(2027, 2, 28),
    ]
    assert property_tax_due_dates(2027)[-1] == date(2028, 2, 29)  # leap year
    assert light_vehicle_due_dates(2026) == [date(2026, 5, 31)]


# ---------------------------------------------------------------------------- 固定資産税


@pytest.mark.parametrize(
    ("land", "building", "tax"),
    [
        (0, 0, 0),
        (299_999, 0, 0),  # 土地の免税点 30万円未満
        (300_000, 0, 4_200),
        (0, 199_999, 0),  # 家屋の免税点 20万円未満
        (0, 200_000, 2_800),
        (299_999, 199_999, 0),  # each exemption applies on its own, not to the sum
        (299_999, 500_000, 7_000),
        (1_234_567, 0, 17_200),  # 1,234,000 × 1.4% = 17,276 → 17,200
        (1_000_000, 2_345_678, 46_800),  # 3,345,000 × 1.4% = 46,830 → 46,800
        (1_999, 0, 0),
    ],
)
def test_property_tax(land: int, building: int, tax: int) -> None:
    assert property_tax(land, building, shipped_rates(date(2026, 1, 1))) == tax


def test_light_vehicle_rates() -> None:
    amounts = shipped_rates(date(2026, 4, 1)).light_vehicle
    assert amounts["軽四輪 乗用・自家用"] == 10_800
    assert amounts["軽四輪 貨物・自家用"] == 5_000
    assert amounts["原動機付自転車 (50cc以下)"] == 2_000
    assert all(v > 0 and v % 100 == 0 for v in amounts.values())
    # before 平成28年度 the older amounts (地方税法 第444条)
    assert shipped_rates(date(2015, 4, 1)).light_vehicle["軽四輪 乗用・自家用"] == 7_200


# ------------------------------------------------------------------------------ properties


@given(
    fiscal_year=st.integers(min_value=2022, max_value=2028),
    age=st.integers(min_value=16, max_value=100),
    salary=st.tuples(
        st.integers(min_value=0, max_value=30_000_000),
        st.integers(min_value=0, max_value=30_000_000),
    ),
    pension=st.integers(min_value=0, max_value=5_000_000),
    business=st.integers(min_value=-2_000_000, max_value=5_000_000),
    social=st.integers(min_value=0, max_value=1_500_000),
    spouse=st.booleans(),
    dependents=st.integers(min_value=0, max_value=5),
)
def test_resident_tax_is_non_negative_and_monotone_in_salary(
    fiscal_year: int,
    age: int,
    salary: tuple[int, int],
    pension: int,
    business: int,
    social: int,
    spouse: bool,
    dependents: int,
) -> None:
    low, high = sorted(salary)

    def tax(revenue: int) -> int:
        t = resident_tax(
            IncomeDeclaration(
                fiscal_year=fiscal_year,
                age_at_year_end=age,
                salary_revenue=revenue,
                pension_revenue=pension,
                business_income=business,
                social_insurance=social,
                has_spouse_deduction=spouse,
                dependents=dependents,
            )
        )
        assert t.taxable_income >= 0
        assert t.taxable_income % 1_000 == 0
        assert t.income_levy_municipal % 100 == 0
        assert t.income_levy_prefectural % 100 == 0
        assert t.income_levy_municipal >= 0
        assert t.income_levy_prefectural >= 0
        return t.total_tax

    t_low, t_high = tax(low), tax(high)
    assert t_low >= 0
    assert t_low <= t_high


@given(st.integers(min_value=0, max_value=30_000_000), st.integers(min_value=2019, max_value=2030))
def test_salary_income_is_monotone_and_below_revenue(revenue: int, year: int) -> None:
    income = salary_income(revenue, year)
    assert 0 <= income <= revenue
    assert salary_income(revenue + 1, year) >= income
