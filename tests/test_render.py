"""The PDF engine: typst + IPAmj明朝 draws the registered glyph of every variation sequence,
keeps the text extractable, refuses what the font cannot draw, and embeds a font subset."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from PIL import ImageChops
from pypdf import PdfReader

from lgcloud.certificates.render import (
    FALLBACK_FAMILY,
    FALLBACK_FONT_PATH,
    FONT_FAMILY,
    FONT_PATH,
    RenderError,
    UnprintableCharacterError,
    describe,
    font_coverage,
    pdf_engine,
    qr_svg,
    require_printable,
)
from lgcloud.core.errors import RuleViolationError
from lgcloud.generate.names_data import IVS_FORMS
from pdf_tools import (
    drawn_glyphs,
    extract_text,
    font_cmap,
    font_sequences,
    original_outline,
    render_png,
)

# no database: the PostgreSQL pass of ./scripts/test would only repeat these
pytestmark = pytest.mark.no_database

WHO = "宛名番号 0000000019"
EMOJI = "\U0001f600"  # 😀
EXT_G = "\U00030000"  # 𰀀, CJK Unified Ideographs Extension G
TAKA = "\u9ad9"  # 髙 (はしご高)
VS17 = "\U000e0100"  # 髙 + VS17 is Adobe-Japan1's: Noto Serif CJK JP draws it, IPAmj does not
VS18 = "\U000e0101"  # 髙 + VS18 is in neither collection


def _sample(rows: list[list[str]], **extra: Any) -> bytes:
    data: dict[str, Any] = {"title": "見本", "rows": rows, "as_of": "令和六年四月一日現在"}
    return pdf_engine().render("_sample.typ", {**data, **extra})


def _glyphs_by_text(pdf: bytes) -> dict[str | None, set[str]]:
    found: dict[str | None, set[str]] = {}
    for text, outline in drawn_glyphs(pdf):
        found.setdefault(text, set()).add(outline)
    return found


# --------------------------------------------------------------- (a) the glyph drawn


@pytest.mark.parametrize("form", IVS_FORMS, ids=[f.note.split(";")[0] for f in IVS_FORMS])
def test_variation_sequence_draws_the_registered_glyph(form: Any) -> None:
    base, selector = form.sequence[0], form.sequence[1]
    pdf = _sample([["異体字", form.sequence], ["基本字", form.base]])
    glyphs = _glyphs_by_text(pdf)
    assert len(glyphs[form.sequence]) == 1
    assert len(glyphs[form.base]) == 1
    (drawn_variant,) = glyphs[form.sequence]
    (drawn_base,) = glyphs[form.base]
    assert drawn_variant != drawn_base
    assert drawn_variant == original_outline(FONT_PATH, base, selector)
    assert drawn_base == original_outline(FONT_PATH, base)


def _every_sequence() -> list[str]:
    """Every variation sequence either font of the chain registers: IPAmj明朝's (the
    Moji_Joho collection) and Noto Serif CJK JP's (Adobe-Japan1)."""
    both = set(font_sequences(FONT_PATH)) | set(font_sequences(FALLBACK_FONT_PATH))
    return [chr(base) + chr(selector) for base, selector in sorted(both)]


