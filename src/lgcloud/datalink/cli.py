"""``lgcloud datalink …``: which other systems may pull which datasets and items (the token
is shown once), and revoking them."""

from __future__ import annotations

from typing import Annotated

import typer

from lgcloud.interface.commands import (
    DataDir,
    TownOpt,
    console,
    open_platform,
    operator_ctx,
    refused_as_exit,
)

app = typer.Typer(help="庁内データ連携: other systems' access to the pull API")


@app.command("add-client")
def add_client(
    town: TownOpt,
    name: Annotated[str, typer.Option("--name", help="the other system's name")],
    grant: Annotated[
        list[str],
        typer.Option("--grant", help="<dataset>=<item>,<item>… (repeat per dataset)"),
    ],
    data_dir: DataDir = None,
) -> None:
    """Allow a system to pull; prints its token once (store it in that system)."""
    from lgcloud.datalink.service import create_client  # noqa: PLC0415

    grants: dict[str, list[str]] = {}
    for g in grant:
        dataset, _, items = g.partition("=")
        grants[dataset.strip()] = [i.strip() for i in items.split(",") if i.strip()]
    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        token = create_client(t, operator_ctx(town, platform), name, grants)
    console.print(f"token (shown once): {token}", soft_wrap=True)


@app.command("list")
def list_clients(town: TownOpt, data_dir: DataDir = None) -> None:
    from lgcloud.datalink.datasets import DATASETS  # noqa: PLC0415
    from lgcloud.datalink.service import clients  # noqa: PLC0415

    platform = open_platform(data_dir)
    with refused_as_exit(), platform.read_town(town) as t:
        rows = clients(t)
    for c in rows:
        state = f"取消 {c.revoked_at:%Y-%m-%d}" if c.revoked_at else "有効"
        grants = "; ".join(f"{d}={','.join(i)}" for d, i in c.grants.items())
        console.print(f"{c.name}  {state}  {grants}")
    console.print("datasets: " + ", ".join(f"{d.name} ({d.label})" for d in DATASETS.values()))


@app.command("revoke")
def revoke(
    town: TownOpt, name: Annotated[str, typer.Option("--name")], data_dir: DataDir = None
) -> None:
    from lgcloud.datalink.service import revoke_client  # noqa: PLC0415

    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        revoke_client(t, operator_ctx(town, platform), name)
    console.print(f"{name} の連携を取り消しました")
