"""Test helpers for PDFs: text, the glyphs actually drawn, and rasterised pages.

``drawn_glyphs`` works for PDFs whose fonts are Type0 / Identity-H with an embedded
TrueType program (FontFile2), which is what typst writes.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
from pathlib import Path

import pypdfium2 as pdfium
from fontTools.cffLib import CFFFontSet
from fontTools.pens.recordingPen import RecordingPen
from fontTools.ttLib import TTFont
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import ContentStream


def extract_text(pdf_bytes: bytes) -> str:
    """The text of all pages (pypdf), pages separated by a newline."""
    reader = PdfReader(io.BytesIO(pdf_bytes))
    return "\n".join(page.extract_text() for page in reader.pages)


def _outline(font: TTFont, gid: int) -> str:
    """A hash of a glyph's outline (coordinates and contour ends), comparable across fonts."""
    glyf = font["glyf"]
    glyph = glyf[font.getGlyphName(gid)]
    coords, ends, _flags = glyph.getCoordinates(glyf)
    return hashlib.sha1(repr((list(coords), list(ends))).encode()).hexdigest()


def _cff_outline(charstring: object) -> str:
    """A hash of a CFF glyph's path (the pen's moves and curves), comparable between the
    font file and the subset embedded in a PDF (hints are not part of it)."""
    pen = RecordingPen()
    charstring.draw(pen)  # type: ignore[attr-defined]
    return hashlib.sha1(repr(pen.value).encode()).hexdigest()


def _embedded_cff(data: bytes) -> object:
    """The CharStrings of a bare CFF font (PDF FontFile3, CIDFontType0C)."""
    cff = CFFFontSet()
    cff.decompile(io.BytesIO(data), None)
    return cff[cff.fontNames[0]].CharStrings


def _utf16(hex_text: bytes) -> str:
    return bytes.fromhex(hex_text.decode()).decode("utf-16-be")


def _to_unicode(cmap_data: bytes) -> dict[int, str]:
    """Character code -> text, from a ToUnicode CMap (bfchar and bfrange entries)."""
    mapping: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap_data, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>", block):
            mapping[int(src, 16)] = _utf16(dst)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", cmap_data, re.S):
        pattern = rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>"
        for first, last, dst in re.findall(pattern, block):
            start, text = int(first, 16), _utf16(dst)
            for i in range(int(last, 16) - start + 1):
                mapping[start + i] = text[:-1] + chr(ord(text[-1]) + i)
    return mapping


def drawn_glyphs(pdf_bytes: bytes) -> list[tuple[str | None, str]]:
    """Every glyph drawn with an embedded TrueType or CFF font, in content-stream order, on
    all pages: (the text of its cluster from ToUnicode, e.g. "葛\\U000e0102", outline hash)."""
    reader = PdfReader(io.BytesIO(pdf_bytes))
    out: list[tuple[str | None, str]] = []
    for page in reader.pages:
        fonts = {}
        resources = page.get("/Resources") or {}
        for name, ref in (resources.get("/Font") or {}).items():
            font = ref.get_object()
            if font.get("/Subtype") != "/Type0":
                continue
            cid = font["/DescendantFonts"][0].get_object()
            descriptor = cid["/FontDescriptor"].get_object()
            to_unicode = _to_unicode(font["/ToUnicode"].get_object().get_data())
            if "/FontFile3" in descriptor:  # CFF (the chain's Noto Serif CJK JP): code = CID
                charstrings = _embedded_cff(descriptor["/FontFile3"].get_object().get_data())
                fonts[name] = (charstrings, None, to_unicode)
                continue
            if "/FontFile2" not in descriptor:
                continue
            tt = TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data()))
            c2g = cid.get("/CIDToGIDMap", "/Identity")
            c2g_data = None if c2g == "/Identity" else c2g.get_object().get_data()
            fonts[name] = (tt, c2g_data, to_unicode)
        current = None
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"Tf":
                current = operands[0]
            elif operator in (b"Tj", b"TJ") and current in fonts:
                tt, c2g_data, to_unicode = fonts[current]
                for item in operands[0] if operator == b"TJ" else [operands[0]]:
                    if not hasattr(item, "original_bytes"):
                        continue  # a TJ positioning number
                    raw = item.original_bytes
                    for i in range(0, len(raw), 2):
                        code = int.from_bytes(raw[i : i + 2], "big")
                        if not isinstance(tt, TTFont):  # CFF charstrings, keyed by CID
                            out.append((to_unicode.get(code), _cff_outline(tt[f"cid{code:05d}"])))
                            continue
                        gid = (
                            code
                            if c2g_data is None
                            else int.from_bytes(c2g_data[2 * code : 2 * code + 2], "big")
                        )
                        out.append((to_unicode.get(code), _outline(tt, gid)))
    return out


@functools.cache
def _font(font_path: str) -> TTFont:
    return TTFont(font_path, lazy=True, fontNumber=0)  # a collection's first face


@functools.cache
def font_sequences(font_path: str | Path) -> dict[tuple[int, int], str | None]:
    """The font's variation sequences (cmap format 14): (base, selector) -> glyph name,
    None for a default sequence (the base character's own glyph)."""
    sequences: dict[tuple[int, int], str | None] = {}
    for sub in _font(str(font_path))["cmap"].tables:
        if sub.format == 14:
            for selector, pairs in sub.uvsDict.items():
                for base, glyph in pairs:
                    sequences[(base, selector)] = glyph
    return sequences


@functools.cache
def font_cmap(font_path: str | Path) -> dict[int, str]:
    """The font's Unicode cmap: code point -> glyph name."""
    return dict(_font(str(font_path)).getBestCmap())


@functools.cache
def original_outline(font_path: str | Path, base: str, selector: str | None = None) -> str:
    """The outline hash of the glyph the font maps ``base`` (+ ``selector``) to."""
    font = _font(str(font_path))
    name = font_cmap(font_path)[ord(base)]
    if selector is not None:
        name = font_sequences(font_path).get((ord(base), ord(selector))) or name
    if "CFF " in font:
        return _cff_outline(font["CFF "].cff.topDictIndex[0].CharStrings[name])
    return _outline(font, font.getGlyphID(name))


def render_png(pdf_bytes: bytes, page: int = 0, dpi: int = 100) -> Image.Image:
    """One page rasterised by PDFium, as an RGB image."""
    document = pdfium.PdfDocument(pdf_bytes)
    try:
        pdf_page = document[page]
        try:
            bitmap = pdf_page.render(scale=dpi / 72)
            image = bitmap.to_pil().convert("RGB")
            bitmap.close()
        finally:
            pdf_page.close()
    finally:
        document.close()
    return image
