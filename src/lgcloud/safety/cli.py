"""``lgcloud safety …``: matching shelter evacuee lists against the register (安否確認)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lgcloud.core.errors import LgcloudError
from lgcloud.interface.commands import (
    DataDir,
    TownOpt,
    console,
    err,
    fail,
    open_platform,
    operator_ctx,
    parse_date,
)

app = typer.Typer(help="安否確認: match shelter evacuee lists against the resident register")


@app.callback()
def safety() -> None:
    """安否確認 (safety confirmation) after a disaster."""
    # a callback keeps ``match`` a sub-command even while it is the only command


@app.command("match")
def match_command(
    town: TownOpt,
    evacuees: Annotated[Path, typer.Argument(help="evacuees.csv (UTF-8 or Shift_JIS)")],
    out: Annotated[Path, typer.Option("--out", help="matches.csv to write")],
    encoding: Annotated[str | None, typer.Option(help="utf-8 or cp932 (default: detect)")] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="reference date YYYY-MM-DD (the disaster's; default today)"),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Match evacuees.csv against everyone the town's register knows (residents and
    former residents); write matches.csv."""
    from lgcloud.core.jobs import as_batch  # noqa: PLC0415
    from lgcloud.interchange.residents import ImportRefusedError  # noqa: PLC0415
    from lgcloud.safety.service import match_evacuees_in  # noqa: PLC0415

    as_batch()

    if not evacuees.is_file():
        err.print(f"[red]エラー:[/red] ファイルがありません: {evacuees}")
        raise typer.Exit(2)
    reference = parse_date(as_of, "as_of")
    platform = open_platform(data_dir)
    try:
        # matched in a read-only transaction: the town's clerks keep working meanwhile
        report = match_evacuees_in(
            platform,
            town,
            operator_ctx(town, platform),
            evacuees,
            out,
            encoding=encoding,
            today=reference,
        )
    except ImportRefusedError as e:
        err.print(f"[red]受け付けられません:[/red] {e.message}")
        raise typer.Exit(2) from e
    except LgcloudError as e:
        fail(e)
        return
    table = Table("判定", "件数")
    for verdict, n in report.counts.items():
        table.add_row(verdict, str(n))
    table.add_row("計", str(report.rows))
    console.print(table)
    if report.standings:
        console.print("住民でない人との一致 (転出済・死亡など):", markup=False)
        for receipt, number, standing in report.standings:
            console.print(f"  受付番号 {receipt}: 宛名番号 {number} {standing}", markup=False)
    for receipt, note in report.notes:
        console.print(f"受付番号 {receipt}: {note}")
    console.print(f"wrote {report.rows} rows to {out}")
