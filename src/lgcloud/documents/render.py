"""PDF rendering for every document lgcloud prints (certificates, notices, the recovery
sheet): typst, the IPAmj明朝 font, and nothing else.

* The engine is typst (PyPI ``typst``; it shapes with rustybuzz, the Rust port of HarfBuzz,
  so ideographic variation sequences select the glyph the font registers for them).
* The only font is IPAmj明朝 (:data:`FONT_PATH`).  The compiler sees a private directory
  holding just a link to that file, with system *and* typst's bundled fonts switched off,
  and templates set ``fallback: false``: no character is ever drawn from another font.
* typst does not complain about a character the font lacks: it silently draws an empty
  box (or, for an unregistered variation sequence, the base character's default glyph).
  So text is checked *before* rendering: :func:`require_printable` for the fields of one
  person (with a message a clerk can act on), and :meth:`PdfEngine.render` once more for
  every string in the data, as a last line of defence.
* Data reaches a template as one JSON document in ``sys.inputs.data``; the template parses
  it with ``json(bytes(sys.inputs.data))``.  Strings from data are therefore always text,
  never typst markup or code (a name such as ``*x* #y`` prints literally).
* Each caller has its own template directory (``certificates/templates``,
  ``notices/templates``) and its own engine for it.  A template whose name does not start
  with ``_`` gets that directory's prelude ``_common.typ`` prepended as text (set rules do
  not travel through ``#import``, so the prelude's font and page settings could not be
  imported); ``_`` templates are self-contained.  ``certificates/templates/_sample.typ``
  shows the whole pattern.
"""

from __future__ import annotations

import atexit
import functools
import io
import json
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import segno
import typst
from fontTools.ttLib import TTFont

from lgcloud.core.errors import RuleViolationError

__all__ = [
    "FONT_FAMILY",
    "FONT_PATH",
    "PRELUDE",
    "FontChain",
    "FontCoverage",
    "PdfEngine",
    "RenderError",
    "UnprintableCharacterError",
    "check_glyph_svg",
    "describe",
    "font_coverage",
    "is_selector",
    "private_font_dir",
    "qr_svg",
    "require_printable",
]

_DEFAULT_FONT: Final = "/usr/share/fonts/truetype/ipamj/ipamjm.ttf"

FONT_PATH: Final[Path] = Path(os.environ.get("LGCLOUD_FONT") or _DEFAULT_FONT)
"""The certificate font (IPAmj明朝, Debian package ``fonts-ipamj-mincho``); env ``LGCLOUD_FONT``."""

FONT_FAMILY: Final = "IPAmjMincho"
"""The family name templates select with ``#set text(font: "IPAmjMincho", fallback: false)``."""

_DEFAULT_FALLBACK_FONT: Final = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"

FALLBACK_FONT_PATH: Final[Path] = Path(
    os.environ.get("LGCLOUD_FALLBACK_FONT") or _DEFAULT_FALLBACK_FONT
)
"""The second font of the chain (Noto Serif CJK JP, Debian ``fonts-noto-cjk``): it draws the
Adobe-Japan1 collection of variation sequences, which IPAmj明朝 (the Moji_Joho collection)
lacks; env ``LGCLOUD_FALLBACK_FONT``."""

FALLBACK_FAMILY: Final = "Noto Serif CJK JP"
"""Its family name in typst (the first face of the collection file)."""

PRELUDE: Final = "_common.typ"
"""Prepended to every template whose name does not start with ``_``."""

_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")

# Characters typst lays out as line breaks or spacing without drawing a glyph.
_LAYOUT_CONTROLS: Final = frozenset("\t\n\r")


def is_selector(ch: str) -> bool:
    """Variation selectors: VS1-16 (U+FE00..FE0F) and VS17-256 (U+E0100..E01EF, for IVS)."""
    cp = ord(ch)
    return 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF


# ---------------------------------------------------------------------------
# The font: a private directory, and what the font can draw
# ---------------------------------------------------------------------------


def _remove_font_dir(path: str, owner_pid: int) -> None:
    if os.getpid() == owner_pid:  # a forked child must not delete its parent's directory
        shutil.rmtree(path, ignore_errors=True)


