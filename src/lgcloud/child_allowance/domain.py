"""児童手当's rules, pure: who is a 児童 in a month, the order of the children that makes one
the third, the monthly amount of each, the month payments start (with the 15-day rule),
and the months they are paid in. The values come from ``child_allowance.parameters`` as
they stand in the month concerned; nothing here is a legal literal.

Ages follow 年齢計算ニ関スル法律: a person *reaches* an age at the end of the day before
the birthday, so "the first 31 March after reaching 18" ends the fiscal year of the 18th
birthday for a child born 2 April–31 March, and the fiscal year *before* it for a child
born on 1 April (who reaches 18 on 31 March)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from lgcloud.core.dates import anniversary
from lgcloud.core.errors import RuleViolationError


def reaches_age(birth: date, years: int) -> date:
    """The day a person born on ``birth`` reaches ``years`` (the day before the birthday)."""
    return anniversary(birth, years) - timedelta(days=1)


def first_march_31_after(day: date) -> date:
    """The first 31 March on or after ``day`` (the end of its fiscal year)."""
    end = date(day.year, 3, 31)
    return end if day <= end else date(day.year + 1, 3, 31)


def in_age_range(birth: date, month: date, age: int) -> bool:
    """Whether a child born on ``birth`` is, in ``month`` (its first day), born and still
    before the first 31 March after reaching ``age`` (児童: 18; counted for the order: 22)."""
    first = month.replace(day=1)
    last = _last_day(first)
    return birth <= last and first <= first_march_31_after(reaches_age(birth, age))


def _last_day(first: date) -> date:
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - timedelta(days=1)


@dataclass(frozen=True)
class Amounts:
    """The parameters of the month concerned."""

    under_3: int
    three_and_over: int
    third_child: int
    paid_until_age: int  # 18
    counted_until_age: int  # 22
    lower_rate_from_age: int  # 3


@dataclass(frozen=True)
class Child:
    """A child of the recipient: ``supported`` for a child past 18 whom the recipient
    supports (監護に相当する日常生活上の世話及び必要な保護 and 生計費の負担): only then are
    they counted for the order."""

    key: str  # 宛名番号
    birth: date
    supported: bool = True


def monthly_amounts(children: Sequence[Child], month: date, a: Amounts) -> dict[str, int]:
    """Each 児童's amount for ``month``: children counted (児童, or up to the fiscal year
    of 22 and supported) are ordered oldest first; a 児童 third or later in that order gets
    the third-child amount, others the under-3 amount through the month of their third
    birthday and the lower one after. Children not 児童 in the month get nothing (absent)."""
    counted = sorted(
        (
            c
            for c in children
            if in_age_range(c.birth, month, a.paid_until_age)
            or (c.supported and in_age_range(c.birth, month, a.counted_until_age))
        ),
        key=lambda c: (c.birth, c.key),
    )
    out: dict[str, int] = {}
    for order, c in enumerate(counted, start=1):
        if not in_age_range(c.birth, month, a.paid_until_age):
            continue  # counted for the order, not paid
        if order >= 3:
            out[c.key] = a.third_child
        elif _before_lower_rate(c.birth, month, a.lower_rate_from_age):
            out[c.key] = a.under_3
        else:
            out[c.key] = a.three_and_over
    return out


def _before_lower_rate(birth: date, month: date, age: int) -> bool:
    """Months up to and including the month of the ``age``-th birthday (3歳の誕生月まで)."""
    birthday = anniversary(birth, age)
    return (month.year, month.month) <= (birthday.year, birthday.month)


def first_paid_month(event_on: date, requested_on: date, grace_days: int) -> date:
    """The first month paid after a 認定請求: the month after the request (第8条第2項),
    or, when the request comes within ``grace_days`` days of the day after the birth or
    move-in that gave the right (the 15-day rule, 第8条第3項), the month after the event."""
    if requested_on < event_on:
        raise RuleViolationError("請求日が出生・転入の日より前です", field="requested_on")
    basis = event_on if requested_on <= event_on + timedelta(days=grace_days) else requested_on
    return _next_month(basis.replace(day=1))


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def payment_months(month: date) -> tuple[date, date]:
    """The two months paid in an even ``month`` (支払期月 2, 4, 6, 8, 10, 12: each pays the
    two months before it; February pays December and January)."""
    if month.month % 2:
        raise RuleViolationError("児童手当は偶数月に支払います", field="month")
    first = month.replace(day=1)
    before = first - timedelta(days=1)
    two_before = before.replace(day=1) - timedelta(days=1)
    return two_before.replace(day=1), before.replace(day=1)
