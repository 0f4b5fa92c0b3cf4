"""Tests for lgcloud.register.folding (resident name / reading search keys)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgcloud.register import folding
from lgcloud.register.folding import (
    fold_kana,
    fold_name,
    kana_key,
    name_key,
    query_keys,
    strip_variation_selectors,
)

IVS_E0100 = "\U000e0100"
IVS_E0101 = "\U000e0101"
COMPAT_KAMI = "\ufa19"  # CJK compatibility ideograph 神
KAMI = "\u795e"  # 神
SAKI_VARIANT = "\ufa11"  # 﨑 (a unified ideograph in the compatibility block)


# ---------------------------------------------------------------------------
# Name key equivalences
# ---------------------------------------------------------------------------

NAME_EQUIVALENCES = [
    ("髙橋", "高橋"),
    (f"山{SAKI_VARIANT}", "山崎"),
    ("齋藤", "斎藤"),
    ("齊藤", "斎藤"),
    ("斉藤", "斎藤"),
    ("渡邊", "渡辺"),
    ("渡邉", "渡辺"),
    (f"葛{IVS_E0100}飾", "葛飾"),
    ("𠮷田", "吉田"),
    ("澤田", "沢田"),
    ("濱田", "浜田"),
    ("國分", "国分"),
    (f"{COMPAT_KAMI}田", f"{KAMI}田"),
    ("眞一", "真一"),  # a cycle in the MJ map (真 -> 眞 -> 真)
    ("檜山", "桧山"),
    ("藪内", "薮内"),
    ("籠谷", "篭谷"),
    ("⾼橋", "高橋"),  # Kangxi radical ⾼ (U+2FBC) copied from a PDF
    ("斎藤 太郎", "斎藤太郎"),
    ("斎藤\u3000太郎", "斎藤太郎"),
    ("さいとう", "サイトウ"),
    ("ｻｲﾄｳ", "サイトウ"),
    ("Ｓｍｉｔｈ　Ｊｏｈｎ", "SMITH JOHN"),
    ("ジョン・スミス", "ジョン スミス"),
]


@pytest.mark.parametrize(("variant", "standard"), NAME_EQUIVALENCES)
def test_name_key_equivalences(variant: str, standard: str) -> None:
    assert fold_name(variant) == fold_name(standard)
    assert name_key(variant) == name_key(standard)


def test_all_saito_spellings_share_one_key() -> None:
    keys = {fold_name(name) for name in ("斎藤", "齋藤", "齊藤", "斉藤")}
    assert keys == {"斎藤"}


def test_all_watanabe_spellings_share_one_key() -> None:
    assert {fold_name(name) for name in ("渡辺", "渡邊", "渡邉")} == {"渡辺"}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("佐藤", "斎藤"),
        ("高橋", "髙田"),
        ("玉木", "王木"),  # MJ sends 玉 to 王; not followed
        ("功", "切"),  # MJ maps these onto each other; not followed
        ("書", "昼"),
        ("ガッコウ", "カッコウ"),
        ("ヴ", "ブ"),
    ],
)
def test_different_names_keep_different_keys(first: str, second: str) -> None:
    assert fold_name(first) != fold_name(second)


def test_name_key_does_not_fold_small_kana() -> None:
    # Small-kana folding is for readings only; the name key stays precise.
    assert fold_name("ゆっこ") == "ユッコ"


def test_name_key_leaves_non_ideographs_alone() -> None:
    assert fold_name("김민준") == "김민준"
    assert fold_name("José") == "JOSé"


def test_overrides_fold_to_their_target_and_targets_are_stable() -> None:
    for source, target in folding._NAME_OVERRIDES.items():
        assert fold_name(source) == fold_name(target) == target
        assert fold_name(target) == target


# ---------------------------------------------------------------------------
# Reading key
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["ｻｲﾄｳ", "さいとう", "サイトウ", "サイ トウ", "ｻｲ　ﾄｳ"])
def test_query_in_any_kana_form_matches_stored_reading(typed: str) -> None:
    assert query_keys(typed)[1] == kana_key("サイトウ")


def test_halfwidth_voiced_kana_fold_like_hiragana() -> None:
    assert fold_kana("ｶﾞｯｺｳ") == fold_kana("がっこう") == "ガツコウ"
    assert fold_name("ｶﾞｯｺｳ") == fold_name("がっこう") == "ガッコウ"
    assert fold_kana("ﾊﾟﾝ") == "パン"


@pytest.mark.parametrize(
    ("reading", "expected"),
    [
        ("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ"),
        ("ぁぃぅぇぉっゃゅょゎゕゖ", "アイウエオツヤユヨワカケ"),
        ("ヰヱヲ", "イエオ"),
        ("ヂヅ", "ジズ"),
        ("ヴ", "ヴ"),
        ("ゔ", "ヴ"),
        ("う゛", "ヴ"),
        ("ヷ", "ヴア"),
        ("ワ゛", "ヴア"),
        ("か\u3099", "ガ"),
        ("カﾞ", "ガ"),
        ("ハ゜", "パ"),
        ("チ゛", "ジ"),
        ("ｼﾞｮｰｼﾞ", "ジヨージ"),
        ("ジョン・スミス", "ジヨンスミス"),
        ("ｼﾞｮﾝ･ｽﾐｽ", "ジヨンスミス"),
        ("ジャン＝ピエール", "ジヤンピエール"),
        ("ショウジ　ハナコ", "シヨウジハナコ"),
        ("ｓｍｉｔｈ", "SMITH"),
    ],
)
def test_reading_folding(reading: str, expected: str) -> None:
    assert fold_kana(reading) == expected


def test_reading_variants_match() -> None:
    assert fold_kana("ハットリ") == fold_kana("ハツトリ")
    assert fold_kana("ショウジ") == fold_kana("シヨウジ") == fold_kana("ショウヂ")
    assert fold_kana("ミヅキ") == fold_kana("みずき")
    assert fold_kana("カヲル") == fold_kana("かおる")


def test_long_vowel_mark_is_kept() -> None:
    assert fold_kana("ジョージ") != fold_kana("ジョジ")
    assert fold_kana("ｼﾞｮｰｼﾞ") == fold_kana("ジョージ")


def test_query_keys_returns_name_and_reading_keys() -> None:
    assert query_keys("髙橋") == ("高橋", "髙橋")
    assert query_keys("たかはし") == ("タカハシ", "タカハシ")
    assert query_keys("") == ("", "")


# ---------------------------------------------------------------------------
# Variation selectors
# ---------------------------------------------------------------------------


def test_strip_variation_selectors() -> None:
    assert strip_variation_selectors(f"葛{IVS_E0100}飾") == "葛飾"
    assert strip_variation_selectors(f"辻{IVS_E0101}") == "辻"
    assert strip_variation_selectors("A\ufe00B\ufe0f") == "AB"
    assert strip_variation_selectors("\U000e01ef\U000e01f0") == "\U000e01f0"  # only to E01EF


def test_strip_variation_selectors_does_not_normalise() -> None:
    # A compatibility ideograph must survive: only selectors are removed.
    assert strip_variation_selectors(f"{COMPAT_KAMI}{IVS_E0100}") == COMPAT_KAMI


# ---------------------------------------------------------------------------
# Table sanity
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("table", [folding._NAME_TABLE, folding._READING_TABLE])
def test_translate_tables_are_idempotent(table: dict[int, str]) -> None:
    for value in table.values():
        assert value.translate(table) == value


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

_TRICKY = st.sampled_from(
    [
        *"髙高﨑崎齋斎齊斉邉邊辺𠮷吉澤沢濱浜國国神眞真玉王功切書昼葛飾佐藤渡檜桧⾼",
        *"あいうかがっゃゝゞゔアカガッャヵヶヰヱヲヂヅヷヴ",
        *"ｱｶｷﾊﾞﾟｰ･ﾞ゛゜・＝=－-‐ー 　\t",
        *"aZａＡ1１éß김",
        COMPAT_KAMI,
        KAMI,
        "\u3099",
        "\u309a",
        "\ufe00",
        IVS_E0100,
        IVS_E0101,
        "\u200b",
    ]
)
_IDEOGRAPHS = (
    st.characters(min_codepoint=0x3400, max_codepoint=0x9FFF)
    | st.characters(min_codepoint=0xF900, max_codepoint=0xFAFF)
    | st.characters(min_codepoint=0x20000, max_codepoint=0x3FFFF)
)
_MIXED = st.text(alphabet=_TRICKY | _IDEOGRAPHS | st.characters(), max_size=24)
_SELECTORS = st.sampled_from(["\ufe00", "\ufe0f", IVS_E0100, IVS_E0101, "\U000e01ef"])


@settings(deadline=None)
@given(_MIXED)
def test_fold_name_is_idempotent(text: str) -> None:
    key = fold_name(text)
    assert fold_name(key) == key


@settings(deadline=None)
@given(_MIXED)
def test_fold_kana_is_idempotent(text: str) -> None:
    key = fold_kana(text)
    assert fold_kana(key) == key


@settings(deadline=None)
@given(st.text())
def test_folding_never_raises(text: str) -> None:
    name, reading = query_keys(text)
    assert isinstance(name, str)
    assert isinstance(reading, str)
    assert isinstance(strip_variation_selectors(text), str)


@settings(deadline=None)
@given(st.text(alphabet=_TRICKY | _IDEOGRAPHS, max_size=12), st.data())
def test_selectors_never_change_keys(text: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=0, max_value=len(text)))
    selector = data.draw(_SELECTORS)
    decorated = text[:position] + selector + text[position:]
    assert fold_name(decorated) == fold_name(text)
    assert fold_kana(decorated) == fold_kana(text)


@settings(deadline=None)
@given(_MIXED)
def test_keys_contain_no_whitespace_or_selectors(text: str) -> None:
    for key in query_keys(text):
        assert not any(ch.isspace() for ch in key)
        assert strip_variation_selectors(key) == key
