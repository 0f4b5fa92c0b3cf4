"""The ``lgcloud`` command (Typer)."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.table import Table

from lgcloud import settings
from lgcloud.audit import service as audit_service
from lgcloud.auth import service as auth_service
from lgcloud.auth.roles import Role
from lgcloud.continuity_cli import continuity_app, drill_command, node_app, serve_centre
from lgcloud.core.context import Actor, RequestContext
from lgcloud.core.errors import LgcloudError
from lgcloud.core.jobs import as_batch
from lgcloud.core.logging import configure_logging
from lgcloud.onboarding import onboard_town
from lgcloud.register.domain import LifeEvent
from lgcloud.register.service import record_event
from lgcloud.safety_cli import safety_app
from lgcloud.tenancy.platform import Platform

app = typer.Typer(help="lgcloud 自治体クラウド: shared municipal core system", no_args_is_help=True)
audit_app = typer.Typer(help="Audit trail: verify the chain, answer investigation questions")
clerk_app = typer.Typer(help="Clerk accounts")
app.add_typer(audit_app, name="audit")
app.add_typer(clerk_app, name="clerk")
app.add_typer(continuity_app, name="continuity")
app.add_typer(node_app, name="node")
app.add_typer(safety_app, name="safety")
app.command("drill")(drill_command)
console = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="default: $LGCLOUD_DATA_DIR or ./var")
]
TownOpt = Annotated[str, typer.Option("--town", help="団体コード (6 digits)")]


@app.callback()
def _main(ctx: typer.Context) -> None:
    """Every command's platform handle is closed when the command ends (its audit writers
    stopped, its connections returned: a PostgreSQL server's are not left to the GC)."""
    ctx.call_on_close(_close_platforms)


_opened: list[Platform] = []


def _close_platforms() -> None:
    while _opened:
        _opened.pop().dispose()


def _platform(data_dir: Path | None) -> Platform:
    platform = Platform(
        data_dir or settings.data_dir(),
        node=settings.node_name(),
        database_url=settings.database_url(),
    )
    _opened.append(platform)
    return platform


def operator_ctx(town_code: str, platform: Platform) -> RequestContext:
    """CLI actions are attributed to the operating-system user who ran them."""
    user = getpass.getuser()
    return RequestContext(
        town_code,
        Actor(None, f"operator:{user}", ""),
        node=platform.node,
        mode=platform.mode_of(town_code)[0],
    )


def _fail(e: LgcloudError) -> None:
    err.print(f"[red]エラー:[/red] {e.message}" + (f" (項目: {e.field})" if e.field else ""))
    raise typer.Exit(2)


@app.command("init-town")
def init_town(
    code: str, name: str, kana: str = "", prefecture: str = "", data_dir: DataDir = None
) -> None:
    """Onboard a town: validate its code and create its database."""
    try:
        t = onboard_town(_platform(data_dir), code, name, kana=kana, prefecture=prefecture)
    except (LgcloudError, ValueError) as e:
        _fail(e if isinstance(e, LgcloudError) else LgcloudError(str(e)))
        return
    console.print(f"created {t.code} {t.name}: {t.database_url}")


@app.command("towns")
def towns(data_dir: DataDir = None) -> None:
    """List hosted towns."""
    table = Table("code", "name", "database")
    for t in _platform(data_dir).towns():
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

    platform = _platform(data_dir)
    try:
        summary = generate_town(
            platform,
            town,
            residents=residents,
            seed=seed,
            name=name or None,
            today=date.fromisoformat(today) if today else None,
            progress=True,
        )
    except LgcloudError as e:
        _fail(e)
        return
    console.print(summary.describe())


