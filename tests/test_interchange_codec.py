"""Encodings for interchange files: detection, strict streaming decode, gaiji, cp932 export."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgcloud.interchange.codec import (
    GAIJI_CAPACITY,
    EncodingError,
    GaijiCapacityError,
    GaijiEntry,
    GaijiError,
    GaijiTable,
    GaijiTableError,
    decode_cp932,
    decode_lines,
    detect_encoding,
    encode_cp932,
    gaiji_char,
    gaiji_code,
    is_cp932_safe,
    is_user_defined,
    iter_units,
    normalize_encoding,
    parse_gaiji_code,
    to_shift_jis_lossy,
    user_defined_codes,
)

# no database: the PostgreSQL pass of ./scripts/test would only repeat these
pytestmark = pytest.mark.no_database

# cp932 encodes these, but the bytes decode to a different character (Windows mapping)
ROUND_TRIP_UNSAFE = "\u301c\u2016\u2212\u00a2\u00a3\u00ac"
THEIR_COUNTERPARTS = "\uff5e\u2225\uff0d\uffe0\uffe1\uffe2"

TOKENS = [
    *"あいうえおがぱゃっアイウヴヶーｱｲｳﾞﾟ",  # kana, also half-width
    *"山田太郎花子鈴木佐藤高橋崎斎辺吉葛辻飾区町村　",  # common kanji, ideographic space
    *"髙﨑齋邊邉𠮷神",  # variants (髙 﨑 are NEC/IBM extensions, 𠮷 is outside cp932)
    "葛\U000e0102",  # IVS (Moji_Joho)
    "辻\U000e0102",
    "邉\U000e0119",
    "𠮷\U000e0100",
    "神\ufe00",  # standardized variation sequence
    "\U000e0102",  # a selector with no base of its own
    *ROUND_TRIP_UNSAFE,
    *THEIR_COUNTERPARTS,
    *"①㈱",  # NEC row 13
    "か\u3099",  # decomposed が
    "😀",
    "👍🏽",
    "👨\u200d👩\u200d👧",
    "❤\ufe0f",
    "\u00a0",
    "\ufa19",  # a compatibility ideograph that NFC would change
    *',"\r\n\t \\~',
]
texts = st.lists(
    st.sampled_from(TOKENS) | st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    max_size=30,
).map("".join)
any_text = st.text(
    st.characters(exclude_categories=("Cs",)).filter(lambda c: not is_user_defined(c))
)


def cp932_csv(rows: list[list[str]], table: GaijiTable, lineterminator: str = "\r\n") -> bytes:
    buf = io.StringIO()
    # Python 3.11's csv.writer quotes a field with a bare CR only when CR is part of the
    # lineterminator: with "\n" minimal quoting writes unreadable CSV, so quote all.
    quoting = csv.QUOTE_MINIMAL if lineterminator == "\r\n" else csv.QUOTE_ALL
    csv.writer(buf, lineterminator=lineterminator, quoting=quoting).writerows(rows)
    return encode_cp932(buf.getvalue(), table)


# ------------------------------------------------------------------- code points


def test_user_defined_codes_match_pythons_cp932() -> None:
    codes = [
        (lead << 8) | trail
        for lead in range(0xF0, 0xFA)
        for trail in [*range(0x40, 0x7F), *range(0x80, 0xFD)]
    ]
    assert len(codes) == GAIJI_CAPACITY == 1880
    for i, code in enumerate(codes):
        ch = code.to_bytes(2, "big").decode("cp932")
        assert ord(ch) == 0xE000 + i
        assert gaiji_char(code) == ch
        assert gaiji_code(ch) == code
        assert ch.encode("cp932") == code.to_bytes(2, "big")
    assert bytes.fromhex("F040").decode("cp932") == "\ue000"
    assert bytes.fromhex("F9FC").decode("cp932") == "\ue757"
    for bad in ["F07F", "F0FD", "F03F", "EFFC", "FA40", "F0"]:
        with pytest.raises(ValueError, match=r"F0|hexadecimal"):
            parse_gaiji_code(bad)
    assert parse_gaiji_code(" 0xf080 ") == 0xF080


def test_units_keep_selectors_and_marks_with_their_base() -> None:
    assert list(iter_units("葛\U000e0102飾a\U000e0102か\u3099👍🏽")) == [
        "葛\U000e0102",
        "飾",
        "a",
        "\U000e0102",
        "か\u3099",
        "👍🏽",
    ]
    assert list(iter_units("👨\u200d👩,")) == ["👨\u200d👩", ","]


def test_round_trip_unsafe_characters_are_not_safe() -> None:
    for ch in ROUND_TRIP_UNSAFE:
        assert ch.encode("cp932").decode("cp932") != ch
        assert not is_cp932_safe(ch)
    for ch in THEIR_COUNTERPARTS + "髙﨑①":
        assert is_cp932_safe(ch)
    assert not is_cp932_safe("\ue000")  # a gaiji round-trips in cp932 but means nothing


# ------------------------------------------------------------------------ export


@given(texts)
def test_encode_then_decode_gives_the_text_back(text: str) -> None:
    table = GaijiTable()
    data = encode_cp932(text, table)
    assert decode_cp932(data, table) == text
    assert encode_cp932(text, table) == data  # stable once allocated


@given(any_text)
def test_encode_is_lossless_for_any_text(text: str) -> None:
    table = GaijiTable()
    assert decode_cp932(encode_cp932(text, table), table) == text


@given(texts)
def test_encode_gives_each_unit_its_own_code(text: str) -> None:
    """``nec``: Python's own codes for every safe unit, a gaiji for the rest."""
    table, expected_table = GaijiTable(variant="nec"), GaijiTable(variant="nec")
    expected = b"".join(
        unit.encode("cp932")
        if len(unit) == 1 and is_cp932_safe(unit)
        else gaiji_code(expected_table.allocate(unit)).to_bytes(2, "big")
        for unit in iter_units(text)
    )
    assert encode_cp932(text, table) == expected
    assert table == expected_table