@functools.cache
def private_font_dir() -> Path:
    """A directory that contains only a link to :data:`FONT_PATH` (made once per process).

    typst scans whole directories for fonts; pointing it here guarantees that IPAmj明朝 and
    the fallback of the chain (:data:`FALLBACK_FONT_PATH`, when installed) are the only
    fonts it can find.  The directory is removed when the process exits.
    """
    if not FONT_PATH.is_file():
        raise FileNotFoundError(
            f"証明書のフォント {FONT_PATH} がありません"
            " (Debian パッケージ fonts-ipamj-mincho を導入するか LGCLOUD_FONT で指定してください)"
        )
    path = tempfile.mkdtemp(prefix="lgcloud-font-")
    atexit.register(_remove_font_dir, path, os.getpid())
    (Path(path) / FONT_PATH.name).symlink_to(FONT_PATH.resolve())
    if FALLBACK_FONT_PATH.is_file():
        (Path(path) / FALLBACK_FONT_PATH.name).symlink_to(FALLBACK_FONT_PATH.resolve())
    return Path(path)


class FontCoverage:
    """What the font can draw: its Unicode cmap and its variation sequences (cmap format 14).

    Build it through :func:`font_coverage` (reading the cmap of the 46 MB font takes ~0.2 s).
    """

    def __init__(self, path: Path = FONT_PATH, font_number: int = 0) -> None:
        font = TTFont(path, lazy=True, fontNumber=font_number)
        try:
            self.codepoints: frozenset[int] = frozenset(font.getBestCmap())
            default: set[tuple[int, int]] = set()
            non_default: set[tuple[int, int]] = set()
            for subtable in font["cmap"].tables:
                if subtable.format != 14:
                    continue
                for selector, pairs in subtable.uvsDict.items():
                    for base, glyph in pairs:
                        # glyph None: a default UVS (the sequence draws the base's own glyph)
                        (default if glyph is None else non_default).add((base, selector))
        finally:
            font.close()
        self.default_uvs: frozenset[tuple[int, int]] = frozenset(default)
        """(base, selector) pairs that draw the base character's default glyph."""
        self.non_default_uvs: frozenset[tuple[int, int]] = frozenset(non_default)
        """(base, selector) pairs that draw a glyph of their own (IVS such as 葛 + U+E0102)."""
        # For the common case, text made only of characters the font has (checked in C):
        self._plain: frozenset[str] = frozenset(
            chr(cp) for cp in self.codepoints if not is_selector(chr(cp))
        ).union(_LAYOUT_CONTROLS)

    def has_sequence(self, base: str, selector: str) -> bool:
        """Whether the font registers ``base`` followed by variation ``selector``."""
        pair = (ord(base), ord(selector))
        return pair in self.non_default_uvs or (
            pair in self.default_uvs and pair[0] in self.codepoints
        )

    def missing(self, text: str) -> list[str]:
        """What in ``text`` the font cannot draw, in order of first appearance, without repeats.

        Each item is one character, or a base character plus its variation selector when
        the font does not register that sequence (the whole sequence is reported, even if
        the base alone would be printable: printing the base glyph would show a different
        character form).  A selector with no base before it is reported on its own.  Tab,
        newline and carriage return are layout, not glyphs, and always pass; other control
        and invisible characters (U+200B, U+FEFF ...) are reported.
        """
        if self._plain.issuperset(text):
            return []
        found: list[str] = []
        i, n = 0, len(text)
        while i < n:
            ch = text[i]
            if is_selector(ch):
                item, ok = ch, False  # a selector with nothing to select
                i += 1
            elif i + 1 < n and is_selector(text[i + 1]) and ch not in _LAYOUT_CONTROLS:
                item = text[i : i + 2]
                ok = self.has_sequence(ch, text[i + 1])
                i += 2
            else:
                item, ok = ch, ord(ch) in self.codepoints or ch in _LAYOUT_CONTROLS
                i += 1
            if not ok and item not in found:
                found.append(item)
        return found

    def draws(self, unit: str) -> bool:
        """Whether the font draws ``unit`` (one character, or a base and its selector) as
        itself: a sequence it does not register is not drawn (its base would be)."""
        if len(unit) == 2 and is_selector(unit[1]):
            return self.has_sequence(unit[0], unit[1])
        return len(unit) == 1 and (ord(unit) in self.codepoints or unit in _LAYOUT_CONTROLS)