@app.command("event")
def event(
    town: TownOpt,
    file: Annotated[Path, typer.Argument(help="JSON life event, or - for stdin")],
    data_dir: DataDir = None,
) -> None:
    """Record one life event (JSON as in the API's /api/events)."""
    raw = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    try:
        ev = TypeAdapter(LifeEvent).validate_python(json.loads(raw))
    except (ValidationError, json.JSONDecodeError) as e:
        err.print(f"[red]入力エラー:[/red] {e}")
        raise typer.Exit(2) from e
    platform = _platform(data_dir)
    try:
        with platform.town(town) as t:
            result = record_event(t, operator_ctx(town, platform), ev)
    except LgcloudError as e:
        _fail(e)
        return
    console.print_json(data={"event_id": result.event_id, "subjects": list(result.subjects)})


def _option_value(text: str) -> object:
    lowered = text.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    return int(text) if text.isdigit() else text


@app.command("issue")
def issue(
    town: TownOpt,
    kind: Annotated[
        str,
        typer.Option(
            help="resident, income_tax, tax_payment, nhi_card, nhi_notice, seal, all_residents"
        ),
    ],
    out: Annotated[Path, typer.Option(help="where to write the PDF")],
    person: Annotated[str | None, typer.Option(help="宛名番号 (not for all_residents)")] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(help="key=value, e.g. fiscal_year=2026, include_honseki=true"),
    ] = None,
    base_url: Annotated[
        str, typer.Option(help="public URL printed in the QR code")
    ] = "http://127.0.0.1:8000",
    data_dir: DataDir = None,
) -> None:
    """Issue a certificate as PDF (recorded in the issuance history and the audit trail)."""
    from lgcloud.certificates.service import CertificateKind, issue_certificate  # noqa: PLC0415

    try:
        cert_kind = CertificateKind(kind)
    except ValueError:
        err.print(f"[red]エラー:[/red] 証明書の種類が不明です: {kind}")
        raise typer.Exit(2) from None
    options: dict[str, object] = {}
    for item in option or []:
        key, sep, value = item.partition("=")
        if not sep:
            err.print(f"[red]エラー:[/red] option は key=value です: {item}")
            raise typer.Exit(2)
        options[key] = _option_value(value)
    platform = _platform(data_dir)
    try:
        cert = issue_certificate(
            platform,
            operator_ctx(town, platform),
            cert_kind,
            addressee_number=person,
            options=options,
            base_url=base_url,
        )
    except (LgcloudError, ValidationError) as e:
        _fail(e if isinstance(e, LgcloudError) else LgcloudError(str(e)))
        return
    out.write_bytes(cert.pdf)
    console.print(
        f"{out}: {cert.pages} page(s), {cert.issue_number}, 照合番号 {cert.verification_code}"
    )


@app.command("all-residents-csv")
def all_residents_csv_command(
    town: TownOpt,
    out: Annotated[Path, typer.Option(help="CSV file to write")],
    data_dir: DataDir = None,
) -> None:
    """全住民一覧 as CSV (UTF-8 with BOM), audited as an export."""
    from lgcloud.certificates.service import all_residents_csv  # noqa: PLC0415

    as_batch()
    platform = _platform(data_dir)
    out.write_bytes(all_residents_csv(platform, operator_ctx(town, platform)))
    console.print(f"wrote {out}")


export_app = typer.Typer(help="Export a town's data in the standard layouts (docs/interchange.md)")
import_app = typer.Typer(help="Import data in the standard layouts (docs/interchange.md)")
app.add_typer(export_app, name="export")
app.add_typer(import_app, name="import")


@export_app.callback()
@import_app.callback()
def _batch_priority() -> None:
    # exports and imports are batch work: they yield the CPU to the counter
    as_batch()


