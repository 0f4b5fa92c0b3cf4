"""A 住民票コード or 個人番号 held in two hosted towns at once (issue 14).

Within one town a second holder is refused at the write (``service.refuse_shared_identity``,
the import's whole-file check). Across towns the write cannot be refused: each town is its
own database, and a person moving from one hosted town to the other is legitimately held by
both for the days between the new town's 転入 and the old town's 転出 entry arriving. So the
platform scans: every town's current holders (residents and the dead, ``domain.holds_identity``)
are read in a read-only transaction each, and a number held in two or more towns becomes a
処理待ち item of the register in **each** town, naming only that town's own person, the kind of
number and the other town's name (so the two IT officers can call each other; neither is shown
the other's resident). An item already open for the same person and number is not raised again.

Run by ``lgcloud identity-scan`` (nightly by the operator's scheduler, and by the IT officer
on demand) and after every import of residents. Memory: one dict entry per held number of
all towns (a few hundred bytes each; 3 million numbers ≈ 1 GB would call for a sort-merge
over the towns instead; documented in docs/interchange.md).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select

from lgcloud.core.context import Actor, RequestContext
from lgcloud.register.domain import IDENTITY_FIELDS, Status, holds_identity
from lgcloud.register.models import PersonVersion
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.journal import READ_ONLY_MODES, finish_write
from lgcloud.worklist.models import PendingTask
from lgcloud.worklist.service import raise_task

TASK_KIND = "identity_shared_across_towns"
#: days the IT officer has to settle the item (it is a fault in the register: two people
#: with one number, or one person resident twice)
DAYS_ALLOWED = 7


@dataclass(frozen=True)
class Clash:
    """One number held by people of several towns (kept in memory only, never stored)."""

    field: str  # resident_code / individual_number
    holders: tuple[tuple[str, str], ...]  # (town code, addressee number)


@dataclass(frozen=True)
class ScanResult:
    towns: int
    numbers: int
    clashes: int
    raised: dict[str, int]  # town code → items raised now


def _holders(platform: Platform, town_code: str) -> list[tuple[str, str, str]]:
    """(field, value, addressee number) of every number the town's register holds."""
    out: list[tuple[str, str, str]] = []
    v = PersonVersion
    with platform.read_town(town_code) as town:
        rows = town.session.execute(
            select(
                v.addressee_number,
                v.resident_code,
                v.individual_number,
                v.status,
                v.removal_reason,
            ).where(
                v.is_current.is_(True),
                or_(v.resident_code.is_not(None), v.individual_number.is_not(None)),
            )
        )
        for number, code, individual, status, reason in rows:
            if not holds_identity(Status(status), reason):
                continue
            if code:
                out.append(("resident_code", code, number))
            if individual:
                out.append(("individual_number", individual, number))
    return out


def find_clashes(platform: Platform, town_codes: list[str]) -> tuple[list[Clash], int]:
    """The numbers held in more than one of ``town_codes`` (and how many were read)."""
    seen: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for code in town_codes:
        for field_name, value, number in _holders(platform, code):
            seen[field_name, value].append((code, number))
    clashes = [
        Clash(field_name, tuple(holders))
        for (field_name, _value), holders in seen.items()
        if len({holder_town for holder_town, _ in holders}) > 1
    ]
    return clashes, len(seen)


def scan(
    platform: Platform,
    ctx_for: dict[str, RequestContext] | None = None,
    *,
    today: date,
    actor: str = "system:identity-scan",
) -> ScanResult:
    """Scan every hosted town; raise an item in each town of each clash (see module doc).
    ``ctx_for`` gives the context each town's items are recorded under (audited there);
    a town without one is recorded under ``actor`` (the import that ran the scan)."""
    towns = {t.code: t.name for t in platform.towns()}
    ctx_for = dict(ctx_for or {})
    for code in towns:
        if code not in ctx_for:
            ctx_for[code] = RequestContext(
                code, Actor(None, actor), node=platform.node, mode=platform.mode_of(code)[0]
            )
    clashes, numbers = find_clashes(platform, sorted(towns))
    by_town: dict[str, list[tuple[str, str, list[str]]]] = defaultdict(list)
    for clash in clashes:
        for holder_town, number in clash.holders:
            others = sorted({towns[t] for t, _ in clash.holders if t != holder_town})
            if others:  # two holders in one town are refused at the write, never here
                by_town[holder_town].append((clash.field, number, others))
    raised: dict[str, int] = {}
    for town_code, items in sorted(by_town.items()):
        if ctx_for[town_code].mode in READ_ONLY_MODES:
            raised[town_code] = 0  # served read-only (continuity): the next scan raises them
            continue
        with platform.town(town_code) as town:
            open_items = {
                (t.addressee_number, t.proposal.get("field"))
                for t in town.session.scalars(
                    select(PendingTask).where(
                        PendingTask.kind == TASK_KIND, PendingTask.state == "open"
                    )
                )
            }
            fresh = [(f, n, o) for f, n, o in items if (n, f) not in open_items]
            for field_name, number, others in fresh:
                label = IDENTITY_FIELDS[field_name]
                raise_task(
                    town,
                    area="register",
                    kind=TASK_KIND,
                    addressee_number=number,
                    summary=(
                        f"この人の{label}が、同じ基盤の{'・'.join(others)}の住民記録にも"
                        "記録されています。相手団体と住民票コードを確かめてください"
                    ),
                    proposal={"field": field_name, "other_towns": others},
                    raised_on=today,
                    days_allowed=DAYS_ALLOWED,
                )
            if fresh:
                finish_write(
                    town.session,
                    ctx_for[town_code],
                    "identity_clash_reported",
                    subjects=sorted({n for _, n, _ in fresh}),
                    detail={"items": len(fresh)},
                )
            raised[town_code] = len(fresh)
    return ScanResult(len(towns), numbers, len(clashes), raised)


__all__ = ["TASK_KIND", "Clash", "ScanResult", "find_clashes", "scan"]
