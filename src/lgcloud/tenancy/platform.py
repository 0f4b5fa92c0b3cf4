"""The platform: hosted towns, each with its own database, and the platform database.

A town's database is the unit of backup and restore. By default it is a SQLite file at
``<data_dir>/towns/<code>.sqlite``; any SQLAlchemy URL can be given instead.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from lgcloud import settings
from lgcloud.core.clock import utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.core.ids import validate_town_code
from lgcloud.db import migrate
from lgcloud.db.engine import READ_ONLY, create_server_database, make_engine, sqlite_url
from lgcloud.tenancy.models import HostedTown
from lgcloud.trail.journal import enable_capture, finish_write
from lgcloud.trail.writer import ReadAuditWriter


@dataclass
class Town:
    """An open unit of work on one town's database. Every repository function takes one,
    so the tenant is always explicit in the call."""

    code: str
    session: Session
    keys_dir: Path | None = None
    #: normal at the centre; down_recovery / partner when a node serves a copy read-only
    mode: str = "normal"
    #: when mode is not normal: the time the copy's data is as of
    as_of: datetime | None = None
    #: set on a read-only transaction (:meth:`Platform.read_town`): where its audit entries
    #: go (the town's group-committing writer), since the transaction itself cannot write
    read_auditor: Callable[..., int] | None = None

    def audit(
        self,
        ctx: RequestContext,
        action: str,
        *,
        subjects: Sequence[str] = (),
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Audit an act done with this handle: in a write transaction, as its tail
        (``finish_write``: one transaction with the change); in a read-only one, through the
        town's audit writer, durable when this returns. Returns the entry's seq."""
        if self.read_auditor is not None:
            return self.read_auditor(ctx, action, subjects=subjects, detail=detail)
        return finish_write(self.session, ctx, action, subjects=subjects, detail=detail).seq


def _read_options(engine: Engine) -> dict[str, Any]:
    """A read-only transaction: on SQLite ``BEGIN DEFERRED`` in WAL mode (a snapshot, no
    write lock); on PostgreSQL REPEATABLE READ, so that every statement of it (an export
    reads many) sees the same committed state."""
    if engine.dialect.name == "postgresql":
        return {READ_ONLY: True, "isolation_level": "REPEATABLE READ"}
    return {READ_ONLY: True}


#: how long a hosted town's row is remembered (changes by another process: the CLI)
HOSTED_TTL_S = 1.0


