"""Tax, collection, NHI and seal layouts: faithful round trip, idempotent, refusals."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import (
    TODAY,
    TOWN_A,
    TOWN_B,
    cli_env,
    follow_journal,
    make_ctx,
    make_platform,
    run_export,
)
from lgcloud.audit.models import AuditEntry
from lgcloud.generate.town import generate_town
from lgcloud.interchange.layouts import ORDER, export_all, import_layout, import_layouts, to_text
from lgcloud.interchange.residents import ImportRefusedError, export_residents, import_residents
from lgcloud.onboarding import onboard_town
from lgcloud.taxation.models import TaxInstallment
from lgcloud.tenancy.platform import Platform


def _move_town(tmp_path: Path) -> tuple[Platform, Platform, Path]:
    src = make_platform(tmp_path / "src")
    generate_town(src, TOWN_A, residents=300, seed=8, today=TODAY)
    out = tmp_path / "out"
    with src.town(TOWN_A) as town:
        buf = io.BytesIO()
        export_residents(town, make_ctx(TOWN_A), buf)
        (tmp_path / "residents.csv").write_bytes(buf.getvalue())
        export_all(town, make_ctx(TOWN_A), out)
    dst = make_platform(tmp_path / "dst")
    onboard_town(dst, TOWN_B, "出雲崎町")
    import_residents(dst, make_ctx(TOWN_B), tmp_path / "residents.csv", today=TODAY)
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


def test_non_residents_come_first_and_bad_ones_are_refused(tmp_path: Path) -> None:
    """住登外者 (non_residents.csv) travel with the taxes that name them: a 固定資産税 of a
    landowner living elsewhere refers to a 宛名番号 the register does not have. A bad
    住登外者 row names its problem: a 宛名番号 a resident has, a wrong check digit, a 法人番号
    whose check digit does not match, a reason not in the list."""
    src, dst, out = _move_town(tmp_path)
    lines = (out / "non_residents.csv").read_bytes().decode("utf-8").split("\r\n")
    assert ORDER[0] == "non_residents" and len(lines) > 3
    corporation = next(line for line in lines[1:] if ",corporation," in line)
    person = next(line for line in lines[1:] if ",person," in line)
    fields = corporation.split(",")
    resident = (tmp_path / "residents.csv").read_bytes().decode("utf-8").split("\r\n")[1]
    bad_number = person.split(",")[0][:-1] + str((int(person.split(",")[0][-1]) + 1) % 10)
    cases = {
        "a resident's number": ",".join([resident.split(",")[0], *person.split(",")[1:]]),
        "check digit": ",".join([bad_number, *person.split(",")[1:]]),
        "corporate number": ",".join(
            v if i != 6 else str((int(v[0]) + 1) % 10) + v[1:] for i, v in enumerate(fields)
        ),
        "reason": ",".join([*person.split(",")[:-1], "なんとなく"]),
    }
    for label, bad in cases.items():
        path = tmp_path / f"{label}.csv"
        path.write_bytes("\r\n".join([lines[0], bad, ""]).encode("utf-8"))
        with pytest.raises(ImportRefusedError) as e, dst.town(TOWN_B) as town:
            import_layout(town, make_ctx(TOWN_B), "non_residents", path)
        assert "2 行目" in e.value.message, (label, e.value.message)
    with (
        pytest.raises(ImportRefusedError, match="の住民はこの町村にいません"),
        dst.town(TOWN_B) as town,
    ):
        import_layout(town, make_ctx(TOWN_B), "property_taxes", out / "property_taxes.csv")
    with dst.town(TOWN_B) as town:
        imported, _, _ = import_layout(
            town, make_ctx(TOWN_B), "non_residents", out / "non_residents.csv"
        )
        assert imported == len(lines) - 2
        assert import_layout(town, make_ctx(TOWN_B), "property_taxes", out / "property_taxes.csv")[
            0
        ]
    src.dispose()
    dst.dispose()


def test_bad_rows_refuse_the_file_and_store_nothing(tmp_path: Path) -> None:
    src, dst, out = _move_town(tmp_path)
    for name in ("non_residents", "resident_taxes", "property_taxes", "light_vehicle_taxes"):
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
        # the same installment twice in one file: a row-level reason, not a database error
        "same period twice": lines[1],
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


# Shift_JIS (cp932) files with a gaiji table, and chunked lookups.

#: Texts cp932 cannot hold exactly: an IVS sequence, NEC/IBM extension kanji (髙 﨑 are
#: cp932 but not JIS X 0208; 𠮷 is not cp932 at all) and 〜, which cp932 reads back as ～.
IVS = "葛\U000e0100"
ODD = f"髙﨑{IVS}𠮷〜"


def _odd_texts(platform: Platform) -> None:
    """Put characters cp932 cannot carry into every kind of text column of the layouts."""
    from lgcloud.insurance.models import NhiHousehold  # noqa: PLC0415
    from lgcloud.seals.models import SealRegistration  # noqa: PLC0415
    from lgcloud.taxation.models import (  # noqa: PLC0415
        LightVehicleTaxAssessment,
        TaxPayment,
    )

    with platform.town(TOWN_A) as town:
        s = town.session
        vehicle = s.scalars(select(LightVehicleTaxAssessment).limit(2)).all()
        vehicle[0].vehicle_class = f"軽四輪{ODD}"
        vehicle[0].plate_number = f"{IVS}飾 480 あ 12-34"  # also in installments/payments
        vehicle[1].plate_number = "髙﨑 50 う 1"
        s.scalars(select(TaxPayment).limit(1)).one().channel = f"窓口{IVS}"
        s.scalars(select(NhiHousehold).limit(1)).one().symbol = f"髙{IVS}"
        seal = s.scalars(select(SealRegistration).limit(1)).one()
        seal.abolished_on = seal.registered_on
        seal.abolition_reason = f"{ODD}の申請"


def _move_town_cp932(tmp_path: Path) -> tuple[Platform, Platform, Path]:
    src, dst, _ = _move_town(tmp_path)
    _odd_texts(src)
    out = tmp_path / "sjis"
    with src.town(TOWN_A) as town:
        export_all(town, make_ctx(TOWN_A), out, encoding="cp932")
    return src, dst, out


def _count(platform: Platform, model: object) -> int:
    with platform.town(TOWN_B) as town:
        return town.session.scalar(select(func.count()).select_from(model)) or 0  # type: ignore[arg-type]


def test_utf8_export_is_unchanged_and_writes_no_gaiji_table(tmp_path: Path) -> None:
    src = make_platform(tmp_path / "src")
    generate_town(src, TOWN_A, residents=120, seed=3, today=TODAY)
    out = tmp_path / "out"
    with src.town(TOWN_A) as town:
        export_all(town, make_ctx(TOWN_A), out)
        for name in ORDER:
            data = (out / f"{name}.csv").read_bytes()
            assert data == to_text(town, make_ctx(TOWN_A), name).encode("utf-8"), name
            assert not data.startswith(b"\xef\xbb\xbf")
    assert not (out / "gaiji.csv").exists()
    src.dispose()


def test_cp932_round_trip_is_byte_identical_with_one_gaiji_table(tmp_path: Path) -> None:
    from lgcloud.interchange.codec import GaijiTable  # noqa: PLC0415
    from lgcloud.taxation.models import LightVehicleTaxAssessment  # noqa: PLC0415

    src, dst, out = _move_town_cp932(tmp_path)
    table = GaijiTable.load(out / "gaiji.csv")
    texts = {e.text for e in table}
    assert {IVS, "𠮷", "〜"} <= texts  # 髙 and 﨑 are cp932 (NEC/IBM extensions): no gaiji
    plate = (out / "light_vehicle_taxes.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        plate.decode("utf-8")
    # one table for all the files: the IVS plate has the same code in three files
    code = table.char_for_text(IVS)
    assert code is not None
    raw = code.encode("cp932")
    for name in ("light_vehicle_taxes", "installments", "payments", "nhi", "seals"):
        assert raw in (out / f"{name}.csv").read_bytes(), name
    for name in ORDER:
        with dst.town(TOWN_B) as town:
            imported, unchanged, rejected = import_layout(
                town, make_ctx(TOWN_B), name, out / f"{name}.csv", gaiji=table, chunk_size=7
            )
        assert (unchanged, rejected) == (0, []), name
        assert imported > 0, name
    with dst.town(TOWN_B) as town:
        stored = town.session.scalars(select(LightVehicleTaxAssessment.vehicle_class)).all()
        assert f"軽四輪{ODD}" in stored
    again = tmp_path / "again"
    with dst.town(TOWN_B) as town:
        export_all(town, make_ctx(TOWN_B), again, encoding="cp932")
    for name in [*ORDER, "gaiji"]:
        assert (again / f"{name}.csv").read_bytes() == (out / f"{name}.csv").read_bytes(), name
    # importing the same files again changes nothing
    for name in ORDER:
        with dst.town(TOWN_B) as town:
            imported, unchanged, rejected = import_layout(
                town, make_ctx(TOWN_B), name, out / f"{name}.csv", gaiji=table, chunk_size=5
            )
        assert (imported, rejected) == (0, []), name
    src.dispose()
    dst.dispose()


def test_layouts_import_keeps_the_mj_names_of_its_gaiji_table(tmp_path: Path) -> None:
    """An MJ文字図形名 the imported gaiji.csv gave (here one the project's own table cannot
    know) comes back in the town's next cp932 export, as for residents.csv."""
    from lgcloud.interchange.codec import GaijiTable  # noqa: PLC0415

    src, dst, out = _move_town_cp932(tmp_path)
    given = GaijiTable()
    for e in GaijiTable.load(out / "gaiji.csv"):
        given.add(e.code, e.text, "MJ999997" if e.text == "〜" else e.mj_name)
    given.write(out / "gaiji.csv")
    import_layouts(dst, make_ctx(TOWN_B), _files(out), gaiji=given, chunk_size=50)
    again = tmp_path / "again"
    with dst.town(TOWN_B) as town:
        export_all(town, make_ctx(TOWN_B), again, encoding="cp932")
    back = {e.text: e.mj_name for e in GaijiTable.load(again / "gaiji.csv")}
    assert back["〜"] == "MJ999997"
    assert back == {e.text: e.mj_name for e in given}
    src.dispose()
    dst.dispose()


