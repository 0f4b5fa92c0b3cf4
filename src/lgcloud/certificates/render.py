"""The PDF engine: typst with the IPAmj明朝 font, and the check that every character prints.

typst shapes text with rustybuzz, the Rust port of HarfBuzz, which honours Ideographic
Variation Sequences through the font's cmap format 14: 葛 + U+E0102 draws the registered
glyph, not 葛's default. The font is subset-embedded. Nothing falls back to another font
(``fallback: false`` and only IPAmj in the font path), so a character outside the font
would print as an empty box; :func:`require_printable` refuses such text *before*
rendering, naming the character and the person.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import threading
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import segno
import typst
from fontTools.ttLib import TTFont

from lgcloud.core.errors import RuleViolationError

FONT_PATH = Path(os.environ.get("LGCLOUD_FONT", "/usr/share/fonts/truetype/ipamj/ipamjm.ttf"))
TEMPLATES = Path(__file__).parent / "templates"
PRELUDE = "_common.typ"


def _is_selector(cp: int) -> bool:
    return 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF


class FontCoverage:
    """What the font can draw: its Unicode cmap and its variation sequences."""

    def __init__(self, path: Path = FONT_PATH) -> None:
        if not path.exists():
            raise FileNotFoundError(
                f"証明書のフォントがありません: {path} (Debian package fonts-ipamj-mincho)"
            )
        font = TTFont(str(path), lazy=True)
        self.cmap: frozenset[int] = frozenset(font.getBestCmap())
        sequences: set[tuple[int, int]] = set()
        for sub in font["cmap"].tables:
            if sub.format == 14:
                for selector, pairs in sub.uvsDict.items():
                    sequences.update((base, selector) for base, _glyph in pairs)
        self.sequences: frozenset[tuple[int, int]] = frozenset(sequences)
        font.close()

    def missing(self, text: str) -> list[str]:
        """Every character or base+selector sequence of ``text`` the font cannot draw."""
        bad: list[str] = []
        prev: int | None = None
        for ch in text:
            cp = ord(ch)
            if _is_selector(cp):
                if prev is None or (prev, cp) not in self.sequences:
                    bad.append((chr(prev) if prev is not None else "") + ch)
                prev = None
                continue
            if cp not in self.cmap and ch not in "\n\t\r ":
                bad.append(ch)
            prev = cp
        return bad


@cache
def font_coverage() -> FontCoverage:
    return FontCoverage()


def describe(sequence: str) -> str:
    codes = "+".join(f"U+{ord(c):04X}" for c in sequence)
    return f"{sequence} ({codes})"


class UnprintableCharacterError(RuleViolationError):
    """A value contains a character the certificate font cannot draw: refused, not boxed."""


def require_printable(fields: Mapping[str, str], who: str) -> None:
    """Refuse before printing when any field has a character the font cannot draw."""
    coverage = font_coverage()
    for label, value in fields.items():
        bad = coverage.missing(value)
        if bad:
            chars = "、".join(describe(b) for b in dict.fromkeys(bad))
            raise UnprintableCharacterError(
                f"{label}「{value}」の文字 {chars} は証明書のフォントで印字できません: {who}。"
                "外字の登録 (情報システム担当) または記録の職権修正が必要です",
                field=label,
            )


def qr_svg(text: str) -> str:
    """A QR code (error correction M) as an SVG document, for typst's ``image``."""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", xmldecl=False, scale=4, border=2)
    return out.getvalue().decode("utf-8")


class PdfEngine:
    """One typst compiler per process, with the font loaded once; compiles are serialised
    (the compiler's thread safety is not documented)."""

    def __init__(self) -> None:
        self._font_dir = Path(tempfile.mkdtemp(prefix="lgcloud-fonts-"))
        (self._font_dir / FONT_PATH.name).symlink_to(FONT_PATH)
        self._compiler = typst.Compiler(font_paths=[str(self._font_dir)], ignore_system_fonts=True)
        self._lock = threading.Lock()

    @staticmethod
    @cache
    def _source(template: str) -> bytes:
        prelude = (TEMPLATES / PRELUDE).read_text(encoding="utf-8")
        body = (TEMPLATES / template).read_text(encoding="utf-8")
        return f"{prelude}\n{body}".encode()

    def render(self, template: str, data: Mapping[str, Any], *, tagged: bool = True) -> bytes:
        """Render ``templates/<template>`` with ``data`` (JSON via sys.inputs) to PDF bytes.

        ``tagged`` adds the structure tree for accessibility; the long all-residents list
        is rendered untagged (tags cost more time and size than they help there).
        """
        source = self._source(template)
        payload = json.dumps(data, ensure_ascii=False)
        with self._lock:
            pdf = self._compiler.compile(
                input=source, sys_inputs={"data": payload}, pdf_tags=tagged
            )
        assert isinstance(pdf, bytes)
        return pdf


_engine_lock = threading.Lock()
_engine: PdfEngine | None = None


def pdf_engine() -> PdfEngine:
    """The process's engine, created on first use."""
    global _engine  # noqa: PLW0603  (one engine per process, created lazily)
    with _engine_lock:
        if _engine is None:
            _engine = PdfEngine()
        return _engine