class Platform:
    """Hosts many towns. Thread-safe; engines are created once per town.

    By default every database is a SQLite file under ``data_dir`` (the demo, the town
    nodes). With ``database_url`` (a PostgreSQL database: ``LGCLOUD_DATABASE_URL``) the
    platform database is that one, and each town onboarded gets a database of its own on
    the same server, named ``<that database>_<団体コード>`` (ARCHITECTURE.md says why a
    database per town). ``data_dir`` still holds the keys and the files of jobs."""

    def __init__(
        self,
        data_dir: Path,
        *,
        node: str = "centre",
        mode: str = "normal",
        database_url: str | None = None,
        town_template: str = "template0",
    ) -> None:
        # absolute, so the database paths stored for the towns are too: a relative
        # ``--data-dir`` stored relative paths, and the next command run from another
        # folder found no database
        self.data_dir = Path(data_dir).absolute()
        self.node = node
        self.mode = mode
        self.database_url = database_url
        #: the database a new town's is copied from on the server (one already migrated
        #: makes onboarding, and the test suite, faster)
        self.town_template = town_template
        # the data directory holds every resident and the clerks' hashes: its owner's only
        for folder in (
            self.data_dir,
            *(self.data_dir / d for d in ("towns", "keys", "snapshots", "tmp", "run")),
        ):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if folder.stat().st_mode & 0o077:
                folder.chmod(0o700)
        self.engine = make_engine(database_url or sqlite_url(str(data_dir / "platform.sqlite")))
        migrate.upgrade(self.engine, "platform")
        self._platform_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._town_engines: dict[str, Engine] = {}
        self._town_sessions: dict[str, sessionmaker[Session]] = {}
        self._lock = threading.Lock()
        self._audit_writers: dict[str, ReadAuditWriter] = {}
        self._write_locks: dict[str, threading.RLock] = {}
        #: code → (read at, hosted row): every request looks its town up
        self._hosted: dict[str, tuple[float, HostedTown]] = {}

    @classmethod
    def from_settings(cls, data_dir: Path | None = None) -> Platform:
        """The platform the settings name (``LGCLOUD_DATA_DIR`` unless ``data_dir`` is
        given, ``LGCLOUD_NODE``, ``LGCLOUD_DATABASE_URL``): what a command or a server
        worker process opens."""
        return cls(
            data_dir or settings.data_dir(),
            node=settings.node_name(),
            database_url=settings.database_url(),
        )

    # -- platform database
    @contextmanager
    def platform_session(self) -> Iterator[Session]:
        """A write transaction on the platform database (short: sessions, modes, jobs).
        It may change a hosted town: what this process remembers of them is forgotten."""
        try:
            with self._platform_sessions.begin() as session:
                yield session
        finally:
            self._hosted.clear()

    @contextmanager
    def platform_read(self) -> Iterator[Session]:
        """A read-only transaction on the platform database: takes no write lock, so every
        request of every town can look up its session and its town at the same time."""
        with (
            self.engine.connect().execution_options(**{READ_ONLY: True}) as conn,
            Session(bind=conn, expire_on_commit=False) as session,
        ):
            yield session

    def towns(self) -> list[HostedTown]:
        with self.platform_read() as s:
            return list(s.scalars(select(HostedTown).order_by(HostedTown.code)))

    def hosted(self, code: str, *, fresh: bool = False) -> HostedTown:
        """The hosted town ``code`` (its mode, as-of time, login restrictions). Remembered
        for :data:`HOSTED_TTL_S`: a change made by this process is seen at once (see
        :meth:`platform_session`), one made by another process (the CLI) within that;
        ``fresh`` reads it now (a login checks where it may come from: an emergency just
        declared on the CLI must count)."""
        cached = self._hosted.get(code)
        if not fresh and cached is not None and time.monotonic() - cached[0] < HOSTED_TTL_S:
            return cached[1]
        with self.platform_read() as s:
            town = s.get(HostedTown, code)
        if town is not None:
            self._hosted[code] = (time.monotonic(), town)
        if town is None:
            raise NotFoundError(f"団体コード {code} の町村はこの基盤にありません")
        return town

    def create_town(
        self,
        code: str,
        name: str,
        *,
        kana: str = "",
        prefecture: str = "",
        url: str | None = None,
        prepare: Callable[[Session], None] | None = None,
    ) -> HostedTown:
        """Host a new town: validate its code, create and migrate its database, let
        ``prepare`` fill it (in one transaction, before the town is hosted), then record it.

        Onboarding a town (its register's town record, its signing key, its recovery key)
        is ``lgcloud.onboarding.onboard_town``, which calls this: the business areas sit
        above this layer."""
        validate_town_code(code)
        with self.platform_session() as s:
            if s.get(HostedTown, code) is not None:
                raise RuleViolationError(f"団体コード {code} は既に登録されています")
        url = url or self._new_town_database(code)
        engine = make_engine(url)
        migrate.upgrade(engine, "town")
        if prepare is not None:
            with sessionmaker(engine).begin() as ts:
                prepare(ts)
        engine.dispose()
        hosted = HostedTown(
            code=code,
            name=name,
            kana=kana,
            prefecture=prefecture,
            database_url=url,
            created_at=utcnow(),
        )
        with self.platform_session() as s:
            s.add(hosted)
        return hosted

    def _new_town_database(self, code: str) -> str:
        """Where a new town's data lives: a SQLite file, or a new database on the centre's
        PostgreSQL server (C collation: the search's prefix ranges need byte order)."""
        if self.database_url is None:
            return sqlite_url(str(self.data_dir / "towns" / f"{code}.sqlite"))
        return create_server_database(
            self.database_url,
            f"{self.engine.url.database}_{code}",
            template=self.town_template,
        )

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    # -- town databases
    def town_engine(self, code: str) -> Engine:
        with self._lock:
            engine = self._town_engines.get(code)
        if engine is not None:
            return engine
        hosted = self.hosted(code)
        with self._lock:
            engine = self._town_engines.get(code)
            if engine is None:
                engine = make_engine(hosted.database_url)
                self._town_engines[code] = engine
                self._town_sessions[code] = sessionmaker(engine, expire_on_commit=False)
            return engine

    def mode_of(self, code: str) -> tuple[str, datetime | None]:
        """How ``code`` is served here: ``(mode, as_of)``; as_of is None in normal mode."""
        hosted = self.hosted(code)
        return hosted.mode, hosted.as_of

    @contextmanager
    def town(self, code: str) -> Iterator[Town]:
        """A transaction on ``code``'s database: committed on success, rolled back on error.

        The writers of one town in this process queue on a lock of their own before the
        database's: a waiting writer is handed the lock the moment the previous one
        commits, instead of SQLite's busy handler sleeping 1, 2, 5, 10… ms and losing
        again to a busy writer (the group-committing audit writer always is)."""
        self.town_engine(code)
        mode, as_of = self.mode_of(code)
        with (
            self._write_lock(code),
            self._town_sessions[code].begin() as session,
        ):
            enable_capture(session)
            yield Town(code, session, self.keys_dir, mode, as_of)

    def _write_lock(self, code: str) -> threading.RLock:
        with self._lock:
            lock = self._write_locks.get(code)
            if lock is None:
                lock = self._write_locks[code] = threading.RLock()
            return lock

    @contextmanager
    def read_town(self, code: str) -> Iterator[Town]:
        """A read-only transaction on ``code``'s database: on SQLite it takes no write lock,
        so it never waits for a long write (an import) to finish. Nothing may be written."""
        engine = self.town_engine(code)
        mode, as_of = self.mode_of(code)
        with (
            engine.connect().execution_options(**_read_options(engine)) as conn,
            Session(bind=conn) as session,
        ):
            yield Town(code, session, self.keys_dir, mode, as_of, self.record_read)

    @contextmanager
    def trial_town(self, code: str) -> Iterator[Town]:
        """A write transaction on ``code``'s data whose writes are thrown away, and which
        holds nothing a counter waits for: a whole import is tried in one before any of it
        is written (``interchange.layouts.import_layouts``).

        It sees the town as it was when it began. On SQLite it runs on a private copy of the
        town's database, taken with SQLite's backup API (a read: WAL writers go on) into
        ``run/trials/`` (0700) and deleted after. On PostgreSQL it is a REPEATABLE READ
        transaction on the town's database, rolled back at the end: its inserts take no
        lock but ``FOR KEY SHARE`` on the rows they reference, which counter writes (``FOR
        NO KEY UPDATE``) do not wait for; it must not write the audit trail (whose head is
        locked ``FOR UPDATE``)."""
        engine = self.town_engine(code)
        mode, as_of = self.mode_of(code)
        if engine.dialect.name != "sqlite":  # one snapshot throughout, as the copy is
            with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
                outer = conn.begin()
                try:
                    with Session(bind=conn) as session:
                        yield Town(code, session, self.keys_dir, mode, as_of)
                finally:
                    outer.rollback()
            return
        trials = self.data_dir / "run" / "trials"
        trials.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=trials) as folder:
            copy = Path(folder) / f"{code}.sqlite"
            source = engine.raw_connection()
            try:
                target = sqlite3.connect(copy)
                try:
                    source.driver_connection.backup(target)  # type: ignore[union-attr]
                finally:
                    target.close()
            finally:
                source.close()
            trial = make_engine(sqlite_url(str(copy)), synchronous="OFF")
            try:
                with trial.connect() as conn:
                    outer = conn.begin()
                    try:
                        with Session(bind=conn) as session:
                            yield Town(code, session, self.keys_dir, mode, as_of)
                    finally:
                        outer.rollback()
            finally:
                trial.dispose()

    @contextmanager
    def _write_session(self, code: str) -> Iterator[Session]:
        with self.town(code) as town:
            yield town.session

    def record_read(
        self,
        ctx: RequestContext,
        action: str,
        *,
        subjects: Sequence[str] = (),
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Audit a read done in :meth:`read_town`: the entry is group-committed by the
        town's one audit writer (``trail.writer``) and durable when this returns, so the
        caller may then show what it read. Returns the entry's sequence number."""
        with self._lock:
            writer = self._audit_writers.get(ctx.town_code)
            if writer is None:
                code = ctx.town_code
                writer = ReadAuditWriter(code, lambda: self._write_session(code))
                self._audit_writers[code] = writer
        return writer.append(ctx, action, subjects=subjects, detail=detail)

    def forget_town(self, code: str, *, delete_record: bool = False) -> None:
        """Close ``code``'s engine (and with ``delete_record`` stop hosting it here): used by a
        node when it starts or stops serving a copy."""
        self._hosted.pop(code, None)
        with self._lock:
            writer = self._audit_writers.pop(code, None)
        if writer is not None:
            writer.stop()
        with self._lock:
            engine = self._town_engines.pop(code, None)
            self._town_sessions.pop(code, None)
        if engine is not None:
            engine.dispose()
        if delete_record:
            with self.platform_session() as s:
                hosted = s.get(HostedTown, code)
                if hosted is not None:
                    s.delete(hosted)

    def dispose(self) -> None:
        with self._lock:
            writers = list(self._audit_writers.values())
            self._audit_writers.clear()
        for writer in writers:
            writer.stop()
        for engine in self._town_engines.values():
            engine.dispose()
        self.engine.dispose()
