"""The safety ledger's writes (安否台帳): importing shelter lists, deciding 候補, and a
clerk's own record of where someone is.

Every list imported joins one ledger per town (``safety_entries``: one entry per person —
of the register, by 宛名番号, or a visitor, by the name and birth written), and each of its
rows is kept as a report (``safety_reports``) as written, with the matcher's verdict. An
entry shows what its latest report said (``domain.shows``). A row the matcher left as
候補 waits, attached to nobody, until a clerk decides it (:func:`decide`); a row it could
not hold on to (no name) is kept and counted, never dropped.

An import matches in a read-only transaction (no write lock while the register is read and
every row scored), then writes :data:`CHUNK` rows per short transaction, each with its
audit entry naming the people it reached; the list is marked complete in the last one. A
stopped import is resumed by importing the same file again (the rows already stored are
skipped); a complete one is refused as already imported.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from lgcloud.core.clock import today_jst, utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.register.glyphs import glyphs_of
from lgcloud.register.models import Person
from lgcloud.safety.documents import ledger_csv, ledger_pdf
from lgcloud.safety.domain import (
    LocationKind,
    SafetyStatus,
    check_status,
    shows,
    status_written,
    visitor_key,
)
from lgcloud.safety.matching import Evacuee, Match, ResidentIndex, Verdict
from lgcloud.safety.models import SafetyEntry, SafetyList, SafetyReport
from lgcloud.safety.queries import ledger_lines
from lgcloud.safety.service import load_residents, read_rows
from lgcloud.tenancy.platform import Platform, Town
from lgcloud.trail.journal import check_writable, finish_write

ACTION_IMPORT = "safety_list_imported"
ACTION_DECIDE = "safety_report_decided"
ACTION_STATUS = "safety_status_recorded"
ACTION_EXPORT = "export_safety_ledger"
#: rows written per transaction (a few tens of milliseconds of the town's write lock)
CHUNK = 400


@dataclass
class LedgerImport:
    """What an import did."""

    list_id: int = 0
    rows: int = 0  # rows of the file
    written: int = 0  # rows written by this run (fewer when resuming)
    matched: int = 0  # 一致: joined their person's entry
    pending: int = 0  # 候補: waiting for a clerk
    visitors: int = 0  # 不一致 with a name: a visitor's entry
    unreadable: int = 0  # no name: kept, reaching no entry
    resumed: bool = False


@dataclass(frozen=True)
class _Row:
    values: dict[str, str]
    evacuee: Evacuee
    match: Match


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_list(
    platform: Platform,
    code: str,
    ctx: RequestContext,
    path: Path,
    *,
    reported_at: datetime | None = None,
    as_of: date | None = None,
    encoding: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> LedgerImport:
    """Import a shelter's evacuees.csv into ``code``'s safety ledger. ``reported_at`` is
    the time the list speaks of (when it was written at the shelter; the import's time by
    default): an entry shows its latest report, so an old list imported late does not
    hide a newer one. ``as_of`` is the reference date of ages (the disaster's)."""
    check_writable(ctx, ACTION_IMPORT)  # before any work
    sha = _sha256(path)
    as_of = as_of or today_jst()
    with platform.read_town(code) as town:
        stored = town.session.scalar(select(SafetyList).where(SafetyList.sha256 == sha))
        if stored is not None and stored.complete:
            raise RuleViolationError(
                f"{path.name} はすでに取り込まれています "
                f"({stored.imported_at:%Y-%m-%d %H:%M} UTC、{stored.rows} 行)"
            )
        done: set[str] = set()
        if stored is not None:
            done = set(
                town.session.scalars(
                    select(SafetyReport.receipt).where(SafetyReport.list_id == stored.id)
                )
            )
            as_of = stored.as_of
        index = ResidentIndex.build(load_residents(town), as_of)
        rows = [_Row(v, e, index.match(e)) for v, e in read_rows(path, encoding=encoding)]
    shelters = Counter(r.values.get("避難所", "").strip() for r in rows)
    shelters.pop("", None)
    shelter = shelters.most_common(1)[0][0] if shelters else path.stem
    result = LedgerImport(rows=len(rows), resumed=stored is not None)
    todo = [r for r in rows if r.evacuee.receipt not in done]
    when = reported_at or utcnow()
    list_id = stored.id if stored is not None else None
    chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)] or [[]]
    for n, chunk in enumerate(chunks):
        with platform.town(code) as town:
            s = town.session
            if list_id is None:
                listed = SafetyList(
                    file_name=path.name[:200],
                    sha256=sha,
                    shelter=shelter[:100],
                    reported_at=when,
                    as_of=as_of,
                    rows=len(rows),
                    complete=False,
                    imported_at=utcnow(),
                    imported_by=ctx.actor.label[:80],
                )
                s.add(listed)
                s.flush()
                list_id = listed.id
            else:
                listed = s.get_one(SafetyList, list_id)
                when = listed.reported_at
            reached = _write_rows(s, listed, chunk, result)
            last = n == len(chunks) - 1
            if last:
                listed.complete = True
            finish_write(
                s,
                ctx,
                ACTION_IMPORT,
                subjects=sorted(reached),
                detail={
                    "list": list_id,
                    "file": path.name,
                    "sha256": sha,
                    "rows": len(chunk),
                    "complete": last,
                },
            )
        result.written += len(chunk)
        if on_progress is not None:
            on_progress(result.written)
    result.list_id = list_id or 0
    return result


