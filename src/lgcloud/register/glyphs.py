"""外字: a glyph the town registers for a character no installed font draws.

The remedy the counter's refusal names (documents.render.UnprintableCharacterError): the IT
officer registers an SVG drawing for the character, or the base character and variation
selector, with its MJ文字図形名 or a local code. Certificates then draw it
(``PdfEngine.render(glyphs=...)``), the printability checks count it as printable, the
cp932 gaiji table names it, and the registration is audited and journaled (so town nodes
and partners draw it too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from lgcloud.core.clock import utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import RuleViolationError
from lgcloud.register.models import ImportedGlyphName, RegisteredGlyph
from lgcloud.tenancy.platform import Town
from lgcloud.trail.journal import finish_write

MAX_SVG_BYTES = 200_000
MJ_NAME_RE = re.compile(r"MJ[0-9]{6}")
LOCAL_CODE_RE = re.compile(r"[0-9A-Za-z_-]{1,20}")


@dataclass(frozen=True)
class GlyphRequest:
    """A registration, checked (:func:`check_glyph`) before any transaction is opened."""

    text: str
    svg: str
    mj_name: str
    local_code: str


def check_glyph(text: str, svg: str, *, mj_name: str = "", local_code: str = "") -> GlyphRequest:
    """Refuse what cannot be a registration (with a clear reason, naming the field): the text
    must be one character or a base and its selector that no installed font draws; the SVG
    must be one typst draws; the MJ name ``MJ`` + six digits. Renders the SVG once (typst),
    so call it outside any write transaction."""
    from lgcloud.documents.render import (  # noqa: PLC0415  (typst: loaded late)
        RenderError,
        check_glyph_svg,
        font_coverage,
        is_selector,
    )

    if not text or len(text) > 2 or (len(text) == 2 and not is_selector(text[1])):
        raise RuleViolationError(
            "外字は一文字 (または基底文字と異体字セレクタ) で登録します", field="text"
        )
    if is_selector(text[0]):
        raise RuleViolationError("異体字セレクタだけでは登録できません", field="text")
    if not font_coverage().missing(text):
        raise RuleViolationError(
            "この文字はフォントで印字できます。外字の登録は要りません", field="text"
        )
    if mj_name and not MJ_NAME_RE.fullmatch(mj_name):
        raise RuleViolationError("MJ文字図形名は MJ と数字6桁です (例 MJ022336)", field="mj_name")
    if local_code and not LOCAL_CODE_RE.fullmatch(local_code):
        raise RuleViolationError("独自コードは英数字20文字までです", field="local_code")
    if not mj_name and not local_code:
        raise RuleViolationError(
            "MJ文字図形名か独自コードのどちらかを指定してください", field="mj_name"
        )
    if len(svg.encode("utf-8")) > MAX_SVG_BYTES:
        raise RuleViolationError(f"SVG は {MAX_SVG_BYTES // 1000} kB までです", field="svg")
    try:
        check_glyph_svg(svg)
    except RenderError as e:
        raise RuleViolationError(str(e), field="svg") from e
    return GlyphRequest(text, svg, mj_name, local_code)


def register_glyph(town: Town, ctx: RequestContext, request: GlyphRequest) -> RegisteredGlyph:
    """Store a checked registration (a short write, audited as ``glyph_registered``)."""
    existing = town.session.scalar(
        select(RegisteredGlyph).where(RegisteredGlyph.text == request.text)
    )
    if existing is not None:
        raise RuleViolationError(
            f"この文字の外字は既に登録されています ({existing.mj_name or existing.local_code})",
            field="text",
        )
    glyph = RegisteredGlyph(
        text=request.text,
        mj_name=request.mj_name,
        local_code=request.local_code,
        svg=request.svg,
        registered_at=utcnow(),
        registered_by=ctx.actor.name,
    )
    town.session.add(glyph)
    town.session.flush()
    town.session.info.pop(_CACHE_KEY, None)
    finish_write(
        town.session,
        ctx,
        "glyph_registered",
        subjects=[],
        detail={
            "text": " ".join(f"U+{ord(c):04X}" for c in request.text),
            "mj_name": request.mj_name,
            "local_code": request.local_code,
        },
    )
    return glyph


_CACHE_KEY = "lgcloud.registered_glyphs"


def glyphs_of(town: Town) -> dict[str, str]:
    """text → SVG of every glyph the town registered (for rendering and the printability
    checks): read once per transaction, however many people a certificate or an event
    checks (``register_glyph`` forgets it)."""
    cached: dict[str, str] | None = town.session.info.get(_CACHE_KEY)
    if cached is None:
        rows = town.session.execute(select(RegisteredGlyph.text, RegisteredGlyph.svg)).tuples()
        cached = town.session.info[_CACHE_KEY] = dict(rows.all())
    return cached


def glyph_names(town: Town) -> dict[str, str]:
    """text → its MJ文字図形名, for the gaiji table: a registered glyph's, else the name an
    imported gaiji table gave the text (the layout has no column for a local code: a glyph
    registered with a local code only is exported with the name blank)."""
    imported = town.session.execute(
        select(ImportedGlyphName.text, ImportedGlyphName.mj_name)
    ).tuples()
    registered = town.session.execute(
        select(RegisteredGlyph.text, RegisteredGlyph.mj_name).where(RegisteredGlyph.mj_name != "")
    ).tuples()
    return dict(imported.all()) | dict(registered.all())


def keep_imported_names(town: Town, names: dict[str, str]) -> int:
    """Store the MJ文字図形名 an imported gaiji table gave (text → name), replacing an older
    import's; in the caller's transaction (its journal entry carries the rows)."""
    if not names:
        return 0
    stored = {
        g.text: g
        for g in town.session.scalars(
            select(ImportedGlyphName).where(ImportedGlyphName.text.in_(list(names)))
        )
    }
    now = utcnow()
    for text, mj in names.items():
        if text in stored:
            stored[text].mj_name = mj
            stored[text].imported_at = now
        else:
            town.session.add(ImportedGlyphName(text=text, mj_name=mj, imported_at=now))
    town.session.flush()
    return len(names)


__all__ = [
    "GlyphRequest",
    "check_glyph",
    "glyph_names",
    "glyphs_of",
    "keep_imported_names",
    "register_glyph",
]
