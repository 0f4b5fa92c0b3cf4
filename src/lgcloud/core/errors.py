"""Errors the domain raises; the web layer maps them to HTTP statuses."""

from __future__ import annotations


class LgcloudError(Exception):
    """Base class for errors that carry a message meant for a clerk."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(LgcloudError):
    """The object does not exist *in this town* (another town's object is the same error)."""


class RuleViolationError(LgcloudError):
    """A change was refused because it would break a register rule; nothing was changed."""


class PermissionDeniedError(LgcloudError):
    """The acting clerk's roles do not allow this action."""


class AuthenticationError(LgcloudError):
    """Login or quick switch failed (the message never says which part was wrong)."""


class AccountLockedError(AuthenticationError):
    """Too many failed attempts; the account is locked for a while."""