@export_app.command("residents")
def export_residents_command(
    town: TownOpt,
    out: Annotated[Path, typer.Option(help="residents.csv to write")],
    encoding: Annotated[
        str, typer.Option(help="utf-8 or cp932 (Shift_JIS as Windows writes it)")
    ] = "utf-8",
    gaiji: Annotated[Path | None, typer.Option(help="gaiji.csv to write (cp932)")] = None,
    data_dir: DataDir = None,
) -> None:
    """Export every person (current and removed) as residents.csv (one consistent snapshot,
    no write lock; a progress bar on stderr)."""
    from rich.progress import Progress  # noqa: PLC0415

    from lgcloud.interchange.residents import export_residents  # noqa: PLC0415

    if encoding == "cp932" and gaiji is None:
        gaiji = out.with_name("gaiji.csv")
    platform = _platform(data_dir)
    try:
        with (
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
                )
            finally:
                if gaiji_file:
                    gaiji_file.close()
    except LgcloudError as e:
        _fail(e)
        return
    console.print(f"wrote {n} rows to {out}" + (f" (外字表 {gaiji})" if gaiji else ""))


@export_app.command("victim-support")
def export_victim_support_command(
    town: TownOpt,
    out_dir: Annotated[Path, typer.Option(help="folder for data_d0101.csv, data_d0301.csv, …")],
    data_dir: DataDir = None,
) -> None:
    """Set-up files for a disaster victim support system (Shift_JIS, no quoting)."""
    from lgcloud.interchange.victim_support import export_victim_support  # noqa: PLC0415

    platform = _platform(data_dir)
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
    data_dir: DataDir = None,
) -> None:
    """Taxes, installments, payments, NHI and seals in the standard layouts (one consistent
    snapshot, no write lock; a progress bar on stderr)."""
    from rich.progress import Progress  # noqa: PLC0415

    from lgcloud.interchange.layouts import GAIJI_CSV, ORDER, export_all  # noqa: PLC0415

    platform = _platform(data_dir)
    try:
        with Progress(console=err, transient=True) as bar, platform.read_town(town) as t:
            task = bar.add_task("exporting layouts", total=len(ORDER))
            counts = export_all(
                t,
                operator_ctx(town, platform),
                out_dir,
                encoding=encoding,
                on_progress=lambda _name, _rows: bar.advance(task),
            )
    except LgcloudError as e:
        _fail(e)
        return
    for name, rows in counts.items():
        console.print(f"{out_dir / (name + '.csv')}: {rows} rows ({encoding})")
    if encoding == "cp932":
        console.print(f"外字表: {out_dir / GAIJI_CSV}")


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
    platform = _platform(data_dir)
    files = [(name, in_dir / f"{name}.csv") for name in ORDER if (in_dir / f"{name}.csv").exists()]
    lines: list[str] = []
    try:
        forced = normalize_encoding(encoding) if encoding else None
        table = GaijiTable.load(gaiji_path) if gaiji_path is not None else None
        with Progress(console=err, transient=True) as bar:
            tasks: dict[tuple[str, str], TaskID] = {}

            def advance(stage: str, name: str, rows: int) -> None:
                task = tasks.get((stage, name))
                if task is None:
                    path = in_dir / f"{name}.csv"
                    with path.open("rb") as data:  # lines, less the header: the rows, roughly
                        total = sum(c.count(b"\n") for c in iter(lambda: data.read(1 << 20), b""))
                    verb = "checking" if stage == "check" else "importing"
                    task = tasks[stage, name] = bar.add_task(
                        f"{verb} {path.name}", total=max(total - 1, 1)
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
    except LgcloudError as e:
        _fail(e)
        return
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
    platform = _platform(data_dir)
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
            )
    except ImportRefusedError as e:
        if e.rejections:
            with rejected.open("w", encoding="utf-8", newline="") as f:
                write_rejections(e.rejections, f)
            err.print(f"(誤りの一覧: {rejected})")
        _fail(e)
        return
    except LgcloudError as e:
        _fail(e)
        return
    if result.rejected:
        with rejected.open("w", encoding="utf-8", newline="") as f:
            write_rejections(result.rejected, f)
    console.print(
        f"{file.name} ({result.encoding}): {result.rows} rows, {result.imported} imported, "
        f"{result.unchanged} already stored, {len(result.rejected)} rejected"
        + (f" (listed in {rejected})" if result.rejected else "")
    )


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

    password = os.environ.get("LGCLOUD_PASSWORD") or getpass.getpass("password: ")
    platform = _platform(data_dir)
    try:
        with platform.town(town) as t:
            c = auth_service.create_clerk(
                t,
                operator_ctx(town, platform),
                staff_number=staff_number,
                name=name,
                roles=set(role),
                password=password,
                pin=pin,
            )
    except LgcloudError as e:
        _fail(e)
        return
    console.print(f"created clerk {c.staff_number} {c.name} roles={sorted(c.roles)}")


