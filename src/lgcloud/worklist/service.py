"""Raising and settling 処理待ち items. Raising happens inside the change that causes it (the
same transaction, journaled with it); settling is a clerk's audited act."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from lgcloud.core.clock import utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.tenancy.platform import Town
from lgcloud.trail.journal import finish_write
from lgcloud.worklist.models import PendingTask

OUTCOMES = {"done": "処理済み", "dismissed": "対応不要"}

#: the business areas that keep a list, with their Japanese names: the areas lgcloud hosts,
#: and any area that names itself (``name_area``: the register's followers do)
AREAS: dict[str, str] = {
    "register": "住民記録",
    "taxation": "税務",
    "insurance": "国民健康保険",
    "seals": "印鑑登録",
    "elections": "選挙",
    "safety": "安否確認",
}


def name_area(area: str, label: str) -> None:
    """An area that raises items names itself (the register's linkage does, for each area
    that follows it), so the lists can be shown by name."""
    AREAS[area] = label


MAX_NOTE = 300


def raise_task(
    town: Town,
    *,
    area: str,
    kind: str,
    addressee_number: str,
    summary: str,
    proposal: dict[str, Any],
    raised_on: date,
    days_allowed: int,
    event_id: int | None = None,
) -> PendingTask:
    """Add an item to ``area``'s list, in the caller's transaction (its audit entry and
    journal entry are the caller's: the register change that raised it)."""
    task = PendingTask(
        code=secrets.token_urlsafe(12)[:16],
        area=area,
        kind=kind,
        addressee_number=addressee_number,
        event_id=event_id,
        summary=summary[:MAX_NOTE],
        proposal=proposal,
        raised_on=raised_on,
        due_on=raised_on + timedelta(days=days_allowed),
        state="open",
        settled_at=None,
        settled_by=None,
        note=None,
        created_at=utcnow(),
    )
    town.session.add(task)
    return task


def settle_task(
    town: Town, ctx: RequestContext, code: str, *, area: str, outcome: str, note: str
) -> PendingTask:
    """A clerk settles an item of ``area`` (処理済み or 対応不要, with a note); audited."""
    task = town.session.scalar(
        select(PendingTask).where(PendingTask.code == code).with_for_update()
    )
    if task is None or task.area != area:
        raise NotFoundError("この処理待ちはありません")
    if task.state != "open":
        raise RuleViolationError("この処理待ちは既に処理されています", field="task")
    if outcome not in OUTCOMES:
        raise RuleViolationError("処理の結果を選んでください", field="outcome")
    if outcome == "dismissed" and not note.strip():
        raise RuleViolationError("対応不要とする理由を入力してください", field="note")
    if len(note) > MAX_NOTE:
        raise RuleViolationError(f"{MAX_NOTE}文字以内で入力してください", field="note")
    task.state = outcome
    task.settled_at = utcnow()
    task.settled_by = ctx.actor.name
    task.note = note.strip() or None
    finish_write(
        town.session,
        ctx,
        "task_settled",
        subjects=[task.addressee_number],
        detail={"task": task.code, "area": area, "kind": task.kind, "outcome": outcome},
    )
    return task
