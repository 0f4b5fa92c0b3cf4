"""Standard layouts: ``lgcloud export …`` and ``lgcloud import …`` (batch priority)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from lgcloud.core.errors import LgcloudError
from lgcloud.core.jobs import as_batch
from lgcloud.interface.commands import (
    DataDir,
    TownOpt,
    console,
    err,
    fail,
    open_platform,
    operator_ctx,
    refused_as_exit,
)

export_app = typer.Typer(help="Export a town's data in the standard layouts (docs/interchange.md)")
if TYPE_CHECKING:
    from lgcloud.interchange.codec import Cp932Variant

#: codec.CP932_VARIANTS, named here so that ``--help`` does not load the codec
CP932_VARIANTS = ("ibm", "nec", "jis")

import_app = typer.Typer(help="Import data in the standard layouts (docs/interchange.md)")


@export_app.callback()
@import_app.callback()
def _batch_priority() -> None:
    # exports and imports are batch work: they yield the CPU to the counter
    as_batch()


CP932_HELP = (
    "cp932 codes where Shift_JIS has two: ibm (as Windows writes them, 髙 FBFC), nec "
    "(NEC-selected, 髙 EEE0) or jis (JIS X 0208 only; every other character to gaiji.csv)"
)


def _variant(value: str) -> Cp932Variant:
    if value not in CP932_VARIANTS:
        err.print(f"--cp932 は {', '.join(CP932_VARIANTS)} のいずれかです: {value}", markup=False)
        raise typer.Exit(2)
    return cast("Cp932Variant", value)


@export_app.command("residents")
def export_residents_command(
    town: TownOpt,
    out: Annotated[Path, typer.Option(help="residents.csv to write")],
    encoding: Annotated[
        str, typer.Option(help="utf-8 or cp932 (Shift_JIS as Windows writes it)")
    ] = "utf-8",
    gaiji: Annotated[Path | None, typer.Option(help="gaiji.csv to write (cp932)")] = None,
    cp932: Annotated[str, typer.Option(help=CP932_HELP)] = "ibm",
    data_dir: DataDir = None,
) -> None:
    """Export every person (current and removed) as residents.csv (one consistent snapshot,
    no write lock; a progress bar on stderr)."""
    from rich.progress import Progress  # noqa: PLC0415

    from lgcloud.interchange.residents import export_residents  # noqa: PLC0415

    if encoding == "cp932" and gaiji is None:
        gaiji = out.with_name("gaiji.csv")
    platform = open_platform(data_dir)
    with (
        refused_as_exit(),
        Progress(console=err, transient=True) as bar,
        platform.read_town(town) as t,
        out.open("wb") as f,
    ):
        task = bar.add_task(f"exporting {out.name}", total=None)
        gaiji_file = gaiji.open("w", encoding="utf-8", newline="") if gaiji else None
        try:
            n = export_residents(
                t,
                operator_ctx(town, platform),
                f,
                encoding=encoding,
                gaiji_out=gaiji_file,
                on_progress=lambda rows: bar.update(task, completed=rows),
                cp932_variant=_variant(cp932),
            )
        finally:
            if gaiji_file:
                gaiji_file.close()
    console.print(f"wrote {n} rows to {out}" + (f" (外字表 {gaiji})" if gaiji else ""))


@export_app.command("victim-support")
def export_victim_support_command(
    town: TownOpt,
    out_dir: Annotated[Path, typer.Option(help="folder for data_d0101.csv, data_d0301.csv, …")],
    data_dir: DataDir = None,
) -> None:
    """Set-up files for a disaster victim support system (Shift_JIS, no quoting)."""
    from lgcloud.interchange.victim_support import export_victim_support  # noqa: PLC0415

    platform = open_platform(data_dir)
    with platform.read_town(town) as t:
        report = export_victim_support(t, operator_ctx(town, platform), out_dir)
    for name, rows in report.files.items():
        console.print(f"{out_dir / name}: {rows} rows")
    console.print(
        f"{len(report.replacements)} characters replaced for Shift_JIS "
        f"(listed in {out_dir / 'replacements.csv'})"
    )


@export_app.command("layouts")
def export_layouts_command(
    town: TownOpt,
    out_dir: Annotated[
        Path, typer.Option(help="folder for resident_taxes.csv, installments.csv, …")
    ],
    encoding: Annotated[
        str,
        typer.Option(
            help="utf-8 or cp932 (Shift_JIS as Windows writes it, with one gaiji.csv for "
            "all the files)"
        ),
    ] = "utf-8",
    cp932: Annotated[str, typer.Option(help=CP932_HELP)] = "ibm",
    data_dir: DataDir = None,
) -> None:
    """Taxes, installments, payments, NHI and seals in the standard layouts (one consistent
    snapshot, no write lock; a progress bar on stderr)."""
    from rich.progress import Progress  # noqa: PLC0415

    from lgcloud.interchange.layouts import GAIJI_CSV, ORDER, export_all  # noqa: PLC0415

    platform = open_platform(data_dir)
    with (
        refused_as_exit(),
        Progress(console=err, transient=True) as bar,
        platform.read_town(town) as t,
    ):
        task = bar.add_task("exporting layouts", total=len(ORDER))
        counts = export_all(
            t,
            operator_ctx(town, platform),
            out_dir,
            encoding=encoding,
            on_progress=lambda _name, _rows: bar.advance(task),
            cp932_variant=_variant(cp932),
        )
    for name, rows in counts.items():
        console.print(f"{out_dir / (name + '.csv')}: {rows} rows ({encoding})")
    if encoding == "cp932":
        console.print(f"外字表: {out_dir / GAIJI_CSV}")


def _rows_in(path: Path) -> int:
    """A CSV file's rows for a progress bar: its lines less the header, roughly."""
    with path.open("rb") as data:
        lines = sum(c.count(b"\n") for c in iter(lambda: data.read(1 << 20), b""))
    return max(lines - 1, 1)


