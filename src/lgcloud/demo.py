"""``lgcloud demo``: the three towns of seed 003, generated, with clerks, served locally."""

from __future__ import annotations

import secrets
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from lgcloud.auth.roles import ROLE_LABELS, Role
from lgcloud.auth.service import create_clerk
from lgcloud.core.context import Actor, RequestContext
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
        if console:
            console.print(f"  {name}: {summary.describe()}")
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


def run_demo(
    *, data_dir: Path, host: str, port: int, seed: int, serve: bool, console: Console
) -> None:
    """The three towns of seed 003 on a centre and three town nodes (separate processes), so a
    new user can pull a plug and watch the town node take over."""
    from lgcloud.continuity.drill import Federation  # noqa: PLC0415

    console.print(
        f"[bold]lgcloud demo[/bold]: generating the three towns of seed 003 into {data_dir} …"
    )
    if data_dir.exists():
        shutil.rmtree(data_dir)
    fed = Federation(
        data_dir,
        residents=None,
        seed=seed,
        log=console.print,
        centre_port=port,
        node_ports=[port + 1 + i for i in range(len(DEMO_TOWNS))],
        console=console,
    )
    url = f"http://{host}:{port}/"
    console.print()
    console.print(f"[bold green]Open {url}[/bold green]   (API docs: {url}docs)")
    console.print(
        "This demo generated its own passwords for this run (a real deployment takes secrets "
        "from the environment or a key file):"
    )
    for code, name, _ in DEMO_TOWNS:
        console.print(
            f"  {name} ({code}): password for its clerks [bold]{fed.passwords[code]}[/bold]"
        )
    table = Table("職員番号 staff no.", "氏名", "役割 role", "PIN (職員切替)")
    for c in DEMO_CLERKS:
        roles = ",".join(ROLE_LABELS[r] for r in sorted(c.roles))
        table.add_row(c.staff_number, c.name, roles, fed.pins[c.staff_number])
    console.print(table)
    console.print("Each town has these clerks; a clerk can log in only to their own town.")
    if not serve:
        fed.centre.dispose()
        return
    fed.start("centre")
    nodes = Table("拠点 site", "URL", "pid", "serves", "stores")
    nodes.add_row("centre", fed.url("centre"), str(fed.procs["centre"].pid), "all", "")
    for spec in fed.specs:
        fed.start(spec.name)
        site = fed.sites.node(spec.name)
        nodes.add_row(
            spec.name, site.url, str(fed.procs[spec.name].pid), spec.town, " ".join(site.stores)
        )
    console.print(nodes)
    sites = data_dir / "sites.toml"
    console.print(
        "Pull a plug: [bold]kill -9 <centre pid>[/bold] and within seconds each town node serves "
        "its town read-only (log in at the node's URL, see the banner and データ時点). "
        f"Status: [bold].venv/bin/lgcloud continuity status --sites {sites} "
        f"--data-dir {data_dir / 'centre'}[/bold]. Case 3: kill a town's node too, then "
        f"[bold].venv/bin/lgcloud continuity activate --town 153079 --sites {sites} "
        f"--node node-154059 --key-file {data_dir / 'safe' / '153079.key'}[/bold]. "
        "Ctrl+C stops everything."
    )

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # the nodes stop with the demo, not orphaned
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        fed.stop_all()
