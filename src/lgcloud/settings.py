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


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def require_public_url(host: str) -> str | None:
    """Why a server on ``host`` may not start, or None: beyond this machine it needs
    ``LGCLOUD_PUBLIC_URL`` (the address printed on certificates and in their QR codes),
    which is never taken from a request (issue 15)."""
    if host in LOOPBACK_HOSTS or os.environ.get("LGCLOUD_PUBLIC_URL"):
        return None
    return (
        f"--host {host} はこの機械の外から接続を受けます: 証明書に印字する公開 URL を "
        "LGCLOUD_PUBLIC_URL で指定してください (例 https://lgcloud.example.lg.jp)"
    )
