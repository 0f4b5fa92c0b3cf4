"""Certificates: issuing one from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
)

app = typer.Typer()


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
            help="resident, income_tax, tax_payment, nhi_card, nhi_notice, seal, "
            "all_residents, disaster (り災証明書)"
        ),
    ],
    out: Annotated[Path, typer.Option(help="where to write the PDF")],
    person: Annotated[str | None, typer.Option(help="宛名番号 (not for all_residents)")] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            help="key=value, e.g. fiscal_year=2026, include_honseki=true, disaster=2026-01"
        ),
    ] = None,
    base_url: Annotated[
        str, typer.Option(help="public URL printed in the QR code")
    ] = "http://127.0.0.1:8000",
    data_dir: DataDir = None,
) -> None:
    """Issue a certificate as PDF (recorded in the issuance history and the audit trail)."""
    from pydantic import ValidationError  # noqa: PLC0415

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
    platform = open_platform(data_dir)
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
        fail(e if isinstance(e, LgcloudError) else LgcloudError(str(e)))
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
    platform = open_platform(data_dir)
    out.write_bytes(all_residents_csv(platform, operator_ctx(town, platform)))
    console.print(f"wrote {out}")