@clerk_app.command("unlock")
def clerk_unlock(town: TownOpt, staff_number: str, data_dir: DataDir = None) -> None:
    """Lift a lockout."""
    platform = _platform(data_dir)
    try:
        with platform.town(town) as t:
            auth_service.unlock(t, operator_ctx(town, platform), staff_number)
    except LgcloudError as e:
        _fail(e)


@audit_app.command("verify")
def audit_verify(town: TownOpt, data_dir: DataDir = None) -> None:
    """Verify the town's audit chain; exit 1 and name the first broken entry if tampered."""
    platform = _platform(data_dir)
    with platform.read_town(town) as t:
        report = audit_service.verify(t.session)
    if report.ok:
        console.print(
            f"OK: {report.entries} entries, head {report.head_seq} {report.head_hash[:16]}…"
        )
        return
    for p in report.problems:
        console.print(f"[red]{p.kind}[/red] position {p.position} seq {p.seq}: {p.message}")
    raise typer.Exit(1)


def _print_lines(lines: list[audit_service.AuditLine]) -> None:
    table = Table(
        "seq", "time (UTC)", "clerk", "staff", "action", "purpose", "node/mode", "subjects"
    )
    for x in lines:
        table.add_row(
            str(x.seq),
            x.at.isoformat(timespec="seconds"),
            x.clerk_name,
            x.staff_number,
            x.action,
            x.purpose or "",
            f"{x.node}/{x.mode}",
            ",".join(x.subjects[:5]) + ("…" if len(x.subjects) > 5 else ""),
        )
    console.print(table)


@audit_app.command("who-viewed")
def audit_who_viewed(
    town: TownOpt, person: Annotated[str, typer.Option(help="宛名番号")], data_dir: DataDir = None
) -> None:
    """Every audited action concerning a person (views, searches listing them, changes)."""
    platform = _platform(data_dir)
    with platform.read_town(town) as t:
        lines = audit_service.who_viewed(t.session, person)
        t.audit(operator_ctx(town, platform), "audit_report", detail={"person": person})
    _print_lines(lines)


@audit_app.command("by-clerk")
def audit_by_clerk(
    town: TownOpt, clerk: Annotated[str, typer.Option(help="職員番号")], data_dir: DataDir = None
) -> None:
    """Everything one clerk did."""
    platform = _platform(data_dir)
    with platform.read_town(town) as t:
        lines = audit_service.by_clerk(t.session, clerk)
        t.audit(operator_ctx(town, platform), "audit_report", detail={"clerk": clerk})
    _print_lines(lines)


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
    """Run the web server for the towns in the data directory."""
    import uvicorn  # noqa: PLC0415

    from lgcloud.web.app import create_app, serve_processes  # noqa: PLC0415

    configure_logging()
    # The event loop that accepts and refuses requests waits for the GIL after each poll
    # while worker threads run Python; 1 ms turns instead of 5 ms keep it responsive
    # under load (refusals answered at once), at a small cost in throughput.
    sys.setswitchinterval(0.001)
    if sites is not None:
        serve_centre(_platform(data_dir), sites, host, port, workers=workers)
        return
    if workers > 1:
        serve_processes(data_dir or settings.data_dir(), host, port, workers)
        return
    uvicorn.run(create_app(_platform(data_dir)), host=host, port=port, log_level="warning")


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


if __name__ == "__main__":
    app()
