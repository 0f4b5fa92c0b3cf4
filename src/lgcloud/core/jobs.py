"""Batch work off the counter's path: run a function in a child process at low priority,
streaming its progress back.

A batch job (an export of the whole register, say) in the server's own process would share
its one core of Python (the GIL) with the counter; in a child process it runs on the other
core, at nice 10, so the counter's requests are scheduled first when both want the CPU.
The child reads the town's database itself (a read-only transaction: one consistent
snapshot) and writes its result to files; only small messages cross back.

Why not a task queue (Celery, RQ): they need a broker server; a town node or the demo runs
with none. ``multiprocessing`` with the spawn start method is all this needs.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
from collections.abc import Callable
from typing import Any

from lgcloud.core.errors import LgcloudError

#: the niceness of a batch child (0 is the server's; 19 the lowest priority)
BATCH_NICENESS = 10

Progress = Callable[[dict[str, Any]], None]


class JobFailedError(LgcloudError):
    """The job ended without a result (an error in the child, or the child was killed)."""


def as_batch() -> None:
    """Lower this process to the batch priority (nice 10): a batch command run on the
    server's machine (``lgcloud export``, ``import``, ``all-residents-csv``, ``safety
    match``) leaves the CPU to the counter first, as a batch child of the server does."""
    with contextlib.suppress(OSError):  # not permitted everywhere: the work still runs
        now = os.nice(0)
        if now < BATCH_NICENESS:
            os.nice(BATCH_NICENESS - now)


def _child(
    target: Callable[..., Any], kwargs: dict[str, Any], out: multiprocessing.Queue[Any]
) -> None:
    as_batch()
    try:
        result = target(progress=lambda message: out.put(("progress", message)), **kwargs)
    except LgcloudError as e:
        out.put(("refused", e.message))
    except Exception as e:
        out.put(("failed", repr(e)))
    else:
        out.put(("done", result))


def run_in_child(
    target: Callable[..., Any],
    kwargs: dict[str, Any],
    on_progress: Progress,
    *,
    poll_s: float = 0.5,
) -> Any:
    """Run ``target(progress=…, **kwargs)`` (a module-level function; its arguments and
    result picklable) in a child process and return its result. Its progress messages are
    handed to ``on_progress`` as they come. An ``LgcloudError`` in the child is raised here
    with its message; anything else, or the child's death, is :class:`JobFailedError`."""
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[Any] = ctx.Queue()
    child = ctx.Process(target=_child, args=(target, kwargs, out), daemon=True)
    child.start()
    try:
        while True:
            try:
                kind, value = out.get(timeout=poll_s)
            except queue.Empty:
                if not child.is_alive() and out.empty():
                    raise JobFailedError(
                        f"処理が途中で終了しました（終了コード {child.exitcode}）"
                    ) from None
                continue
            if kind == "progress":
                on_progress(value)
            elif kind == "done":
                return value
            elif kind == "refused":
                raise LgcloudError(value)
            else:
                raise JobFailedError(f"処理に失敗しました: {value}")
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
        out.close()
