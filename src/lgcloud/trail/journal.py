"""The single write path's tail: capture row images, write the audit and journal entries.

Every committed change of a town's database is one journal entry holding the images of
the rows it inserted, updated or deleted, in commit order. A change is
``{"table", "op": "insert"|"update"|"delete", "row": {...}}``, or for bulk loads
``{"table", "op": "insert_many", "columns": [...], "rows": [[...], ...]}``. Dates are ISO
text and binary values ``{"base64": ...}``. ``audit_subjects`` rows are not journalled:
they are an index a replica rebuilds from ``audit_entries.subjects``. A town node replays them to
keep its replica current (the continuity issue); here they are produced.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, LargeBinary, event, func, insert, inspect, select
from sqlalchemy.orm import Session

from lgcloud.audit.service import AppendedEntry, EntryRequest, append_entries, append_entry
from lgcloud.core.clock import utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import RuleViolationError
from lgcloud.db.base import TownBase, UTCDateTime
from lgcloud.trail.models import JournalEntry

CAPTURE_KEY = "lgcloud_journal_changes"
JOURNAL = TownBase.metadata.tables["journal"]

#: Modes in which a node serves a copy read-only (cases 1 and 3).
READ_ONLY_MODES = frozenset({"down_recovery", "partner"})
#: What may still be recorded on a read-only copy: views, logins, certificates, exports, and
#: voters' check-ins (election day must survive a line cut: the node's check-ins are handed
#: back and reconciled, ``elections.service.receive_node_checkins``).
#: Everything else (life events, taxes, insurance, seals, clerks, imports) is refused.
_READ_ONLY_ALLOWED = (
    # the safety ledger is the one thing that must be written during a disaster: a node or
    # partner serving the town keeps it, and hands it back (safety.ledger.node_ledger);
    # the victim ledger's surveys and 支援金 are not handed back, so they wait for the centre
    "safety_list_imported",
    "safety_report_decided",
    "safety_status_recorded",
    "safety_identity_checked",
    "view_",
    "search",
    "login",
    "logout",
    "quick_switch",
    "audit_",
    "certificate_issued",
    "export_",
    "application_received",
    "voter_checked_in",
)
READ_ONLY_REFUSAL = (
    "この町村は現在{mode}（読み取り専用、データ時点のコピー）で運用しています。"
    "異動などの更新はできません。申請は「申請受付」で受け付け、"
    "クラウドセンターの復旧後にセンターで処理してください"
)
MODE_LABELS = {"down_recovery": "ダウンリカバリ運用", "partner": "連携町村での運用"}


def check_writable(ctx: RequestContext, action: str) -> None:
    """Refuse ``action`` when the copy is served read-only and it is not a view-like action."""
    if ctx.mode in READ_ONLY_MODES and not action.startswith(_READ_ONLY_ALLOWED):
        raise RuleViolationError(READ_ONLY_REFUSAL.format(mode=MODE_LABELS.get(ctx.mode, ctx.mode)))


def jsonable(value: Any) -> Any:
    """A value as the journal stores it: dates as ISO text, binary (seal images) as base64."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    return value


def row_image(obj: Any) -> dict[str, Any]:
    mapper = inspect(obj).mapper
    return {col.key: jsonable(getattr(obj, col.key)) for col in mapper.column_attrs}


def enable_capture(session: Session) -> None:
    """Start collecting row images for the journal in ``session``."""
    session.info[CAPTURE_KEY] = []