def test_user_defined_code_missing_from_gaiji_table_is_refused(tmp_path: Path) -> None:
    from lgcloud.interchange.codec import GaijiTable  # noqa: PLC0415
    from lgcloud.taxation.models import LightVehicleTaxAssessment  # noqa: PLC0415

    src, dst, out = _move_town_cp932(tmp_path)
    full = GaijiTable.load(out / "gaiji.csv")
    missing = full.char_for_text("𠮷")
    assert missing is not None
    partial_table = GaijiTable([e for e in full if e.text != "𠮷"])
    code = f"{int.from_bytes(missing.encode('cp932'), 'big'):04X}"
    path = out / "light_vehicle_taxes.csv"
    lines = path.read_bytes().split(b"\r\n")
    row = next(i for i, line in enumerate(lines) if missing.encode("cp932") in line) + 1
    for table in (partial_table, None):
        with pytest.raises(ImportRefusedError) as e, dst.town(TOWN_B) as town:
            import_layout(town, make_ctx(TOWN_B), "light_vehicle_taxes", path, gaiji=table)
        message = e.value.message
        assert "light_vehicle_taxes.csv" in message and f"{row} 行目 車種区分" in message, message
        if table is not None:  # without a table the row's first code is another one
            assert code in message
        assert [(r.row, r.column) for r in e.value.rejections] == [(row, "車種区分")]
        assert _count(dst, LightVehicleTaxAssessment) == 0
    with dst.town(TOWN_B) as town:
        imported, _, rejected = import_layout(
            town, make_ctx(TOWN_B), "light_vehicle_taxes", path, gaiji=partial_table, partial=True
        )
    assert [(r.row, r.column) for r in rejected] == [(row, "車種区分")]
    assert imported == len(lines) - 3  # header, the bad row, the empty string after CRLF
    src.dispose()
    dst.dispose()


