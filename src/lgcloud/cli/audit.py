"""The audit trail: ``lgcloud audit …``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lgcloud.interface.commands import DataDir, TownOpt, console, open_platform, operator_ctx

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from lgcloud.audit import service as audit_service

audit_app = typer.Typer(help="Audit trail: verify the chain, answer investigation questions")


@audit_app.command("verify")
def audit_verify(town: TownOpt, data_dir: DataDir = None) -> None:
    """Verify the town's audit chain, and against its newest signed snapshot that its end
    was not cut off; exit 1 and name the first broken entry (or the missing range)."""
    from lgcloud.audit import service as audit_service  # noqa: PLC0415
    from lgcloud.continuity.centre import latest_anchor  # noqa: PLC0415

    platform = open_platform(data_dir)
    anchor = latest_anchor(platform, town)
    with platform.read_town(town) as t:
        report = audit_service.verify(t.session, anchor)
    if report.ok:
        console.print(
            f"OK: {report.entries} entries, head {report.head_seq} {report.head_hash[:16]}…"
            + (f" (anchored: {anchor.source}, seq {anchor.seq})" if anchor else " (no anchor)")
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


def _report(
    town: str,
    data_dir: Path | None,
    query: Callable[[Session, str], list[audit_service.AuditLine]],
    detail: dict[str, str],
) -> None:
    """Run one of the reports (who viewed a person, what a clerk did), audited, and print it."""
    platform = open_platform(data_dir)
    (key,) = detail.values()
    with platform.read_town(town) as t:
        lines = query(t.session, key)
        t.audit(operator_ctx(town, platform), "audit_report", detail=detail)
    _print_lines(lines)


@audit_app.command("who-viewed")
def audit_who_viewed(
    town: TownOpt, person: Annotated[str, typer.Option(help="宛名番号")], data_dir: DataDir = None
) -> None:
    """Every audited action concerning a person (views, searches listing them, changes)."""
    from lgcloud.audit import service as audit_service  # noqa: PLC0415

    _report(town, data_dir, audit_service.who_viewed, {"person": person})


@audit_app.command("by-clerk")
def audit_by_clerk(
    town: TownOpt, clerk: Annotated[str, typer.Option(help="職員番号")], data_dir: DataDir = None
) -> None:
    """Everything one clerk did."""
    from lgcloud.audit import service as audit_service  # noqa: PLC0415

    _report(town, data_dir, audit_service.by_clerk, {"clerk": clerk})
