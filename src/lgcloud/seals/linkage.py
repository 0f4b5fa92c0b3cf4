"""印鑑登録 follows the register: when a person's 住民票 is removed (死亡, 転出, 国外転出,
職権消除), their registration is abolished (抹消) by the town's own authority, dated the
removal's date, in the same transaction as the removal. Each town's 印鑑条例 provides this
(following the 印鑑条例準則: 住民基本台帳から消除されたときは職権で抹消); the reason recorded is
the removal's."""

from __future__ import annotations

from lgcloud.core.context import RequestContext
from lgcloud.register.domain import EVENT_LABELS, EventKind, RegisterChange, Status
from lgcloud.register.linkage import Follower, follow
from lgcloud.seals.service import end_registration
from lgcloud.tenancy.platform import Town

#: the removals that end a registration, and the 廃止 reason recorded
ENDS_REGISTRATION = {
    EventKind.DEATH: "死亡",
    EventKind.DOMESTIC_MOVE_OUT: "転出",
    EventKind.FOREIGN_MOVE_OUT: "転出",
    EventKind.EX_OFFICIO_REMOVAL: "職権",
}


def reason_for(change: RegisterChange, addressee_number: str) -> str | None:
    """Pure: the 廃止 reason when this change removes the person, else None."""
    after = change.after.get(addressee_number)
    if after is None or after.status is not Status.REMOVED:
        return None
    return ENDS_REGISTRATION.get(change.kind)


def react(town: Town, ctx: RequestContext, change: RegisterChange) -> list[str]:
    lines = []
    for number in change.after:
        reason = reason_for(change, number)
        if reason is None:
            continue
        ended = end_registration(town, number, abolished_on=change.effective_date, reason=reason)
        if ended is not None:
            label = EVENT_LABELS[change.kind]
            lines.append(f"{number}: 印鑑登録 {ended.registration_number} 抹消（{label}）")
    return lines


follow(Follower("seals", "印鑑登録", frozenset(ENDS_REGISTRATION), react))
