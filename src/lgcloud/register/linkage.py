"""庁内データ連携 inside lgcloud: a register change reaches every business area that follows
it, in the same transaction.

A business area *follows* some kinds of life event (``follow``, when its ``linkage`` module
is imported). For each change of a kind it follows, its ``react`` function runs inside the
register's transaction: it asks the area's pure rule what the change means for the person
and either makes the change itself (死亡 → 印鑑登録 抹消) or raises a 処理待ち item for the
area's staff (転出 → propose 国保 資格喪失). So the area's data and the register move
together, or the staff see what waits.

Nothing is lost: each area reacts inside a SAVEPOINT; if its rule refuses
(``LgcloudError``), what it wrote is undone and a ``linkage_failed`` 処理待ち item naming the
message is raised for that area instead, and the register change goes on. Any other
exception (a bug, the database) rolls the whole register change back: the clerk sees it
refused, nothing half-done is kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lgcloud.core.areas import load_areas
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import LgcloudError
from lgcloud.core.logging import get_logger
from lgcloud.register.domain import EventKind, RegisterChange
from lgcloud.tenancy.platform import Town
from lgcloud.trail.journal import CAPTURE_KEY
from lgcloud.worklist.service import name_area, raise_task

log = get_logger("lgcloud.register.linkage")

#: how long a linkage failure may wait before it is flagged (days)
FAILURE_DAYS = 3


#: what a follower returns: a short Japanese line per thing it did, for the audit entry
React = Callable[[Town, RequestContext, RegisterChange], list[str]]


@dataclass(frozen=True)
class Follower:
    area: str  # the area's folder name: the 処理待ち list it owns
    label: str  # the area's Japanese name
    kinds: frozenset[EventKind]
    react: React


_FOLLOWERS: dict[str, Follower] = {}


def follow(follower: Follower) -> None:
    """An area declares what it follows (once per area)."""
    known = _FOLLOWERS.get(follower.area)
    if known is not None and known != follower:
        raise ValueError(f"{follower.area} follows the register twice, differently")
    _FOLLOWERS[follower.area] = follower
    name_area(follower.area, follower.label)


def followers() -> list[Follower]:
    load_areas()  # every installed area has declared what it follows
    return [_FOLLOWERS[a] for a in sorted(_FOLLOWERS)]


def pass_on(town: Town, ctx: RequestContext, change: RegisterChange) -> dict[str, list[str]]:
    """Run every follower of ``change.kind``; returns what each did (for the audit entry)."""
    done: dict[str, list[str]] = {}
    session = town.session
    captured: list[object] = session.info.setdefault(CAPTURE_KEY, [])
    for f in followers():
        if change.kind not in f.kinds:
            continue
        mark = len(captured)
        try:
            with session.begin_nested():
                lines = f.react(town, ctx, change)
                session.flush()
        except LgcloudError as e:
            del captured[mark:]  # the row images of what the savepoint undid
            subject = next(iter(change.after), "")
            raise_task(
                town,
                area=f.area,
                kind="linkage_failed",
                addressee_number=subject,
                summary=f"{change.label}の連携処理ができませんでした: {e.message}",
                proposal={"event_kind": change.kind.value, "subjects": list(change.after)},
                raised_on=change.recorded_on,
                days_allowed=FAILURE_DAYS,
                event_id=change.event_id,
            )
            log.warning("linkage_failed", area=f.area, event_id=change.event_id, message=e.message)
            lines = ["連携失敗（処理待ち）"]
        if lines:
            done[f.area] = lines
    return done
