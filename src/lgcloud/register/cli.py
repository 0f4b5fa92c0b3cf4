"""The resident register: life events and the 全住民一覧 CSV."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

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

app = typer.Typer()
gaiji_app = typer.Typer(
    help="外字: names no installed font prints, and the glyphs a town registers for them"
)


@app.command("event")
def event(
    town: TownOpt,
    file: Annotated[Path, typer.Argument(help="JSON life event, or - for stdin")],
    data_dir: DataDir = None,
) -> None:
    """Record one life event (JSON as in the API's /api/events)."""
    from pydantic import TypeAdapter, ValidationError  # noqa: PLC0415

    from lgcloud.register.domain import LifeEvent  # noqa: PLC0415
    from lgcloud.register.service import record_event  # noqa: PLC0415

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
    from lgcloud.register import crosstown  # noqa: PLC0415

    platform = open_platform(data_dir)
    ctx_for = {t.code: operator_ctx(t.code, platform) for t in platform.towns()}
    result = crosstown.scan(platform, ctx_for, today=today_jst())
    console.print(
        f"{result.towns} 団体・{result.numbers} 件の番号を照合: 団体間の重複 {result.clashes} 件",
        markup=False,
    )
    for code, n in result.raised.items():
        console.print(f"  {code}: 処理待ちに {n} 件を追加", markup=False)


def _text_argument(value: str) -> str:
    """The characters themselves, or their code points (``U+9AD9 U+E0101``: a variation
    selector cannot be typed)."""
    if re.fullmatch(r"\s*(U\+[0-9A-Fa-f]{4,6}\s*)+", value):
        return "".join(chr(int(c, 16)) for c in re.findall(r"U\+([0-9A-Fa-f]{4,6})", value))
    return value


@gaiji_app.command("report")
def gaiji_report(town: TownOpt, data_dir: DataDir = None) -> None:
    """Current residents whose name or address no installed font (nor a registered 外字)
    prints: each would be refused at the counter."""
    from lgcloud.register.printable import report  # noqa: PLC0415

    platform = open_platform(data_dir)
    with platform.read_town(town) as t:
        found = report(t)
    for u in found:
        console.print(f"{u.addressee_number} {u.name}: {u.message}", markup=False)
    console.print(f"印字できない住民: {len({u.addressee_number for u in found})} 人", markup=False)


@gaiji_app.command("register")
def gaiji_register(
    town: TownOpt,
    text: Annotated[str, typer.Option(help="the character, or code points: U+9AD9 U+E0101")],
    svg: Annotated[Path, typer.Option(help="an SVG drawing of the glyph, one em square")],
    mj_name: Annotated[str, typer.Option(help="its MJ文字図形名, e.g. MJ028902")] = "",
    local_code: Annotated[str, typer.Option(help="the town's own code, if no MJ name")] = "",
    data_dir: DataDir = None,
) -> None:
    """Register a 外字: certificates draw it, the gaiji table names it (audited)."""
    from lgcloud.register.glyphs import check_glyph, register_glyph  # noqa: PLC0415

    if not svg.is_file():
        err.print(f"SVG がありません: {svg}", markup=False)
        raise typer.Exit(2)
    platform = open_platform(data_dir)
    with refused_as_exit():
        request = check_glyph(  # renders the SVG once: before the write, not inside it
            _text_argument(text),
            svg.read_text(encoding="utf-8"),
            mj_name=mj_name,
            local_code=local_code,
        )
        with platform.town(town) as t:
            register_glyph(t, operator_ctx(town, platform), request)
    codes = " ".join(f"U+{ord(c):04X}" for c in request.text)
    console.print(f"外字を登録しました: {codes} {mj_name or local_code}", markup=False)
