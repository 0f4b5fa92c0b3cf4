"""``lgcloud continuity …`` and ``lgcloud node``: snapshots, replication, verified restores and
failover (``node serve`` and ``drill`` start the web app or the drill: ``cli/serving.py``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lgcloud.interface.commands import TownOpt, console, operator_ctx, refused_as_exit

continuity_app = typer.Typer(help="Snapshots, replication, verified restores, failover")
node_app = typer.Typer(help="Run this machine as a town node")

SitesOpt = Annotated[Path, typer.Option("--sites", help="the sites file (sites.toml)")]
DataDirOpt = Annotated[Path, typer.Option("--data-dir", help="this node's data directory")]
NodeOpt = Annotated[str, typer.Option("--node", help="this node's name in the sites file")]


def _centre(data_dir: Path):  # type: ignore[no-untyped-def]
    """The centre's platform (PostgreSQL when ``LGCLOUD_DATABASE_URL`` is set)."""
    from lgcloud import settings  # noqa: PLC0415
    from lgcloud.tenancy.platform import Platform  # noqa: PLC0415

    return Platform(data_dir, database_url=settings.database_url())


def _operator() -> str:
    import getpass  # noqa: PLC0415

    return f"operator:{getpass.getuser()}"


@continuity_app.command("snapshot")
def snapshot_command(town: TownOpt, data_dir: DataDirOpt) -> None:
    """Take an encrypted, signed snapshot of a town now (on the centre)."""
    from lgcloud.continuity.centre import take_town_snapshot  # noqa: PLC0415

    with refused_as_exit():
        rec = take_town_snapshot(_centre(data_dir), town)
    console.print(f"snapshot {rec.seq} of {town}: {rec.size:,} bytes → {rec.path}")


@continuity_app.command("recovery-sheet")
def recovery_sheet_command(
    town: TownOpt,
    data_dir: DataDirOpt,
    out: Annotated[Path, typer.Option(help="the PDF to print")],
    remove: Annotated[
        bool, typer.Option("--remove", help="delete the centre's copy once printed")
    ] = False,
    protected_key: Annotated[
        Path | None,
        typer.Option(help="also write the key as a passphrase-protected file (asks for it)"),
    ] = None,
) -> None:
    """Print the town's recovery sheet (A4 PDF with the key and its QR code), and optionally
    a passphrase-protected key file to carry to a partner node."""
    from lgcloud.continuity.recovery import (  # noqa: PLC0415
        recovery_sheet_path,
        recovery_sheet_pdf,
    )

    platform = _centre(data_dir)
    with refused_as_exit():
        pdf = recovery_sheet_pdf(platform, town)
    out.write_bytes(pdf)
    out.chmod(0o600)
    if protected_key is not None:
        from lgcloud.continuity import keys  # noqa: PLC0415

        phrase = typer.prompt("復旧鍵のパスフレーズ（12文字以上）", hide_input=True,
                              confirmation_prompt=True)  # fmt: skip
        identity = keys.identity_from_text(
            recovery_sheet_path(platform, town).read_text(encoding="utf-8")
        )
        with refused_as_exit():
            data = keys.protect_identity(
                keys.RecoveryKey(str(identity), keys.public_of(identity)), phrase
            )
        protected_key.write_bytes(data)
        protected_key.chmod(0o600)
        console.print(f"{protected_key}: パスフレーズで保護した復旧鍵ファイル")
    console.print(f"{out}: 復旧鍵シート（{len(pdf):,} バイト）。印刷したら安全に保管してください")
    if remove:
        recovery_sheet_path(platform, town).unlink()
        console.print("センター上の復旧鍵シートを削除しました")


@continuity_app.command("ship")
def ship_command(sites: SitesOpt, data_dir: DataDirOpt) -> None:
    """Push snapshots and the journal to every node once (the server does it continuously)."""
    from lgcloud.continuity.centre import Shipper  # noqa: PLC0415
    from lgcloud.continuity.sites import load_sites  # noqa: PLC0415

    shipper = Shipper(_centre(data_dir), load_sites(sites))
    try:
        results = shipper.push_all()
    finally:
        shipper.close()
    table = Table("town", "node", "snapshot sent", "batches", "bytes", "position", "error")
    for r in results:
        table.add_row(
            r.town,
            r.node,
            str(r.snapshot_sent or ""),
            str(r.batches_sent),
            f"{r.bytes_sent:,}",
            str(r.position),
            r.error or "",
        )
    console.print(table)
    if any(r.error for r in results):
        raise typer.Exit(1)


