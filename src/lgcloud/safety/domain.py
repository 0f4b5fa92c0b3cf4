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
