"""Who is acting, for which town, on which node: carried by every write and every audit entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import uuid4


@dataclass(frozen=True)
class Actor:
    """The person an action is attributed to (a clerk, or a named operator on the CLI)."""

    clerk_id: int | None
    name: str
    staff_number: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} ({self.staff_number})" if self.staff_number else self.name


@dataclass(frozen=True)
class RequestContext:
    """The tenant and actor of one request; the tenant comes from the login, never the client."""

    town_code: str
    actor: Actor
    request_id: str = field(default_factory=lambda: uuid4().hex)
    node: str = "centre"
    mode: str = "normal"
    purpose: str | None = None
    #: the client's network address, for towns that restrict where clerks log in from
    client: str | None = None
