"""Search keys for resident names (氏名) and readings (フリガナ).

A resident's name is stored and displayed exactly as registered: every variant
kanji, every ideographic variation sequence (IVS), every space.  Searching for
that name, however, has to forgive the many ways one name gets typed: 髙橋 as
高橋, 齋藤 as 斉藤, a reading as ｻｲﾄｳ, さいとう or サイトウ.  This module turns
a name or a reading into a *search key* that is equal for all of those
spellings.

The functions here are pure (no I/O, no global state apart from caches).  A
folded key is only ever compared with other folded keys (equality or prefix);
it is never displayed, never written back as the name, and never used to
decide how a name is printed on a certificate.  Keys may look odd (眞 for 真,
uppercase ASCII, no spaces); that is fine because nobody sees them.

Kanji folding uses the MJ shrink map (MJ縮退マップ) shipped in
``jntajis-python``; see ``NOTICE`` at the repository root for attribution.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Final

import jntajis

__all__ = [
    "fold_kana",
    "fold_name",
    "kana_key",
    "name_key",
    "query_keys",
    "strip_variation_selectors",
]

# ---------------------------------------------------------------------------
# Variation selectors
# ---------------------------------------------------------------------------

# IVS selectors (VS17-VS256) and the standard variation selectors (VS1-VS16).
# They only pick a glyph; two names differing only in selectors are the same
# name for search purposes (葛 U+E0100 飾 vs 葛飾).
_VARIATION_SELECTOR_RE: Final = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")


def strip_variation_selectors(text: str) -> str:
    """Remove IVS (U+E0100-U+E01EF) and standard (U+FE00-U+FE0F) variation selectors."""
    return _VARIATION_SELECTOR_RE.sub("", text)


# ---------------------------------------------------------------------------
# Character tables shared by both keys
# ---------------------------------------------------------------------------

# Characters dropped from every key.  Whitespace (ASCII, NBSP, U+3000 全角スペース,
# ...) separates family and given name inconsistently, so it never takes part in
# matching.  Invisible characters come in through copy and paste.  Middle dots,
# equals signs and hyphen-like dashes separate the parts of foreign names
# (ジョン・スミス, ジャン＝ピエール, SMITH-JONES) and are typed inconsistently too.
# The long vowel mark ー is *not* a separator and is kept.  Limitation: a dash
# typed by mistake in place of ー (ジョ－ジ) is dropped, so it will not match
# ジョージ; telling that apart from a separating hyphen needs more than one
# character of context.
_WHITESPACE: Final = "".join(chr(cp) for cp in range(0x3001) if chr(cp).isspace())
_INVISIBLE: Final = "\u00ad\u200b\u2060\ufeff"  # soft hyphen, ZWSP, word joiner, BOM
_SEPARATORS: Final = (
    "\u30fb"  # ・ katakana middle dot (half-width ･ reaches this via NFKC)
    "\u00b7"  # · middle dot
    "=\u30a0"  # = and ゠ (the full-width ＝ reaches = via width folding)
    "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63"  # hyphens, dashes, minus
)

# Half-width katakana (U+FF61-U+FF9F).  Runs of these are passed through NFKC,
# and nothing else is: NFKC is exactly the half-width -> full-width mapping for
# this block and it also composes ｶﾞ into ガ and ﾊﾟ into パ.  Applying NFKC (or
# even NFC) to whole names would silently rewrite CJK compatibility
# ideographs (U+FA19 神 -> U+795E 神) and other characters we handle explicitly.
_HALFWIDTH_KANA_RE: Final = re.compile("[\uff61-\uff9f]+")

# A kana followed by a combining voiced/semi-voiced sound mark.  Marks come
# from decomposed input (か + U+3099), from a half-width ﾞ after a full-width
# kana, or from the spacing marks ゛゜ which the tables turn into combining ones.
_SOUND_MARK_RE: Final = re.compile(
    "[\u3041-\u3096\u309d\u309e\u30a1-\u30fa\u30fd\u30fe][\u3099\u309a]"
)


def _base_rules() -> dict[str, str]:
    """Per-character rules common to the name key and the reading key."""
    rules: dict[str, str] = {}
    # Variation selectors: glyph choice only (see strip_variation_selectors).
    for cp in (*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)):
        rules[chr(cp)] = ""
    for ch in _WHITESPACE + _INVISIBLE + _SEPARATORS:
        rules[ch] = ""
    # Full-width ASCII (Ａ, １, －, ...) -> ASCII; the resolution loop in
    # _build_table then drops the ones that are separators.
    for cp in range(0xFF01, 0xFF5F):
        rules[chr(cp)] = chr(cp - 0xFEE0)
    # ASCII letters compare case-insensitively (Smith, SMITH): fold to upper
    # case, the form romanised names are registered in.  Only ASCII, so that
    # the key length is predictable (str.upper would turn ß into SS).
    for cp in range(ord("a"), ord("z") + 1):
        rules[chr(cp)] = chr(cp).upper()
    # Hiragana -> katakana, so a name or reading typed in either script
    # matches the other.  The iteration marks ゝゞ become ヽヾ.
    for cp in range(0x3041, 0x3097):
        rules[chr(cp)] = chr(cp + 0x60)
    rules["\u309d"] = "\u30fd"
    rules["\u309e"] = "\u30fe"
    # Spacing sound marks ゛゜ -> combining marks, so that カ゛ composes into
    # ガ exactly like a decomposed カ + U+3099 does.
    rules["\u309b"] = "\u3099"
    rules["\u309c"] = "\u309a"
    # Kangxi radicals and CJK radical supplements that are compatibility
    # variants of an ideograph (⾼ U+2FBC for 高): text copied out of PDFs is
    # full of them and they look identical to the real ideograph.
    for cp in range(0x2E80, 0x2FE0):
        decomposition = unicodedata.decomposition(chr(cp)).split()
        if len(decomposition) == 2 and decomposition[0] == "<compat>":
            rules[chr(cp)] = chr(int(decomposition[1], 16))
    return rules


def _reading_rules() -> dict[str, str]:
    """Extra rules for readings: people write the same reading inconsistently."""
    return {
        # Small kana -> large: ショウ/シヨウ, ハットリ/ハツトリ are the same
        # reading (older registers and some systems had no small kana at all).
        "\u30a1": "\u30a2",  # ァ -> ア
        "\u30a3": "\u30a4",  # ィ -> イ
        "\u30a5": "\u30a6",  # ゥ -> ウ
        "\u30a7": "\u30a8",  # ェ -> エ
        "\u30a9": "\u30aa",  # ォ -> オ
        "\u30c3": "\u30c4",  # ッ -> ツ
        "\u30e3": "\u30e4",  # ャ -> ヤ
        "\u30e5": "\u30e6",  # ュ -> ユ
        "\u30e7": "\u30e8",  # ョ -> ヨ
        "\u30ee": "\u30ef",  # ヮ -> ワ
        "\u30f5": "\u30ab",  # ヵ -> カ
        "\u30f6": "\u30b1",  # ヶ -> ケ
        # Small katakana for Ainu (ㇰ-ㇿ), found in Hokkaido readings.
        "\u31f0": "\u30af",  # ㇰ -> ク
        "\u31f1": "\u30b7",  # ㇱ -> シ
        "\u31f2": "\u30b9",  # ㇲ -> ス
        "\u31f3": "\u30c8",  # ㇳ -> ト
        "\u31f4": "\u30cc",  # ㇴ -> ヌ
        "\u31f5": "\u30cf",  # ㇵ -> ハ
        "\u31f6": "\u30d2",  # ㇶ -> ヒ
        "\u31f7": "\u30d5",  # ㇷ -> フ
        "\u31f8": "\u30d8",  # ㇸ -> ヘ
        "\u31f9": "\u30db",  # ㇹ -> ホ
        "\u31fa": "\u30e0",  # ㇺ -> ム
        "\u31fb": "\u30e9",  # ㇻ -> ラ
        "\u31fc": "\u30ea",  # ㇼ -> リ
        "\u31fd": "\u30eb",  # ㇽ -> ル
        "\u31fe": "\u30ec",  # ㇾ -> レ
        "\u31ff": "\u30ed",  # ㇿ -> ロ
        # Historical kana are pronounced like their modern counterparts and
        # are used interchangeably in readings: ヰ/イ, ヱ/エ, ヲ/オ.
        "\u30f0": "\u30a4",  # ヰ -> イ
        "\u30f1": "\u30a8",  # ヱ -> エ
        "\u30f2": "\u30aa",  # ヲ -> オ
        # ヂ/ジ and ヅ/ズ sound the same (四つ仮名); both spellings occur.
        "\u30c2": "\u30b8",  # ヂ -> ジ
        "\u30c5": "\u30ba",  # ヅ -> ズ
        # ヷヸヹヺ are ヴァ ヴィ ヴェ ヴォ written with one character; spell
        # them out (then folded like any small kana).  ヴ itself stays ヴ: ブ
        # is a different reading.
        "\u30f7": "\u30f4\u30a1",  # ヷ -> ヴァ
        "\u30f8": "\u30f4\u30a3",  # ヸ -> ヴィ
        "\u30f9": "\u30f4\u30a7",  # ヹ -> ヴェ
        "\u30fa": "\u30f4\u30a9",  # ヺ -> ヴォ
    }


def _build_table(*rule_sets: Mapping[str, str]) -> dict[int, str]:
    """Merge rule sets into a ``str.translate`` table whose values are final.

    Each value is resolved until no rule applies any more (ぁ -> ァ -> ア), so
    translating twice gives the same result as translating once.
    """
    rules: dict[str, str] = {}
    for rule_set in rule_sets:
        rules.update(rule_set)

    def resolve(text: str) -> str:
        for _ in range(8):
            translated = "".join(rules.get(ch, ch) for ch in text)
            if translated == text:
                return text
            text = translated
        raise ValueError(f"folding rules do not settle for {text!r}")  # pragma: no cover

    table: dict[int, str] = {}
    for ch in rules:
        resolved = resolve(ch)
        if resolved != ch:
            table[ord(ch)] = resolved
    return table


_NAME_TABLE: Final = _build_table(_base_rules())
_READING_TABLE: Final = _build_table(_base_rules(), _reading_rules())


def _nfkc_match(match: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", match.group())


def _compose_match(match: re.Match[str]) -> str:
    # NFC of a single kana + sound mark pair: composes カ+゛ into ガ where
    # Unicode has a precomposed kana, leaves the pair alone where it has not.
    return unicodedata.normalize("NFC", match.group())


def _fold_characters(text: str, table: Mapping[int, str]) -> str:
    """Width, script, separator and sound-mark folding (no kanji folding)."""
    if _HALFWIDTH_KANA_RE.search(text):
        text = _HALFWIDTH_KANA_RE.sub(_nfkc_match, text)
    text = text.translate(table)
    if _SOUND_MARK_RE.search(text):
        # Composition can produce characters the table folds further
        # (チ+゛ -> ヂ -> ジ in a reading), hence the second translate.
        text = _SOUND_MARK_RE.sub(_compose_match, text).translate(table)
    return text


# ---------------------------------------------------------------------------
# Kanji folding
# ---------------------------------------------------------------------------

_MJ_COMBO: Final = int(
    jntajis.MJShrinkSchemeCombo.JIS_INCORPORATION_UCS_UNIFICATION_RULE
    | jntajis.MJShrinkSchemeCombo.INFERENCE_BY_READING_AND_GLYPH
    | jntajis.MJShrinkSchemeCombo.MOJ_NOTICE_582
    | jntajis.MJShrinkSchemeCombo.MOJ_FAMILY_REGISTER_ACT_RELATED_NOTICE
)

# Name-search equivalences the MJ shrink map does not give.  An override
# replaces the MJ step for that character; since folding follows the MJ map to
# a fixed point, anything the map folds onto an overridden character (齊 -> 斉)
# follows the override as well, i.e. overrides apply after the MJ shrink.
_NAME_OVERRIDES: Final[Mapping[str, str]] = {
    # 斉 (U+6589) and 斎 (U+658E) are different characters with their own MJ
    # families (齊 -> 斉, 齋 -> 斎), but both are read さい in 斉藤/斎藤/齊藤/
    # 齋藤, which people treat as one surname when searching.
    "\u9f4a": "\u658e",  # 齊 -> 斎
    "\u6589": "\u658e",  # 斉 -> 斎
    # Common-use (俗字) forms the MJ map keeps apart from their traditional
    # forms although surnames are written either way: 檜山/桧山, 藪内/薮内,
    # 籠谷/篭谷.  Fold to the common-use form.
    "\u6a9c": "\u6867",  # 檜 -> 桧
    "\u85ea": "\u85ae",  # 藪 -> 薮
    "\u7c60": "\u7bed",  # 籠 -> 篭
}

# Characters whose MJ first candidate is *not* followed.  Unicode -> MJ is
# one-to-many, and some MJ glyph variants of a common character shrink to a
# different common character.  Following them would make distinct names
# collide in search:
#   玉 -> 王 (JIS incorporation rule): 玉木/玉井 and the surname 王.
#   書 -> 昼 (family register notice): unrelated characters.
#   切 <-> 功 (MOJ notice 582 / family register notice): 功 (いさお, こう) is a
#   common given name and unrelated to 切.
_MJ_NOT_FOLLOWED: Final = frozenset("\u7389\u66f8\u5207\u529f")  # 玉 書 切 功


def _is_ideograph(cp: int) -> bool:
    return 0x3400 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x3FFFF


def _unified(ch: str) -> str:
    """The unified ideograph a CJK compatibility ideograph stands for, else ``ch``.

    Compatibility ideographs (U+FA19 神, U+F9DC 隆, ...) have a singleton
    canonical decomposition.  The 12 unified ideographs in the compatibility
    block (U+FA11 﨑 and friends) have none and are left to the MJ map.
    """
    decomposition = unicodedata.decomposition(ch)
    if decomposition and " " not in decomposition and not decomposition.startswith("<"):
        return chr(int(decomposition, 16))
    return ch


def _fold_step(ch: str) -> str:
    """One folding step for one character."""
    override = _NAME_OVERRIDES.get(ch)
    if override is not None:
        return override
    if not _is_ideograph(ord(ch)):
        return ch
    unified = _unified(ch)
    if unified != ch:
        return unified
    if ch in _MJ_NOT_FOLLOWED:
        return ch
    candidates = jntajis.mj_shrink_candidates(ch, _MJ_COMBO)
    # The first candidate is the map's preferred shrink target (髙 -> 高,
    # 邉 -> 辺).  Ignore anything that is not a single character.
    if candidates and len(candidates[0]) == 1:
        return candidates[0]
    return ch


# Bounded so that arbitrary query text cannot grow it without limit; names in a
# register use a few thousand distinct characters, which all stay cached.
@lru_cache(maxsize=65536)
def _fold_ideograph(ch: str) -> str:
    """The representative of ``ch``'s variant family.

    The MJ map is not idempotent on its own: chains (㑎 -> 徑 -> 径) and cycles
    (真 -> 眞 -> 真, U+795E 神 -> U+FA19 神 -> U+795E) occur, because one
    Unicode character maps to several MJ glyphs.  So the step is followed until
    a character repeats and the smallest code point on the cycle reached is the
    representative.  Every character leading into the same cycle gets the same
    key, and the representative folds to itself (keys are idempotent).
    """
    if not _is_ideograph(ord(ch)) and ch not in _NAME_OVERRIDES:
        return ch
    position: dict[str, int] = {}
    path: list[str] = []
    current = ch
    while current not in position:
        position[current] = len(path)
        path.append(current)
        current = _fold_step(current)
    return min(path[position[current] :])


def _fold_ideographs(text: str) -> str:
    # Everything below U+3400 (ASCII, kana, punctuation) is not an ideograph;
    # skipping it keeps bulk folding cheap.
    return "".join([_fold_ideograph(ch) if ch >= "\u3400" else ch for ch in text])


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def fold_kana(text: str) -> str:
    """Reading (フリガナ) search key.

    Half-width katakana -> full-width (ｶﾞ -> ガ), hiragana -> katakana,
    full-width ASCII -> ASCII (upper case), whitespace and name separators
    (・ ＝ hyphens) removed, ー kept, small kana -> large (ッ -> ツ),
    ヰヱヲ -> イエオ, ヂヅ -> ジズ.  Kanji are left as they are.
    """
    return _fold_characters(text, _READING_TABLE)


def fold_name(text: str) -> str:
    """Name (氏名) search key.

    Variation selectors and whitespace/separators removed, width folded
    (full-width ASCII -> ASCII upper case, half-width kana -> full-width),
    hiragana -> katakana, and each variant kanji folded to the representative
    of its MJ shrink family plus the overrides above (髙橋 -> 高橋,
    齋藤/齊藤/斉藤 -> 斎藤, 渡邉/渡邊 -> 渡辺).
    """
    return _fold_ideographs(_fold_characters(text, _NAME_TABLE))


def name_key(kanji_name: str) -> str:
    """Search key for a name as registered (kanji, kana or Latin letters)."""
    return fold_name(kanji_name)


def kana_key(kana: str) -> str:
    """Search key for a reading (フリガナ)."""
    return fold_kana(kana)


def query_keys(query: str) -> tuple[str, str]:
    """Keys for what was typed into a search box: ``(name key, reading key)``.

    The query may be a name or a reading, so a resident matches when their
    name key starts with the first or their reading key starts with the second.
    """
    return fold_name(query), fold_kana(query)