@continuity_app.command("status")
def status_command(sites: SitesOpt, data_dir: DataDirOpt) -> None:
    """Per town and site: last snapshot, last verified restore, journal lag. Exits 1 when any
    town lacks a verified copy younger than the policy at a site that should hold one."""
    from lgcloud.continuity.sites import load_sites  # noqa: PLC0415
    from lgcloud.continuity.status import federation_status  # noqa: PLC0415
    from lgcloud.core.logging import configure_logging  # noqa: PLC0415
    from lgcloud.core.wareki import format_datetime_jst  # noqa: PLC0415

    configure_logging()
    rows = federation_status(_centre(data_dir), load_sites(sites), log_alerts=True)

    def when(d: datetime | None) -> str:
        return format_datetime_jst(d) if d else "—"

    table = Table(
        "町村", "拠点", "役割", "最新スナップショット", "復元検証", "ジャーナル遅れ", "警告"
    )
    for r in rows:
        lag = f"{r.journal_lag_entries}件" + (
            f" / {r.journal_lag_seconds:.0f}秒" if r.journal_lag_seconds is not None else ""
        )
        table.add_row(
            r.town,
            r.site,
            r.role,
            f"#{r.snapshot_seq} {when(r.snapshot_at)}",
            f"#{r.verified_seq} {when(r.verified_at)}",
            lag,
            r.alert or "",
            style="red" if r.alert else None,
        )
    console.print(table)
    if any(r.alert for r in rows) or not rows:
        raise typer.Exit(1)


def _node_request(
    sites: Path, node: str, method: str, path: str, content: bytes = b"", **headers: str
) -> dict[str, object]:
    """Ask the running node server (its operator's token) to act: the server owns the
    copies it serves, so mode changes happen inside it."""
    import httpx  # noqa: PLC0415

    from lgcloud.continuity.sites import load_sites  # noqa: PLC0415

    s = load_sites(sites)
    r = httpx.request(
        method,
        s.node(node).url.rstrip("/") + path,
        content=content,
        headers={
            "authorization": f"Bearer {s.token(node)}",
            "x-lgcloud-actor": _operator(),
            **headers,
        },
        timeout=600,
    )
    body: dict[str, object] = r.json()
    if r.status_code != 200:
        console.print(f"[red]{body.get('detail', body)}[/red]")
        raise typer.Exit(1)
    return body


@continuity_app.command("down-recovery")
def down_recovery_command(town: TownOpt, sites: SitesOpt, node: NodeOpt) -> None:
    """Case 1 by hand: the node serves its replica read-only now."""
    state = _node_request(sites, node, "POST", f"/continuity/{town}/down-recovery")
    console.print(f"{town}: {state['mode']}（データ時点 {state['as_of']}）")


@continuity_app.command("normal")
def normal_command(town: TownOpt, sites: SitesOpt, node: NodeOpt) -> None:
    """Stop serving read-only at the node: hand back what was received to the centre first."""
    _node_request(sites, node, "POST", f"/continuity/{town}/normal")
    console.print(f"{town}: 通常運用に戻りました（受付内容はセンターへ引き渡し済み）")


@continuity_app.command("activate")
def activate_command(
    town: TownOpt,
    sites: SitesOpt,
    node: NodeOpt,
    key_file: Annotated[Path, typer.Option("--key-file", help="recovery key (sheet or file)")],
) -> None:
    """Case 3: restore a stored town at this partner node with its recovery key and serve it
    read-only. The key is used in memory and forgotten; a protected key file asks for its
    passphrase."""
    data = key_file.read_bytes()
    headers = {}
    if data.startswith(b"age-encryption.org/"):
        headers["x-recovery-passphrase"] = typer.prompt("復旧鍵のパスフレーズ", hide_input=True)
    state = _node_request(sites, node, "POST", f"/continuity/{town}/activate", data, **headers)
    console.print(f"{town}: 連携町村での運用を開始（データ時点 {state['as_of']}）")


@continuity_app.command("deactivate")
def deactivate_command(town: TownOpt, sites: SitesOpt, node: NodeOpt) -> None:
    """End partner operation for a town: hand back to the centre, delete the restored copy."""
    normal_command(town, sites, node)


@continuity_app.command("emergency")
def emergency_command(
    town: TownOpt,
    data_dir: DataDirOpt,
    hours: Annotated[float, typer.Option(help="how long")] = 72,
    reason: Annotated[str, typer.Option(help="why (recorded)")] = "",
) -> None:
    """Case 2: declare an emergency, lifting the town's login-location restriction."""
    from lgcloud.auth.service import declare_emergency  # noqa: PLC0415

    platform = _centre(data_dir)
    with refused_as_exit():
        until = declare_emergency(
            platform, operator_ctx(town, platform), hours=hours, reason=reason
        )
    console.print(f"{town}: 緊急事態を宣言しました（{until.isoformat()} まで）")


@continuity_app.command("login-networks")
def login_networks_command(
    town: TownOpt,
    data_dir: DataDirOpt,
    networks: Annotated[list[str] | None, typer.Argument(help="CIDR; none = anywhere")] = None,
) -> None:
    """Restrict where the town's clerks may log in from."""
    from lgcloud.auth.service import restrict_login_networks  # noqa: PLC0415

    platform = _centre(data_dir)
    with refused_as_exit():
        restrict_login_networks(platform, operator_ctx(town, platform), networks or [])
