"""国民健康保険 rules, pure: what a register change means for a person's qualification.

国民健康保険法 第5条: whoever has an address in the town is insured, unless excluded (第6条:
employees' insurance, 後期高齢者医療, 生活保護 …), so a change of address or household is a
question for the NHI staff, who know the exclusions: the rule proposes, a person decides.
- 第7条: qualification from the day the person comes to have an address (転入, 出生 into an
  insured household);
- 第8条: qualification ends the day after the person ceases to have an address (転出,
  国外転出, 職権消除) or dies (死亡の翌日);
- a household's split, merge or head change changes the NHI household (世帯主 = 納付義務者,
  第76条), to be checked."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from lgcloud.core.dates import anniversary
from lgcloud.register.domain import EventKind, RegisterChange, Status

LOSS = frozenset(
    {
        EventKind.DEATH,
        EventKind.DOMESTIC_MOVE_OUT,
        EventKind.FOREIGN_MOVE_OUT,
        EventKind.EX_OFFICIO_REMOVAL,
    }
)
ENTRY = frozenset(
    {EventKind.DOMESTIC_MOVE_IN, EventKind.FOREIGN_MOVE_IN, EventKind.EX_OFFICIO_ENTRY}
)
HOUSEHOLD = frozenset({EventKind.HOUSEHOLD_SPLIT, EventKind.HOUSEHOLD_MERGE, EventKind.HEAD_CHANGE})
FOLLOWED = LOSS | ENTRY | HOUSEHOLD | {EventKind.BIRTH}


@dataclass(frozen=True)
class Proposal:
    """A 処理待ち item the NHI staff should settle."""

    addressee_number: str
    kind: str
    summary: str
    proposal: dict[str, Any]


def proposals(
    change: RegisterChange, insured: Set[str], insured_households: Set[str]
) -> list[Proposal]:
    """``insured``: the changed people insured on the day before the change;
    ``insured_households``: register households with an insured member on that day."""
    out: list[Proposal] = []
    d = change.effective_date
    for number, after in change.after.items():
        before = change.before.get(number)
        if change.kind in LOSS and number in insured and after.status is Status.REMOVED:
            loss = d + timedelta(days=1)
            out.append(
                Proposal(
                    number,
                    "nhi_loss",
                    f"{after.name}: {change.label}（{d}）により国保の資格喪失（{loss}）",
                    {"disqualified_on": loss.isoformat(), "law": "国民健康保険法 第8条"},
                )
            )
        elif change.kind in ENTRY and before is None:
            out.append(
                Proposal(
                    number,
                    "nhi_entry",
                    f"{after.name}: {change.label}（{d}）。他の医療保険に加入していなければ"
                    f"国保の資格取得（{d}）",
                    {"qualified_on": d.isoformat(), "law": "国民健康保険法 第5条・第7条"},
                )
            )
        elif (
            change.kind is EventKind.BIRTH
            and before is None
            and after.household_number in insured_households
        ):
            out.append(
                Proposal(
                    number,
                    "nhi_birth",
                    f"{after.name}: 出生（{d}）。国保世帯に出生、資格取得（{d}）",
                    {"qualified_on": d.isoformat(), "law": "国民健康保険法 第7条"},
                )
            )
        elif change.kind in HOUSEHOLD and number in insured:
            out.append(
                Proposal(
                    number,
                    "nhi_household",
                    f"{after.name}: {change.label}（{d}）。国保の世帯・世帯主の確認",
                    {"household_number": after.household_number, "law": "国民健康保険法 第76条"},
                )
            )
    return out


# ------------------------------------------------------------------------ 一部負担金の割合


@dataclass(frozen=True)
class CopayRules:
    """The ages and shares of 一部負担金 as of a day (``insurance/parameters.py``: dated,
    with their articles), handed to :func:`copay_percent`."""

    general_percent: int  # 第42条第1項第1号
    preschool_percent: int  # 第2号: 義務教育就学前
    elder_age: int  # 第3号: from the month after the one in which this age is reached
    elder_percent: int
    late_elder_age: int  # 後期高齢者医療 from this age (高齢者医療確保法 第50条)


def copay_percent(birth: date, on: date, rules: CopayRules) -> int:
    """一部負担金の割合 (%): 未就学児 (until the 31 March after the 6th birthday) the preschool
    share; from the month after the one in which a person reaches ``elder_age`` (達する日 =
    the day before the birthday) until ``late_elder_age`` the elder share; else the general
    one. (現役並み所得者 of 70–74 pay the general share: not modelled.)"""
    school_start = date(birth.year + 6 + (1 if (birth.month, birth.day) > (4, 1) else 0), 4, 1)
    if on < school_start:
        return rules.preschool_percent
    reaches = anniversary(birth, rules.elder_age) - timedelta(days=1)
    from_month = (
        date(reaches.year + 1, 1, 1)
        if reaches.month == 12
        else date(reaches.year, reaches.month + 1, 1)
    )
    if from_month <= on < anniversary(birth, rules.late_elder_age):
        return rules.elder_percent
    return rules.general_percent
