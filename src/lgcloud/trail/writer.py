"""Group-committed audit entries of reads: one writer per town, many readers never queued
behind each other.

A search or a view reads in a read-only transaction (no write lock) and then hands its
audit entry to the town's :class:`ReadAuditWriter`, which waits until the entry is
committed: nothing is shown before its entry is durable. The writer thread takes every
entry waiting, appends them to the hash chain in arrival order in *one* short write
transaction (each with its journal entry, exactly as ``finish_write`` writes them for any
other change: ``finish_reads``) and commits once, so 30 readers cost one lock acquisition
and one fsync instead of 30. A read therefore never holds the write lock while it reads,
and readers do not serialise on each other's commits.

Why a thread of our own rather than a library: no library offers group commit for
SQLAlchemy sessions; the rule it implements (wait for durability, batch what is waiting)
is a dozen lines.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from lgcloud.audit.service import EntryRequest
from lgcloud.core.context import RequestContext
from lgcloud.core.logging import get_logger
from lgcloud.trail.journal import check_writable, finish_reads

log = get_logger("lgcloud.audit")

#: at most this many entries in one transaction: a search names up to 50 people, so a
#: batch writes up to ~800 index rows and stays well under 100 ms even on a busy core
MAX_BATCH = 16
#: how long a reader waits for its entry to be committed before the request fails
COMMIT_TIMEOUT_S = 30.0


@dataclass
class _Pending:
    request: EntryRequest
    done: Future[int] = field(default_factory=Future)


class ReadAuditWriter:
    """The one writer of a town's read audit entries. ``begin`` opens a write transaction
    on the town's database (``Platform.town``) and yields its session."""

    def __init__(self, code: str, begin: Callable[[], AbstractContextManager[Session]]) -> None:
        self.code = code
        self._begin = begin
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"audit-writer-{code}", daemon=True)
        self._stopped = False
        self._thread.start()

    def append(
        self,
        ctx: RequestContext,
        action: str,
        *,
        subjects: Sequence[str] = (),
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Append the entry and return its sequence number once it is committed."""
        check_writable(ctx, action)  # refused here, not inside another reader's batch
        if self._stopped:
            raise RuntimeError("audit writer stopped")
        pending = _Pending(EntryRequest(ctx, action, list(subjects), detail))
        self._queue.put(pending)
        return pending.done.result(timeout=COMMIT_TIMEOUT_S)

    def stop(self) -> None:
        self._stopped = True
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _drain(self, first: _Pending) -> Iterator[_Pending]:
        yield first
        for _ in range(MAX_BATCH - 1):
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is None:
                self._queue.put(None)  # stop after this batch
                return
            yield item

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = list(self._drain(first))
            try:
                self._commit(batch)
            except Exception as exc:  # the batch failed together: retry one by one
                log.warning("audit_batch_failed", town=self.code, error=repr(exc))
                for item in batch:
                    try:
                        self._commit([item])
                    except Exception as one:
                        item.done.set_exception(one)

    def _commit(self, batch: list[_Pending]) -> None:
        start = time.perf_counter()
        with self._begin() as session:
            seqs = finish_reads(session, [i.request for i in batch])
        for item, seq in zip(batch, seqs, strict=True):
            if not item.done.done():
                item.done.set_result(seq)
        log.debug(
            "audit_batch",
            town=self.code,
            entries=len(batch),
            ms=round((time.perf_counter() - start) * 1000, 1),
        )