JIS_X_0208_LEADS = {*range(0x81, 0x85), *range(0x88, 0xA0), *range(0xE0, 0xEB)}


def _windows_code(ch: str) -> bytes:
    """What Windows writes for a safe character, from the rule (independent of the codec):
    of the byte pairs that decode to it, JIS X 0208 first, then NEC row 13, then the IBM
    extensions (0xFA–0xFC), the NEC-selected ones (0xED–0xEE) last."""
    pairs = [ch.encode("cp932")]
    for lead in (0x87, 0xED, 0xEE, 0xFA, 0xFB, 0xFC, *JIS_X_0208_LEADS):
        for trail in range(0x40, 0xFD):
            pair = bytes([lead, trail])
            try:
                if pair.decode("cp932") == ch:
                    pairs.append(pair)
            except UnicodeDecodeError:
                continue

    def rank(b: bytes) -> int:
        if len(b) == 1 or b[0] in JIS_X_0208_LEADS:
            return 0
        return {0x87: 1, 0xFA: 2, 0xFB: 2, 0xFC: 2}.get(b[0], 3)

    return min(pairs, key=rank)


def test_ibm_is_what_windows_writes() -> None:
    """髙 0xFBFC and 﨑 0xFAB1 (not 0xEEE0 / 0xED95), row 13 and JIS X 0208 kept, for every
    character cp932 has more than one code for."""
    table = GaijiTable()  # ibm by default
    assert encode_cp932("髙﨑", table) == b"\xfb\xfc\xfa\xb1"
    several = sorted(
        {
            c
            for lead in (0x87, 0xED, 0xEE, 0xFA, 0xFB, 0xFC)
            for trail in range(0x40, 0xFD)
            for c in [bytes([lead, trail]).decode("cp932", errors="replace")]
            if len(c) == 1 and c != "\ufffd" and is_cp932_safe(c)
        }
    )
    assert len(several) > 373
    for ch in several:
        assert encode_cp932(ch, table) == _windows_code(ch), ch
    assert len(table) == 0


