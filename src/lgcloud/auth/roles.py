"""Roles and what each may do. Deny by default: a permission not listed is refused."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    COUNTER_CLERK = "counter_clerk"  # 窓口職員
    BUSINESS_STAFF = "business_staff"  # 業務担当
    IT_OFFICER = "it_officer"  # 情報システム担当
    AUDITOR = "auditor"  # 監査担当
    ELECTION_STAFF = "election_staff"  # 選挙管理委員会事務局
    POLL_CLERK = "poll_clerk"  # 投票所の受付係 (投票事務従事者)


ROLE_LABELS = {
    Role.COUNTER_CLERK: "窓口職員",
    Role.BUSINESS_STAFF: "業務担当",
    Role.IT_OFFICER: "情報システム担当",
    Role.AUDITOR: "監査担当",
    Role.ELECTION_STAFF: "選挙管理委員会事務局",
    Role.POLL_CLERK: "投票所受付",
}


class Permission(StrEnum):
    VIEW_RESIDENTS = "view_residents"
    ISSUE_CERTIFICATES = "issue_certificates"
    RECORD_EVENTS = "record_events"
    MANAGE_CLERKS = "manage_clerks"
    READ_AUDIT = "read_audit"
    MANAGE_ELECTIONS = "manage_elections"  # 選挙人名簿: registration, 閲覧, 入場券, 裁判員
    CHECK_IN_VOTERS = "check_in_voters"  # 投票の受付 (only that: a poll clerk sees no register)
    #: the whole register at once (全住民一覧 as CSV or PDF), with a stated purpose; counter
    #: roles have it not (issue 15: a counter clerk downloaded every resident)
    EXPORT_REGISTER = "export_register"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.COUNTER_CLERK: frozenset({Permission.VIEW_RESIDENTS, Permission.ISSUE_CERTIFICATES}),
    Role.BUSINESS_STAFF: frozenset(
        {
            Permission.VIEW_RESIDENTS,
            Permission.ISSUE_CERTIFICATES,
            Permission.RECORD_EVENTS,
            Permission.EXPORT_REGISTER,
        }
    ),
    Role.IT_OFFICER: frozenset(
        {Permission.MANAGE_CLERKS, Permission.READ_AUDIT, Permission.EXPORT_REGISTER}
    ),
    Role.AUDITOR: frozenset({Permission.READ_AUDIT}),
    Role.ELECTION_STAFF: frozenset(
        {Permission.VIEW_RESIDENTS, Permission.MANAGE_ELECTIONS, Permission.CHECK_IN_VOTERS}
    ),
    Role.POLL_CLERK: frozenset({Permission.CHECK_IN_VOTERS}),
}


def parse_roles(text: str) -> frozenset[Role]:
    return frozenset(Role(r) for r in text.split())


def permissions_of(roles: frozenset[Role]) -> frozenset[Permission]:
    out: set[Permission] = set()
    for r in roles:
        out |= ROLE_PERMISSIONS[r]
    return frozenset(out)
