"""Ages and anniversaries (pure)."""

from __future__ import annotations

from datetime import date


def age_on(birth: date, on: date) -> int:
    """Completed years of age on ``on`` (the day of the birthday counts)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def anniversary(birth: date, years: int) -> date:
    """The ``years``-th birthday; 29 February falls on 1 March in common years."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return date(birth.year + years, 3, 1)


def fiscal_year_of(d: date) -> int:
    """年度: April to March."""
    return d.year if d.month >= 4 else d.year - 1
