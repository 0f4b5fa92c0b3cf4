"""Check IVS_FORMS and VARIANT_FORMS in lgcloud.generate.names_data against IPAmj明朝.

How to run (by hand; this is not part of the test suite, and fontTools is not a project
dependency, so use a throwaway virtualenv):

    apt-get install -y fonts-ipamj-mincho
    python3 -m venv /tmp/ft && /tmp/ft/bin/pip install fonttools
    /tmp/ft/bin/python scripts/check_ivs_font.py [--font /path/to/ipamjm.ttf]

Optionally also `/tmp/ft/bin/pip install jntajis-python`: the script then checks that
each sequence is registered in the IVD's Moji_Joho collection (jntajis ships the
MJ文字情報一覧表 mapping) and otherwise says it skipped that check.

For every entry of IVS_FORMS it checks that:
  * the sequence is the base character followed by one selector in VS17-VS256
    (U+E0100-U+E01EF, the range the IVD uses);
  * the font's cmap format 14 subtable maps the sequence to a glyph of its own
    (a non-default UVS), and that glyph differs from the base character's default
    glyph in the Unicode cmap;
  * the note names exactly that glyph ("IPAmj glyph mjNNNNNN") and the default one.
For every value of VARIANT_FORMS it checks that the variant is a single code point,
differs from its standard form, is unchanged by NFC and is encoded in the font.

Exit status 0 when everything holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import re
import sys
import unicodedata
from pathlib import Path
from types import ModuleType
from typing import Any

from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parent.parent
DATA_FILE = ROOT / "src" / "lgcloud" / "generate" / "names_data.py"
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/ipamj/ipamjm.ttf"),
    Path("/usr/share/fonts/opentype/ipamj-mincho/ipamjm.ttf"),
)
IVD_SELECTORS = range(0xE0100, 0xE01F0)
NOTE_RE = re.compile(r"IPAmj glyph (mj\d{6}) \(default (mj\d{6})\)")


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def load_names_data() -> ModuleType:
    """Import names_data.py by path, so the lgcloud package and its deps are not needed."""
    spec = importlib.util.spec_from_file_location("names_data", DATA_FILE)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {DATA_FILE}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def find_font(given: str | None) -> Path:
    if given:
        return Path(given)
    for path in FONT_CANDIDATES:
        if path.exists():
            return path
    found = sorted(Path("/usr/share/fonts").rglob("ipamjm*.ttf"))
    if found:
        return found[0]
    raise SystemExit("IPAmj明朝 not found: apt-get install -y fonts-ipamj-mincho, or pass --font")


def moji_joho_checker() -> Any:
    """Return jntajis.mj_shrink_candidates if importable, else None.

    For a (base, selector) pair that the MJ table knows, mj_shrink_candidates answers
    with plain characters; for an unknown pair it hands the input back unchanged.
    """
    try:
        jntajis = importlib.import_module("jntajis")
    except ImportError:
        return None
    return jntajis.mj_shrink_candidates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--font", help="path to ipamjm.ttf")
    args = parser.parse_args()

    data = load_names_data()
    font_path = find_font(args.font)
    font = TTFont(str(font_path), lazy=True)
    cmap_table = font["cmap"]
    default_cmap: dict[int, str] = cmap_table.getBestCmap()
    uvs: dict[tuple[int, int], str | None] = {}
    for sub in cmap_table.tables:
        if sub.format == 14:
            for selector, pairs in sub.uvsDict.items():
                for base_cp, glyph in pairs:
                    uvs[(base_cp, selector)] = glyph
    _say(f"font: {font_path} ({len(uvs)} variation sequences in cmap format 14)")
    if not uvs:
        _say("FAIL: the font has no cmap format 14 subtable")
        return 1

    mj_shrink = moji_joho_checker()
    if mj_shrink is None:
        _say("note: jntajis not importable, Moji_Joho registration not checked")

    failures = 0
    seen: set[str] = set()
    for form in data.IVS_FORMS:
        label = " ".join(f"U+{ord(ch):04X}" for ch in form.sequence)
        problems: list[str] = []
        if form.sequence in seen:
            problems.append("duplicate entry")
        seen.add(form.sequence)
        if len(form.base) != 1 or len(form.sequence) != 2 or form.sequence[0] != form.base:
            problems.append("sequence is not base + one selector")
            _say(f"FAIL {label}: {'; '.join(problems)}")
            failures += 1
            continue
        base_cp, selector = ord(form.base), ord(form.sequence[1])
        if selector not in IVD_SELECTORS:
            problems.append("selector outside VS17-VS256, not an IVD sequence")
        default_glyph = default_cmap.get(base_cp)
        glyph = uvs.get((base_cp, selector), "<absent>")
        if glyph == "<absent>":
            problems.append("not in the font's cmap format 14 table")
        elif glyph is None:
            problems.append("default UVS: selects the base character's default glyph")
        elif glyph == default_glyph:
            problems.append(f"maps to {glyph}, the default glyph")
        match = NOTE_RE.search(form.note)
        if match is None:
            problems.append("note does not name the glyphs")
        elif (match.group(1), match.group(2)) != (glyph, default_glyph):
            problems.append(
                f"note says {match.group(1)}/{match.group(2)}, font has {glyph}/{default_glyph}"
            )
        if mj_shrink is not None and mj_shrink(form.sequence, 15) == [form.sequence]:
            problems.append("not a Moji_Joho sequence known to the MJ table")
        if problems:
            failures += 1
            _say(f"FAIL {label}: {'; '.join(problems)}")
        else:
            _say(f"ok   {label} {form.base} -> {glyph} (default {default_glyph})")

    for standard, variants in data.VARIANT_FORMS.items():
        for variant in variants:
            label = f"{standard} -> U+{ord(variant[0]):04X} {variant}"
            problems = []
            if len(variant) != 1:
                problems.append("not a single code point")
            elif variant == standard:
                problems.append("same as the standard form")
            else:
                if unicodedata.normalize("NFC", variant) != variant:
                    problems.append("changed by NFC (a compatibility ideograph)")
                if ord(variant) not in default_cmap:
                    problems.append("not encoded in the font")
            if problems:
                failures += 1
                _say(f"FAIL {label}: {'; '.join(problems)}")
            else:
                _say(f"ok   {label}")

    _say(f"{len(data.IVS_FORMS)} IVS, {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
