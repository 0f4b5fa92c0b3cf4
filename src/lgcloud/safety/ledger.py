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

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
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
from lgcloud.safety.matching import Evacuee, Match, ResidentIndex, Verdict, read_evacuee
from lgcloud.safety.models import SafetyEntry, SafetyList, SafetyReport
from lgcloud.safety.queries import ledger_lines
from lgcloud.safety.service import file_sha256, load_residents, read_rows
from lgcloud.tenancy.platform import Platform, Town
from lgcloud.trail.journal import check_writable, finish_write
from lgcloud.worklist.models import PendingTask
from lgcloud.worklist.service import raise_task

ACTION_IMPORT = "safety_list_imported"
ACTION_DECIDE = "safety_report_decided"
ACTION_STATUS = "safety_status_recorded"
ACTION_EXPORT = "export_safety_ledger"
ACTION_NODE = "safety_node_ledger_received"
#: the 処理待ち list a conflicting decision goes to
AREA = "safety"
#: rows written per transaction: about 50 ms of the town's write lock here (400 rows held it
#: 220–510 ms; issue 11: no transaction holds a town's write lock longer than ~100 ms)
CHUNK = 100


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
    sha = file_sha256(path)
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
                    node=ctx.node[:60],
                )
                s.add(listed)
                try:
                    s.flush()
                except IntegrityError:  # the same file imported by another clerk meanwhile
                    raise RuleViolationError(
                        f"{path.name} は別の取り込みで同時に取り込まれています"
                    ) from None
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
            state_text=v.get("状態", "").strip()[:40],
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


def _settle(s: Session, report: SafetyReport, number: str | None, source: str) -> SafetyEntry:
    """Join a waiting row to person ``number``'s entry (made if none), or, with ``None``,
    to a visitor's entry of its own; the row is then confirmed or a visitor."""
    entry: SafetyEntry | None = None
    if number is not None:
        entry = s.scalar(select(SafetyEntry).where(SafetyEntry.addressee_number == number))
    if entry is None:
        entry = _new_entry(report, source, number=number)
        s.add(entry)
    report.decision = "confirmed" if number is not None else "visitor"
    s.flush()
    _attach(entry, report, source)
    return entry


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
    if number is not None and s.get(Person, number) is None:
        raise NotFoundError(f"宛名番号 {number} の人は住民記録にありません")
    entry = _settle(s, report, number, source)
    report.decided_by = ctx.actor.label[:80]
    report.decided_at = utcnow()
    report.decided_node = ctx.node[:60]
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
        decided_node=ctx.node[:60],
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


# ------------------------------------------------------------ written during a disaster


def node_ledger(town: Town, node: str) -> dict[str, Any]:
    """What ``node`` wrote in the ledger while it served the town (its hand-back carries
    it): the lists imported there with their rows as written, the 候補 decided there, and
    the clerks' records made there."""
    s = town.session
    lists = []
    for listed in s.scalars(
        select(SafetyList).where(SafetyList.node == node).order_by(SafetyList.id)
    ):
        reports = s.scalars(
            select(SafetyReport).where(SafetyReport.list_id == listed.id).order_by(SafetyReport.id)
        )
        lists.append(
            {
                "sha256": listed.sha256,
                "file_name": listed.file_name,
                "reported_at": listed.reported_at.isoformat(),
                "as_of": listed.as_of.isoformat(),
                "imported_by": listed.imported_by,
                "rows": [_written(r) for r in reports],
            }
        )
    decided = s.execute(
        select(SafetyReport, SafetyList.sha256, SafetyEntry.addressee_number)
        .join(SafetyList, SafetyList.id == SafetyReport.list_id)
        .join(SafetyEntry, SafetyEntry.id == SafetyReport.entry_id)
        .where(
            SafetyReport.decided_node == node,
            SafetyReport.decision.in_(("confirmed", "visitor")),
        )
        .order_by(SafetyReport.decided_at, SafetyReport.id)
    ).tuples()
    decisions = [
        {
            "sha256": sha,
            "receipt": r.receipt,
            "person": number if r.decision == "confirmed" else None,
            "decided_by": r.decided_by,
            "decided_at": r.decided_at.isoformat() if r.decided_at else None,
        }
        for r, sha, number in decided
    ]
    recorded = s.execute(
        select(SafetyReport, SafetyEntry.addressee_number)
        .join(SafetyEntry, SafetyEntry.id == SafetyReport.entry_id)
        .where(SafetyReport.decided_node == node, SafetyReport.decision == "clerk")
        .order_by(SafetyReport.id)
    ).tuples()
    records = [
        {
            "person": number,
            "status": r.status,
            "location_kind": r.location_kind,
            "location": r.location,
            "note": r.note,
            "reported_at": r.reported_at.isoformat(),
            "decided_by": r.decided_by,
        }
        for r, number in recorded
    ]
    return {"lists": lists, "decisions": decisions, "records": records}


