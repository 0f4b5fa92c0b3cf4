"""What every page shares: the templates (with their filters), the context every page's
layout needs (acting clerk, mode, permissions, continuity alerts), the read-only refusal,
and whether a request is an htmx partial one."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

from lgcloud.auth.roles import Permission
from lgcloud.core.wareki import format_datetime_jst
from lgcloud.register.domain import EVENT_LABELS
from lgcloud.trail.journal import MODE_LABELS, READ_ONLY_MODES, READ_ONLY_REFUSAL
from lgcloud.web.deps import Acting, platform_of

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.globals["event_labels"] = EVENT_LABELS
templates.env.filters["jst"] = format_datetime_jst


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
        "continuity_alerts": continuity_alerts(request, a),
        "can_view": Permission.VIEW_RESIDENTS in perms,
        "can_audit": Permission.READ_AUDIT in perms,
        "can_record": Permission.RECORD_EVENTS in perms,
        "has_continuity": getattr(request.app.state, "centre_sites", None) is not None
        and Permission.MANAGE_CLERKS in perms,
        "can_manage_clerks": Permission.MANAGE_CLERKS in perms,
    }


def continuity_alerts(request: Request, a: Acting | None) -> list[str]:
    """For an IT officer at the centre: every site where the town lacks a verified copy
    younger than the policy (shown on every page until it is fixed)."""
    sites = getattr(request.app.state, "centre_sites", None)
    if a is None or sites is None or Permission.MANAGE_CLERKS not in a.clerk.permissions:
        return []
    from lgcloud.continuity.status import town_status  # noqa: PLC0415

    return [
        f"{r.site}: {r.alert}"
        for r in town_status(platform_of(request), sites, a.ctx.town_code)
        if r.alert
    ]


def refusal_message(mode: str) -> str:
    return READ_ONLY_REFUSAL.format(mode=MODE_LABELS.get(mode, mode))