def test_every_variation_sequence_of_the_chain_prints_its_own_glyph() -> None:
    """Each sequence is drawn by the first font of the chain that registers it, with that
    font's glyph for it (compared by outline in the PDF, not by the text layer), and so
    differs from the base glyph wherever that font's glyph does."""
    chain = font_coverage()
    units = _every_sequence()
    assert len(units) > 25_000  # 11,474 + 14,786, less the sequences both register
    paths = {FONT_FAMILY: FONT_PATH, FALLBACK_FAMILY: FALLBACK_FONT_PATH}
    wrong: list[str] = []
    differing = 0  # sequences whose glyph is not the base's (in the font that draws them)
    for i in range(0, len(units), 1500):
        batch = units[i : i + 1500]
        pdf = pdf_engine().render(
            "_sample.typ",
            {"title": "見本", "rows": [[u, u] for u in batch], "as_of": "見本"},
            tagged=False,
        )
        glyphs = drawn_glyphs(pdf)
        by_text = {text: outline for text, outline in glyphs if text}
        outlines = {outline for _, outline in glyphs}
        for unit in batch:
            family = chain.font_for(unit)
            assert family is not None, unit
            path = paths[family]
            expected = original_outline(path, unit[0], unit[1])
            drawn = by_text.get(unit)
            if drawn is None and expected in outlines:
                # a glyph the font also maps a compatibility ideograph to is named by that
                # character in the PDF's text layer (one text per glyph): found by outline
                drawn = expected
            if drawn != expected:
                wrong.append(f"{describe(unit)}: not {family}'s glyph for it")
            if expected != original_outline(path, unit[0]):
                differing += 1
                if drawn == original_outline(path, unit[0]):
                    wrong.append(f"{describe(unit)}: drawn as its base")
    assert wrong == []
    assert differing > 5_000  # 7,792 with the Debian 12 fonts


# --------------------------------------------------------------- (b) what the page looks like


def _big(text: str) -> bytes:
    return pdf_engine().render(
        "_sample", {"title": text, "title_size": 72, "rows": [], "as_of": "見本"}
    )


def _changed_pixels(a: bytes, b: bytes) -> int:
    diff = ImageChops.difference(render_png(a), render_png(b)).convert("L")
    return sum(diff.histogram()[65:])  # pixels whose grey level differs by more than 64


@pytest.mark.parametrize(
    "sequence", ["\u845b\U000e0102", "\u8fbb\U000e0102", "\u908a\U000e010d"], ids=["葛", "辻", "邊"]
)
def test_variation_sequence_looks_different_on_the_page(sequence: str) -> None:
    base = _big(sequence[0])
    assert _changed_pixels(base, _big(sequence)) > 300  # 72 pt at 100 dpi: a ~100 px glyph
    assert _changed_pixels(base, _big(sequence[0])) == 0
    assert render_png(base).tobytes() == render_png(_big(sequence[0])).tobytes()


# --------------------------------------------------------------- (c) text extraction


def test_text_extraction_returns_the_exact_strings() -> None:
    names = [
        "葛\U000e0102城 太郎",
        "渡邉\U000e0119　花子",
        "齋\U000e0103藤\U000e0103 一郎",  # the same glyph twice; 藤 has its own sequence
        "山\ufa11\U000e0103 恵\U000e0103",
        "𠮷田 𠀋",  # outside the BMP, in the font
        # data is text, never markup or code
        "*強調* _下線_ #let x = 1 $a^2$ <label> @ref \\ // 注釈 ] [",
    ]
    pdf = _sample([["氏名", n] for n in names])
    text = extract_text(pdf)
    for name in names:
        assert name in text
    assert "見本" in text


def test_footer_on_every_page_with_page_numbers() -> None:
    pdf = _sample([["番号", f"{i:04d}"] for i in range(120)], qr=qr_svg("https://example.jp/v/1"))
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert "令和六年四月一日現在" in page.extract_text()
        assert f"{number} / {len(pages)}" in page.extract_text()


# --------------------------------------------------------------- (d) refusing what cannot print


def test_the_test_characters_really_are_missing_from_the_font() -> None:
    cmap = font_cmap(FONT_PATH)
    assert ord(EMOJI) not in cmap
    assert ord(EXT_G) not in cmap
    assert ord(TAKA) in cmap
    assert (ord(TAKA), ord(VS17)) not in font_sequences(FONT_PATH)
    assert (ord(TAKA), ord(VS17)) in font_sequences(FALLBACK_FONT_PATH)
    for font in (FONT_PATH, FALLBACK_FONT_PATH):
        assert (ord(TAKA), ord(VS18)) not in font_sequences(font)
        assert ord(EMOJI) not in font_cmap(font)
        assert ord(EXT_G) not in font_cmap(font)
    assert (0x845B, 0xE0102) in font_sequences(FONT_PATH)


