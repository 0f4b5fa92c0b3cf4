"""A 住民票コード held in two hosted towns: reported to both, each shown only its own person."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from conftest import (
    TODAY,
    TOWN_A,
    TOWN_B,
    cli_env,
    make_ctx,
    move_in_one,
    one_resident_csv,
)
from lgcloud.cli import app
from lgcloud.interchange.residents import import_residents
from lgcloud.register import crosstown
from lgcloud.tenancy.platform import Platform
from lgcloud.worklist.models import PendingTask

CODE = "12345678903"


def _move_in(platform: Platform, town: str, name: str, code: str) -> str:
    return move_in_one(platform, town, name, resident_code=code, address=f"大字{name[:2]}1番地")


def _items(platform: Platform, town: str) -> list[PendingTask]:
    with platform.read_town(town) as t:
        return list(
            t.session.scalars(select(PendingTask).where(PendingTask.kind == crosstown.TASK_KIND))
        )


def test_a_code_held_in_two_towns_is_an_item_in_each(platform: Platform) -> None:
    a = _move_in(platform, TOWN_A, "佐藤\u3000健", CODE)
    b = _move_in(platform, TOWN_B, "鈴木\u3000一", CODE)  # another town: not refused there
    _move_in(platform, TOWN_B, "高橋\u3000三", "98765432103")  # held once: no item
    result = crosstown.scan(platform, today=TODAY)
    assert (result.towns, result.clashes) == (2, 1)
    assert result.raised == {TOWN_A: 1, TOWN_B: 1}
    (item_a,) = _items(platform, TOWN_A)
    (item_b,) = _items(platform, TOWN_B)
    assert (item_a.addressee_number, item_a.area, item_a.state) == (a, "register", "open")
    assert item_b.addressee_number == b
    assert "出雲崎町" in item_a.summary and "聖籠町" in item_b.summary
    # neither town is shown the other's resident: no name, number or code of theirs
    for item, other_number, other_name in ((item_a, b, "鈴木"), (item_b, a, "佐藤")):
        text = f"{item.summary} {item.proposal}"
        assert other_number not in text and other_name not in text and CODE not in text
    # an open item is not raised again
    again = crosstown.scan(platform, today=TODAY)
    assert again.raised == {TOWN_A: 0, TOWN_B: 0}
    assert len(_items(platform, TOWN_A)) == len(_items(platform, TOWN_B)) == 1


def test_an_import_reports_a_code_another_town_holds(platform: Platform, tmp_path: Path) -> None:
    _move_in(platform, TOWN_A, "佐藤\u3000健", CODE)
    path = one_resident_csv(tmp_path / "residents.csv", 住民票コード=CODE)
    result = import_residents(platform, make_ctx(TOWN_B), path, today=TODAY)
    assert (result.imported, result.shared_across_towns) == (1, 1)
    assert [i.addressee_number for i in _items(platform, TOWN_B)] == ["0000000011"]
    assert len(_items(platform, TOWN_A)) == 1


def test_identity_scan_command(platform: Platform) -> None:
    _move_in(platform, TOWN_A, "佐藤\u3000健", CODE)
    _move_in(platform, TOWN_B, "鈴木\u3000一", CODE)
    out = CliRunner().invoke(
        app, ["identity-scan", "--data-dir", str(platform.data_dir)], env=cli_env(platform)
    )
    assert out.exit_code == 0, out.output
    assert "団体間の重複 1 件" in out.output
    assert f"{TOWN_A}: 処理待ちに 1 件" in out.output
