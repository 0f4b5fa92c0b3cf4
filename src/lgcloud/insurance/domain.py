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
from datetime import timedelta
from typing import Any

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
