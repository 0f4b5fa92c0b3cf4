"""Tax, collection, NHI and seal layouts: faithful round trip, idempotent, refusals."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import TODAY, TOWN_A, TOWN_B, make_ctx
from lgcloud.audit.models import AuditEntry
from lgcloud.generate.town import generate_town
from lgcloud.interchange.layouts import ORDER, export_all, import_layout, to_text
from lgcloud.interchange.residents import ImportRefusedError, export_residents, import_residents
from lgcloud.taxation.models import TaxInstallment
from lgcloud.tenancy.platform import Platform


def _move_town(tmp_path: Path) -> tuple[Platform, Platform, Path]:
    src = Platform(tmp_path / "src")
    generate_town(src, TOWN_A, residents=300, seed=8, today=TODAY)
    out = tmp_path / "out"
    with src.town(TOWN_A) as town:
        buf = io.BytesIO()
        export_residents(town, make_ctx(TOWN_A), buf)
        (tmp_path / "residents.csv").write_bytes(buf.getvalue())
        export_all(town, make_ctx(TOWN_A), out)
    dst = Platform(tmp_path / "dst")
    dst.create_town(TOWN_B, "出雲崎町")
    with dst.town(TOWN_B) as town:
        import_residents(town, make_ctx(TOWN_B), tmp_path / "residents.csv", today=TODAY)
    return src, dst, out


def test_layouts_round_trip_and_are_idempotent(tmp_path: Path) -> None:
    src, dst, out = _move_town(tmp_path)
    for name in ORDER:
        with dst.town(TOWN_B) as town:
            imported, unchanged, rejected = import_layout(
                town, make_ctx(TOWN_B), name, out / f"{name}.csv"
            )
        assert rejected == []
        assert unchanged == 0
        assert imported == (out / f"{name}.csv").read_bytes().decode("utf-8").count("\r\n") - 1, (
            name
        )
    for name in ORDER:
        with dst.town(TOWN_B) as town:
            again = to_text(town, make_ctx(TOWN_B), name)
        assert again == (out / f"{name}.csv").read_bytes().decode("utf-8"), name
        with dst.town(TOWN_B) as town:
            assert import_layout(town, make_ctx(TOWN_B), name, out / f"{name}.csv")[0] == 0
    src.dispose()
    dst.dispose()


def test_bad_rows_refuse_the_file_and_store_nothing(tmp_path: Path) -> None:
    src, dst, out = _move_town(tmp_path)
    for name in ("resident_taxes", "property_taxes", "light_vehicle_taxes"):
        with dst.town(TOWN_B) as town:
            import_layout(town, make_ctx(TOWN_B), name, out / f"{name}.csv")

    def counts() -> tuple[int, int]:
        with dst.town(TOWN_B) as town:
            return (
                town.session.scalar(select(func.count()).select_from(TaxInstallment)) or 0,
                town.session.scalar(select(func.max(AuditEntry.seq))) or 0,
            )

    lines = (out / "installments.csv").read_bytes().decode("utf-8").split("\r\n")
    cases = {
        "unknown person": lines[1].replace(lines[1].split(",")[1], "9999999999", 1),
        "impossible date": ",".join(
            v if i != 5 else "2026-02-30" for i, v in enumerate(lines[1].split(","))
        ),
        "unknown tax": "dog_tax," + ",".join(lines[1].split(",")[1:]),
    }
    for label, bad in cases.items():
        path = tmp_path / f"{label}.csv"
        path.write_bytes("\r\n".join([lines[0], *lines[1:5], bad, ""]).encode("utf-8"))
        before = counts()
        with pytest.raises(ImportRefusedError) as e, dst.town(TOWN_B) as town:
            import_layout(town, make_ctx(TOWN_B), "installments", path)
        assert "6 行目" in e.value.message, (label, e.value.message)
        assert counts() == before, label
    wrong_header = tmp_path / "wrong.csv"
    wrong_header.write_text("税目,宛名番号\r\n", encoding="utf-8")
    with pytest.raises(ImportRefusedError, match="見出し"), dst.town(TOWN_B) as town:
        import_layout(town, make_ctx(TOWN_B), "installments", wrong_header)
    src.dispose()
    dst.dispose()


def test_partial_layout_import_skips_and_lists_bad_rows(tmp_path: Path) -> None:
    src, dst, out = _move_town(tmp_path)
    lines = (out / "resident_taxes.csv").read_bytes().decode("utf-8").split("\r\n")
    bad = ",".join(["9999999999", *lines[1].split(",")[1:]])
    path = tmp_path / "resident_taxes.csv"
    path.write_bytes("\r\n".join([lines[0], lines[1], bad, lines[2], ""]).encode("utf-8"))
    with dst.town(TOWN_B) as town:
        imported, unchanged, rejected = import_layout(
            town, make_ctx(TOWN_B), "resident_taxes", path, partial=True
        )
    assert (imported, unchanged) == (2, 0)
    assert [(r.row, r.column) for r in rejected] == [(3, "宛名番号")]
    src.dispose()
    dst.dispose()


def test_identical_payments_are_two_payments_and_rules_hold(tmp_path: Path) -> None:
    from lgcloud.taxation.models import TaxPayment  # noqa: PLC0415
    from lgcloud.taxation.service import record_payment  # noqa: PLC0415

    src, dst, out = _move_town(tmp_path)
    with src.town(TOWN_A) as town:
        inst = town.session.scalar(
            select(TaxInstallment).where(
                ~TaxInstallment.id.in_(select(TaxPayment.installment_id)),
                TaxInstallment.amount >= 2000,
            )
        )
        assert inst is not None
        for _ in range(2):  # two real, identical payments
            record_payment(
                town, make_ctx(TOWN_A), inst.id, paid_on=TODAY, amount=1000, channel="counter"
            )
        export_all(town, make_ctx(TOWN_A), out)
    with dst.town(TOWN_B) as town:
        for name in ORDER:
            import_layout(town, make_ctx(TOWN_B), name, out / f"{name}.csv")
        moved = town.session.scalar(select(func.sum(TaxPayment.amount)))
    with src.town(TOWN_A) as town:
        assert moved == town.session.scalar(select(func.sum(TaxPayment.amount)))
    # an overpayment and a conflicting assessment are refused, never stored
    lines = (out / "payments.csv").read_bytes().decode("utf-8").split("\r\n")
    over = lines[1].split(",")
    over[6] = "99999999"
    path = tmp_path / "over.csv"
    path.write_bytes("\r\n".join([lines[0], ",".join(over), ""]).encode("utf-8"))
    with pytest.raises(ImportRefusedError, match="未納額"), dst.town(TOWN_B) as town:
        import_layout(town, make_ctx(TOWN_B), "payments", path)
    taxes = (out / "resident_taxes.csv").read_bytes().decode("utf-8").split("\r\n")
    changed = taxes[1].split(",")
    changed[-4] = str(int(changed[-4]) + 100)  # 年税額 differs from what is stored
    path = tmp_path / "conflict.csv"
    path.write_bytes("\r\n".join([taxes[0], ",".join(changed), ""]).encode("utf-8"))
    with pytest.raises(ImportRefusedError, match="既に別の内容"), dst.town(TOWN_B) as town:
        import_layout(town, make_ctx(TOWN_B), "resident_taxes", path)
    with dst.town(TOWN_B) as town:
        _, _, rejected = import_layout(town, make_ctx(TOWN_B), "resident_taxes", path, partial=True)
    assert [r.row for r in rejected] == [2]
    src.dispose()
    dst.dispose()