def test_mixed_encoding_and_binary_files_are_refused_with_nothing_stored(tmp_path: Path) -> None:
    from lgcloud.taxation.models import ResidentTaxAssessment  # noqa: PLC0415

    src, dst, out = _move_town(tmp_path)
    lines = (out / "resident_taxes.csv").read_bytes().split(b"\r\n")
    sjis = (
        lines[6]
        .replace(b",ordinary,", ",普通徴収,".encode("cp932"))
        .replace(b",special,", ",特別徴収,".encode("cp932"))
    )
    assert sjis != lines[6]
    cases = {
        "mixed": (b"\r\n".join([*lines[:6], sjis, *lines[7:]]), "7 行目", "文字コードが混在"),
        "nul": (b"\r\n".join([*lines[:4], lines[4] + b"\x00", *lines[5:]]), "5 行目", "NUL"),
        "png": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "1 行目", "PNG 画像"),
        "utf16": ("\r\n".join(x.decode() for x in lines[:3]).encode("utf-16"), "1 行目", "UTF-16"),
    }
    for label, (data, where, why) in cases.items():
        path = tmp_path / f"{label}" / "resident_taxes.csv"
        path.parent.mkdir()
        path.write_bytes(data)
        for partial in (False, True):
            with pytest.raises(ImportRefusedError) as e, dst.town(TOWN_B) as town:
                import_layout(
                    town, make_ctx(TOWN_B), "resident_taxes", path, partial=partial, chunk_size=2
                )
            message = e.value.message
            assert f"resident_taxes.csv: {where}" in message and why in message, (label, message)
            assert _count(dst, ResidentTaxAssessment) == 0, label
    # a cp932 file forced to be read as UTF-8 is refused too
    cp932 = tmp_path / "cp932" / "resident_taxes.csv"
    cp932.parent.mkdir()
    cp932.write_bytes((out / "resident_taxes.csv").read_bytes().decode().encode("cp932"))
    with pytest.raises(ImportRefusedError, match="1 行目"), dst.town(TOWN_B) as town:
        import_layout(town, make_ctx(TOWN_B), "resident_taxes", cp932, encoding="utf-8")
    with dst.town(TOWN_B) as town:  # and read as Shift_JIS when detected
        assert import_layout(town, make_ctx(TOWN_B), "resident_taxes", cp932)[0] == len(lines) - 2
    src.dispose()
    dst.dispose()