class FontChain:
    """The fonts a document may use, in order: IPAmj明朝, then (when installed) Noto Serif
    CJK JP for what IPAmj does not draw. Each character, or base and variation selector, is
    drawn by the first font that really draws it (:meth:`FontCoverage.draws`: typst would
    silently draw a base glyph for a sequence the font lacks, so the choice is made here and
    given to typst as show rules, :meth:`show_rules`)."""

    def __init__(self, fonts: Sequence[tuple[str, FontCoverage]]) -> None:
        self.fonts = list(fonts)
        self.primary = self.fonts[0][1]

    def missing(self, text: str, glyphs: Collection[str] = ()) -> list[str]:
        """What no font of the chain draws and no registered ``glyphs`` (the town's 外字,
        by the text each draws) covers (as :meth:`FontCoverage.missing`)."""
        found = self.primary.missing(text)
        if not found:
            return found
        return [
            u for u in found if u not in glyphs and not any(c.draws(u) for _, c in self.fonts[1:])
        ]

    def font_for(self, unit: str) -> str | None:
        """The family that draws ``unit``, or None."""
        for family, coverage in self.fonts:
            if coverage.draws(unit):
                return family
        return None

    def fallback_units(self, text: str) -> dict[str, str]:
        """unit → family for what ``text`` needs from a font after the first."""
        out: dict[str, str] = {}
        for unit in self.primary.missing(text):
            family = self.font_for(unit)
            if family is not None and family != self.fonts[0][0]:
                out[unit] = family
        return out

    def show_rules(self, units: Mapping[str, str]) -> str:
        """typst show rules drawing each unit with its font: one rule per font, a regex of
        its units (every character escaped; one rule per unit would nest one style group
        per unit, and typst limits their depth)."""
        by_family: dict[str, list[str]] = {}
        for unit, family in units.items():
            by_family.setdefault(family, []).append(unit)
        lines = []
        for family, group in sorted(by_family.items()):
            alternatives = "|".join(
                "".join(f"\\u{{{ord(c):x}}}" for c in unit) for unit in sorted(group)
            )
            lines.append(
                f'#show regex("(?:{alternatives})"): set text(font: "{family}", fallback: false)'
            )
        return "\n".join(lines) + ("\n" if lines else "")


@functools.cache
def font_coverage() -> FontChain:
    """The process-wide :class:`FontChain`: IPAmj明朝, then Noto Serif CJK JP if installed."""
    fonts: list[tuple[str, FontCoverage]] = [(FONT_FAMILY, FontCoverage(FONT_PATH))]
    if FALLBACK_FONT_PATH.is_file():
        fonts.append((FALLBACK_FAMILY, FontCoverage(FALLBACK_FONT_PATH, font_number=0)))
    return FontChain(fonts)


@functools.lru_cache(maxsize=1)
def _mj_glyph_names() -> tuple[dict[int, str], dict[tuple[int, int], str]]:
    """IPAmj明朝's glyph names by code point and by (base, selector): the font names every
    glyph by its MJ文字図形名 (``mj028902`` is 髙), so it is the project's MJ table."""
    font = TTFont(FONT_PATH, lazy=True)
    try:
        plain = {cp: name for cp, name in font.getBestCmap().items() if name.startswith("mj")}
        sequences: dict[tuple[int, int], str] = {}
        for subtable in font["cmap"].tables:
            if subtable.format != 14:
                continue
            for selector, pairs in subtable.uvsDict.items():
                for base, glyph in pairs:
                    name = glyph if glyph is not None else plain.get(base)
                    if name and name.startswith("mj"):
                        sequences[base, selector] = name
    finally:
        font.close()
    return plain, sequences


def mj_name(unit: str) -> str:
    """The MJ文字図形名 of one character, or of a base character and its variation selector
    (``MJ028902`` for 髙), as IPAmj明朝 names the glyph it draws; "" when it draws none."""
    plain, sequences = _mj_glyph_names()
    if len(unit) == 1:
        name = plain.get(ord(unit), "")
    elif len(unit) == 2 and is_selector(unit[1]):
        name = sequences.get((ord(unit[0]), ord(unit[1])), "")
    else:
        name = ""
    return name.upper()


# ---------------------------------------------------------------------------
# Refusing text the font cannot draw
# ---------------------------------------------------------------------------


def _is_invisible(ch: str) -> bool:
    return is_selector(ch) or (unicodedata.category(ch)[0] in "CZ" and ch not in " \u3000")


def describe(item: str) -> str:
    """``𠀋 (U+2000B)``, ``葛󠄂 (U+845B U+E0102)``; invisible characters by code point only."""
    codes = " ".join(f"U+{ord(c):04X}" for c in item)
    if all(_is_invisible(c) for c in item):
        return f"({codes})"
    return f"{item} ({codes})"


def _quote(value: str) -> str:
    """The value as shown in a message: invisible characters and selectors that follow no
    base character as [U+XXXX]."""
    out: list[str] = []
    prev = ""
    for c in value:
        hidden = unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") and c != "\n"
        if hidden or (is_selector(c) and (not prev or is_selector(prev) or prev in "\t\n\r")):
            out.append(f"[U+{ord(c):04X}]")
        else:
            out.append(c)
        prev = "" if hidden else c
    return "".join(out)