def test_jis_writes_only_jis_x_0208() -> None:
    table = GaijiTable(variant="jis")
    data = encode_cp932("髙橋①﨑ⅰ山ｱ", table)
    assert decode_cp932(data, table) == "髙橋①﨑ⅰ山ｱ"
    assert [e.text for e in table] == ["髙", "①", "﨑", "ⅰ"]
    assert data == b"\xf0\x40\x8b\xb4\xf0\x41\xf0\x42\xf0\x43\x8eR\xb1"


def test_every_bmp_character_is_encoded_as_itself_exactly_when_safe() -> None:
    chars = [
        chr(cp)
        for cp in range(0x80, 0x10000)
        if not (0xD800 <= cp <= 0xDFFF or is_user_defined(chr(cp)))
    ]
    for i in range(0, len(chars), 1500):
        batch = chars[i : i + 1500]
        text = "|".join(batch)  # ASCII between them: every character is a unit of its own
        table = GaijiTable()
        data = encode_cp932(text, table)
        assert decode_cp932(data, table) == text
        assert {e.text for e in table} == {c for c in batch if not is_cp932_safe(c)}


def test_encode_uses_gaiji_only_where_cp932_cannot_carry_the_character() -> None:
    table = GaijiTable()
    assert encode_cp932("髙橋～", table) == b"\xfb\xfc\x8b\xb4\x81\x60"
    assert len(table) == 0
    assert encode_cp932("〜葛\U000e0102〜", table) == b"\xf0\x40\xf0\x41\xf0\x40"
    assert [(e.code_hex, e.text) for e in table] == [("F040", "〜"), ("F041", "葛\U000e0102")]
    with pytest.raises(GaijiError, match="F041") as info:
        encode_cp932("外\ue001", table)
    assert info.value.code == "F041"


# ------------------------------------------------------------------- gaiji table


def test_allocation_order_skips_invalid_trail_bytes_and_capacity_is_clear() -> None:
    table = GaijiTable()
    chars = [table.allocate(chr(0x4E00 + i)) for i in range(GAIJI_CAPACITY)]
    codes = [gaiji_code(c) for c in chars]
    assert codes[:3] == [0xF040, 0xF041, 0xF042]
    assert codes[62:64] == [0xF07E, 0xF080]  # 0xF07F is not a cp932 code
    assert codes[187:189] == [0xF0FC, 0xF140]
    assert codes[-1] == 0xF9FC
    assert table.allocate("丁") == chars[1]  # known text: same code, nothing allocated
    with pytest.raises(GaijiCapacityError, match="1880 個すべて"):
        table.allocate("𠮷")


def test_allocate_fills_the_lowest_free_code() -> None:
    table = GaijiTable([GaijiEntry(0xF040, "葛\U000e0102"), GaijiEntry(0xF042, "辻\U000e0102")])
    assert table.allocate("𠮷") == "\ue001"
    assert table.allocate("邉\U000e0119") == "\ue003"
    with pytest.raises(GaijiTableError, match="ASCII"):
        table.allocate("a")


def test_gaiji_csv_is_read_with_bom_crlf_any_column_order(tmp_path: Path) -> None:
    path = tmp_path / "gaiji.csv"
    text = "対応文字,外字コード,MJ文字図形名\r\n葛\U000e0102,F040,MJ022336\r\n𠮷,f041,\r\n\r\n"
    path.write_bytes(codecs.BOM_UTF8 + text.encode())
    table = GaijiTable.load(path)
    assert list(table) == [GaijiEntry(0xF040, "葛\U000e0102", "MJ022336"), GaijiEntry(0xF041, "𠮷")]
    assert table.text_for_char("\ue001") == "𠮷"
    assert table.char_for_text("葛\U000e0102") == "\ue000"
    out = tmp_path / "out" / "gaiji.csv"
    out.parent.mkdir()
    table.write(out)
    assert out.read_bytes() == (
        "外字コード,MJ文字図形名,対応文字\nF040,MJ022336,葛\U000e0102\nF041,,𠮷\n".encode()
    )
    assert GaijiTable.load(out) == table
    assert [p.name for p in out.parent.iterdir()] == ["gaiji.csv"]  # no temporary left


