"""A throwaway PostgreSQL server on a private Unix socket, for the test suite and the
benches (``initdb`` + ``pg_ctl`` of Debian's ``postgresql`` package; trust authentication,
no TCP listener, ``fsync=off`` unless asked). Run as root it runs the server as the
``postgres`` user, as PostgreSQL requires.

Not for production: an operator's centre uses a managed server (docs/scaling.md).
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lgcloud.core.ports import free_port


class PostgresMissingError(RuntimeError):
    """Debian's postgresql package is not installed."""


@functools.cache
def pg_bin() -> Path:
    """The newest installed PostgreSQL's ``bin`` folder (looked up once per process)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise PostgresMissingError(
            "PostgreSQL is not installed: ./scripts/test installs it (Debian package postgresql)"
        )
    return found[-1].parent


def _as_owner() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@dataclass(frozen=True)
class PgServer:
    socket_dir: Path
    port: int
    superuser: str
    data_dir: Path
    options: str  # pg_ctl's -o: the socket, the port and the settings

    def start(self) -> None:
        start = [*_as_owner(), str(pg_bin() / "pg_ctl"), "-D", str(self.data_dir), "-w"]
        start += ["-l", str(self.data_dir.parent / "log"), "-o", self.options, "start"]
        subprocess.run(start, check=True, capture_output=True)  # noqa: S603 (our own arguments)

    def promote(self) -> None:
        """Make this standby a primary (what Patroni does on a failover)."""
        promote = [*_as_owner(), str(pg_bin() / "pg_ctl"), "-D", str(self.data_dir), "-w"]
        subprocess.run([*promote, "promote"], check=True, capture_output=True)  # noqa: S603

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: as if its machine died, no checkpoint)."""
        stop = [*_as_owner(), str(pg_bin() / "pg_ctl"), "-D", str(self.data_dir), "-m", mode]
        subprocess.run([*stop, "stop"], check=False, capture_output=True)  # noqa: S603

    def url(self, database: str) -> str:
        return (
            f"postgresql+psycopg://{self.superuser}@/{database}"
            f"?host={self.socket_dir}&port={self.port}"
        )

    @property
    def admin_url(self) -> str:
        """The server's maintenance database, to create others from."""
        return self.url("postgres")

    def create_database(self, name: str) -> str:
        """Create a database (C collation, so prefix ranges match byte order); its URL."""
        subprocess.run(  # noqa: S603 (our own arguments)
            [
                *_as_owner(),
                str(pg_bin() / "createdb"),
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                self.superuser,
                "--template=template0",
                "--encoding=UTF8",
                "--locale=C",
                name,
            ],
            check=True,
            capture_output=True,
        )
        return self.url(name)


def _new_base() -> tuple[Path, Path, int, str]:
    """A temporary folder with a socket folder, a free port and the superuser's name."""
    base = Path(tempfile.mkdtemp(prefix="lgcloud-pg-"))
    sock = base / "sock"
    sock.mkdir()
    if _as_owner():
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    return base, sock, free_port(), "postgres" if _as_owner() else getpass.getuser()


def _options(sock: Path, port: int, fsync: bool, settings: tuple[str, ...]) -> str:
    options = [f"-k {sock}", f"-p {port}", "-c listen_addresses=''"]
    options += [] if fsync else ["-c fsync=off"]
    options += [f"-c {setting}" for setting in settings]
    return " ".join(options)


@contextlib.contextmanager
def _server_in(
    make: Callable[[Path, Path, int, str], PgServer],
) -> Iterator[PgServer]:
    """A server made by ``make(base, socket dir, port, superuser)`` in a new temporary
    folder, started; stopped and the folder deleted on the way out (the folder also when
    making or starting it fails)."""
    base, sock, port, user = _new_base()
    try:
        server = make(base, sock, port, user)
        server.start()
        try:
            yield server
        finally:
            server.stop("immediate")
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def standby_of(primary: PgServer, *settings: str) -> Iterator[PgServer]:
    """A streaming-replication standby of ``primary`` (``pg_basebackup -R``), started,
    stopped and deleted on the way out. The primary must allow replication connections
    (``throwaway_server`` does: trust on its socket)."""

    def make(base: Path, sock: Path, port: int, user: str) -> PgServer:
        data = base / "data"
        backup = [*_as_owner(), str(pg_bin() / "pg_basebackup"), "-h", str(primary.socket_dir)]
        backup += ["-p", str(primary.port), "-U", primary.superuser, "-D", str(data), "-R"]
        backup += ["-X", "stream", "-c", "fast"]
        subprocess.run(backup, check=True, capture_output=True)  # noqa: S603 (our own arguments)
        return PgServer(sock, port, user, data, _options(sock, port, False, settings))

    with _server_in(make) as server:
        yield server


@contextlib.contextmanager
def throwaway_server(*settings: str, fsync: bool = False) -> Iterator[PgServer]:
    """Start a server in a temporary folder, yield it, stop it and delete everything.
    ``settings`` are extra ``-c name=value`` server settings."""

    def make(base: Path, sock: Path, port: int, user: str) -> PgServer:
        data = base / "data"
        initdb = [*_as_owner(), str(pg_bin() / "initdb"), "-D", str(data), "-U", user]
        initdb += ["--auth=trust", "--encoding=UTF8", "--locale=C"]
        subprocess.run(initdb, check=True, capture_output=True)  # noqa: S603 (our own arguments)
        return PgServer(sock, port, user, data, _options(sock, port, fsync, settings))

    with _server_in(make) as server:
        yield server
