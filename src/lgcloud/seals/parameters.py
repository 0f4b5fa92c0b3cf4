"""The dated parameters of 印鑑登録 (``lgcloud.parameters``): shipped values with their source."""

from __future__ import annotations

from datetime import date

from lgcloud.parameters.registry import declare
from lgcloud.parameters.rules import Entry, Spec

MIN_AGE = "seals.min_age"

declare(
    Spec(
        MIN_AGE,
        "印鑑登録ができる年齢",
        "years",
        (
            Entry(
                "15",
                date(1974, 2, 1),
                source="印鑑登録証明事務処理要領（昭和49年2月1日 自治振第10号）第2 登録資格",
            ),
        ),
    )
)
