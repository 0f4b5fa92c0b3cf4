"""Hosting: onboarding towns, listing them, synthetic towns, the server and the demo."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lgcloud import settings
from lgcloud.cli.serving import serve_centre
from lgcloud.core.errors import LgcloudError
from lgcloud.interface.commands import (
    DataDir,
    TownOpt,
    console,
    err,
    fail,
    open_platform,
    refused_as_exit,
)

app = typer.Typer()


@app.command("init-town")
def init_town(
    code: str, name: str, kana: str = "", prefecture: str = "", data_dir: DataDir = None
) -> None:
    """Onboard a town: validate its code and create its database."""
    from lgcloud.onboarding import onboard_town  # noqa: PLC0415

    try:
        t = onboard_town(open_platform(data_dir), code, name, kana=kana, prefecture=prefecture)
    except (LgcloudError, ValueError) as e:
        fail(e if isinstance(e, LgcloudError) else LgcloudError(str(e)))
        return
    console.print(f"created {t.code} {t.name}: {t.database_url}")


@app.command("towns")
def towns(data_dir: DataDir = None) -> None:
    """List hosted towns."""
    table = Table("code", "name", "database")
    for t in open_platform(data_dir).towns():
        table.add_row(t.code, t.name, t.database_url)
    console.print(table)


@app.command("generate")
def generate(
    town: TownOpt,
    residents: Annotated[int, typer.Option(help="number of current residents")] = 1000,
    seed: Annotated[int, typer.Option(help="random seed: same seed, same town")] = 1,
    name: Annotated[str, typer.Option(help="town name, if the town is new")] = "",
    today: Annotated[str, typer.Option(help="reference date YYYY-MM-DD (default: today)")] = "",
    data_dir: DataDir = None,
) -> None:
    """Generate a realistic synthetic town (creates the town if needed)."""
    from lgcloud.generate.town import generate_town  # noqa: PLC0415  (heavy import, CLI only)

    platform = open_platform(data_dir)
    with refused_as_exit():
        summary = generate_town(
            platform,
            town,
            residents=residents,
            seed=seed,
            name=name or None,
            today=date.fromisoformat(today) if today else None,
            progress=True,
        )
    console.print(summary.describe())


@app.command("serve")
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    data_dir: DataDir = None,
    sites: Annotated[
        Path | None, typer.Option(help="sites file: run as the centre and ship to the nodes")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="server processes on the one port (one per core; docs/scaling.md)",
        ),
    ] = 1,
) -> None:
    """Run the web server for the towns in the data directory (beyond this machine only
    with LGCLOUD_PUBLIC_URL, the address certificates print)."""
    import uvicorn  # noqa: PLC0415

    refusal = settings.require_public_url(host)
    if refusal:
        err.print(refusal, markup=False)
        raise typer.Exit(2)

    from lgcloud.web.app import create_app, serve_processes, tune_server_process  # noqa: PLC0415

    tune_server_process()
    if sites is not None:
        serve_centre(open_platform(data_dir), sites, host, port, workers=workers)
        return
    if workers > 1:
        serve_processes(data_dir or settings.data_dir(), host, port, workers)
        return
    uvicorn.run(create_app(open_platform(data_dir)), host=host, port=port, log_level="warning")


@app.command("demo")
def demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    data_dir: Annotated[Path, typer.Option(help="demo data (recreated)")] = Path("var/demo"),
    seed: int = 2026,
    serve_: Annotated[bool, typer.Option("--serve/--no-serve")] = True,
) -> None:
    """Generate the three towns of seed 003 with clerks and start the server."""
    from lgcloud.demo import run_demo  # noqa: PLC0415

    run_demo(data_dir=data_dir, host=host, port=port, seed=seed, serve=serve_, console=console)