def _write_rows(
    s: Session, listed: SafetyList, chunk: Sequence[_Row], result: LedgerImport
) -> set[str]:
    """Reports for ``chunk`` and their entries (found or made); the 宛名番号 reached."""
    numbers = {r.match.number for r in chunk if r.match.verdict is Verdict.MATCH}
    keys = {
        k
        for r in chunk
        if r.match.verdict is Verdict.NONE and (k := visitor_key(r.evacuee)) is not None
    }
    by_number = {
        e.addressee_number: e
        for e in s.scalars(select(SafetyEntry).where(SafetyEntry.addressee_number.in_(numbers)))
    }
    by_key = {
        e.visitor_key: e
        for e in s.scalars(select(SafetyEntry).where(SafetyEntry.visitor_key.in_(keys)))
    }
    reached: set[str] = set()
    joins: list[tuple[SafetyEntry, SafetyReport, str]] = []
    for r in chunk:
        v, e, m = r.values, r.evacuee, r.match
        status, note = status_written(v.get("状態", ""))
        place = (v.get("避難所", "") or listed.shelter).strip()
        report = SafetyReport(
            list_id=listed.id,
            receipt=e.receipt[:40],
            name=v.get("氏名", "").strip()[:120],
            kana=v.get("ふりがな", "").strip()[:160],
            birth_text=v.get("生年月日", "").strip()[:40],
            age_text=v.get("年齢", "").strip()[:10],
            sex_text=v.get("性別", "").strip()[:10],
            address=v.get("住所", "").strip()[:200],
            status=status.value,
            location_kind=LocationKind.SHELTER.value,
            location=place[:200],
            reported_at=listed.reported_at,
            verdict=m.verdict.value,
            score=m.score,
            candidates=";".join(m.candidates) if m.verdict is Verdict.CANDIDATES else "",
            decision="pending",
            note=note,
        )
        source = f"{listed.file_name} 受付番号 {e.receipt}"
        entry: SafetyEntry | None = None
        if m.verdict is Verdict.MATCH:
            entry = by_number.get(m.number)
            if entry is None:
                entry = by_number[m.number] = _new_entry(report, source, number=m.number)
                s.add(entry)
            report.decision = "matched"
            reached.add(m.number)
            result.matched += 1
        elif m.verdict is Verdict.CANDIDATES:
            result.pending += 1
        elif e.interpretable:
            key = visitor_key(e)
            entry = by_key.get(key) if key is not None else None
            if entry is None:
                entry = _new_entry(report, source, key=key, birth=e.birth)
                s.add(entry)
                if key is not None:
                    by_key[key] = entry
            report.decision = "visitor"
            result.visitors += 1
        else:
            report.decision = "unreadable"
            result.unreadable += 1
        if entry is not None:
            joins.append((entry, report, source))
        s.add(report)
    s.flush()  # the new entries' ids, for their reports
    for entry, report, source in joins:
        _attach(entry, report, source)
    s.flush()
    return reached


def _new_entry(
    report: SafetyReport,
    source: str,
    *,
    number: str | None = None,
    key: str | None = None,
    birth: date | None = None,
) -> SafetyEntry:
    return SafetyEntry(
        addressee_number=number,
        visitor_key=key,
        name=report.name or "",  # a clerk's record names nobody: the register does
        kana=report.kana or "",
        birth=birth,
        status=report.status,
        location_kind=report.location_kind,
        location=report.location,
        reported_at=report.reported_at,
        source=source[:240],
        reports=0,
    )


def _attach(entry: SafetyEntry, report: SafetyReport, source: str) -> None:
    """Join ``report`` to ``entry``; the entry shows it when it is the latest."""
    report.entry_id = entry.id
    entry.reports += 1
    if shows(report.reported_at, entry.reported_at if entry.reports > 1 else None):
        entry.status = report.status
        entry.location_kind = report.location_kind
        entry.location = report.location
        entry.reported_at = report.reported_at
        entry.source = source[:240]
        if report.name and entry.addressee_number is None:
            entry.name, entry.kana = report.name, report.kana


