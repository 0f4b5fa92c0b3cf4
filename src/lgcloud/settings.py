"""Settings from the environment (secrets never come from command-line defaults)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """Where the platform and town databases live (``LGCLOUD_DATA_DIR``, default ./var)."""
    return Path(os.environ.get("LGCLOUD_DATA_DIR", "var")).resolve()


def node_name() -> str:
    return os.environ.get("LGCLOUD_NODE", "centre")