class UnprintableCharacterError(RuleViolationError):
    """A value contains a character (or variation sequence) the certificate font lacks.

    Nothing was printed.  ``field`` names the field, ``characters`` lists what cannot be
    printed (see :meth:`FontCoverage.missing`), ``who`` says whose record it is.
    """

    def __init__(self, field: str, value: str, characters: Sequence[str], who: str) -> None:
        listed = "、".join(describe(c) for c in characters)
        super().__init__(
            f"{field}「{_quote(value)}」の文字 {listed} は証明書のフォントで印字できません: {who}。"
            "情報システム担当による外字の登録 (lgcloud gaiji register) "
            "または記録の職権修正が必要です",
            field=field,
        )
        self.value = value
        self.characters: tuple[str, ...] = tuple(characters)
        self.who = who


def require_printable(fields: Mapping[str, str], who: str, glyphs: Collection[str] = ()) -> None:
    """Raise :class:`UnprintableCharacterError` for the first field the font cannot print.

    ``fields`` maps a Japanese field name (``"氏名"``, ``"住所"`` ...) to its value; ``who``
    identifies the person for the message, e.g. ``"宛名番号 0000000019"``.
    """
    coverage = font_coverage()
    for field, value in fields.items():
        bad = coverage.missing(value, glyphs)
        if bad:
            raise UnprintableCharacterError(field, value, bad, who)


def _scan(
    value: Any, chain: FontChain, glyphs: Collection[str] = ()
) -> tuple[bool, dict[str, str], set[str]]:
    """(every string in JSON-like data printable, unit → font for what needs a font after
    the first, the registered glyphs used); one pass, fast where the first font draws
    everything (checked in C)."""
    plain = chain.primary._plain
    fallback: dict[str, str] = {}
    used: set[str] = set()
    printable = True
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if plain.issuperset(item):
                continue
            if chain.missing(item, glyphs):
                printable = False
            fallback |= chain.fallback_units(item)
            used |= {u for u in chain.primary.missing(item) if u in glyphs and u not in fallback}
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return printable, fallback, used


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string in JSON-like data, with its path (``rows[3][1]``)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


# ---------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------


class RenderError(RuntimeError):
    """A template failed to compile, or compiled with warnings (treated as failures)."""