@pytest.mark.parametrize("chunk_size", [1, 2, 3])
def test_identical_payments_across_chunks(tmp_path: Path, chunk_size: int) -> None:
    from lgcloud.taxation.models import TaxPayment  # noqa: PLC0415
    from lgcloud.taxation.service import record_payment  # noqa: PLC0415

    src, dst, out = _move_town(tmp_path)
    with src.town(TOWN_A) as town:
        inst = town.session.scalar(
            select(TaxInstallment).where(
                ~TaxInstallment.id.in_(select(TaxPayment.installment_id)),
                TaxInstallment.amount >= 4000,
            )
        )
        assert inst is not None
        for _ in range(2):  # two real, identical payments
            record_payment(
                town, make_ctx(TOWN_A), inst.id, paid_on=TODAY, amount=1000, channel="counter"
            )
        export_all(town, make_ctx(TOWN_A), out)
    payments = (out / "payments.csv").read_bytes().split(b"\r\n")
    twins = [line for line in payments if payments.count(line) == 2 and line]
    assert len(twins) == 2
    # the two identical rows apart, in different chunks whatever the chunk size
    rest = [line for line in payments[1:] if line and line not in twins]
    spread = [payments[0], twins[0], *rest[:3], twins[1], *rest[3:], b""]
    path = tmp_path / "payments.csv"
    path.write_bytes(b"\r\n".join(spread))
    rows = len(spread) - 2
    with dst.town(TOWN_B) as town:
        for name in ORDER[: ORDER.index("payments")]:
            import_layout(town, make_ctx(TOWN_B), name, out / f"{name}.csv")
        assert import_layout(town, make_ctx(TOWN_B), "payments", path, chunk_size=chunk_size) == (
            rows,
            0,
            [],
        )
        assert import_layout(town, make_ctx(TOWN_B), "payments", path, chunk_size=chunk_size) == (
            0,
            rows,
            [],
        )
        stored = town.session.scalar(select(func.count()).select_from(TaxPayment))
    assert stored == rows
    with src.town(TOWN_A) as town:
        assert stored == town.session.scalar(select(func.count()).select_from(TaxPayment))
    # a third identical copy is a new payment (two stored copies, both matched already)
    third = tmp_path / "third.csv"
    third.write_bytes(b"\r\n".join([payments[0], twins[0], rest[0], twins[0], twins[0], b""]))
    with dst.town(TOWN_B) as town:
        assert import_layout(town, make_ctx(TOWN_B), "payments", third, chunk_size=chunk_size) == (
            1,
            3,
            [],
        )
    src.dispose()
    dst.dispose()


