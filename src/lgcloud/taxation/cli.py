"""``lgcloud tax …``: taxation's commands (the bulk 納税通知書)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from lgcloud.core.clock import today_jst
from lgcloud.core.jobs import as_batch
from lgcloud.interface.commands import (
    DataDir,
    TownOpt,
    console,
    err,
    open_platform,
    operator_ctx,
    refused_as_exit,
)
from lgcloud.taxation.labels import TAX_LABELS

app = typer.Typer(help="税務: taxes")


@app.command("notices")
def notices_command(
    town: TownOpt,
    fiscal_year: Annotated[int, typer.Option("--fiscal-year")],
    out_dir: Annotated[Path, typer.Option("--out-dir")],
    tax: Annotated[str, typer.Option("--tax", help=" / ".join(TAX_LABELS))] = "resident",
    sort_by: Annotated[str, typer.Option("--sort", help="postal_code / district")] = "postal_code",
    per_file: Annotated[int, typer.Option("--per-file")] = 500,
    data_dir: DataDir = None,
) -> None:
    """納税通知書 for every taxpayer of a tax and year, as print-ready PDFs (a batch job)."""
    from lgcloud.notices.service import issue_notices  # noqa: PLC0415
    from lgcloud.taxation.notices import tax_notices  # noqa: PLC0415

    as_batch()
    if tax not in TAX_LABELS:
        raise typer.BadParameter(f"--tax is one of {', '.join(TAX_LABELS)}")
    platform = open_platform(data_dir)
    today = today_jst()
    with refused_as_exit():
        with platform.read_town(town) as t:
            notices = tax_notices(t, tax, fiscal_year, today)
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("printing", total=None)
            result = issue_notices(
                platform,
                operator_ctx(town, platform),
                area="taxation",
                kind=f"tax_notice_{tax}",
                title=f"{fiscal_year}年度 {TAX_LABELS[tax]} 納税通知書",
                notices=notices,
                sort_by=sort_by,
                per_file=per_file,
                out_dir=out_dir,
                today=today,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    for path in result.files:
        console.print(f"wrote {path}")
    console.print(f"{result.printed} 通（{len(result.files)} ファイル）")
    if result.set_aside:
        console.print(f"印刷できず処理待ちにしたもの: {len(result.set_aside)} 通")