def _written(r: SafetyReport) -> dict[str, str]:
    """A report's row as the shelter wrote it (evacuees.csv's columns)."""
    return {
        "受付番号": r.receipt,
        "氏名": r.name,
        "ふりがな": r.kana,
        "生年月日": r.birth_text,
        "年齢": r.age_text,
        "性別": r.sex_text,
        "住所": r.address,
        "避難所": r.location,
        "状態": r.state_text,
    }


@dataclass
class NodeMerge:
    """What the centre did with a node's ledger."""

    lists: int = 0  # lists new to the centre, matched and written
    lists_known: int = 0  # lists the centre had already (the same file): nothing doubled
    decisions: int = 0
    decisions_known: int = 0
    records: int = 0
    records_known: int = 0
    conflicts: int = 0  # kept as 処理待ち items

    def counts(self) -> dict[str, int]:
        return dict(self.__dict__)


def receive_node_ledger(
    town: Town, ctx: RequestContext, node: str, payload: dict[str, Any], today: date
) -> NodeMerge:
    """Merge what a node wrote in the ledger while it served the town, in the hand-back's
    transaction. The rules (docs/safety.md, "Written during a disaster"):

    * a **list** the centre already has (the same file, by SHA-256) is skipped — the rows
      are the same rows; a new one is matched against the centre's register (it may be
      newer than the node's copy) and written as if imported here, with the node's time;
    * a **decision** on a 候補 row is applied when the row still waits at the centre,
      skipped when the centre decided it the same way, and otherwise kept as a
      ``safety_conflict`` 処理待ち item with both decisions — never dropped;
    * a clerk's **record** is added unless the same record is here already; like every
      report, an entry shows it only if it is the latest (so a report made at the centre
      after the node's is not hidden by the merge, nor the node's by an older one).

    Receiving the same ledger twice changes nothing the second time."""
    s = town.session
    merge = NodeMerge()
    reached: set[str] = set()
    index: ResidentIndex | None = None
    for given in payload.get("lists") or []:
        if s.scalar(select(SafetyList.id).where(SafetyList.sha256 == given["sha256"])):
            merge.lists_known += 1
            continue
        as_of = date.fromisoformat(given["as_of"])
        if index is None or index.today != as_of:
            index = ResidentIndex.build(load_residents(town), as_of)
        rows = []
        for n, values in enumerate(given["rows"], start=2):
            e = read_evacuee(values["受付番号"], n, values)
            rows.append(_Row(values, e, index.match(e)))
        shelters = Counter(r.values.get("避難所", "") for r in rows if r.values.get("避難所"))
        listed = SafetyList(
            file_name=given["file_name"][:200],
            sha256=given["sha256"],
            shelter=(shelters.most_common(1)[0][0] if shelters else given["file_name"])[:100],
            reported_at=datetime.fromisoformat(given["reported_at"]),
            as_of=as_of,
            rows=len(rows),
            complete=True,
            imported_at=utcnow(),
            imported_by=f"{given['imported_by']} @ {node}"[:80],
            node=node[:60],
        )
        s.add(listed)
        s.flush()
        reached |= _write_rows(s, listed, rows, LedgerImport())
        merge.lists += 1
    for d in payload.get("decisions") or []:
        outcome = _merge_decision(town, node, d, today)
        setattr(merge, outcome, getattr(merge, outcome) + 1)
        if d.get("person"):
            reached.add(d["person"])
    for r in payload.get("records") or []:
        if _merge_record(town, node, r):
            merge.records += 1
            reached.add(r["person"])
        else:
            merge.records_known += 1
    finish_write(
        s,
        ctx,
        ACTION_NODE,
        subjects=sorted(reached),
        detail={"node": node, **merge.counts()},
    )
    return merge


