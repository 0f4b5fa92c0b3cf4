"""What every page shares: the templates (with their filters), the context every page's
layout needs (acting clerk, mode, permissions, alerts), the read-only refusal, and whether
a request is an htmx partial one.

Templates are found as Django finds an app's: each part keeps its own in
``lgcloud/<part>/templates/<part>/`` and names them ``"<part>/page.html"``; the layout
every page extends is ``interface/templates/base.html``. The search path is the
``templates`` folder of every package, read from the file system, so this module imports
no business area."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

from lgcloud.auth.roles import Permission
from lgcloud.core.wareki import format_datetime_jst, to_wareki
from lgcloud.interface.deps import Acting, platform_of
from lgcloud.trail.journal import MODE_LABELS, READ_ONLY_MODES, READ_ONLY_REFUSAL

_PACKAGE = Path(__file__).parent.parent
templates = Jinja2Templates(
    directory=[
        str(Path(__file__).parent / "templates"),
        *sorted(str(d) for d in _PACKAGE.glob("*/templates") if d.parent.name != "interface"),
    ]
)
templates.env.filters["jst"] = format_datetime_jst
templates.env.filters["wareki"] = to_wareki


def _jst_iso(text: str) -> str:
    return format_datetime_jst(datetime.fromisoformat(text))


templates.env.filters["jst_iso"] = _jst_iso


def is_htmx(request: Request, target: str | None = None) -> bool:
    if request.headers.get("hx-request") != "true":
        return False
    return target is None or request.headers.get("hx-target") == target


def page_context(request: Request, a: Acting | None) -> dict[str, object]:
    platform = platform_of(request)
    mode, as_of = platform.mode_of(a.ctx.town_code) if a else (platform.mode, None)
    perms = a.clerk.permissions if a else frozenset()
    return {
        "request": request,
        "acting": a,
        "mode": mode,
        "as_of": as_of,
        "node": platform.node,
        "read_only": mode in READ_ONLY_MODES,
        "continuity_alerts": page_alerts(request, a),
        "can_view": Permission.VIEW_RESIDENTS in perms,
        "can_audit": Permission.READ_AUDIT in perms,
        "can_record": Permission.RECORD_EVENTS in perms,
        "has_continuity": getattr(request.app.state, "centre_sites", None) is not None
        and Permission.MANAGE_CLERKS in perms,
        "can_manage_clerks": Permission.MANAGE_CLERKS in perms,
        "can_elections": bool({Permission.MANAGE_ELECTIONS, Permission.CHECK_IN_VOTERS} & perms),
    }


PageAlerts = Callable[[Request, Acting], list[str]]


def page_alerts(request: Request, a: Acting | None) -> list[str]:
    """What every page shows its clerk until it is fixed: the app's ``page_alerts`` hook
    (the centre sets it to the continuity alerts of the town's copies, web/app.py)."""
    hook: PageAlerts | None = getattr(request.app.state, "page_alerts", None)
    return [] if a is None or hook is None else hook(request, a)


def refusal_message(mode: str) -> str:
    return READ_ONLY_REFUSAL.format(mode=MODE_LABELS.get(mode, mode))
