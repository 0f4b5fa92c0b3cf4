"""The resident register: life events and the 全住民一覧 CSV."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import TypeAdapter, ValidationError

from lgcloud.core.clock import today_jst
from lgcloud.interface.commands import (
    DataDir,
    TownOpt,
    console,
    err,
    open_platform,
    operator_ctx,
    refused_as_exit,
)
from lgcloud.register import crosstown
from lgcloud.register.domain import LifeEvent
from lgcloud.register.service import record_event

app = typer.Typer()


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
    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        result = record_event(t, operator_ctx(town, platform), ev)
    console.print_json(data={"event_id": result.event_id, "subjects": list(result.subjects)})


@app.command("identity-scan")
def identity_scan(data_dir: DataDir = None) -> None:
    """住民票コード・個人番号 held in two hosted towns: a 処理待ち item in each.

    Each town is shown only its own resident and the other town's name. Run nightly; an
    import of residents runs it too."""
    platform = open_platform(data_dir)
    ctx_for = {t.code: operator_ctx(t.code, platform) for t in platform.towns()}
    result = crosstown.scan(platform, ctx_for, today=today_jst())
    console.print(
        f"{result.towns} 団体・{result.numbers} 件の番号を照合: 団体間の重複 {result.clashes} 件",
        markup=False,
    )
    for code, n in result.raised.items():
        console.print(f"  {code}: 処理待ちに {n} 件を追加", markup=False)