@pytest.mark.parametrize(
    ("value", "char", "code"),
    [
        (f"{EXT_G}田 太郎", EXT_G, "U+30000"),
        (f"{EMOJI}\u3000太郎", EMOJI, "U+1F600"),
        (f"{TAKA}{VS18}橋 一郎", f"{TAKA}{VS18}", "U+9AD9 U+E0101"),
    ],
    ids=["ext-g", "emoji", "unregistered-ivs"],
)
def test_unprintable_name_is_refused(value: str, char: str, code: str) -> None:
    with pytest.raises(UnprintableCharacterError) as caught:
        require_printable({"住所": "新潟県北蒲原郡聖籠町", "氏名": value}, WHO)
    error = caught.value
    assert isinstance(error, RuleViolationError)
    assert error.field == "氏名"
    assert error.characters == (char,)
    assert (
        f"氏名「{value}」の文字 {char} ({code}) は証明書のフォントで印字できません" in error.message
    )
    assert WHO in error.message


def test_missing_lists_each_problem_once() -> None:
    coverage = font_coverage()
    assert coverage.missing("葛\U000e0102城\t太郎\r\n 　") == []
    assert coverage.missing(f"{EMOJI}a{EMOJI}") == [EMOJI]
    assert coverage.missing(f"{EMOJI}\ufe0f") == [f"{EMOJI}\ufe0f"]  # reported as one sequence
    assert coverage.missing("\U000e0102葛") == ["\U000e0102"]  # a selector without a base
    assert coverage.missing("葛\U000e0102\U000e0102") == ["\U000e0102"]  # a second selector
    assert coverage.missing("a\u200bb\x01") == ["\u200b", "\x01"]  # invisible, not in the font


def test_invisible_characters_are_named_by_code_point() -> None:
    with pytest.raises(UnprintableCharacterError) as caught:
        require_printable({"氏名": "太\u200b郎"}, WHO)
    assert "氏名「太[U+200B]郎」の文字 (U+200B) は" in caught.value.message


def test_the_engine_refuses_unprintable_data_too() -> None:
    with pytest.raises(UnprintableCharacterError) as caught:
        _sample([["氏名", "葛城"], ["氏名", f"{EXT_G}田"]])
    assert "rows[1][1]" in caught.value.message
    assert "U+30000" in caught.value.message


def test_unknown_templates_are_refused() -> None:
    with pytest.raises(ValueError, match="no template"):
        pdf_engine().render("no_such_template", {})
    with pytest.raises(ValueError, match="bad template name"):
        pdf_engine().render("../render.py", {})


def test_template_errors_are_render_errors() -> None:
    with pytest.raises(RenderError, match="_sample"):
        pdf_engine().render("_sample", {"title": "x"})  # no rows, no as_of


# --------------------------------------------------------------- (e) many documents, one subset


def test_fifty_documents_in_a_row_with_a_subset_font() -> None:
    font_size = FONT_PATH.stat().st_size
    qr = qr_svg("https://example.jp/verify/153079-0000001")
    for i in range(50):
        pdf = _sample([["氏名", f"葛\U000e0102城 太郎 {i}"], ["番号", f"{i:010d}"]], qr=qr)
        assert pdf.startswith(b"%PDF-")
        assert len(pdf) < font_size // 200  # 46 MB font, a few tens of kB of PDF
    reader = PdfReader(io.BytesIO(pdf))
    fonts = [f.get_object() for f in reader.pages[0]["/Resources"]["/Font"].values()]
    assert len(fonts) == 1  # IPAmj and nothing else
    assert re.fullmatch(r"/[A-Z]{6}\+IPAmjMincho", fonts[0]["/BaseFont"])  # a subset
    descendant = fonts[0]["/DescendantFonts"][0].get_object()
    program = descendant["/FontDescriptor"]["/FontFile2"].get_object().get_data()
    assert 1000 < len(program) < font_size // 200
    assert "葛\U000e0102城 太郎 49" in extract_text(pdf)


def test_qr_svg_is_an_svg_document() -> None:
    svg = qr_svg("https://example.jp/verify/ABC")
    assert svg.startswith("<svg ")
    assert 'xmlns="http://www.w3.org/2000/svg"' in svg
    assert "<?xml" not in svg
