"""``lgcloud demo``: the three towns of seed 003, generated, with clerks, served locally."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from lgcloud.auth.roles import ROLE_LABELS
from lgcloud.drill import Federation
from lgcloud.generate.demo import DEMO_CLERKS, DEMO_TOWNS


def run_demo(
    *, data_dir: Path, host: str, port: int, seed: int, serve: bool, console: Console
) -> None:
    """The three towns of seed 003 on a centre and three town nodes (separate processes), so a
    new user can pull a plug and watch the town node take over."""
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
