"""Roles and what each may do. Deny by default: a permission not listed is refused."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    COUNTER_CLERK = "counter_clerk"  # 窓口職員
    BUSINESS_STAFF = "business_staff"  # 業務担当
    IT_OFFICER = "it_officer"  # 情報システム担当
    AUDITOR = "auditor"  # 監査担当


ROLE_LABELS = {
    Role.COUNTER_CLERK: "窓口職員",
    Role.BUSINESS_STAFF: "業務担当",
    Role.IT_OFFICER: "情報システム担当",
    Role.AUDITOR: "監査担当",
}


class Permission(StrEnum):
    VIEW_RESIDENTS = "view_residents"
    ISSUE_CERTIFICATES = "issue_certificates"
    RECORD_EVENTS = "record_events"
    MANAGE_CLERKS = "manage_clerks"
    READ_AUDIT = "read_audit"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.COUNTER_CLERK: frozenset({Permission.VIEW_RESIDENTS, Permission.ISSUE_CERTIFICATES}),
    Role.BUSINESS_STAFF: frozenset(
        {Permission.VIEW_RESIDENTS, Permission.ISSUE_CERTIFICATES, Permission.RECORD_EVENTS}
    ),
    Role.IT_OFFICER: frozenset({Permission.MANAGE_CLERKS, Permission.READ_AUDIT}),
    Role.AUDITOR: frozenset({Permission.READ_AUDIT}),
}


def parse_roles(text: str) -> frozenset[Role]:
    return frozenset(Role(r) for r in text.split())


def permissions_of(roles: frozenset[Role]) -> frozenset[Permission]:
    out: set[Permission] = set()
    for r in roles:
        out |= ROLE_PERMISSIONS[r]
    return frozenset(out)
