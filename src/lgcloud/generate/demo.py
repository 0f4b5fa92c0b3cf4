"""The demo's towns and clerks: the three towns of seed 003, generated, with their clerks
(``lgcloud demo``, the drills and the end-to-end tests start from them)."""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from lgcloud.auth.roles import Role
from lgcloud.auth.service import create_clerk
from lgcloud.core.clock import today_jst
from lgcloud.core.context import Actor, RequestContext
from lgcloud.generate.elections import build_elections
from lgcloud.generate.town import generate_town
from lgcloud.tenancy.platform import Platform

#: 聖籠町, 出雲崎町, 関川村 with their populations from seed 003 (平成24年4月1日).
DEMO_TOWNS: tuple[tuple[str, str, int], ...] = (
    ("153079", "聖籠町", 13_793),
    ("154059", "出雲崎町", 4_803),
    ("155811", "関川村", 6_289),
)


@dataclass(frozen=True)
class DemoClerk:
    staff_number: str
    name: str
    roles: frozenset[Role]


DEMO_CLERKS: tuple[DemoClerk, ...] = (
    DemoClerk("1001", "窓口\u3000一子", frozenset({Role.COUNTER_CLERK})),
    DemoClerk("1002", "窓口\u3000二郎", frozenset({Role.COUNTER_CLERK})),
    DemoClerk("2001", "業務\u3000三恵", frozenset({Role.BUSINESS_STAFF})),
    DemoClerk("9001", "情報\u3000四郎", frozenset({Role.IT_OFFICER})),
    DemoClerk("9101", "監査\u3000五月", frozenset({Role.AUDITOR})),
    DemoClerk("3001", "選管\u3000六花", frozenset({Role.ELECTION_STAFF})),
    DemoClerk("3101", "受付\u3000七海", frozenset({Role.POLL_CLERK})),
)


def build_demo(
    data_dir: Path, *, seed: int, console: Console | None = None, residents: int | None = None
) -> tuple[Platform, dict[str, str], dict[str, str]]:
    """Recreate ``data_dir`` with the demo towns and clerks.

    Returns the platform, each town's demo password (generated for this run; different per
    town, so one town's credentials never open another) and each clerk's PIN.
    """
    if data_dir.exists():
        shutil.rmtree(data_dir)
    platform = Platform(data_dir)
    passwords = {code: secrets.token_urlsafe(9) for code, _, _ in DEMO_TOWNS}
    pins = {c.staff_number: f"{secrets.randbelow(10**4):04d}" for c in DEMO_CLERKS}
    for code, name, population in DEMO_TOWNS:
        summary = generate_town(
            platform, code, residents=residents or population, seed=seed, name=name
        )
        roll = build_elections(platform, code, today_jst())
        if console:
            console.print(f"  {name}: {summary.describe()}")
            console.print(
                f"    選挙人名簿 {roll['electors']:,} 人、投票区 {roll['polling_districts']}"
            )
        ctx = RequestContext(code, Actor(None, "demo-setup", ""), node=platform.node)
        with platform.town(code) as town:
            for c in DEMO_CLERKS:
                create_clerk(
                    town,
                    ctx,
                    staff_number=c.staff_number,
                    name=c.name,
                    roles=c.roles,
                    password=passwords[code],
                    pin=pins[c.staff_number],
                )
    return platform, passwords, pins
