"""The dated parameters of 国民健康保険 (``lgcloud.parameters``)."""

from __future__ import annotations

from datetime import date

from lgcloud.parameters.registry import declare
from lgcloud.parameters.rules import Entry, Spec

NOTIFICATION_DAYS = "insurance.notification_days"

declare(
    Spec(
        NOTIFICATION_DAYS,
        "国保の資格取得・喪失の届出期間（日）",
        "days",
        (
            Entry(
                "14",
                date(1959, 1, 1),
                source="国民健康保険法施行規則 第2条（資格取得）・第11条（資格喪失）",
            ),
        ),
    )
)