@given(st.lists(st.sampled_from([t for t in TOKENS if t.isascii() is False]), max_size=40))
def test_gaiji_table_written_and_read_back_is_equal(units: list[str]) -> None:
    table = GaijiTable()
    for i, unit in enumerate(units):
        table.allocate(unit, f"MJ{i:06d}" if i % 2 else "")
    buf = io.StringIO(newline="")
    table.write(buf)
    assert GaijiTable.load(io.StringIO(buf.getvalue(), newline="")) == table


HEADER = "外字コード,MJ文字図形名,対応文字\n"


@pytest.mark.parametrize(
    ("body", "row", "column", "fragment"),
    [
        ("F07F,,葛\n", 2, "外字コード", "下位バイト"),
        ("FA40,,葛\n", 2, "外字コード", "上位バイト"),
        ("XYZ,,葛\n", 2, "外字コード", "16進4桁"),
        ("F040,,\n", 2, "対応文字", "空欄"),
        ("F040,,a\n", 2, "対応文字", "ASCII"),
        ("F040,,\ue001\n", 2, "対応文字", "外字 U\\+E001 そのもの"),
        ("F040,X1,葛\n", 2, "MJ文字図形名", "MJ文字図形名 \\(MJ022336"),
        ("F040,,葛\nF041,,辻\nF040,,邉\n", 4, "外字コード", "2 行目で既に定義"),
        ("F040,,葛\nF041,,葛\n", 3, "対応文字", "2 行目の対応文字と同じ"),
        ("F040,葛\n", 2, None, "項目数 2"),
    ],
)
def test_bad_gaiji_rows_are_refused_with_row_and_column(
    body: str, row: int, column: str | None, fragment: str
) -> None:
    with pytest.raises(GaijiTableError, match=fragment) as info:
        GaijiTable.load(io.StringIO(HEADER + body, newline=""))
    assert (info.value.row, info.value.column) == (row, column)
    assert f"{row} 行目" in str(info.value)


def test_bad_gaiji_header_is_refused() -> None:
    with pytest.raises(GaijiTableError, match="見出し行") as info:
        GaijiTable.load(io.StringIO("code,name,text\nF040,,葛\n"))
    assert info.value.row == 1


def test_gaiji_csv_must_be_utf8(tmp_path: Path) -> None:
    path = tmp_path / "gaiji.csv"
    path.write_bytes((HEADER + "F040,,髙\n").encode("cp932"))
    with pytest.raises(GaijiTableError, match="UTF-8"):
        GaijiTable.load(path)


# ---------------------------------------------------------------- detection


def test_detect_encoding() -> None:
    text = "宛名番号,漢字氏名\r\n1,山田\u3000太郎\r\n"
    assert detect_encoding(text.encode()) == "utf-8"
    assert detect_encoding(codecs.BOM_UTF8 + text.encode()) == "utf-8-sig"
    assert detect_encoding(text.encode("cp932")) == "cp932"
    assert detect_encoding(b"a,b\r\n1,2\r\n") == "utf-8"
    assert detect_encoding(b"") == "utf-8"
    assert detect_encoding("ｱｲｳ,ﾃｽﾄ\r\n".encode("cp932")) == "cp932"


@given(st.text(st.sampled_from("山田太郎髙𠮷あア,\n")), st.data())
def test_detection_ignores_a_character_cut_at_the_end_of_the_sample(
    text: str, data: st.DataObject
) -> None:
    utf8 = text.encode()
    assert detect_encoding(utf8[: data.draw(st.integers(0, len(utf8)))]) == "utf-8"
    sjis = encode_cp932("宛名番号," + text, GaijiTable())
    assert detect_encoding(sjis[: data.draw(st.integers(1, len(sjis)))]) == "cp932"


def test_detect_mixed_encoding_names_the_offset() -> None:
    utf8 = "宛名番号,漢字氏名\r\n1,山田\r\n".encode()
    with pytest.raises(EncodingError, match="文字コードが混在") as info:
        detect_encoding(utf8 + "2,鈴木\r\n".encode("cp932"))
    assert info.value.byte_offset == len(utf8) + 2
    assert info.value.line_number == 3


