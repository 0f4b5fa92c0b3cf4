"""The dated parameters of 児童手当 (``lgcloud.parameters``): the amounts and ages of
児童手当法 as amended from October 2024 (子ども・子育て支援法等の一部を改正する法律, 令和6年
法律第47号: no income limit, paid up to the end of the fiscal year a child turns 18, the
third child counted among those up to the fiscal year they turn 22, paid every even month)."""

from __future__ import annotations

from datetime import date

from lgcloud.parameters.registry import declare
from lgcloud.parameters.rules import Spec

AMOUNT_UNDER_3 = "child_allowance.amount_under_3"
AMOUNT_3_AND_OVER = "child_allowance.amount_3_and_over"
AMOUNT_THIRD_CHILD = "child_allowance.amount_third_child"
PAID_UNTIL_AGE = "child_allowance.paid_until_age"
COUNTED_UNTIL_AGE = "child_allowance.counted_until_age"
LOWER_RATE_FROM_AGE = "child_allowance.lower_rate_from_age"
GRACE_DAYS = "child_allowance.grace_days"
ALL = (
    AMOUNT_UNDER_3,
    AMOUNT_3_AND_OVER,
    AMOUNT_THIRD_CHILD,
    PAID_UNTIL_AGE,
    COUNTED_UNTIL_AGE,
    LOWER_RATE_FROM_AGE,
    GRACE_DAYS,
)

_SINCE = date(2024, 10, 1)
_AMENDED = "（令和6年法律第47号による改正後）"

declare(
    Spec.one_value(
        AMOUNT_UNDER_3,
        "児童手当の月額（3歳未満、第1子・第2子）",
        "yen",
        "15000",
        _SINCE,
        "児童手当法 第6条第1項" + _AMENDED,
    ),
    Spec.one_value(
        AMOUNT_3_AND_OVER,
        "児童手当の月額（3歳以上、第1子・第2子）",
        "yen",
        "10000",
        _SINCE,
        "児童手当法 第6条第1項" + _AMENDED,
    ),
    Spec.one_value(
        AMOUNT_THIRD_CHILD,
        "児童手当の月額（第3子以降）",
        "yen",
        "30000",
        _SINCE,
        "児童手当法 第6条第1項" + _AMENDED,
    ),
    Spec.one_value(
        PAID_UNTIL_AGE,
        "支給対象の年齢（この年齢に達する日以後の最初の3月31日まで）",
        "years",
        "18",
        _SINCE,
        "児童手当法 第3条第1項（児童の定義）" + _AMENDED,
    ),
    Spec.one_value(
        COUNTED_UNTIL_AGE,
        "第3子以降を数える子の年齢（この年齢に達する日以後の最初の3月31日まで）",
        "years",
        "22",
        _SINCE,
        "児童手当法 第6条第1項（監護相当・生計費の負担）" + _AMENDED,
    ),
    Spec.one_value(
        LOWER_RATE_FROM_AGE,
        "月額が下がる年齢（3歳に満たない児童）",
        "years",
        "3",
        _SINCE,
        "児童手当法 第6条第1項" + _AMENDED,
    ),
    Spec.one_value(
        GRACE_DAYS,
        "出生・転入から認定請求までの猶予日数（15日特例）",
        "days",
        "15",
        _SINCE,
        "児童手当法 第8条第3項",
    ),
)
