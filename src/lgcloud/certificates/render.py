"""The certificates' templates (``templates/``) and their engine: ``lgcloud.documents.render``
is the engine every document uses; this keeps one for the certificate templates per process
and re-exports what the certificates' callers use."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Final

from lgcloud.documents.render import (
    FALLBACK_FAMILY,
    FALLBACK_FONT_PATH,
    FONT_FAMILY,
    FONT_PATH,
    PRELUDE,
    FontCoverage,
    PdfEngine,
    RenderError,
    UnprintableCharacterError,
    describe,
    font_coverage,
    private_font_dir,
    qr_svg,
    require_printable,
)

__all__ = [
    "FALLBACK_FAMILY",
    "FALLBACK_FONT_PATH",
    "FONT_FAMILY",
    "FONT_PATH",
    "PRELUDE",
    "TEMPLATES",
    "TEMPLATE_DIR",
    "FontCoverage",
    "PdfEngine",
    "RenderError",
    "UnprintableCharacterError",
    "describe",
    "font_coverage",
    "pdf_engine",
    "private_font_dir",
    "qr_svg",
    "require_printable",
]

TEMPLATE_DIR: Final[Path] = Path(__file__).resolve().with_name("templates")
"""Where the certificate ``.typ`` templates live; it is also typst's root for them."""

TEMPLATES: Final = TEMPLATE_DIR
"""Alias of :data:`TEMPLATE_DIR`."""

_engine: PdfEngine | None = None
_engine_lock = threading.Lock()


def pdf_engine() -> PdfEngine:
    """The process-wide engine of the certificate templates, created on first use (~0.1 s)."""
    global _engine  # noqa: PLW0603 - a lazily created process-wide singleton
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = PdfEngine(TEMPLATE_DIR)
    return _engine
