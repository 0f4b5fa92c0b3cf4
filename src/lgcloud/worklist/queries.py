"""Reading the 処理待ち lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import case, func, select

from lgcloud.tenancy.platform import Town
from lgcloud.worklist.models import PendingTask


@dataclass(frozen=True)
class TaskRow:
    id: int
    code: str
    area: str
    kind: str
    addressee_number: str
    summary: str
    proposal: dict[str, Any]
    raised_on: date
    due_on: date
    state: str
    overdue: bool
    note: str | None
    settled_by: str | None


def tasks(town: Town, area: str, *, today: date, state: str = "open") -> list[TaskRow]:
    """An area's items in one state, the oldest deadline first."""
    rows = town.session.scalars(
        select(PendingTask)
        .where(PendingTask.area == area, PendingTask.state == state)
        .order_by(PendingTask.due_on, PendingTask.id)
    )
    return [
        TaskRow(
            t.id,
            t.code,
            t.area,
            t.kind,
            t.addressee_number,
            t.summary,
            dict(t.proposal),
            t.raised_on,
            t.due_on,
            t.state,
            t.state == "open" and t.due_on < today,
            t.note,
            t.settled_by,
        )
        for t in rows
    ]


def open_counts(town: Town, *, today: date) -> dict[str, tuple[int, int]]:
    """Per area: (open items, of which overdue)."""
    rows = town.session.execute(
        select(
            PendingTask.area,
            func.count(),
            func.sum(case((PendingTask.due_on < today, 1), else_=0)),
        )
        .where(PendingTask.state == "open")
        .group_by(PendingTask.area)
    )
    return {area: (int(n), int(late or 0)) for area, n, late in rows}


def tasks_of_person(town: Town, addressee_number: str) -> list[PendingTask]:
    return list(
        town.session.scalars(
            select(PendingTask)
            .where(PendingTask.addressee_number == addressee_number)
            .order_by(PendingTask.id)
        )
    )
