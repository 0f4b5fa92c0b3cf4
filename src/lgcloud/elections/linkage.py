"""選挙人名簿 follows the register, in the register change's transaction: 死亡 and loss of
Japanese nationality strike the elector off (公職選挙法 第28条第1号); 転出, 国外転出 and
職権消除 mark them (第27条第1項: 表示), and the registration run after four months strikes
them off (第28条第2号); a 転居 moves them to the 投票区 of the new address, or raises a
処理待ち item when the polling table does not know it."""

from __future__ import annotations

from sqlalchemy import select

from lgcloud.core.context import RequestContext
from lgcloud.elections.domain import MARKING_REMOVALS, roll_changes
from lgcloud.elections.models import Elector
from lgcloud.elections.service import apply_roll_changes
from lgcloud.register.domain import EventKind, RegisterChange
from lgcloud.register.linkage import Follower, follow
from lgcloud.tenancy.platform import Town

FOLLOWS = frozenset(
    {
        EventKind.DEATH,
        EventKind.MOVE_WITHIN,
        EventKind.CORRECTION,
        *MARKING_REMOVALS,
    }
)


def react(town: Town, ctx: RequestContext, change: RegisterChange) -> list[str]:
    electors = {
        e.addressee_number: e
        for e in town.session.scalars(
            select(Elector).where(
                Elector.addressee_number.in_(list(change.after)), Elector.struck_on.is_(None)
            )
        )
    }
    changes = roll_changes(change, electors)
    return apply_roll_changes(
        town, changes, electors, event_id=change.event_id, today=change.recorded_on
    )


follow(Follower("elections", "選挙", FOLLOWS, react))
