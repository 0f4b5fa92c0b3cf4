"""Every registered name printable, or a remedy: names no font prints are reported at entry,
and a 外字 the town registers is drawn on certificates and named in the gaiji table."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import ImageChops
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import (
    TODAY,
    TOWN_A,
    cli_env,
    make_ctx,
    move_in_one,
    move_in_result,
    one_resident_csv,
)
from lgcloud.audit.models import AuditEntry
from lgcloud.certificates.service import CertificateKind, issue_certificate
from lgcloud.cli import app
from lgcloud.core.errors import RuleViolationError
from lgcloud.documents.render import UnprintableCharacterError
from lgcloud.interchange.residents import (
    ImportRefusedError,
    export_residents,
    import_residents,
)
from lgcloud.interface import commands
from lgcloud.register import glyphs, printable
from lgcloud.tenancy.platform import Platform
from pdf_tools import render_png

#: 髙 + VS18: in neither the Moji_Joho (IPAmj明朝) nor the Adobe-Japan1 (Noto) collection
NO_FONT = "\u9ad9\U000e0101"
#: 髙 + VS17: Adobe-Japan1's, printed with Noto Serif CJK JP
AJ1 = "\u9ad9\U000e0100"
#: a filled square, so that the page shows where the glyph is drawn
SQUARE = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
    '<rect x="5" y="5" width="90" height="90" fill="black"/></svg>'
)


def _move_in(platform: Platform, name: str) -> str:
    return move_in_one(platform, TOWN_A, name)


def _issue(platform: Platform, person: str) -> bytes:
    return issue_certificate(
        platform, make_ctx(TOWN_A), CertificateKind.RESIDENT, addressee_number=person
    ).pdf


def test_an_adobe_japan1_name_is_printed(platform: Platform) -> None:
    person = _move_in(platform, f"{AJ1}橋\u3000一郎")
    assert _issue(platform, person).startswith(b"%PDF")
    with platform.read_town(TOWN_A) as t:
        assert printable.report(t) == []


def test_a_name_no_font_prints_is_reported_then_printed_once_registered(
    platform: Platform, tmp_path: Path
) -> None:
    # reported when entered (the record is stored: it is what was notified)
    result = move_in_result(platform, TOWN_A, f"{NO_FONT}橋\u3000二郎", address="大字東港2番地")
    (warning,) = result.unprintable
    person = result.subjects[0]
    assert (warning.addressee_number, warning.field) == (person, "氏名")
    assert warning.characters == (NO_FONT,)
    with platform.read_town(TOWN_A) as t:
        assert [(u.addressee_number, u.field) for u in printable.report(t)] == [(person, "氏名")]
    # refused at the counter, naming the remedy that exists
    with pytest.raises(UnprintableCharacterError) as refused:
        _issue(platform, person)
    assert "lgcloud gaiji register" in refused.value.message
    # the remedy: the IT officer registers a glyph (on the command line, audited)
    svg = tmp_path / "taka.svg"
    svg.write_text(SQUARE, encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(
        app,
        [
            "gaiji", "register", "--town", TOWN_A, "--text", "U+9AD9 U+E0101",
            "--svg", str(svg), "--local-code", "SEIRO-0001",
            "--data-dir", str(platform.data_dir),
        ],
        env=cli_env(platform),
    )  # fmt: skip
    commands.close_platforms()
    assert out.exit_code == 0, out.output
    with platform.read_town(TOWN_A) as t:
        assert printable.report(t) == []
        entry = t.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "glyph_registered")
        ).one()
        assert entry.detail["local_code"] == "SEIRO-0001"
    # now printed, and drawn: the page differs from the same person with a blank instead
    pdf = _issue(platform, person)
    blank = tmp_path / "blank.svg"
    blank.write_text(SQUARE.replace('fill="black"', 'fill="none"'), encoding="utf-8")
    with platform.town(TOWN_A) as t:
        glyph = t.session.scalars(select(glyphs.RegisteredGlyph)).one()
        glyph.svg = blank.read_text(encoding="utf-8")
    pdf_blank = _issue(platform, person)
    diff = ImageChops.difference(render_png(pdf, dpi=150), render_png(pdf_blank, dpi=150))
    assert sum(diff.convert("L").histogram()[65:]) > 50  # the square's pixels
    # and a cp932 export gives it a code in the gaiji table (the layout has no column for a
    # local code: the name is blank; an MJ name is exported, test below)
    with platform.read_town(TOWN_A) as t:
        gaiji = io.StringIO()
        export_residents(t, make_ctx(TOWN_A), io.BytesIO(), encoding="cp932", gaiji_out=gaiji)
    assert f"F040,,{NO_FONT}" in gaiji.getvalue().splitlines()


@pytest.mark.parametrize(
    ("text", "svg", "kw", "field"),
    [
        ("髙", SQUARE, {"mj_name": "MJ028902"}, "text"),  # the font prints it
        (AJ1, SQUARE, {"mj_name": "MJ028902"}, "text"),  # so does the chain's second font
        ("髙橋", SQUARE, {"mj_name": "MJ028902"}, "text"),  # two characters
        (NO_FONT, SQUARE, {"mj_name": "028902"}, "mj_name"),
        (NO_FONT, SQUARE, {}, "mj_name"),  # no name at all
        (NO_FONT, "<svg", {"local_code": "X1"}, "svg"),
    ],
)
def test_bad_registrations_are_refused(text: str, svg: str, kw: dict[str, str], field: str) -> None:
    with pytest.raises(RuleViolationError) as refused:
        glyphs.check_glyph(text, svg, **kw)
    assert refused.value.field == field


def test_a_registration_is_made_once_and_names_the_gaiji_row(platform: Platform) -> None:
    request = glyphs.check_glyph(NO_FONT, SQUARE, mj_name="MJ999999")
    with platform.town(TOWN_A) as t:
        glyphs.register_glyph(t, make_ctx(TOWN_A), request)
    with pytest.raises(RuleViolationError, match="既に登録"), platform.town(TOWN_A) as t:
        glyphs.register_glyph(t, make_ctx(TOWN_A), request)
    _move_in(platform, f"{NO_FONT}橋\u3000五郎")
    with platform.read_town(TOWN_A) as t:
        gaiji = io.StringIO()
        export_residents(t, make_ctx(TOWN_A), io.BytesIO(), encoding="cp932", gaiji_out=gaiji)
    assert f"F040,MJ999999,{NO_FONT}" in gaiji.getvalue().splitlines()


def test_an_import_lists_unprintable_names_or_refuses_them_when_strict(
    platform: Platform, tmp_path: Path
) -> None:
    path = one_resident_csv(tmp_path / "residents.csv", 漢字氏名=f"{NO_FONT}橋\u3000三郎")
    with pytest.raises(ImportRefusedError) as refused:
        import_residents(platform, make_ctx(TOWN_A), path, today=TODAY, strict=True)
    assert [(r.row, r.column) for r in refused.value.rejections] == [(2, "漢字氏名")]
    result = import_residents(platform, make_ctx(TOWN_A), path, today=TODAY)
    assert result.imported == 1
    assert [(r.row, r.column) for r in result.unprintable] == [(2, "漢字氏名")]
    assert "U+9AD9 U+E0101" in result.unprintable[0].reason


def test_gaiji_report_command(platform: Platform) -> None:
    _move_in(platform, f"{NO_FONT}橋\u3000四郎")
    out = CliRunner().invoke(
        app,
        ["gaiji", "report", "--town", TOWN_A, "--data-dir", str(platform.data_dir)],
        env=cli_env(platform),
    )
    commands.close_platforms()
    assert out.exit_code == 0, out.output
    assert "印字できない住民: 1 人" in out.output


def test_an_imported_gaiji_table_keeps_its_mj_names(platform: Platform, tmp_path: Path) -> None:
    """A cp932 file whose gaiji.csv names a character (here one no font draws, so the
    project's own MJ table cannot): the town's own cp932 export names it the same."""
    text = one_resident_csv(tmp_path / "utf8.csv", 漢字氏名="\ue000橋\u3000六郎").read_text("utf-8")
    data = text.replace("\ue000", "@").encode("cp932").replace(b"@", b"\xf0\x40")
    path = tmp_path / "residents.csv"
    path.write_bytes(data)
    gaiji = tmp_path / "gaiji.csv"
    gaiji.write_text(
        f"外字コード,MJ文字図形名,対応文字\nF040,MJ999998,{NO_FONT}\n", encoding="utf-8"
    )
    result = import_residents(platform, make_ctx(TOWN_A), path, gaiji_path=gaiji, today=TODAY)
    assert result.imported == 1
    with platform.read_town(TOWN_A) as t:
        out = io.StringIO()
        export_residents(t, make_ctx(TOWN_A), io.BytesIO(), encoding="cp932", gaiji_out=out)
    assert f"F040,MJ999998,{NO_FONT}" in out.getvalue().splitlines()
