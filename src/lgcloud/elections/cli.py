"""``lgcloud election …``: the polling table, registration runs (preview, then fix), the
roll's files, the 入場券 as bulk notices, the juror draw, turnout. Each is attributed to the
operating-system user (interface/commands.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from lgcloud.core.clock import today_jst
from lgcloud.core.jobs import as_batch
from lgcloud.interface.commands import (
    DataDir,
    TownOpt,
    console,
    err,
    open_platform,
    operator_ctx,
    parse_date,
    refused_as_exit,
)

if TYPE_CHECKING:
    from lgcloud.elections import service

app = typer.Typer(help="選挙人名簿: the electoral roll")


@app.command("district")
def district_command(
    town: TownOpt,
    code: Annotated[str, typer.Option("--code", help="投票区の番号")],
    name: Annotated[str, typer.Option("--name")],
    place: Annotated[str, typer.Option("--place", help="投票所")] = "",
    data_dir: DataDir = None,
) -> None:
    """Add or rename a 投票区."""
    from lgcloud.elections import service  # noqa: PLC0415

    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        service.set_polling_district(t, operator_ctx(town, platform), code, name, place)
    console.print(f"投票区 {code} {name}")


@app.command("area")
def area_command(
    town: TownOpt,
    area: Annotated[str, typer.Option("--area", help="行政区 or 字 (address prefix)")],
    district: Annotated[str, typer.Option("--district", help="投票区の番号")],
    data_dir: DataDir = None,
) -> None:
    """Map a 行政区 or 字 to a 投票区."""
    from lgcloud.elections import service  # noqa: PLC0415

    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        service.set_polling_area(t, operator_ctx(town, platform), area, district)
    console.print(f"{area} → {district}")


RUN_STATUS = {
    "previewed": "プレビュー",
    "fixing": "確定の途中",
    "fixed": "確定済み",
    "discarded": "取消",
}


def _print_run(run: service.RunSummary) -> None:
    from lgcloud.elections.domain import REFUSAL_LABELS, Refusal  # noqa: PLC0415

    console.print(
        f"{run.code}  基準日 {run.reference_date}  登録日 {run.registration_date}  "
        f"登録 {run.to_register} 人  抹消 {run.to_strike} 人  状態: {RUN_STATUS[run.status]}",
        markup=False,
    )
    for reason, n in run.refused.items():
        console.print(f"  登録しない: {REFUSAL_LABELS[Refusal(reason)]} {n} 人", markup=False)
    if run.unassigned:
        listed = ", ".join(run.unassigned[:10])
        console.print(f"  投票区の決まらない方: {len(run.unassigned)} 人 ({listed})")


@app.command("preview")
def preview_command(
    town: TownOpt,
    reference_date: Annotated[
        str | None, typer.Option("--reference-date", help="定時登録の基準日 (YYYY-MM-DD)")
    ] = None,
    election: Annotated[str | None, typer.Option("--election", help="選挙時登録")] = None,
    data_dir: DataDir = None,
) -> None:
    """Preview a 定時登録 or 選挙時登録 (nothing is registered until ``fix``)."""
    from lgcloud.elections import service  # noqa: PLC0415

    as_batch()
    platform = open_platform(data_dir)
    with refused_as_exit():
        run = service.preview_registration(
            platform,
            operator_ctx(town, platform),
            reference_date=parse_date(reference_date, "reference-date"),
            election_code=election,
        )
    _print_run(run)


@app.command("fix")
def fix_command(
    town: TownOpt,
    run: Annotated[str, typer.Option("--run", help="the previewed run's code")],
    data_dir: DataDir = None,
) -> None:
    """Fix a previewed run: its people go on the roll (refused if the register changed)."""
    from lgcloud.elections import service  # noqa: PLC0415

    platform = open_platform(data_dir)
    with refused_as_exit():
        summary = service.fix_registration(platform, operator_ctx(town, platform), run)
    _print_run(summary)


@app.command("roll")
def roll_command(
    town: TownOpt,
    district: Annotated[str, typer.Option("--district", help="投票区の番号")],
    out: Annotated[Path, typer.Option("--out", help="a .pdf or .csv file")],
    extract: Annotated[bool, typer.Option("--extract", help="抄本 (閲覧用)")] = False,
    data_dir: DataDir = None,
) -> None:
    """Write the roll (or 抄本) of one 投票区 as PDF or CSV (audited)."""
    from lgcloud.elections import service  # noqa: PLC0415

    as_batch()
    platform = open_platform(data_dir)
    with refused_as_exit():
        body = service.export_roll(
            platform,
            operator_ctx(town, platform),
            polling_code=district,
            fmt=out.suffix.lstrip(".").lower(),
            extract=extract,
            as_of=today_jst(),
        )
    out.write_bytes(body)
    console.print(f"wrote {out}")


@app.command("tickets")
def tickets_command(
    town: TownOpt,
    election: Annotated[str, typer.Option("--election")],
    out_dir: Annotated[Path, typer.Option("--out-dir")],
    per_voter: Annotated[bool, typer.Option("--per-voter", help="one card per voter")] = False,
    per_file: Annotated[int, typer.Option("--per-file")] = 1000,
    data_dir: DataDir = None,
) -> None:
    """投票所入場券 for the whole roll as print-ready PDFs (a batch job)."""
    from lgcloud.elections import service  # noqa: PLC0415

    as_batch()
    platform = open_platform(data_dir)
    with refused_as_exit(), Progress(console=err, transient=True) as bar:
        task = bar.add_task("printing", total=None)
        result = service.issue_tickets(
            platform,
            operator_ctx(town, platform),
            election_code=election,
            per_household=not per_voter,
            out_dir=out_dir,
            today=today_jst(),
            per_file=per_file,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    for path in result.files:
        console.print(f"wrote {path}")
    console.print(f"{result.printed} 通（{len(result.files)} ファイル）")
    if result.set_aside:
        console.print(f"印刷できず処理待ちにしたもの: {len(result.set_aside)} 通")


@app.command("draw-jurors")
def draw_jurors_command(
    town: TownOpt,
    year: Annotated[int, typer.Option("--year")],
    count: Annotated[int, typer.Option("--count")],
    seed: Annotated[str | None, typer.Option("--seed", help="redraw a recorded draw")] = None,
    data_dir: DataDir = None,
) -> None:
    """裁判員候補者予定者 by lottery from the roll (the seed is printed and recorded)."""
    from lgcloud.elections import service  # noqa: PLC0415

    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        d = service.draw_jurors(t, operator_ctx(town, platform), year=year, count=count, seed=seed)
        console.print(f"seed {d.seed}  ({d.roll_size} on the roll)")
        for number in d.drawn:
            console.print(number)


@app.command("turnout")
def turnout_command(
    town: TownOpt, election: Annotated[str, typer.Option("--election")], data_dir: DataDir = None
) -> None:
    """投票者数 per 投票区 and hour."""
    from lgcloud.elections import queries  # noqa: PLC0415

    platform = open_platform(data_dir)
    with refused_as_exit(), platform.read_town(town) as t:
        rows = queries.turnout(t, queries.election(t, election))
    table = Table("投票区", "登録者", "投票者", "投票率", "時間別")
    for r in rows:
        hours = " ".join(f"{'期日前' if h < 0 else f'{h}時'}:{n}" for h, n in r.by_hour.items())
        table.add_row(r.polling_code, str(r.electors), str(r.voted), f"{r.rate:.1%}", hours)
    console.print(table)