@import_app.command("layouts")
def import_layouts_command(
    town: TownOpt,
    in_dir: Annotated[
        Path, typer.Option(help="folder with the layout files (after residents.csv)")
    ],
    encoding: Annotated[
        str | None, typer.Option(help="utf-8 or cp932 for every file (default: detected per file)")
    ] = None,
    gaiji: Annotated[
        Path | None,
        typer.Option(help="gaiji.csv for user-defined characters (default: IN_DIR/gaiji.csv)"),
    ] = None,
    partial: Annotated[bool, typer.Option(help="import valid rows, list the others")] = False,
    rejected: Annotated[Path, typer.Option(help="where rejected rows are listed")] = Path(
        "rejected.csv"
    ),
    data_dir: DataDir = None,
) -> None:
    """Import every layout file present in ``in_dir``, in dependency order: all checked
    before any is written (nothing is written if one is refused) unless --partial, then
    written in short transactions that never stall the town's counter."""
    from rich.progress import Progress, TaskID  # noqa: PLC0415

    from lgcloud.interchange.codec import GaijiTable, normalize_encoding  # noqa: PLC0415
    from lgcloud.interchange.layouts import GAIJI_CSV, ORDER, import_layouts  # noqa: PLC0415
    from lgcloud.interchange.residents import Rejection, write_rejections  # noqa: PLC0415

    refused: list[Rejection] = []

    if gaiji is not None and not gaiji.is_file():
        err.print(f"[red]エラー:[/red] 外字表がありません: {gaiji}")
        raise typer.Exit(2)
    gaiji_path = gaiji or (in_dir / GAIJI_CSV if (in_dir / GAIJI_CSV).is_file() else None)
    platform = open_platform(data_dir)
    files = [(name, in_dir / f"{name}.csv") for name in ORDER if (in_dir / f"{name}.csv").exists()]
    lines: list[str] = []
    with refused_as_exit():
        forced = normalize_encoding(encoding) if encoding else None
        table = GaijiTable.load(gaiji_path) if gaiji_path is not None else None
        with Progress(console=err, transient=True) as bar:
            tasks: dict[tuple[str, str], TaskID] = {}
            totals: dict[str, int] = {}  # a file's rows, counted once for both passes

            def advance(stage: str, name: str, rows: int) -> None:
                task = tasks.get((stage, name))
                if task is None:
                    path = in_dir / f"{name}.csv"
                    if name not in totals:
                        totals[name] = _rows_in(path)
                    verb = "checking" if stage == "check" else "importing"
                    task = tasks[stage, name] = bar.add_task(
                        f"{verb} {path.name}", total=totals[name]
                    )
                bar.update(task, completed=rows)

            # checked whole first (nothing written if any file is refused), then written in
            # short transactions
            results = import_layouts(
                platform,
                operator_ctx(town, platform),
                files,
                partial=partial,
                encoding=forced,
                gaiji=table,
                on_progress=advance,
            )
        for (_, path), (imported, unchanged, bad) in zip(files, results, strict=True):
            refused += [Rejection(r.row, f"{path.name}:{r.column}", r.reason) for r in bad]
            lines.append(
                f"{path.name}: {imported} imported, {unchanged} already stored, {len(bad)} rejected"
            )
    for line in lines:
        console.print(line)
    if refused:
        with rejected.open("w", encoding="utf-8", newline="") as f:
            write_rejections(refused, f)
        console.print(f"rejected rows listed in {rejected}")