@pytest.mark.parametrize(
    ("data", "fragment", "offset"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "テキストファイルではありません \\(PNG 画像", 0),
        (b"a,b\r\n1,\x002\r\n", "2 行目 \\(先頭から 7 バイト目\\) に NUL", 7),
        ("a,b\r\n".encode("utf-16"), "UTF-16", 0),
        (b"a,\x1b$B$3$s\x1b(B\n", "ISO-2022-JP", 2),
        (b"a,b\r\n\x81\x20", "UTF-8 でも", 5),
    ],
)
def test_detect_refuses_what_is_not_text(data: bytes, fragment: str, offset: int) -> None:
    with pytest.raises(EncodingError, match=fragment) as info:
        detect_encoding(data)
    assert info.value.byte_offset == offset


# ------------------------------------------------------------- streaming decode


@settings(max_examples=60)  # each example is a whole file; keeps the module under 5 s
@given(
    st.lists(st.lists(texts, min_size=1, max_size=5), min_size=1, max_size=8),
    st.sampled_from(["\r\n", "\n"]),
    st.integers(1, 40),
)
def test_cp932_csv_with_gaiji_streams_back_to_the_same_rows(
    rows: list[list[str]], lineterminator: str, chunk_size: int
) -> None:
    table = GaijiTable()
    data = cp932_csv(rows, table, lineterminator)
    stored = io.StringIO(newline="")
    table.write(stored)
    table_back = GaijiTable.load(io.StringIO(stored.getvalue(), newline=""))
    lines = decode_lines(io.BytesIO(data), "cp932", table_back, chunk_size=chunk_size)
    assert list(csv.reader(lines, strict=True)) == rows
    # auto-detection finds cp932 behind a Japanese header
    header = ["漢字氏名", "住所"]
    data = cp932_csv([header, *rows], table)
    lines = decode_lines(io.BytesIO(data), None, table, chunk_size=chunk_size)
    assert list(csv.reader(lines, strict=True)) == [header, *rows]
    assert lines.encoding == "cp932"


@settings(max_examples=60)
@given(st.lists(st.lists(texts, min_size=1, max_size=4), max_size=6), st.booleans())
def test_utf8_csv_streams_back_with_or_without_bom(rows: list[list[str]], bom: bool) -> None:
    buf = io.StringIO()
    csv.writer(buf).writerows([["漢字氏名"], *rows])
    data = (codecs.BOM_UTF8 if bom else b"") + buf.getvalue().encode()
    lines = decode_lines(io.BytesIO(data), chunk_size=7)
    assert list(csv.reader(lines)) == [["漢字氏名"], *rows]
    assert lines.encoding == ("utf-8-sig" if bom else "utf-8")
    assert list(csv.reader(decode_lines(io.BytesIO(data), "utf-8"))) == [["漢字氏名"], *rows]


def test_line_breaks_inside_quoted_fields_survive_every_chunk_boundary() -> None:
    data = 'a,"x\r\ny\rz\n"\r\nb,c\rd,e\n'.encode("cp932")
    for size in range(1, len(data) + 2):
        lines = list(decode_lines(io.BytesIO(data), "cp932", chunk_size=size))
        assert lines == ['a,"x\r\n', "y\r", "z\n", '"\r\n', "b,c\r", "d,e\n"]
        assert list(csv.reader(lines)) == [["a", "x\r\ny\rz\n"], ["b", "c"], ["d", "e"]]


def test_utf8_file_with_a_cp932_line_is_refused_as_mixed() -> None:
    head = "漢字氏名,住所\r\n".encode() + b"".join(f"{i},山田\r\n".encode() for i in range(100))
    data = head + b"x," + "鈴木".encode("cp932") + b"\r\n"
    with pytest.raises(EncodingError, match="文字コードが混在") as info:
        list(decode_lines(io.BytesIO(data), chunk_size=64))  # detection sees UTF-8 only
    assert info.value.line_number == 102
    assert info.value.byte_offset == len(head) + 2
    assert "鈴木" in str(info.value)
    with pytest.raises(EncodingError, match="文字コードが混在"):
        list(decode_lines(io.BytesIO(data), "utf-8"))