@event.listens_for(Session, "after_flush")
def _capture(session: Session, _flush_context: Any) -> None:
    changes: list[dict[str, Any]] | None = session.info.get(CAPTURE_KEY)
    if changes is None:
        return
    for op, objs in (
        ("insert", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objs:
            if not isinstance(obj, TownBase) or isinstance(obj, JournalEntry):
                continue
            if op == "update" and not session.is_modified(obj):
                continue
            changes.append({"table": obj.__tablename__, "op": op, "row": row_image(obj)})


def finish_write(
    session: Session,
    ctx: RequestContext,
    action: str,
    *,
    subjects: Sequence[str] = (),
    detail: dict[str, Any] | None = None,
    extra_changes: Sequence[dict[str, Any]] = (),
) -> AppendedEntry:
    """Append the audit entry and the journal entry for everything written so far.

    Call as the last step of a write, inside its transaction; the caller commits. Reads that
    must be audited (a search, a view) use it too, so their audit rows replicate as well.
    """
    check_writable(ctx, action)
    if CAPTURE_KEY not in session.info:
        enable_capture(session)
    entry = append_entry(session, ctx, action, subjects=subjects, detail=detail)
    session.flush()
    changes: list[dict[str, Any]] = session.info[CAPTURE_KEY]
    append_journal(
        session,
        action,
        ctx.request_id,
        [*extra_changes, *changes, *entry.changes],
        audit_seq=entry.seq,
    )
    session.info[CAPTURE_KEY] = []
    return entry


def finish_reads(session: Session, reads: Sequence[EntryRequest]) -> list[int]:
    """The tail of several audited reads in one transaction (the group commit of
    ``trail/writer.py``): their audit entries and one journal entry each, exactly as
    :func:`finish_write` called once per read would write them, with a handful of
    statements for the whole batch instead of a flush and lookups per read. Nothing else
    may have been written in ``session``. Returns the entries' sequence numbers."""
    for r in reads:
        check_writable(r.ctx, r.action)
    entries = append_entries(session, reads)
    first = _next_journal_seq(session)
    now = utcnow()
    session.connection().execute(
        insert(JOURNAL),
        [
            {
                "seq": first + i,
                "committed_at": now,
                "action": r.action,
                "request_id": r.ctx.request_id,
                "audit_seq": e.seq,
                "changes": e.changes,
            }
            for i, (r, e) in enumerate(zip(reads, entries, strict=True))
        ],
    )
    return [e.seq for e in entries]


def journal_only(session: Session, action: str, request_id: str) -> int | None:
    """Journal what was written so far *without* an audit entry: for the bookkeeping step of
    an audited act whose own audit entry follows in a later transaction (the issue number
    taken before a certificate is rendered). Returns the journal seq, None if nothing."""
    if CAPTURE_KEY not in session.info:
        enable_capture(session)
    session.flush()
    changes: list[dict[str, Any]] = session.info[CAPTURE_KEY]
    session.info[CAPTURE_KEY] = []
    if not changes:
        return None
    return append_journal(session, action, request_id, changes)


def _next_journal_seq(session: Session) -> int:
    """The next journal entry's seq: the last + 1 (no gaps), read inside the writer's
    transaction, after the audit head's lock or SQLite's write lock is held."""
    return (session.scalar(select(func.max(JournalEntry.seq))) or 0) + 1


def append_journal(
    session: Session,
    action: str,
    request_id: str,
    changes: list[dict[str, Any]],
    *,
    audit_seq: int | None = None,
) -> int:
    """Append one journal entry (seq = last + 1; writers are serialised by the audit head
    lock or SQLite's write lock). Bulk writers call it per chunk of row images."""
    next_seq = _next_journal_seq(session)
    session.add(
        JournalEntry(
            seq=next_seq,
            committed_at=utcnow(),
            action=action,
            request_id=request_id,
            audit_seq=audit_seq,
            changes=changes,
        )
    )
    session.flush()
    return next_seq


BULK_CHUNK = 2000


class BulkWriter:
    """Core bulk inserts in chunks; each chunk's rows become one journal entry (columnar
    ``insert_many``). For loads of thousands of rows, where ORM objects and one row image per
    row would cost more than the inserts themselves. The caller still ends the write with
    :func:`finish_write` (its audit entry) and commits."""

    def __init__(
        self,
        session: Session,
        action: str,
        request_id: str,
        *,
        on_chunk: Callable[[str, int, int], None] | None = None,
        chunk: int = BULK_CHUNK,
    ) -> None:
        self.session = session
        self.action = action
        self.request_id = request_id
        self.on_chunk = on_chunk
        self.chunk = chunk

    def insert(self, table_name: str, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        table = TownBase.metadata.tables[table_name]
        columns = list(rows[0])
        # Only columns holding dates or bytes need converting for the journal.
        convert = [
            isinstance(rows[0][c], date | bytes)
            or isinstance(table.c[c].type, Date | DateTime | UTCDateTime | LargeBinary)
            for c in columns
        ]
        conn = self.session.connection()
        for i in range(0, len(rows), self.chunk):
            part = rows[i : i + self.chunk]
            conn.execute(insert(table), list(part))
            values = [
                [jsonable(r[c]) if conv else r[c] for c, conv in zip(columns, convert, strict=True)]
                for r in part
            ]
            image = {"table": table_name, "op": "insert_many", "columns": columns, "rows": values}
            append_journal(self.session, self.action, self.request_id, [image])
            if self.on_chunk:
                self.on_chunk(table_name, min(i + self.chunk, len(rows)), len(rows))