class PdfEngine:
    """One typst compiler restricted to IPAmj明朝, for the templates of ``template_dir``;
    each caller keeps one per process (``certificates.render.pdf_engine``).

    Compilation is serialised with a lock (the binding's thread safety is not documented).
    """

    def __init__(self, template_dir: Path, font_dir: Path | None = None) -> None:
        fonts = typst.Fonts(
            include_system_fonts=False,
            include_embedded_fonts=False,  # typst bundles Libertinus / New Computer Modern
            font_paths=[str(font_dir or private_font_dir())],
        )
        families = set(fonts.families())
        expected = {family for family, _ in font_coverage().fonts}
        # the fallback's collection file also holds its Korean and Chinese faces
        allowed = expected | {f"Noto Serif CJK {r}" for r in ("KR", "SC", "TC", "HK")}
        if not expected <= families <= allowed:
            raise RuntimeError(
                f"expected the font families {sorted(expected)}, typst found {sorted(families)}"
            )
        self._template_dir = template_dir
        self._compiler = typst.Compiler(
            root=str(template_dir), font_paths=fonts, ignore_system_fonts=True
        )
        self._lock = threading.Lock()
        self._sources: dict[str, bytes] = {}

    def _read(self, name: str) -> bytes:
        path = self._template_dir / f"{name}.typ"
        if not path.is_file():
            raise ValueError(f"no template {name}.typ in {self._template_dir}")
        return path.read_bytes()

    def template_source(self, template: str) -> bytes:
        """What typst compiles for ``template`` (``"resident.typ"``; the suffix is optional):
        the file, after the prelude unless its name starts with ``_``.  Read once."""
        name = template.removesuffix(".typ")
        if not _TEMPLATE_NAME.fullmatch(name):
            raise ValueError(f"bad template name {template!r}")
        source = self._sources.get(name)
        if source is None:
            source = self._read(name)
            if not name.startswith("_"):
                source = self._read(PRELUDE.removesuffix(".typ")) + b"\n" + source
            source = self._sources.setdefault(name, source)
        return source

    def _with_rules(self, template: str, rules: str) -> bytes:
        """The template's source with ``rules`` after the prelude (before its own text)."""
        name = template.removesuffix(".typ")
        body = self._read(name)
        if name.startswith("_"):
            return rules.encode("utf-8") + body
        prelude = self._read(PRELUDE.removesuffix(".typ"))
        return prelude + b"\n" + rules.encode("utf-8") + body

    def render(
        self,
        template: str,
        data: Mapping[str, Any],
        *,
        tagged: bool = True,
        glyphs: Mapping[str, str] | None = None,
    ) -> bytes:
        """Compile ``template`` with ``data`` (JSON-serialisable) to PDF bytes.

        Every string in ``data`` is checked against the font first
        (:class:`UnprintableCharacterError`).  ``tagged`` writes a tagged (accessible) PDF;
        pass False for long lists, where tags cost time and size.  Raises
        :class:`RenderError` if typst reports an error or any warning.
        """
        source = self.template_source(template)
        coverage = font_coverage()
        glyphs = glyphs or {}
        printable, fallback, used = _scan(data, coverage, glyphs)
        if not printable:
            for path, text in _strings(data, ""):
                bad = coverage.missing(text, glyphs)
                if bad:
                    raise UnprintableCharacterError(
                        f"帳票データ {path}", text, bad, f"帳票 {template}"
                    )
        rules = coverage.show_rules(fallback) if fallback else ""
        drawn = {u: glyphs[u] for u in sorted(used)}
        if drawn:
            rules += _glyph_rule(drawn)
        if rules:
            source = self._with_rules(template, rules)
        payload = json.dumps(data, ensure_ascii=False, allow_nan=False)
        with self._lock:
            try:
                pdf, warnings = self._compiler.compile_with_warnings(
                    input=source,
                    format="pdf",
                    sys_inputs={"data": payload, "glyphs": json.dumps(drawn, ensure_ascii=False)},
                    pdf_tags=tagged,
                )
            except typst.TypstError as exc:
                raise RenderError(
                    f"template {template}: {exc.message}\n{exc.diagnostic}".rstrip()
                ) from exc
        if warnings:
            listed = "; ".join(w.message for w in warnings)
            raise RenderError(f"template {template} compiled with warnings: {listed}")
        if not isinstance(pdf, bytes):
            raise RenderError(f"template {template}: typst returned {type(pdf).__name__}")
        return pdf


def _glyph_rule(glyphs: Mapping[str, str]) -> str:
    """A typst show rule drawing each registered 外字 (text → SVG, in ``sys.inputs.glyphs``)
    as its image, one em high, wherever its text appears."""
    alternatives = "|".join("".join(f"\\u{{{ord(c):x}}}" for c in unit) for unit in sorted(glyphs))
    return (
        "#let lgcloud-glyphs = json(bytes(sys.inputs.glyphs))\n"
        f'#show regex("(?:{alternatives})"): it => box(image(bytes('
        'lgcloud-glyphs.at(it.text)), format: "svg", height: 0.88em))\n'
    )


def check_glyph_svg(svg: str) -> None:
    """Raise :class:`RenderError` unless typst draws ``svg`` as a glyph (what a certificate
    will do with it): a registration is refused before it is stored, not at the counter."""
    fonts = typst.Fonts(
        include_system_fonts=False,
        include_embedded_fonts=False,
        font_paths=[str(private_font_dir())],
    )
    with tempfile.TemporaryDirectory(prefix="lgcloud-glyph-") as root:
        compiler = typst.Compiler(root=root, font_paths=fonts, ignore_system_fonts=True)
        source = b'#image(bytes(sys.inputs.svg), format: "svg", height: 10pt)'
        try:
            _pdf, warnings = compiler.compile_with_warnings(
                input=source, format="pdf", sys_inputs={"svg": svg}
            )
        except typst.TypstError as exc:
            raise RenderError(f"外字の SVG を描けません: {exc.message}") from exc
        if warnings:
            raise RenderError(
                "外字の SVG に警告があります: " + "; ".join(w.message for w in warnings)
            )


# ---------------------------------------------------------------------------
# QR codes
# ---------------------------------------------------------------------------


def qr_svg(text: str) -> str:
    """A QR code (error correction M or better, 4-module quiet zone) as an SVG document.

    No XML declaration, with the SVG namespace; a template embeds it with
    ``image(bytes(data.qr), format: "svg", width: 25mm)``.
    """
    code = segno.make_qr(text, error="m")
    out = io.BytesIO()
    code.save(out, kind="svg", xmldecl=False, svgns=True, nl=False, border=4)
    return out.getvalue().decode("utf-8")