def _merge_decision(town: Town, node: str, d: dict[str, Any], today: date) -> str:
    """Apply one decision made at the node: "decisions", "decisions_known" or "conflicts"."""
    s = town.session
    report = s.scalar(
        select(SafetyReport)
        .join(SafetyList, SafetyList.id == SafetyReport.list_id)
        .where(SafetyList.sha256 == d["sha256"], SafetyReport.receipt == d["receipt"])
    )
    person: str | None = d.get("person")
    if report is not None and report.decision == "pending":
        listed = s.get_one(SafetyList, report.list_id)
        _settle(s, report, person, f"{listed.file_name} 受付番号 {report.receipt}")
        report.decided_by = f"{d.get('decided_by') or ''} @ {node}"[:80]
        report.decided_at = datetime.fromisoformat(d["decided_at"]) if d.get("decided_at") else None
        report.decided_node = node[:60]
        return "decisions"
    here: str | None = None
    if report is not None and report.entry_id is not None:
        here = s.scalar(
            select(SafetyEntry.addressee_number).where(SafetyEntry.id == report.entry_id)
        )
    decided = report is not None and report.decision in ("matched", "confirmed", "visitor")
    if decided and here == person:
        return "decisions_known"
    centre = (here or "来訪者") if decided else "該当する行なし"
    summary = (
        f"安否台帳: 受付番号 {d['receipt']} の判断が {node} と本部で違います"
        f"（{node}: {person or '来訪者'}、本部: {centre}）"
    )
    if s.scalar(
        select(PendingTask.id).where(
            PendingTask.kind == "safety_conflict", PendingTask.summary == summary
        )
    ):
        return "conflicts"  # raised when this ledger was received before
    raise_task(
        town,
        area=AREA,
        kind="safety_conflict",
        addressee_number=person or here or "",
        summary=summary,
        proposal={"node": node, "node_decision": d, "centre_person": here},
        raised_on=today,
        days_allowed=1,
    )
    return "conflicts"


def _merge_record(town: Town, node: str, r: dict[str, Any]) -> bool:
    """Add a clerk's record made at the node unless it is here already."""
    s = town.session
    at = datetime.fromisoformat(r["reported_at"])
    entry = s.scalar(select(SafetyEntry).where(SafetyEntry.addressee_number == r["person"]))
    if entry is not None and s.scalar(
        select(SafetyReport.id).where(
            SafetyReport.entry_id == entry.id,
            SafetyReport.decision == "clerk",
            SafetyReport.reported_at == at,
            SafetyReport.status == r["status"],
        )
    ):
        return False
    report = SafetyReport(
        list_id=None,
        status=r["status"],
        location_kind=r["location_kind"],
        location=r.get("location") or "",
        reported_at=at,
        decision="clerk",
        decided_by=f"{r.get('decided_by') or ''} @ {node}"[:80],
        decided_at=utcnow(),
        decided_node=node[:60],
        note=r.get("note") or "",
    )
    source = f"職員 {report.decided_by}"
    if entry is None:
        entry = _new_entry(report, source, number=r["person"])
        s.add(entry)
        s.flush()
    _attach(entry, report, source)
    s.add(report)
    s.flush()
    return True


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
    "node_ledger",
    "receive_node_ledger",
    "record_status",
]