def test_unknown_person_and_householder_are_refused_in_any_chunk(tmp_path: Path) -> None:
    from lgcloud.insurance.models import NhiMember  # noqa: PLC0415

    src, dst, out = _move_town(tmp_path)
    lines = (out / "nhi.csv").read_bytes().decode("utf-8").split("\r\n")
    assert len(lines) > 8
    fields = lines[5].split(",")
    fields[2] = "9999999999"  # 国保世帯主宛名番号
    other = lines[7].split(",")
    other[5] = "8888888888"  # 宛名番号
    path = tmp_path / "nhi.csv"
    path.write_bytes(
        "\r\n".join([*lines[:5], ",".join(fields), lines[6], ",".join(other), *lines[8:]]).encode()
    )
    for chunk_size in (1, 3, 1000):
        with pytest.raises(ImportRefusedError) as e, dst.town(TOWN_B) as town:
            import_layout(town, make_ctx(TOWN_B), "nhi", path, chunk_size=chunk_size)
        assert "nhi.csv: 6 行目 国保世帯主宛名番号" in e.value.message, e.value.message
        assert "9999999999" in e.value.message
        assert _count(dst, NhiMember) == 0
        with dst.town(TOWN_B) as town:
            imported, unchanged, rejected = import_layout(
                town, make_ctx(TOWN_B), "nhi", path, partial=True, chunk_size=chunk_size
            )
            town.session.rollback()
        assert [(r.row, r.column) for r in rejected] == [(6, "国保世帯主宛名番号"), (8, "宛名番号")]
        assert (imported, unchanged) == (len(lines) - 4, 0)
    src.dispose()
    dst.dispose()