@import_app.command("residents")
def import_residents_command(
    town: TownOpt,
    file: Annotated[Path, typer.Argument(help="residents.csv")],
    encoding: Annotated[str | None, typer.Option(help="utf-8 or cp932 (default: detected)")] = None,
    gaiji: Annotated[
        Path | None, typer.Option(help="gaiji.csv for user-defined characters")
    ] = None,
    partial: Annotated[
        bool, typer.Option(help="import valid rows, write the others to --rejected")
    ] = False,
    rejected: Annotated[Path, typer.Option(help="where rejected rows are listed")] = Path(
        "rejected.csv"
    ),
    strict: Annotated[
        bool, typer.Option(help="refuse residents whose names no installed font prints")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Import residents.csv: all or nothing by default; the same file twice changes nothing."""
    from rich.progress import Progress  # noqa: PLC0415

    from lgcloud.interchange.residents import (  # noqa: PLC0415
        ImportRefusedError,
        import_residents,
        write_rejections,
    )

    if not file.is_file():
        err.print(f"[red]エラー:[/red] ファイルがありません: {file}")
        raise typer.Exit(2)
    platform = open_platform(data_dir)
    try:
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task(f"importing {file.name}", total=None)
            result = import_residents(
                platform,
                operator_ctx(town, platform),
                file,
                encoding=encoding,
                gaiji_path=gaiji,
                partial=partial,
                on_progress=lambda n: bar.update(task, completed=n),
                strict=strict,
            )
    except ImportRefusedError as e:
        if e.rejections:
            with rejected.open("w", encoding="utf-8", newline="") as f:
                write_rejections(e.rejections, f)
            err.print(f"(誤りの一覧: {rejected})")
        fail(e)
        return
    except LgcloudError as e:
        fail(e)
        return
    if result.rejected:
        with rejected.open("w", encoding="utf-8", newline="") as f:
            write_rejections(result.rejected, f)
    console.print(
        f"{file.name} ({result.encoding}): {result.rows} rows, {result.imported} imported, "
        f"{result.unchanged} already stored, {len(result.rejected)} rejected"
        + (f" (listed in {rejected})" if result.rejected else "")
    )
    for u in result.unprintable:
        err.print(f"警告: {u.row} 行目 {u.column}: {u.reason}", markup=False)
    if result.unprintable:
        err.print(
            f"印字できない文字のある住民: {len(result.unprintable)} 件 (取り込みました。"
            f"lgcloud gaiji report --town {town} で一覧、--strict で取り込まずに止めます)",
            markup=False,
        )
    if result.shared_across_towns:
        console.print(
            f"住民票コード・個人番号が他の団体と重複: {result.shared_across_towns} 人 "
            "(両団体の住民記録の処理待ちに追加しました)",
            markup=False,
        )