def test_utf8_lines_in_a_cp932_file_are_refused_not_turned_into_mojibake() -> None:
    head = "漢字氏名,住所\r\n1,鈴木,大字\r\n".encode("cp932")
    utf8 = "2,山田,鈴木\r\n".encode()
    assert (head + utf8).decode("cp932")  # the trap: it decodes without an error
    with pytest.raises(
        EncodingError, match=r"文字コードが混在.*3 行目 \(先頭から \d+ バイト目から\) は UTF-8"
    ) as info:
        list(decode_lines(io.BytesIO(head + utf8), "cp932"))
    assert info.value.byte_offset == len(head) + 2
    with pytest.raises(EncodingError, match="文字コードが混在"):  # auto-detection too
        list(decode_lines(io.BytesIO(head + utf8)))
    lines = decode_lines(io.BytesIO(head + utf8), "cp932", refuse_utf8_lines=False)
    assert list(lines)[-1] == utf8.decode("cp932")


def test_ascii_head_defers_the_decision_to_the_first_non_ascii_line() -> None:
    data = b"".join(b"%d,x\r\n" % i for i in range(50)) + "51,山田\r\n".encode("cp932")
    lines = decode_lines(io.BytesIO(data), chunk_size=16)
    assert lines.encoding == "utf-8"
    assert list(csv.reader(lines))[-1] == ["51", "山田"]
    assert lines.encoding == "cp932"


def test_invalid_and_truncated_bytes_are_located() -> None:
    with pytest.raises(
        EncodingError,
        match=r"2 行目 \(先頭から \d+ バイト目\) に Shift_JIS \(cp932\) として不正なバイト 81",
    ) as info:
        list(decode_lines(io.BytesIO(b"a\r\nb\x81\nc\n"), "cp932"))
    assert (info.value.line_number, info.value.byte_offset) == (2, 4)
    with pytest.raises(EncodingError, match="最後の UTF-8 の文字が途中で切れています") as info:
        list(decode_lines(io.BytesIO("a\n山".encode()[:-1]), "utf-8"))
    assert info.value.byte_offset == 2
    with pytest.raises(EncodingError, match="UTF-8 の BOM"):
        list(decode_lines(io.BytesIO(codecs.BOM_UTF8 + b"a\n"), "cp932"))


def test_binary_content_is_refused() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    for encoding in (None, "cp932", "utf-8"):
        with pytest.raises(EncodingError, match="テキストファイルではありません"):
            list(decode_lines(io.BytesIO(png), encoding))
    with pytest.raises(EncodingError, match=r"3 行目 .* NUL") as info:
        list(decode_lines(io.BytesIO(b"a\nb\nc\x00\n"), "utf-8"))
    assert info.value.byte_offset == 5
    with pytest.raises(EncodingError, match="100 バイトより長い行"):
        list(decode_lines(io.BytesIO(b"x" * 1000), "utf-8", max_line_bytes=100, chunk_size=10))


def test_user_defined_character_without_a_row_names_code_and_line() -> None:
    table = GaijiTable([GaijiEntry(0xF040, "葛\U000e0102")])
    first = "漢字氏名,住所\r\n".encode("cp932")
    data = first + "1,".encode("cp932") + b"\xf0\x40\xf0\x41" + b"\r\n"
    with pytest.raises(GaijiError, match="F041") as info:
        list(csv.reader(decode_lines(io.BytesIO(data), "cp932", table)))
    assert (info.value.code, info.value.line_number) == ("F041", 2)
    assert info.value.byte_offset == len(first) + 4
    # keep mode: the importer reports it per field, with row and column
    rows = list(csv.reader(decode_lines(io.BytesIO(data), "cp932", table, unknown_gaiji="keep")))
    assert rows[1] == ["1", "葛\U000e0102\ue001"]
    assert user_defined_codes(rows[1][1]) == ["F041"]
    with pytest.raises(GaijiError, match="F041") as info:
        decode_cp932(data, table)
    assert info.value.line_number == 2
    # no table at all, and UTF-8 files: a private-use gaiji is never let through
    with pytest.raises(GaijiError, match=r"F040.*外字表 \(gaiji.csv\) が必要"):
        list(decode_lines(io.BytesIO(data), "cp932"))
    assert list(decode_lines(io.BytesIO("葛\ue000\n".encode()), "utf-8", table)) == [
        "葛葛\U000e0102\n"
    ]


