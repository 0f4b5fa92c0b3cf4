"""``lgcloud seal …``: a person's registrations, register a seal from a PNG scan, abolish
it. Each is attributed to the operating-system user (interface/commands.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from lgcloud.core.clock import today_jst
from lgcloud.core.errors import LgcloudError
from lgcloud.interface.commands import (
    DataDir,
    TownOpt,
    console,
    fail,
    open_platform,
    operator_ctx,
    parse_date,
    refused_as_exit,
)

app = typer.Typer(help="印鑑登録: registrations of seals")
PersonOpt = Annotated[str, typer.Option("--person", help="宛名番号")]
OnOpt = Annotated[str | None, typer.Option("--on", help="YYYY-MM-DD (default: today, JST)")]


def _day(text: str | None) -> date:
    return parse_date(text, "on") or today_jst()


@app.command("show")
def show(town: TownOpt, person: PersonOpt, data_dir: DataDir = None) -> None:
    """A person's registrations, newest first (an audited view)."""
    from lgcloud.register.queries import get_person  # noqa: PLC0415
    from lgcloud.seals.queries import seal_records  # noqa: PLC0415

    platform = open_platform(data_dir)
    ctx = operator_ctx(town, platform)
    with refused_as_exit(), platform.read_town(town) as t:
        get_person(t, person)
        records = seal_records(t, person)
    platform.record_read(ctx, "view_seal", subjects=[person])
    if not records:
        console.print("登録なし")
    for r in records:
        state = "登録中" if r.active else f"{r.abolished_on} 廃止（{r.abolition_reason}）"
        console.print(f"{r.registration_number}  {r.registered_on} 登録  {state}")


@app.command("register")
def register(
    town: TownOpt,
    person: PersonOpt,
    image: Annotated[Path, typer.Option("--image", help="the impression, a PNG scan")],
    on: OnOpt = None,
    data_dir: DataDir = None,
) -> None:
    """Register a seal (印鑑登録) for a resident aged 15 or more."""
    from lgcloud.seals.domain import MAX_IMAGE_BYTES  # noqa: PLC0415
    from lgcloud.seals.service import register_seal  # noqa: PLC0415

    day = _day(on)
    try:
        with image.open("rb") as f:
            image_png = f.read(MAX_IMAGE_BYTES + 1)
    except OSError as e:
        fail(LgcloudError(f"印影の画像を読めません: {e.strerror}", field="image"))
        return
    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        reg = register_seal(
            t, operator_ctx(town, platform), person, image_png=image_png, registered_on=day
        )
        number = reg.registration_number
    console.print(f"登録番号 {number} で登録しました")


@app.command("abolish")
def abolish(
    town: TownOpt,
    person: PersonOpt,
    reason: Annotated[str, typer.Option("--reason", help="廃止申請, 亡失, 転出, 死亡, 職権 …")],
    on: OnOpt = None,
    data_dir: DataDir = None,
) -> None:
    """Abolish the person's active registration (印鑑登録の廃止)."""
    from lgcloud.seals.service import abolish_seal  # noqa: PLC0415

    day = _day(on)
    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        abolish_seal(t, operator_ctx(town, platform), person, abolished_on=day, reason=reason)
    console.print("廃止しました")
