"""Settings from the environment (secrets never come from command-line defaults)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """Where the platform and town databases live (``LGCLOUD_DATA_DIR``, default ./var)."""
    return Path(os.environ.get("LGCLOUD_DATA_DIR", "var")).resolve()


def node_name() -> str:
    return os.environ.get("LGCLOUD_NODE", "centre")


def database_url() -> str | None:
    """The centre's PostgreSQL database (``LGCLOUD_DATABASE_URL``), or None for SQLite files
    in the data directory (the default: the demo and the town nodes)."""
    return os.environ.get("LGCLOUD_DATABASE_URL") or None
