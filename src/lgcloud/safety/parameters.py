"""The dated parameters of 安否確認・被災者支援 (``lgcloud.parameters``): the 損害割合 from which
each category of damage to a home begins, with their source."""

from __future__ import annotations

from datetime import date

from lgcloud.parameters.registry import declare
from lgcloud.parameters.rules import Spec

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
    Spec.one_value(DESTROYED_MIN, "全壊となる損害割合（以上）", "rate", "0.50", _SINCE, _GUIDELINE),
    Spec.one_value(
        LARGE_HALF_MIN, "大規模半壊となる損害割合（以上）", "rate", "0.40", _SINCE, _GUIDELINE
    ),
    Spec.one_value(
        MEDIUM_HALF_MIN,
        "中規模半壊となる損害割合（以上）",
        "rate",
        "0.30",
        _SINCE,
        _GUIDELINE + "；被災者生活再建支援法 第2条第2号ハ（令和2年法律第67号）",
    ),
    Spec.one_value(HALF_MIN, "半壊となる損害割合（以上）", "rate", "0.20", _SINCE, _GUIDELINE),
    Spec.one_value(
        SEMI_HALF_MIN, "準半壊となる損害割合（以上）", "rate", "0.10", _SINCE, _GUIDELINE
    ),
)


# 被災者生活再建支援金 (被災者生活再建支援法 第3条; 内閣府「被災者生活再建支援制度の概要」):
# 基礎支援金 by the damage, 加算支援金 by how the household rebuilds, 3/4 for a household of one
_ACT = "被災者生活再建支援法 第3条"
_ACT_MEDIUM = "被災者生活再建支援法 第3条（中規模半壊世帯: 令和2年法律第67号）"
BASIC_DESTROYED = "safety.support_basic_destroyed"
BASIC_LARGE_HALF = "safety.support_basic_large_half"
ADD_BUILD = "safety.support_add_build"
ADD_REPAIR = "safety.support_add_repair"
ADD_RENT = "safety.support_add_rent"
ADD_BUILD_MEDIUM = "safety.support_add_build_medium"
ADD_REPAIR_MEDIUM = "safety.support_add_repair_medium"
ADD_RENT_MEDIUM = "safety.support_add_rent_medium"
SINGLE_RATE = "safety.support_single_rate"
SUPPORT = (
    BASIC_DESTROYED,
    BASIC_LARGE_HALF,
    ADD_BUILD,
    ADD_REPAIR,
    ADD_RENT,
    ADD_BUILD_MEDIUM,
    ADD_REPAIR_MEDIUM,
    ADD_RENT_MEDIUM,
    SINGLE_RATE,
)


declare(
    Spec.one_value(
        BASIC_DESTROYED, "基礎支援金（全壊・解体・長期避難）", "yen", "1000000", _SINCE, _ACT
    ),
    Spec.one_value(BASIC_LARGE_HALF, "基礎支援金（大規模半壊）", "yen", "500000", _SINCE, _ACT),
    Spec.one_value(ADD_BUILD, "加算支援金（建設・購入）", "yen", "2000000", _SINCE, _ACT),
    Spec.one_value(ADD_REPAIR, "加算支援金（補修）", "yen", "1000000", _SINCE, _ACT),
    Spec.one_value(ADD_RENT, "加算支援金（賃借、公営住宅を除く）", "yen", "500000", _SINCE, _ACT),
    Spec.one_value(
        ADD_BUILD_MEDIUM,
        "加算支援金（中規模半壊・建設・購入）",
        "yen",
        "1000000",
        _SINCE,
        _ACT_MEDIUM,
    ),
    Spec.one_value(
        ADD_REPAIR_MEDIUM, "加算支援金（中規模半壊・補修）", "yen", "500000", _SINCE, _ACT_MEDIUM
    ),
    Spec.one_value(
        ADD_RENT_MEDIUM, "加算支援金（中規模半壊・賃借）", "yen", "250000", _SINCE, _ACT_MEDIUM
    ),
    Spec.one_value(
        SINGLE_RATE,
        "単数世帯の支援金の割合",
        "rate",
        "0.75",
        _SINCE,
        _ACT + "（世帯人数が1人の場合は4分の3）",
    ),
)