def test_the_stream_is_read_a_chunk_at_a_time() -> None:
    class Counting(io.BytesIO):
        read_total = 0

        def read(self, size: int | None = -1, /) -> bytes:
            b = super().read(size)
            self.read_total += len(b)
            return b

    stream = Counting(b"a,b\r\n" * 100_000)
    lines = decode_lines(stream, chunk_size=4096)
    assert next(lines) == "a,b\r\n"
    assert stream.read_total <= 2 * 4096


def test_encoding_names() -> None:
    for name in ("shift_jis", "Shift-JIS", "SJIS", "cp932", "MS932", "Windows-31J"):
        assert normalize_encoding(name) == "cp932"
    assert normalize_encoding("UTF8") == "utf-8"
    assert normalize_encoding("utf_8_sig") == "utf-8-sig"
    with pytest.raises(EncodingError, match="対応していません"):
        normalize_encoding("euc-jp")


# ------------------------------------------------------------------ lossy export


def test_lossy_shift_jis_uses_mj_shrink_and_reports() -> None:
    assert to_shift_jis_lossy("髙橋 﨑") == ("高橋 崎", ["髙", "﨑"])
    assert to_shift_jis_lossy("山田　太郎,ﾔﾏﾀﾞ") == ("山田　太郎,ﾔﾏﾀﾞ", [])
    assert to_shift_jis_lossy("葛\U000e0102飾𠮷") == ("葛飾吉", ["葛\U000e0102", "𠮷"])
    assert to_shift_jis_lossy("〜か\u3099👍") == ("～が〓", ["〜", "か\u3099", "👍"])
    assert to_shift_jis_lossy("①\ue000") == ("〓〓", ["①", "\ue000"])
    assert to_shift_jis_lossy("髙①", allow_cp932_extensions=True) == ("髙①", [])


@given(texts | any_text)
def test_lossy_result_is_safe_and_only_changes_what_it_reports(text: str) -> None:
    result, replaced = to_shift_jis_lossy(text)
    assert all(is_cp932_safe(c) for c in result)
    assert result.encode("cp932").decode("cp932") == result
    if not replaced:
        assert result == text
    assert to_shift_jis_lossy(result) == (result, [])


_FIELD = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(_FIELD, min_size=1, max_size=6), st.data())
def test_the_field_of_a_csv_fault_is_found_again(fields: list[str], data: st.DataObject) -> None:
    """For a record the strict csv reader refuses (text after a closing quote, or a quote
    never closed), ``_field_of_fault`` names the field the damage was done to, whatever the
    fields around it hold (commas, quotes, line ends quoted)."""
    from lgcloud.interchange.residents import _field_of_fault  # noqa: PLC0415

    at = data.draw(st.integers(0, len(fields) - 1))
    left_open = data.draw(st.booleans())
    cells = []
    for i, field in enumerate(fields):
        # no quote after one left open: a later quote would close it, and the reading
        # would fail (or not) somewhere else
        plain = left_open and i > at
        value = "".join(c for c in field if c not in '",\r\n') if plain else field
        one = io.StringIO()
        csv.writer(one, lineterminator="").writerow([value])
        cell = one.getvalue()
        if cell == '""':  # the writer's form of a lone empty field
            cell = ""
        if i == at:
            escaped = value.replace('"', '""')
            cell = f'"{escaped}' if left_open else f'"{escaped}"x'
        cells.append(cell)
    record = ",".join(cells) + "\r\n"
    with pytest.raises(csv.Error):
        list(csv.reader(io.StringIO(record, newline=""), strict=True))
    assert _field_of_fault(record) == at
