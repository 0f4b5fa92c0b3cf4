"""The safety ledger's rules (安否台帳), pure: what a status or location written on a list
means, which visitor a row is, and which report an entry shows. No I/O."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final

from lgcloud.core.errors import RuleViolationError
from lgcloud.safety.matching import Evacuee


class SafetyStatus(StrEnum):
    SAFE = "無事"
    INJURED = "負傷"
    NEEDS_SUPPORT = "要支援"
    MISSING = "行方不明"
    DEAD = "死亡"
    UNKNOWN = "不明"


class LocationKind(StrEnum):
    SHELTER = "避難所"
    HOME = "自宅"
    HOSPITAL = "病院"
    OUT_OF_TOWN = "町外"
    UNKNOWN = "不明"


#: what a shelter writes in 状態 (interchange README: 無事, 負傷, 要支援, or blank) and the
#: usual variants; a blank 状態 on a shelter's list means the person is there: 無事
_WRITTEN_STATUS: Final = {
    "": SafetyStatus.SAFE,
    "無事": SafetyStatus.SAFE,
    "ぶじ": SafetyStatus.SAFE,
    "健康": SafetyStatus.SAFE,
    "負傷": SafetyStatus.INJURED,
    "けが": SafetyStatus.INJURED,
    "怪我": SafetyStatus.INJURED,
    "要支援": SafetyStatus.NEEDS_SUPPORT,
    "要配慮": SafetyStatus.NEEDS_SUPPORT,
    "要介護": SafetyStatus.NEEDS_SUPPORT,
}


def status_written(text: str) -> tuple[SafetyStatus, str]:
    """(status, note) of a list's 状態: an unknown word is kept as a note beside 不明,
    never guessed."""
    folded = unicodedata.normalize("NFKC", text).strip()
    known = _WRITTEN_STATUS.get(folded)
    if known is not None:
        return known, ""
    return SafetyStatus.UNKNOWN, f"状態「{text.strip()}」"


def check_status(status: str, location_kind: str) -> tuple[SafetyStatus, LocationKind]:
    """A status and location kind a clerk chose, or a refusal naming the field."""
    try:
        s = SafetyStatus(status)
    except ValueError:
        raise RuleViolationError(
            "状態は " + "・".join(SafetyStatus) + " のどれかです", field="status"
        ) from None
    try:
        k = LocationKind(location_kind)
    except ValueError:
        raise RuleViolationError(
            "所在は " + "・".join(LocationKind) + " のどれかです", field="location_kind"
        ) from None
    return s, k


def visitor_key(e: Evacuee) -> str | None:
    """The key that makes one visitor of the rows of several lists: the folded kanji name
    (or the reading when no kanji was written) and the birth date, or the age when only
    that was written. None when the row holds no name, or no birth date nor age (two
    such rows may be two people: each stays an entry of its own)."""
    name = e.name_key or e.kana_key
    if not name:
        return None
    if e.birth is not None:
        return f"{name}|{e.birth.isoformat()}"
    if e.age is not None:
        return f"{name}|{e.age}歳"
    return None


def shows(report_time: datetime, entry_time: datetime | None) -> bool:
    """Whether a report replaces what an entry shows: the latest report wins (a later list
    or clerk's record; on a tie the one recorded last, so a correction on the same
    minute stands)."""
    return entry_time is None or report_time >= entry_time


# ------------------------------------------------- 被災者台帳: the damage to a home


class DamageCategory(StrEnum):
    """住家の被害の程度, the Cabinet Office's categories (災害に係る住家の被害認定基準運用指針)."""

    DESTROYED = "全壊"
    LARGE_HALF = "大規模半壊"
    MEDIUM_HALF = "中規模半壊"
    HALF = "半壊"
    SEMI_HALF = "準半壊"
    BELOW_SEMI_HALF = "準半壊に至らない（一部損壊）"


@dataclass(frozen=True)
class DamageThresholds:
    """The lowest 損害割合 (the share of the home's value lost, 0–1) of each category, as
    the dated parameters give them on the day of the survey."""

    destroyed: Decimal
    large_half: Decimal
    medium_half: Decimal
    half: Decimal
    semi_half: Decimal


def damage_category(ratio: Decimal, t: DamageThresholds) -> DamageCategory:
    """The category of a home whose 損害割合 is ``ratio`` (0–1): 全壊 from ``t.destroyed``
    up, … 準半壊 from ``t.semi_half``; below it 準半壊に至らない. A ratio outside 0–1 is
    refused (the surveyor typed a percentage as a ratio, or the reverse)."""
    if not Decimal(0) <= ratio <= Decimal(1):
        raise RuleViolationError("損害割合は 0〜100% です", field="damage_ratio")
    for floor, category in (
        (t.destroyed, DamageCategory.DESTROYED),
        (t.large_half, DamageCategory.LARGE_HALF),
        (t.medium_half, DamageCategory.MEDIUM_HALF),
        (t.half, DamageCategory.HALF),
        (t.semi_half, DamageCategory.SEMI_HALF),
    ):
        if ratio >= floor:
            return category
    return DamageCategory.BELOW_SEMI_HALF


# ------------------------------------------------- 被災者生活再建支援金


class SupportKind(StrEnum):
    BASIC = "基礎支援金"
    ADDITION = "加算支援金"


class RebuildMethod(StrEnum):
    BUILD = "建設・購入"
    REPAIR = "補修"
    RENT = "賃借"


@dataclass(frozen=True)
class SupportAmounts:
    """The amounts of 被災者生活再建支援法 第3条 on the day of the application (yen)."""

    basic_destroyed: int
    basic_large_half: int
    add_build: int
    add_repair: int
    add_rent: int
    add_build_medium: int
    add_repair_medium: int
    add_rent_medium: int
    single_rate: Decimal


def support_amount(
    category: DamageCategory,
    members: int,
    kind: SupportKind,
    method: RebuildMethod | None,
    a: SupportAmounts,
) -> int:
    """The 支援金 of a household of ``members`` people whose home is ``category``: the
    基礎支援金 by the damage (全壊 and 大規模半壊 only), or the 加算支援金 by how it rebuilds
    (全壊 and 大規模半壊 at the full amounts, 中規模半壊 at its own); a household of one gets
    ``single_rate`` of it, to the yen below. Anything else is refused, naming the field."""
    if members < 1:
        raise RuleViolationError("世帯に人がいません", field="household_number")
    base: int | None
    if kind is SupportKind.BASIC:
        if method is not None:
            raise RuleViolationError("基礎支援金に再建の方法はありません", field="method")
        base = {
            DamageCategory.DESTROYED: a.basic_destroyed,
            DamageCategory.LARGE_HALF: a.basic_large_half,
        }.get(category)
    else:
        if method is None:
            raise RuleViolationError("加算支援金は再建の方法を選んでください", field="method")
        if category in (DamageCategory.DESTROYED, DamageCategory.LARGE_HALF):
            table = {
                RebuildMethod.BUILD: a.add_build,
                RebuildMethod.REPAIR: a.add_repair,
                RebuildMethod.RENT: a.add_rent,
            }
        elif category is DamageCategory.MEDIUM_HALF:
            table = {
                RebuildMethod.BUILD: a.add_build_medium,
                RebuildMethod.REPAIR: a.add_repair_medium,
                RebuildMethod.RENT: a.add_rent_medium,
            }
        else:
            table = {}
        base = table.get(method)
    if base is None:
        raise RuleViolationError(
            f"{category.value}の世帯は{kind.value}の対象ではありません", field="kind"
        )
    if members == 1:
        return int(Decimal(base) * a.single_rate)
    return base
