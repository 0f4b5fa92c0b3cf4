"""``lgcloud params …``: the dated legal parameters of a town, as of a date, and setting a
new value from a date (audited, attributed to the operating-system user)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from lgcloud.core.clock import today_jst
from lgcloud.interface.commands import (
    DataDir,
    TownOpt,
    console,
    open_platform,
    operator_ctx,
    parse_date,
    refused_as_exit,
)

app = typer.Typer(help="Dated legal parameters (年齢・金額・率・期限) with their source")
KeyOpt = Annotated[
    str, typer.Option("--key", help="e.g. seals.min_age (see `lgcloud params list`)")
]


@app.command("list")
def list_command(
    town: TownOpt,
    on: Annotated[str | None, typer.Option("--on", help="YYYY-MM-DD (default: today)")] = None,
    data_dir: DataDir = None,
) -> None:
    """Every parameter's value on a day, with its source."""
    from lgcloud.parameters.queries import all_parameters_on  # noqa: PLC0415
    from lgcloud.parameters.registry import declared  # noqa: PLC0415

    day = parse_date(on, "on") or today_jst()
    platform = open_platform(data_dir)
    with refused_as_exit(), platform.read_town(town) as t:
        params = all_parameters_on(t, day)
    table = Table("key", "名称", "値", "根拠", title=f"{town} {day.isoformat()} 現在")
    for spec in declared():
        table.add_row(spec.key, spec.label, str(params.values[spec.key]), params.sources[spec.key])
    console.print(table)


@app.command("show")
def show_command(town: TownOpt, key: KeyOpt, data_dir: DataDir = None) -> None:
    """A parameter's values over time, shipped and the town's own."""
    from lgcloud.parameters.queries import timeline  # noqa: PLC0415
    from lgcloud.parameters.registry import spec_of  # noqa: PLC0415

    platform = open_platform(data_dir)
    with refused_as_exit(), platform.read_town(town) as t:
        spec = spec_of(key)
        entries = timeline(t, key)
    table = Table("適用開始", "適用終了", "値", "根拠", "設定", title=f"{spec.label}（{key}）")
    for e in entries:
        table.add_row(
            e.effective_from.isoformat(),
            e.effective_to.isoformat() if e.effective_to else "",
            e.value,
            e.source,
            "町村" if e.by_operator else "標準",
        )
    console.print(table)


@app.command("set")
def set_command(
    town: TownOpt,
    key: KeyOpt,
    value: Annotated[str, typer.Option("--value")],
    effective_from: Annotated[str, typer.Option("--from", help="YYYY-MM-DD, today or later")],
    source: Annotated[str, typer.Option("--source", help="根拠: law and article, ordinance")],
    reason: Annotated[str, typer.Option("--reason", help="理由")],
    effective_to: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD (exclusive)")] = None,
    data_dir: DataDir = None,
) -> None:
    """Set a parameter's value from a date (audited as parameter_set)."""
    from lgcloud.parameters.service import set_parameter  # noqa: PLC0415

    start = parse_date(effective_from, "effective_from")
    assert start is not None
    end = parse_date(effective_to, "effective_to")
    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        set_parameter(
            t,
            operator_ctx(town, platform),
            key,
            value,
            effective_from=start,
            effective_to=end,
            today=today_jst(),
            source=source,
            reason=reason,
        )
    console.print(f"{key} = {value}（{start.isoformat()} から）")
