"""The dated parameters of 安否確認・被災者支援 (``lgcloud.parameters``): the 損害割合 from which
each category of damage to a home begins, with their source."""

from __future__ import annotations

from datetime import date

from lgcloud.parameters.registry import declare
from lgcloud.parameters.rules import Entry, Spec

DESTROYED_MIN = "safety.damage_destroyed_min"
LARGE_HALF_MIN = "safety.damage_large_half_min"
MEDIUM_HALF_MIN = "safety.damage_medium_half_min"
HALF_MIN = "safety.damage_half_min"
SEMI_HALF_MIN = "safety.damage_semi_half_min"
THRESHOLDS = (DESTROYED_MIN, LARGE_HALF_MIN, MEDIUM_HALF_MIN, HALF_MIN, SEMI_HALF_MIN)

#: the categories as they stand since 中規模半壊 was created (被災者生活再建支援法の一部を改正する
#: 法律, 令和2年法律第67号, in force 2020-12-04); the 運用指針 gives the 損害割合 of each
_GUIDELINE = "災害に係る住家の被害認定基準運用指針（内閣府 防災担当）第1章 3 被害の程度"
_SINCE = date(2020, 12, 4)

declare(
    Spec(
        DESTROYED_MIN,
        "全壊となる損害割合（以上）",
        "rate",
        (Entry("0.50", _SINCE, source=_GUIDELINE),),
    ),
    Spec(
        LARGE_HALF_MIN,
        "大規模半壊となる損害割合（以上）",
        "rate",
        (Entry("0.40", _SINCE, source=_GUIDELINE),),
    ),
    Spec(
        MEDIUM_HALF_MIN,
        "中規模半壊となる損害割合（以上）",
        "rate",
        (
            Entry(
                "0.30",
                _SINCE,
                source=_GUIDELINE + "；被災者生活再建支援法 第2条第2号ハ（令和2年法律第67号）",
            ),
        ),
    ),
    Spec(
        HALF_MIN,
        "半壊となる損害割合（以上）",
        "rate",
        (Entry("0.20", _SINCE, source=_GUIDELINE),),
    ),
    Spec(
        SEMI_HALF_MIN,
        "準半壊となる損害割合（以上）",
        "rate",
        (Entry("0.10", _SINCE, source=_GUIDELINE),),
    ),
)
