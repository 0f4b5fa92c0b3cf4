"""What every command group of ``lgcloud`` shares: consoles, common options, the
platform handle (closed when the command ends), the operator's context, errors."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from lgcloud.core.context import Actor, RequestContext
from lgcloud.core.errors import LgcloudError

if TYPE_CHECKING:
    from lgcloud.tenancy.platform import Platform

# Command modules import what their commands use inside the commands, not at the top: every
# ``lgcloud`` run imports every command module, and ``lgcloud --help`` or ``lgcloud towns``
# must start in well under a second (SQLAlchemy, pydantic models, typst and the fonts are
# loaded by the commands that use them). bench/register.py measures it (cli_start_s).

console = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="default: $LGCLOUD_DATA_DIR or ./var")
]
TownOpt = Annotated[str, typer.Option("--town", help="団体コード (6 digits)")]


_opened: list[Platform] = []


def close_platforms() -> None:
    while _opened:
        _opened.pop().dispose()


def open_platform(data_dir: Path | None) -> Platform:
    from lgcloud.tenancy.platform import Platform  # noqa: PLC0415

    platform = Platform.from_settings(data_dir)
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


def fail(e: LgcloudError) -> None:
    err.print(f"[red]エラー:[/red] {e.message}" + (f" (項目: {e.field})" if e.field else ""))
    raise typer.Exit(2)


@contextmanager
def refused_as_exit() -> Iterator[None]:
    """A refusal (``LgcloudError``) inside ends the command with its Japanese message and
    exit code 2; put it outside the town's transaction, so that rolls back first."""
    try:
        yield
    except LgcloudError as e:
        fail(e)


def parse_date(text: str | None, field: str) -> date | None:
    """A date option (YYYY-MM-DD); a malformed one ends the command with a message."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(LgcloudError(f"日付は YYYY-MM-DD で指定してください: {text}", field=field))
        raise  # unreachable: fail exits


def parse_required_date(text: str, field: str) -> date:
    """:func:`parse_date` for an option the command requires (never None)."""
    day = parse_date(text, field)
    assert day is not None  # typer refuses a missing required option first
    return day
