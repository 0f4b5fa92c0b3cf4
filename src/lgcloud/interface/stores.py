"""What the pages keep between requests, in files every worker process of the server sees.

``lgcloud serve --workers N`` runs N processes behind one port; the kernel hands each
connection to any of them, so the request that shows a certificate's preview, polls an
export or downloads a matching result may land in another process than the one that made
it. What used to live in a process's memory therefore lives in the data directory
(``run/``, created 0700, files 0600: previews and results hold personal data):

* :class:`BlobStore`: small expiring items (a PDF just issued, a matching result), each a
  JSON description beside its bytes, bounded in number and age;
* :class:`JobStore`: background jobs (imports, exports), one JSON file per job rewritten
  by the process running it. That process also holds an exclusive ``flock`` on the job's
  lock file while the job runs, so any process can tell a running job from one whose
  process died (the kernel drops the lock with the process): such a job is shown as
  failed, never as running forever. One job per town at a time is checked under a
  per-town lock file, across processes.

Why files and not a library: the state is small and short-lived, the data directory is
already the one place every process of a centre shares, and it must work the same on the
SQLite default and with the centre on PostgreSQL. Writes are atomic (temporary file, then
rename) but not fsynced: a crash loses previews and progress, which are shown again by
issuing or exporting again, never a record.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Generic, Protocol, TypeVar

from fastapi import Request
from pydantic import TypeAdapter

from lgcloud.core.admission import OverloadedError
from lgcloud.core.errors import LgcloudError, NotFoundError
from lgcloud.core.files import write_atomically
from lgcloud.interface.deps import platform_of


def ensure_dir(path: Path) -> Path:
    """``path`` and every missing folder above it, made 0700."""
    for folder in reversed([path, *path.parents]):
        if not folder.exists():
            folder.mkdir(mode=0o700, exist_ok=True)
    return path


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _unlink(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


class BlobStore:
    """Expiring ``(description, bytes)`` items under a key, in ``root``; at most
    ``max_items`` (the oldest go first) and none older than ``ttl_s`` seconds."""

    def __init__(self, root: Path, *, ttl_s: float, max_items: int) -> None:
        self._root = ensure_dir(root)
        self._ttl = ttl_s
        self._max = max_items

    def _paths(self, key: str) -> tuple[Path, Path]:
        name = hashlib.sha256(key.encode()).hexdigest()  # any key, a safe file name
        return self._root / f"{name}.json", self._root / f"{name}.bin"

    def put(self, key: str, meta: dict[str, Any], blob: bytes, *, stored_at: float) -> None:
        self._expire(room_for_one=True)
        meta_path, blob_path = self._paths(key)
        write_atomically(blob_path, blob, durable=False)  # the bytes first: then it is whole
        write_atomically(meta_path, json.dumps(meta).encode(), durable=False)
        os.utime(meta_path, (stored_at, stored_at))  # when it was stored: its mtime, only

    def get(self, key: str) -> tuple[dict[str, Any], bytes] | None:
        meta_path, blob_path = self._paths(key)
        try:
            if meta_path.stat().st_mtime < time.time() - self._ttl:
                return None
        except FileNotFoundError:
            return None
        raw = _read(meta_path)
        if raw is None:
            return None
        meta = json.loads(raw)
        blob = _read(blob_path)
        return None if blob is None else (meta, blob)

    def _expire(self, *, room_for_one: bool) -> None:
        """Delete items past their age, then the oldest beyond the bound (``put`` runs
        this on the issuing path: it stats each description, it reads none)."""
        limit = time.time() - self._ttl
        items: list[tuple[float, Path]] = []
        with os.scandir(self._root) as entries:
            for entry in entries:
                if not entry.name.endswith(".json"):
                    continue
                meta_path = Path(entry.path)
                try:
                    stored_at = entry.stat().st_mtime
                except FileNotFoundError:  # expired by another process meanwhile
                    continue
                if stored_at < limit:
                    _unlink(meta_path, meta_path.with_suffix(".bin"))
                else:
                    items.append((stored_at, meta_path))
        items.sort()
        keep = self._max - 1 if room_for_one else self._max
        for _, meta_path in items[: max(0, len(items) - keep)]:
            _unlink(meta_path, meta_path.with_suffix(".bin"))


# ------------------------------------------------------------------------------ jobs


class BusyError(LgcloudError):
    """Another job of the same kind is running for the town."""


class Job(Protocol):
    id: str
    town_code: str
    started_at: datetime
    phase: str
    message: str
    finished_at: float | None  # time.time(): every process compares it

    @property
    def running(self) -> bool: ...

    def discard(self) -> None: ...


J = TypeVar("J", bound=Job)

#: what a job whose process died says (the page offers to start it again)
INTERRUPTED = "サーバーの停止で中断しました。もう一度始めてください"


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class JobStore(Generic[J]):
    """Jobs of one kind (``what``: 取り込み, 出力) in ``root``: one running per town;
    finished ones kept for ``ttl_s`` seconds, then their files deleted (``discard``).

    The process that added a job runs it and calls :meth:`save` after each change; every
    process reads it with :meth:`get`."""

    def __init__(self, what: str, root: Path, cls: type[J], *, ttl_s: float) -> None:
        self._what = what
        self._root = root
        self._ttl = ttl_s
        self._adapter: TypeAdapter[J] = TypeAdapter(cls)
        self._held: dict[str, IO[str]] = {}  # job id → its lock file, held while it runs
        self._guard = threading.Lock()

    def _path(self, job_id: str, suffix: str) -> Path:
        if not job_id.replace("-", "").replace("_", "").isalnum():
            raise NotFoundError(f"この{self._what}は見つかりません")
        return self._root / f"{job_id}{suffix}"

    def add(self, job: J, *, max_running: int | None = None) -> None:
        """Record ``job`` as this process's, refused with :class:`BusyError` while another
        job of the town runs, and with :class:`OverloadedError` while ``max_running`` jobs
        of all towns run (in any process: decided under one lock file, on one reading)."""
        ensure_dir(self._root)
        with _file_lock(self._root / "add.lock"):
            running = [j for j in self._all() if j.running]
            if any(j.town_code == job.town_code for j in running):
                raise BusyError(f"この町村の{self._what}が実行中です。終わってから始めてください")
            if max_running is not None and len(running) >= max_running:
                raise OverloadedError(retry_after_s=10)
            lock = self._path(job.id, ".lock").open("a")
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new id: never contended
            with self._guard:
                self._held[job.id] = lock
            self.save(job)

    def save(self, job: J) -> None:
        """Write the job's state (jobs report progress every thousand rows or so: each
        report is written). A job that has finished lets go of its lock."""
        write_atomically(self._path(job.id, ".json"), self._adapter.dump_json(job), durable=False)
        if not job.running:
            with self._guard:
                lock = self._held.pop(job.id, None)
            if lock is not None:
                lock.close()  # closing the file releases the flock

    def _load(self, path: Path) -> J | None:
        """The job as last saved; a running job whose process is gone is saved as failed.

        Whether its process is gone is asked of its lock file: if the lock can be taken,
        nobody runs the job. The job's process saves its final state *before* letting go
        of the lock, so the state is read again while holding it: a job that ended between
        the first read and the lock is seen ended, never overwritten as interrupted."""
        raw = _read(path)
        if raw is None:
            return None
        job = self._adapter.validate_json(raw)
        if not job.running:
            return job
        with self._guard:
            if job.id in self._held:
                return job  # this process runs it
        try:
            probe = path.with_suffix(".lock").open("a")
        except FileNotFoundError:  # its files are being deleted
            return job
        with probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return job  # its process holds the lock: running
            raw = _read(path)  # the lock is ours now: its final state, if it ended
            if raw is None:
                return None
            job = self._adapter.validate_json(raw)
            if job.running:
                job.phase, job.message, job.finished_at = "failed", INTERRUPTED, time.time()
                write_atomically(path, self._adapter.dump_json(job), durable=False)
        return job  # closing the probe let go of the lock

    def _all(self) -> list[J]:
        if not self._root.exists():
            return []
        limit = time.time() - self._ttl
        jobs = []
        for path in self._root.glob("*.json"):
            job = self._load(path)
            if job is None:
                continue
            if job.finished_at is not None and job.finished_at < limit:
                job.discard()
                _unlink(path, path.with_suffix(".lock"))
                continue
            jobs.append(job)
        return jobs

    def get(self, job_id: str, town_code: str) -> J:
        """The job, for a clerk of ``town_code`` only (another town's job is not found)."""
        job = self._load(self._path(job_id, ".json"))
        gone = job is None or (
            job.finished_at is not None and job.finished_at < time.time() - self._ttl
        )
        if job is None or gone or job.town_code != town_code:
            raise NotFoundError(f"この{self._what}は見つかりません（30分を過ぎると消えます）")
        return job

    def of_town(self, town_code: str) -> list[J]:
        """The town's jobs, newest first."""
        jobs = [j for j in self._all() if j.town_code == town_code]
        return sorted(jobs, key=lambda j: j.started_at, reverse=True)

    def running(self, town_code: str) -> J | None:
        return next((j for j in self._all() if j.town_code == town_code and j.running), None)


# --------------------------------------------------------------------------- metrics


class PeerMetrics:
    """Each worker process's figures for ``/metrics``, which any one of them answers: every
    worker publishes its own (``<pid>.json``, each second) and sums or maxes them with the
    files of the workers still alive."""

    def __init__(self, root: Path, snapshot: Callable[[], dict[str, Any]]) -> None:
        self._root = ensure_dir(root)
        self._snapshot = snapshot
        self._pid = os.getpid()

    def start(self, interval_s: float = 1.0) -> None:
        def publish() -> None:
            while True:
                with contextlib.suppress(OSError):
                    self.publish()
                time.sleep(interval_s)

        threading.Thread(target=publish, name="metrics-publisher", daemon=True).start()

    def publish(self) -> None:
        write_atomically(
            self._root / f"{self._pid}.json", json.dumps(self._snapshot()).encode(), durable=False
        )

    def all(self) -> list[dict[str, Any]]:
        """This process's figures now, then every other live worker's last published."""
        out = [self._snapshot()]
        for path in self._root.glob("*.json"):
            pid = int(path.stem) if path.stem.isdigit() else 0
            if pid == self._pid:
                continue
            if not _process_alive(pid):
                _unlink(path)
                continue
            raw = _read(path)
            if raw:
                out.append(json.loads(raw))
        return out


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


S = TypeVar("S")


def app_store(request: Request, name: str, make: Callable[[Path], S]) -> S:
    """The app's one store called ``name``, made on first use in ``<data_dir>/run/<name>``
    (its files are what the worker processes share)."""
    key = f"lgcloud_store_{name}"
    store: S | None = getattr(request.app.state, key, None)
    if store is None:
        store = make(platform_of(request).data_dir / "run" / name)
        setattr(request.app.state, key, store)
    return store
