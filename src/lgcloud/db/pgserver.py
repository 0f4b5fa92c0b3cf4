"""A throwaway PostgreSQL server on a private Unix socket, for the test suite and the
benches (``initdb`` + ``pg_ctl`` of Debian's ``postgresql`` package; trust authentication,
no TCP listener, ``fsync=off`` unless asked). Run as root it runs the server as the
``postgres`` user, as PostgreSQL requires.

Not for production: an operator's centre uses a managed server (docs/scaling.md).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class PostgresMissingError(RuntimeError):
    """Debian's postgresql package is not installed."""


def pg_bin() -> Path:
    """The newest installed PostgreSQL's ``bin`` folder."""
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


@contextlib.contextmanager
def throwaway_server(*settings: str, fsync: bool = False) -> Iterator[PgServer]:
    """Start a server in a temporary folder, yield it, stop it and delete everything.
    ``settings`` are extra ``-c name=value`` server settings."""
    bin_dir = pg_bin()
    base = Path(tempfile.mkdtemp(prefix="lgcloud-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    as_owner = _as_owner()
    if as_owner:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    user = "postgres" if as_owner else getpass.getuser()
    initdb = [*as_owner, str(bin_dir / "initdb"), "-D", str(data), "-U", user]
    initdb += ["--auth=trust", "--encoding=UTF8", "--locale=C"]
    subprocess.run(initdb, check=True, capture_output=True)  # noqa: S603 (our own arguments)
    options = [f"-k {sock}", f"-p {port}", "-c listen_addresses=''"]
    options += [] if fsync else ["-c fsync=off"]
    options += [f"-c {setting}" for setting in settings]
    server = PgServer(sock, port, user, data, " ".join(options))
    server.start()
    try:
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)
