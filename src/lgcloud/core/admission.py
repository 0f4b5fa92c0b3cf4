"""Bounded work: a request beyond the bound is refused at once (503, ``Retry-After``), never
queued into a timeout (seed 002: J-LIS unreachable for hours at under a third of its
planned volume, because nothing was refused cleanly).

:class:`Gate` bounds how many callers run a piece of work at once, from worker threads
(the argon2 check of a login, for example). The web layer's admission middleware
(``web/admission.py``) bounds whole requests per town and for the server.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from lgcloud.core.errors import LgcloudError

OVERLOADED_MESSAGE = (
    "ただいま混み合っています。少し時間をおいてからもう一度お試しください（処理は行っていません）"
)


class OverloadedError(LgcloudError):
    """Refused because a bound was reached; nothing was done. The web layer answers 503
    with ``Retry-After``."""

    def __init__(self, message: str = OVERLOADED_MESSAGE, *, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Gate:
    """At most ``limit`` callers inside at once; a caller waits at most ``wait_s`` for a
    place, then gets :class:`OverloadedError`. Thread-safe."""

    def __init__(self, name: str, limit: int, *, wait_s: float = 0.0) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.name = name
        self.limit = limit
        self.wait_s = wait_s
        self._slots = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self.refused = 0

    @contextmanager
    def enter(self) -> Iterator[None]:
        got = (
            self._slots.acquire(timeout=self.wait_s)
            if self.wait_s > 0
            else self._slots.acquire(blocking=False)
        )
        if not got:
            with self._lock:
                self.refused += 1
            raise OverloadedError()
        try:
            yield
        finally:
            self._slots.release()


class RateLimit:
    """A token bucket per key (a town): at most ``burst`` at once, refilled at ``rate`` per
    second; beyond it :class:`OverloadedError`. Thread-safe."""

    def __init__(self, name: str, *, rate: float, burst: int) -> None:
        self.name = name
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self.refused = 0

    def take(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self.refused += 1
                self._buckets[key] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / self.rate))
                raise OverloadedError(retry_after_s=wait)
            self._buckets[key] = (tokens - 1.0, now)
