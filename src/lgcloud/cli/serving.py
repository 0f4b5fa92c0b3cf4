"""Serving: a town node's server and the centre's (the web app with continuity's threads),
and the drill. They start the web application or the drill, which sit above the
business areas, so they are assembled here rather than in ``continuity/cli.py``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lgcloud import settings
from lgcloud.continuity.cli import DataDirOpt, NodeOpt, SitesOpt
from lgcloud.interface.commands import console, err


def _node_service(sites: Path, node: str, data_dir: Path):  # type: ignore[no-untyped-def]
    from lgcloud.continuity.node import NodeService  # noqa: PLC0415
    from lgcloud.continuity.sites import load_sites  # noqa: PLC0415
    from lgcloud.tenancy.platform import Platform  # noqa: PLC0415

    return NodeService(Platform(data_dir, node=node), load_sites(sites), node)


def node_serve(
    sites: SitesOpt,
    node: NodeOpt,
    data_dir: DataDirOpt,
    host: str = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="default: the port in the sites file")] = None,
    watch: Annotated[bool, typer.Option("--watch/--no-watch", help="auto case 1")] = True,
) -> None:
    """Run a town node: take the centre's pushes, verify snapshots, keep the replica, and
    serve read-only when the line to the centre is cut."""
    refusal = settings.require_public_url(host)
    if refusal:
        err.print(refusal, markup=False)
        raise typer.Exit(2)
    import uvicorn  # noqa: PLC0415

    from lgcloud.continuity.node import LineWatcher  # noqa: PLC0415
    from lgcloud.core.logging import configure_logging  # noqa: PLC0415
    from lgcloud.web.app import create_app  # noqa: PLC0415

    configure_logging()
    svc = _node_service(sites, node, data_dir)
    if port is None:
        port = int(svc.site.url.rsplit(":", 1)[1].split("/")[0])
    if watch:
        threading.Thread(target=LineWatcher(svc).run, daemon=True, name="line-watcher").start()
    uvicorn.run(
        create_app(svc.platform, node_service=svc), host=host, port=port, log_level="warning"
    )


def serve_centre(platform, sites_path: Path, host: str, port: int, *, workers: int = 1) -> None:  # type: ignore[no-untyped-def]
    """The centre's server with its shipper thread (``lgcloud serve --sites``); with
    ``workers`` > 1 the shipper runs in the supervising process, beside the workers."""
    import uvicorn  # noqa: PLC0415

    from lgcloud.continuity.centre import Shipper  # noqa: PLC0415
    from lgcloud.continuity.sites import load_sites  # noqa: PLC0415
    from lgcloud.web.app import create_app, serve_processes  # noqa: PLC0415

    sites = load_sites(sites_path)
    shipper = Shipper(platform, sites)
    threading.Thread(target=shipper.run, daemon=True, name="shipper").start()
    if workers > 1:
        serve_processes(platform.data_dir, host, port, workers, sites_file=sites_path)
        return
    uvicorn.run(create_app(platform, centre_sites=sites), host=host, port=port, log_level="warning")


def drill_command(
    case: Annotated[int, typer.Option("--case", help="1: line cut, 2: town hall, 3: both")],
    work_dir: Annotated[Path, typer.Option(help="scratch directory (recreated)")] = Path(
        "var/drill"
    ),
    residents: Annotated[int, typer.Option(help="residents per town")] = 3000,
) -> None:
    """Run one of seed 003's failure cases end to end; exit 1 if any check fails."""
    import shutil  # noqa: PLC0415

    from lgcloud.drill import SEED_OUTPUT, SEED_RESUME, run_drill  # noqa: PLC0415

    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    report = run_drill(case, work_dir, residents=residents, log=console.print)
    table = Table("確認項目", "結果", "詳細", title=f"訓練 ケース{case}")
    for c in report.checks:
        table.add_row(c.item, "[green]OK[/]" if c.ok else "[red]NG[/]", c.detail)
    console.print(table)
    times = Table("指標", "lgcloud", "seed 003")
    times.add_row("業務再開までの時間", f"{report.resume_s:.1f} 秒", SEED_RESUME[case])
    times.add_row(
        "確定済み処理の喪失", f"{report.lost_acknowledged} 件 ({report.rpo_s:.1f} 秒分)", "前日分"
    )
    for label, secs in report.outputs_s.items():
        times.add_row(f"{label}の発行", f"{secs:.2f} 秒", SEED_OUTPUT[case].get(label, ""))
    console.print(times)
    if not report.ok:
        raise typer.Exit(1)
