"""Clerk accounts: ``lgcloud clerk …``."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from lgcloud.auth.roles import Role
from lgcloud.interface.commands import (
    DataDir,
    TownOpt,
    console,
    open_platform,
    operator_ctx,
    refused_as_exit,
)

clerk_app = typer.Typer(help="Clerk accounts")


@clerk_app.command("add")
def clerk_add(
    town: TownOpt,
    staff_number: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    role: Annotated[list[Role], typer.Option(help="repeat for several roles")],
    pin: Annotated[str | None, typer.Option(help="PIN for quick switch (4-8 digits)")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a clerk; the password is read from LGCLOUD_PASSWORD or asked for."""
    import os  # noqa: PLC0415

    from lgcloud.auth import service as auth_service  # noqa: PLC0415

    password = os.environ.get("LGCLOUD_PASSWORD") or getpass.getpass("password: ")
    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        c = auth_service.create_clerk(
            t,
            operator_ctx(town, platform),
            staff_number=staff_number,
            name=name,
            roles=set(role),
            password=password,
            pin=pin,
        )
    console.print(f"created clerk {c.staff_number} {c.name} roles={sorted(c.roles)}")


@clerk_app.command("unlock")
def clerk_unlock(town: TownOpt, staff_number: str, data_dir: DataDir = None) -> None:
    """Lift a lockout."""
    from lgcloud.auth import service as auth_service  # noqa: PLC0415

    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        auth_service.unlock(t, operator_ctx(town, platform), staff_number)
