"""Durable file writes shared by the snapshot store, the partner store and the gaiji table.

Written by hand: the standard library has the parts (``tempfile``, ``os.replace``,
``os.fsync``) but no function that puts them together, and a crash-safe replace needs all
of them in this order.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

#: The suffix of the temporary file a write goes through (never a snapshot's or a batch's).
TEMP_SUFFIX = ".tmp"


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_synced(fd: int, data: bytes) -> None:
    """Write ``data`` to the open file ``fd``, flush it to disk and close it."""
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_atomically(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file (or none) or the
    complete new one, never a partial file at ``path``.

    The bytes go to ``.<name>.<random>.tmp`` (mode 0600) in the same directory (same file
    system, so the rename is atomic; created if missing), are fsynced, renamed over
    ``path``, and the directory is fsynced so the rename itself is durable. A crash may
    leave the temporary file behind; its name starts with a dot and ends in ``.tmp``.
    With ``durable=False`` nothing is fsynced: readers still see the old file or the new
    one, but a crash may lose the new one (for what is worth less than two fsyncs: the
    web's previews, job states and figures, ``interface/stores.py``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        if durable:
            write_synced(fd, data)
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(path.parent)
