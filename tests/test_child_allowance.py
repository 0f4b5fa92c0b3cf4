"""児童手当's rules (issue 17, item 1): ages as the law counts them, the third child, the
monthly amounts, the 15-day rule and the months of payment — pure, from the shipped
parameters."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lgcloud.child_allowance import parameters as p
from lgcloud.child_allowance.domain import (
    Amounts,
    Child,
    first_march_31_after,
    first_paid_month,
    in_age_range,
    monthly_amounts,
    payment_months,
    reaches_age,
)
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.parameters.registry import shipped_on

pytestmark = pytest.mark.no_database
MONTH = date(2026, 12, 1)


def amounts(day: date = MONTH) -> Amounts:
    v = shipped_on(day, *p.ALL)
    return Amounts(
        v.int(p.AMOUNT_UNDER_3),
        v.int(p.AMOUNT_3_AND_OVER),
        v.int(p.AMOUNT_THIRD_CHILD),
        v.int(p.PAID_UNTIL_AGE),
        v.int(p.COUNTED_UNTIL_AGE),
        v.int(p.LOWER_RATE_FROM_AGE),
    )


def test_the_shipped_amounts_since_october_2024() -> None:
    a = amounts()
    assert (a.under_3, a.three_and_over, a.third_child) == (15_000, 10_000, 30_000)
    assert (a.paid_until_age, a.counted_until_age, a.lower_rate_from_age) == (18, 22, 3)
    assert shipped_on(MONTH, p.GRACE_DAYS).int(p.GRACE_DAYS) == 15
    with pytest.raises(NotFoundError, match="値がありません"):
        amounts(date(2024, 9, 1))  # the rules before the amendment are not shipped


@pytest.mark.parametrize(
    ("birth", "last_month"),
    [
        (date(2008, 4, 1), date(2026, 3, 1)),  # reaches 18 on 2026-03-31: that very day
        (date(2008, 4, 2), date(2027, 3, 1)),  # reaches 18 on 2026-04-01: the next 31 March
        (date(2009, 3, 31), date(2027, 3, 1)),
        (date(2008, 2, 29), date(2026, 3, 1)),  # 29 February: reaches 18 on 28 February
    ],
)
def test_a_child_is_paid_until_the_first_31_march_after_reaching_18(
    birth: date, last_month: date
) -> None:
    assert in_age_range(birth, last_month, 18)
    following = date(last_month.year, 4, 1)
    assert not in_age_range(birth, following, 18)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)))
def test_reaching_an_age_is_the_day_before_the_birthday(birth: date) -> None:
    reached = reaches_age(birth, 18)
    end = first_march_31_after(reached)
    assert (end.month, end.day) == (3, 31) and reached <= end
    assert (end - reached).days < 366


def family(*births: date, supported: bool = True) -> list[Child]:
    return [Child(f"C{i}", b, supported) for i, b in enumerate(births)]


def test_a_student_past_18_makes_the_youngest_the_third_child() -> None:
    kids = family(date(2006, 6, 1), date(2016, 5, 1), date(2024, 1, 10))  # 20, 10, 2
    assert monthly_amounts(kids, MONTH, amounts()) == {"C1": 10_000, "C2": 30_000}
    not_supported = [Child("C0", date(2006, 6, 1), False), *kids[1:]]
    assert monthly_amounts(not_supported, MONTH, amounts()) == {"C1": 10_000, "C2": 15_000}
    # past the fiscal year of 22 the eldest no longer counts
    older = [Child("C0", date(2003, 6, 1)), *kids[1:]]
    assert monthly_amounts(older, MONTH, amounts()) == {"C1": 10_000, "C2": 15_000}


def test_the_lower_amount_starts_the_month_after_the_third_birthday() -> None:
    kid = family(date(2023, 6, 15))
    assert monthly_amounts(kid, date(2026, 6, 1), amounts()) == {"C0": 15_000}
    assert monthly_amounts(kid, date(2026, 7, 1), amounts()) == {"C0": 10_000}


def test_twins_are_ordered_and_a_child_not_yet_born_is_nobody() -> None:
    kids = [
        Child("A2", date(2020, 1, 1)),
        Child("A1", date(2020, 1, 1)),
        Child("B", date(2018, 1, 1)),
        Child("U", date(2027, 3, 1)),
    ]
    assert monthly_amounts(kids, MONTH, amounts()) == {"B": 10_000, "A1": 10_000, "A2": 30_000}


@pytest.mark.parametrize(
    ("event", "requested", "first"),
    [
        (date(2026, 5, 28), date(2026, 6, 10), date(2026, 6, 1)),  # within 15 days: June
        (date(2026, 5, 28), date(2026, 6, 12), date(2026, 6, 1)),  # the 15th day
        (date(2026, 5, 28), date(2026, 6, 13), date(2026, 7, 1)),  # the 16th: from request
        (date(2026, 5, 3), date(2026, 5, 20), date(2026, 6, 1)),
    ],
)
def test_payments_start_the_month_after_the_request_or_the_event(
    event: date, requested: date, first: date
) -> None:
    assert first_paid_month(event, requested, 15) == first


def test_a_request_before_the_event_is_refused() -> None:
    with pytest.raises(RuleViolationError) as refused:
        first_paid_month(date(2026, 5, 28), date(2026, 5, 1), 15)
    assert refused.value.field == "requested_on"


def test_even_months_pay_the_two_before() -> None:
    assert payment_months(date(2026, 12, 15)) == (date(2026, 10, 1), date(2026, 11, 1))
    assert payment_months(date(2027, 2, 1)) == (date(2026, 12, 1), date(2027, 1, 1))
    with pytest.raises(RuleViolationError):
        payment_months(date(2027, 3, 1))
