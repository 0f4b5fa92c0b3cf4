"""A free TCP port on loopback, for the processes lgcloud starts itself (drills, the demo's
nodes, throwaway PostgreSQL servers, tests and benches)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nobody listens on now (the caller binds it soon after: a race it accepts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