def decide(town: Town, ctx: RequestContext, report_id: int, number: str | None) -> SafetyEntry:
    """A clerk's decision on a 候補 row: it is person ``number`` (one of its candidates,
    or anyone of the register the clerk found), or, with ``None``, none of them — a
    visitor. Only a pending row can be decided; the decision is kept and audited."""
    s = town.session
    report = s.get(SafetyReport, report_id)
    if report is None:
        raise NotFoundError("その報告はありません")
    if report.decision != "pending":
        raise RuleViolationError("この行はすでに判断済みです", field="report")
    listed = s.get_one(SafetyList, report.list_id) if report.list_id is not None else None
    source = (
        f"{listed.file_name} 受付番号 {report.receipt}" if listed else f"受付番号 {report.receipt}"
    )
    if number is not None:
        if s.get(Person, number) is None:
            raise NotFoundError(f"宛名番号 {number} の人は住民記録にありません")
        entry = s.scalar(select(SafetyEntry).where(SafetyEntry.addressee_number == number))
        if entry is None:
            entry = _new_entry(report, source, number=number)
            s.add(entry)
        report.decision = "confirmed"
    else:
        entry = _new_entry(report, source)
        s.add(entry)
        report.decision = "visitor"
    s.flush()
    _attach(entry, report, source)
    report.decided_by = ctx.actor.label[:80]
    report.decided_at = utcnow()
    finish_write(
        s,
        ctx,
        ACTION_DECIDE,
        subjects=[number] if number else [],
        detail={
            "report": report.id,
            "receipt": report.receipt,
            "decision": report.decision,
            "candidates": report.candidates,
        },
    )
    return entry


def record_status(
    town: Town,
    ctx: RequestContext,
    number: str,
    status: str,
    location_kind: str,
    location: str = "",
    note: str = "",
    *,
    reported_at: datetime | None = None,
) -> SafetyEntry:
    """A clerk records where person ``number`` is and how (a phone call, a hospital's
    list, a visit): a report of its own, shown on the person's entry when it is the
    latest. Audited."""
    checked, kind = check_status(status, location_kind)
    if len(note) > 400 or len(location) > 200:
        raise RuleViolationError("所在は 200 字、メモは 400 字までです", field="note")
    s = town.session
    if s.get(Person, number) is None:
        raise NotFoundError(f"宛名番号 {number} の人は住民記録にありません")
    report = SafetyReport(
        list_id=None,
        status=checked.value,
        location_kind=kind.value,
        location=location.strip(),
        reported_at=reported_at or utcnow(),
        decision="clerk",
        decided_by=ctx.actor.label[:80],
        decided_at=utcnow(),
        note=note.strip(),
    )
    source = f"職員 {ctx.actor.label}"
    entry = s.scalar(select(SafetyEntry).where(SafetyEntry.addressee_number == number))
    if entry is None:
        entry = _new_entry(report, source, number=number)
        s.add(entry)
        s.flush()
    _attach(entry, report, source)
    s.add(report)
    finish_write(
        s,
        ctx,
        ACTION_STATUS,
        subjects=[number],
        detail={"status": checked.value, "location_kind": kind.value, "location": location},
    )
    return entry


def export_ledger(
    platform: Platform,
    code: str,
    ctx: RequestContext,
    *,
    as_of: date,
    unaccounted: bool = False,
    fmt: str = "pdf",
) -> tuple[bytes, int, int]:
    """(the file, people listed, characters printed as 〓) of every resident on ``as_of``
    by 行政区 with their status, or only the unaccounted-for. Read in a read-only
    transaction and rendered outside any; the audited read names everyone listed. An
    ``export_`` action: it works on a read-only disaster copy, where it is needed most."""
    if fmt not in ("pdf", "csv"):
        raise RuleViolationError("形式は pdf か csv です", field="format")
    check_writable(ctx, ACTION_EXPORT)
    with platform.read_town(code) as town:
        lines = ledger_lines(town, as_of, unaccounted=unaccounted)
        glyphs = glyphs_of(town) if fmt == "pdf" else {}
    replaced = 0
    if fmt == "csv":
        data = ledger_csv(lines)
    else:
        data, replaced = ledger_pdf(
            lines,
            town=platform.hosted(code).name,
            as_of=as_of,
            printed=utcnow(),
            unaccounted=unaccounted,
            glyphs=glyphs,
        )
    platform.record_read(
        ctx,
        ACTION_EXPORT,
        subjects=[x.number for x in lines],
        detail={
            "format": fmt,
            "list": "unaccounted" if unaccounted else "all",
            "as_of": as_of.isoformat(),
            "count": len(lines),
        },
    )
    return data, len(lines), replaced


__all__ = [
    "ACTION_DECIDE",
    "ACTION_EXPORT",
    "ACTION_IMPORT",
    "ACTION_STATUS",
    "CHUNK",
    "LedgerImport",
    "SafetyStatus",
    "decide",
    "export_ledger",
    "import_list",
    "record_status",
]
