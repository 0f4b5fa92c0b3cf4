"""``lgcloud addressee …``: 住登外者 and 名寄せ from the command line (a migration's list of
former residents, owners and corporations comes in this way, one line each, or as CSV
through the interchange)."""

from __future__ import annotations

from typing import Annotated

import typer

from lgcloud.addressees.reasons import REASONS
from lgcloud.core.clock import today_jst
from lgcloud.core.errors import LgcloudError
from lgcloud.interface.commands import (
    DataDir,
    TownOpt,
    console,
    fail,
    open_platform,
    operator_ctx,
    parse_date,
    refused_as_exit,
)

app = typer.Typer(help="団体内統合宛名: 住登外者 and 名寄せ")


@app.command("add")
def add_command(
    town: TownOpt,
    name: Annotated[str, typer.Option("--name")],
    address: Annotated[str, typer.Option("--address")],
    reason: Annotated[str, typer.Option("--reason", help=" / ".join(REASONS))],
    kana: Annotated[str, typer.Option("--kana")] = "",
    birth_date: Annotated[str | None, typer.Option("--birth-date")] = None,
    corporate_number: Annotated[str | None, typer.Option("--corporate-number")] = None,
    postal_code: Annotated[str, typer.Option("--postal-code")] = "",
    data_dir: DataDir = None,
) -> None:
    """Register a 住登外者 (a corporation when --corporate-number or reason 法人)."""
    from pydantic import ValidationError  # noqa: PLC0415

    from lgcloud.addressees.domain import NonResidentIn  # noqa: PLC0415
    from lgcloud.addressees.service import register_non_resident  # noqa: PLC0415

    kind = "corporation" if corporate_number or reason == "法人" else "person"
    try:
        data = NonResidentIn(
            kind=kind,
            name=name,
            kana=kana,
            birth_date=parse_date(birth_date, "birth_date"),
            corporate_number=corporate_number,
            address=address,
            postal_code=postal_code,
            reason=reason,
        )
    except ValidationError as e:
        first = e.errors()[0]
        fail(LgcloudError(str(first["msg"]), field=str(first["loc"][0])))
        return
    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        number = register_non_resident(t, operator_ctx(town, platform), data, today=today_jst())
    console.print(f"宛名番号 {number} で登録しました")


@app.command("search")
def search_command(town: TownOpt, query: str, data_dir: DataDir = None) -> None:
    """Residents and 住登外者 by name, reading or number (an audited search)."""
    from lgcloud.addressees.queries import search_addressees  # noqa: PLC0415

    platform = open_platform(data_dir)
    with refused_as_exit(), platform.read_town(town) as t:
        found = search_addressees(t, query)
        t.audit(
            operator_ctx(town, platform),
            "search",
            subjects=[a.number for a in found],
            detail={"query": query, "scope": "addressees"},
        )
    for a in found:
        console.print(f"{a.number}  {a.label}  {a.name}  {a.address}")


@app.command("show")
def show_command(
    town: TownOpt, number: Annotated[str, typer.Option("--number")], data_dir: DataDir = None
) -> None:
    from lgcloud.addressees.queries import addressee  # noqa: PLC0415

    platform = open_platform(data_dir)
    with refused_as_exit(), platform.read_town(town) as t:
        a = addressee(t, number)
        t.audit(operator_ctx(town, platform), "view_addressee", subjects=[number])
    console.print(f"{a.number}  {a.label}  {a.name}（{a.kana}）  {a.address}")
    if a.reason:
        console.print(f"住登外の理由: {a.reason}")
    if a.linked:
        console.print(f"名寄せ: {', '.join(a.linked)}")


@app.command("link")
def link_command(
    town: TownOpt,
    non_resident: Annotated[str, typer.Option("--non-resident")],
    resident: Annotated[str, typer.Option("--resident")],
    reason: Annotated[str, typer.Option("--reason")],
    data_dir: DataDir = None,
) -> None:
    """名寄せ: the 住登外者 is the resident."""
    from lgcloud.addressees.service import link  # noqa: PLC0415

    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        link(t, operator_ctx(town, platform), non_resident, resident, reason)
    console.print(f"{non_resident} と {resident} を名寄せしました")


@app.command("unlink")
def unlink_command(
    town: TownOpt,
    non_resident: Annotated[str, typer.Option("--non-resident")],
    reason: Annotated[str, typer.Option("--reason")],
    data_dir: DataDir = None,
) -> None:
    """Undo a 名寄せ found wrong."""
    from lgcloud.addressees.service import unlink  # noqa: PLC0415

    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        unlink(t, operator_ctx(town, platform), non_resident, reason)
    console.print(f"{non_resident} の名寄せを解除しました")
