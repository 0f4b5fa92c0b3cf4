"""Structured logs (JSON lines on stderr) with fixed event names."""

from __future__ import annotations

import functools
import logging
import sys
from typing import Any


@functools.cache
def _structlog() -> Any:
    """structlog, imported and given its default (stderr) on first use: every command
    imports modules that log, few commands log (it costs ~60 ms of a command's start)."""
    import structlog  # noqa: PLC0415

    if not structlog.is_configured():
        # Until configure_logging runs, logs still go to stderr: stdout belongs to the command.
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=sys.stderr))
    return structlog


class _Logger:
    """A logger that loads structlog when it first logs."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, attr: str) -> Any:
        if self._logger is None:
            self._logger = _structlog().get_logger(self._name)
        return getattr(self._logger, attr)


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Configure structlog once for the process."""
    structlog = _structlog()
    logging.basicConfig(stream=sys.stderr, format="%(message)s", level=level)
    # one line per replication request is noise; failures are logged by the shipper itself
    logging.getLogger("httpx").setLevel(logging.WARNING)
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> Any:
    """A logger; call it with a fixed event name and keyword fields."""
    return _Logger(name)