def test_cli_layouts_in_cp932_with_gaiji_table(tmp_path: Path) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415

    from lgcloud.cli import app as cli  # noqa: PLC0415

    src, dst, _ = _move_town(tmp_path)
    _odd_texts(src)
    runner = CliRunner(env=cli_env(src))
    out = tmp_path / "cli"
    args = ["--data-dir", str(src.data_dir)]
    r = runner.invoke(
        cli,
        [
            "export",
            "layouts",
            "--town",
            TOWN_A,
            "--out-dir",
            str(out),
            "--encoding",
            "cp932",
            *args,
        ],
    )
    assert r.exit_code == 0, r.output
    assert (out / "gaiji.csv").exists()
    src.dispose()
    dst.dispose()
    args = ["--data-dir", str(dst.data_dir)]
    runner = CliRunner(env=cli_env(dst))
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    for name in ORDER:
        (lonely / f"{name}.csv").write_bytes((out / f"{name}.csv").read_bytes())
    r = runner.invoke(cli, ["import", "layouts", "--town", TOWN_B, "--in-dir", str(lonely), *args])
    assert r.exit_code != 0
    assert "外字" in r.output and "light_vehicle_taxes.csv" in r.output, r.output
    r = runner.invoke(
        cli,
        [
            "import",
            "layouts",
            "--town",
            TOWN_B,
            "--in-dir",
            str(lonely),
            "--gaiji",
            str(out / "gaiji.csv"),
            *args,
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["import", "layouts", "--town", TOWN_B, "--in-dir", str(out), *args])
    assert r.exit_code == 0, r.output
    assert " 0 imported" in r.output and "0 rejected" in r.output
    again = tmp_path / "again"
    r = runner.invoke(
        cli,
        [
            "export",
            "layouts",
            "--town",
            TOWN_B,
            "--out-dir",
            str(again),
            "--encoding",
            "cp932",
            *args,
        ],
    )
    assert r.exit_code == 0, r.output
    for name in [*ORDER, "gaiji"]:
        assert (again / f"{name}.csv").read_bytes() == (out / f"{name}.csv").read_bytes(), name


def test_web_export_of_layouts_in_cp932_is_the_cli_export(tmp_path: Path) -> None:
    import zipfile  # noqa: PLC0415

    from fastapi.testclient import TestClient  # noqa: PLC0415

    from lgcloud.auth.roles import Role  # noqa: PLC0415
    from lgcloud.auth.service import create_clerk  # noqa: PLC0415
    from lgcloud.web.app import create_app  # noqa: PLC0415

    src = make_platform(tmp_path / "src")
    generate_town(src, TOWN_A, residents=60, seed=5, today=TODAY)
    _odd_texts(src)
    with src.town(TOWN_A) as town:
        create_clerk(
            town,
            make_ctx(TOWN_A, None, "setup", ""),
            staff_number="I9",
            name="連携\u3000I9",
            roles={Role.IT_OFFICER},
            password="layouts-pass-9",
        )
        export_all(town, make_ctx(TOWN_A), tmp_path / "out", encoding="cp932")
    client = TestClient(create_app(src), follow_redirects=False)
    r = client.post(
        "/login", data={"town_code": TOWN_A, "staff_number": "I9", "password": "layouts-pass-9"}
    )
    assert r.status_code == 303, r.text
    r = run_export(client, "layouts", "cp932")
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert sorted(zf.namelist()) == sorted([f"{n}.csv" for n in ORDER] + ["gaiji.csv"])
        for name in [*ORDER, "gaiji"]:
            assert zf.read(f"{name}.csv") == (tmp_path / "out" / f"{name}.csv").read_bytes()
    r = run_export(client, "layouts")
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert "gaiji.csv" not in zf.namelist()
        assert zf.read("seals.csv") == to_text_bytes(src, "seals")
    assert run_export(client, "layouts", "euc").status_code == 422
    src.dispose()


def to_text_bytes(platform: Platform, name: str) -> bytes:
    with platform.town(TOWN_A) as town:
        return to_text(town, make_ctx(TOWN_A), name).encode("utf-8")


# Chunked inserts: the journal, running state within a chunk, progress.


@pytest.mark.sqlite_only  # the replica starts as a copy of the town's SQLite file
def test_layouts_import_replicates_through_the_journal(tmp_path: Path) -> None:
    """Rows inserted a chunk at a time still reach the journal: a replica following it
    from before the import ends equal to the town (NHI households and members too)."""
    import sqlite3  # noqa: PLC0415

    from lgcloud.continuity.digests import database_digests  # noqa: PLC0415
    from lgcloud.insurance.models import NhiHousehold  # noqa: PLC0415

    src, dst, out = _move_town(tmp_path)
    db = tmp_path / "dst" / "towns" / f"{TOWN_B}.sqlite"
    replica = tmp_path / "replica.sqlite"
    a, b = sqlite3.connect(db), sqlite3.connect(replica)
    a.backup(b)
    a.close()
    b.close()
    with dst.town(TOWN_B) as town:  # one transaction, as the CLI imports
        for name in ORDER:
            imported, _, rejected = import_layout(
                town, make_ctx(TOWN_B), name, out / f"{name}.csv", chunk_size=97
            )
            assert imported > 0 and rejected == [], name
    assert _count(dst, NhiHousehold) > 0
    follow_journal(dst.town_engine(TOWN_B), replica, TOWN_B, tmp_path)
    src.dispose()
    dst.dispose()
    assert database_digests(replica) == database_digests(db)


def test_payments_of_one_chunk_see_each_other(tmp_path: Path) -> None:
    """What is outstanding counts the payments added by earlier rows of the same chunk:
    two payments each within the installment but together over it refuse the second."""
    from lgcloud.taxation.models import TaxPayment  # noqa: PLC0415

    src, dst, out = _move_town(tmp_path)
    with dst.town(TOWN_B) as town:
        for name in ORDER[: ORDER.index("payments")]:
            import_layout(town, make_ctx(TOWN_B), name, out / f"{name}.csv")
    lines = (out / "installments.csv").read_bytes().decode("utf-8").split("\r\n")
    first = next(line for line in lines[1:] if int(line.split(",")[6]) >= 2)
    kind, person, year, plate, period, due, amount = first.split(",")
    half = int(amount) // 2 + 1  # two of these are more than the installment
    pay = f"{kind},{person},{year},{plate},{period},{due},{half},counter"
    header = (out / "payments.csv").read_bytes().decode("utf-8").split("\r\n")[0]
    path = tmp_path / "payments.csv"
    path.write_bytes("\r\n".join([header, pay, pay, ""]).encode("utf-8"))
    for chunk_size in (1, 2):
        with (
            pytest.raises(ImportRefusedError, match=r"3 行目: .*未納額") as e,
            dst.town(TOWN_B) as t,
        ):
            import_layout(t, make_ctx(TOWN_B), "payments", path, chunk_size=chunk_size)
        assert f"未納額 {int(amount) - half:,}円" in e.value.message
        assert _count(dst, TaxPayment) == 0
        with dst.town(TOWN_B) as town:
            _, _, rejected = import_layout(
                town, make_ctx(TOWN_B), "payments", path, partial=True, chunk_size=chunk_size
            )
            assert [r.row for r in rejected] == [3]
            assert town.session.scalar(select(func.sum(TaxPayment.amount))) == half
            town.session.rollback()
    src.dispose()
    dst.dispose()


def test_progress_reports_rows_read_after_each_chunk(tmp_path: Path) -> None:
    src, dst, out = _move_town(tmp_path)
    rows = (out / "resident_taxes.csv").read_bytes().count(b"\r\n") - 1
    seen: list[int] = []
    with dst.town(TOWN_B) as town:
        import_layout(
            town,
            make_ctx(TOWN_B),
            "resident_taxes",
            out / "resident_taxes.csv",
            chunk_size=100,
            on_progress=seen.append,
        )
    assert seen == [*range(100, rows, 100), rows]
    src.dispose()
    dst.dispose()


# A town's files together (import_layouts): checked whole in a trial, written in chunks.


def _files(out: Path, names: tuple[str, ...] = ORDER) -> list[tuple[str, Path]]:
    return [(name, out / f"{name}.csv") for name in names]


def _audit(platform: Platform, action: str) -> list[AuditEntry]:
    with platform.read_town(TOWN_B) as town:
        return list(
            town.session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            )
        )


def test_import_layouts_refuses_them_all_before_writing_any(tmp_path: Path) -> None:
    """A bad row in the last file refuses every file with nothing written (the check runs
    in a trial of the town, thrown away); the same files fixed go in, a chunk per short
    transaction, each audited with its people, and a second run adds nothing."""
    from lgcloud.insurance.models import NhiMember  # noqa: PLC0415
    from lgcloud.interchange.layouts import import_layouts  # noqa: PLC0415

    src, dst, out = _move_town(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ORDER:
        (bad / f"{name}.csv").write_bytes((out / f"{name}.csv").read_bytes())
    lines = (out / "nhi.csv").read_bytes().decode("utf-8").split("\r\n")
    last = lines[-2].split(",")
    last[5] = "8888888888"  # 宛名番号 of the last row of the last file with rows
    (bad / "nhi.csv").write_bytes("\r\n".join([*lines[:-2], ",".join(last), ""]).encode())
    with dst.read_town(TOWN_B) as town:
        seq_before = town.session.scalar(select(func.max(AuditEntry.seq)))
    with pytest.raises(ImportRefusedError) as e:
        import_layouts(dst, make_ctx(TOWN_B), _files(bad), chunk_size=50)
    assert f"nhi.csv: {len(lines) - 1} 行目 宛名番号" in e.value.message, e.value.message
    assert "取り込まれています" not in e.value.message
    assert _count(dst, TaxInstallment) == 0 and _count(dst, NhiMember) == 0
    with dst.read_town(TOWN_B) as town:
        assert town.session.scalar(select(func.max(AuditEntry.seq))) == seq_before
    trials = dst.data_dir / "run" / "trials"  # SQLite's trial copies (none on PostgreSQL)
    assert not trials.exists() or list(trials.iterdir()) == []  # the copy is gone

    stages: list[tuple[str, str]] = []
    results = import_layouts(
        dst,
        make_ctx(TOWN_B),
        _files(out),
        chunk_size=50,
        on_progress=lambda stage, name, _rows: stages.append((stage, name)),
    )
    expected = [
        (out / f"{name}.csv").read_bytes().decode("utf-8").count("\r\n") - 1 for name in ORDER
    ]
    assert [(i, u, r) for i, u, r in results] == [(n, 0, []) for n in expected]
    # every file checked before the first is written
    assert stages.index(("write", ORDER[0])) > max(
        i for i, (stage, _) in enumerate(stages) if stage == "check"
    )
    for name in ORDER:
        with dst.read_town(TOWN_B) as town:
            again = to_text(town, make_ctx(TOWN_B), name)
        assert again == (out / f"{name}.csv").read_bytes().decode("utf-8"), name
    chunks = _audit(dst, "import_layout_rows")  # a first import: every chunk adds rows
    assert len(chunks) == sum((n + 49) // 50 for n in expected)
    assert all(c.subjects for c in chunks)
    files = _audit(dst, "import_layout")
    assert [f.detail["layout"] for f in files] == list(ORDER)
    assert [f.detail["imported"] for f in files] == expected
    again = import_layouts(dst, make_ctx(TOWN_B), _files(out))
    assert [(i, u) for i, u, _ in again] == [(0, n) for n in expected]
    src.dispose()
    dst.dispose()


def test_the_check_of_an_import_holds_nothing_a_counter_waits_for(tmp_path: Path) -> None:
    """While an import is being checked, a clerk records a payment on an installment the
    file pays too (no wait: the trial holds no lock the counter needs). The file's row now
    pays more than is outstanding, so writing refuses it: the rows before it stay, the
    message says so, and nothing after it is written."""
    import csv  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from lgcloud.interchange.layouts import import_layouts  # noqa: PLC0415
    from lgcloud.taxation.models import TaxPayment  # noqa: PLC0415
    from lgcloud.taxation.service import record_payment  # noqa: PLC0415

    src, dst, out = _move_town(tmp_path)
    import_layouts(dst, make_ctx(TOWN_B), _files(out, ORDER[: ORDER.index("payments")]))
    with (out / "payments.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) > 40
    target = 30  # 0-based: file line 32, in the fourth chunk of 10
    row = rows[target]
    with dst.read_town(TOWN_B) as town:
        found = town.session.scalars(
            select(TaxInstallment).where(
                TaxInstallment.addressee_number == row["宛名番号"],
                TaxInstallment.fiscal_year == int(row["年度"]),
                TaxInstallment.period == int(row["期別"]),
            )
        ).all()
    [inst] = [i for i in found if i.amount >= int(row["納付額"])][:1]
    paid_first = sum(
        int(r["納付額"])
        for r in rows[:target]
        if (r["宛名番号"], r["年度"], r["期別"], r["税目"])
        == (row["宛名番号"], row["年度"], row["期別"], row["税目"])
    )
    clerk_amount = inst.amount - paid_first - int(row["納付額"]) + 1
    assert clerk_amount > 0
    done: list[float] = []

    def clerk() -> None:
        import time  # noqa: PLC0415

        began = time.monotonic()
        with dst.town(TOWN_B) as town:
            record_payment(town, make_ctx(TOWN_B), inst.id, paid_on=TODAY, amount=clerk_amount)
        done.append(time.monotonic() - began)

    def during(stage: str, _name: str, _rows: int) -> None:
        if stage == "check" and not done:
            t = threading.Thread(target=clerk)
            t.start()
            t.join(timeout=5)
            assert done and done[0] < 1.0, done  # the trial holds nothing the counter needs

    with pytest.raises(ImportRefusedError) as e:
        import_layouts(
            dst, make_ctx(TOWN_B), _files(out, ("payments",)), chunk_size=10, on_progress=during
        )
    assert f"payments.csv: {target + 2} 行目" in e.value.message, e.value.message
    assert "町村のデータが変わりました" in e.value.message
    assert "これより前の行は取り込まれています" in e.value.message
    assert _count(dst, TaxPayment) == target // 10 * 10 + 1  # whole chunks, and the clerk's
    src.dispose()
    dst.dispose()
