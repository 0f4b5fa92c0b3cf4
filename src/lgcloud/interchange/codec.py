"""Text encodings for interchange files: UTF-8 / cp932 detection, gaiji, lossless export.

Files that follow ``/work/shared/interchange/README.md`` come as UTF-8 (with or without
BOM) or as Shift_JIS the way Windows writes it (Python's ``cp932``).  Shift_JIS files may
carry *gaiji*: user-defined characters in the cp932 range 0xF040–0xF9FC, which Python's
cp932 codec decodes to the private-use code points U+E000–U+E757, together with a gaiji
table (``gaiji.csv``) saying which Unicode text each code stands for.

What this module offers (pure functions and small classes; the only I/O is on streams
and paths the caller passes in):

* :class:`GaijiTable`: the gaiji table, loaded from and written to ``gaiji.csv``,
  validated row by row, with :meth:`GaijiTable.allocate` for export.
* :func:`detect_encoding` and :func:`decode_lines`: decode a CSV byte stream line by
  line, strictly, with gaiji resolved, as input for :func:`csv.reader`.
* :func:`encode_cp932` / :func:`decode_cp932`: lossless cp932 export (anything cp932
  cannot carry exactly becomes an allocated gaiji).
* :func:`to_shift_jis_lossy`: for receivers that take no gaiji table; every replacement
  is reported.

Decisions and pitfalls worth knowing:

* **Lines are split on bytes.**  CR (0x0D) and LF (0x0A) never occur inside a multi-byte
  character in UTF-8 or cp932 (cp932 trail bytes are 0x40–0x7E and 0x80–0xFC), so the
  reader splits the byte stream at CRLF, CR or LF and decodes each physical line strictly
  on its own.  That gives exact line numbers and byte offsets in errors, and memory is
  bounded by the longest line (``max_line_bytes``), never by the file size.
* **Round-trip safety.**  Python's cp932 is the Windows mapping: it *encodes* U+301C 〜,
  U+2016 ‖, U+2212 −, U+00A2 ¢, U+00A3 £ and U+00AC ¬, but the bytes decode to U+FF5E ～,
  U+2225 ∥, U+FF0D －, U+FFE0 ￠, U+FFE1 ￡ and U+FFE2 ￢.  A character is "safe" only when
  encode→decode gives it back, so those six are exported as gaiji, never silently swapped.
* **Several byte pairs decode to the same character** (NEC row 13 vs. IBM extensions,
  NEC-selected IBM extensions 0xED/0xEE vs. IBM extensions 0xFA–0xFC).  Decoding is fine;
  encoding must pick one.  Windows (WideCharToMultiByte, code page 932) prefers JIS X 0208,
  then NEC row 13, then the IBM extensions: 髙 → 0xFBFC, 﨑 → 0xFAB1.  Python's cp932
  codec prefers the NEC-selected codes for the 373 characters that have both (髙 → 0xEEE0,
  﨑 → 0xED95), which many receiving systems do not map.  :func:`encode_cp932` therefore
  writes Windows' choice by default (variant ``ibm``); ``nec`` keeps Python's, and ``jis``
  writes only JIS X 0208 (plus ASCII and half-width kana) and sends every extension
  character to the gaiji table.  Receivers with no gaiji table at all:
  :func:`to_shift_jis_lossy`.
* **Gaiji in UTF-8 files.**  A UTF-8 file from a Windows vendor system may carry the same
  private-use code points; with a gaiji table they are resolved exactly like cp932 gaiji,
  and without one they are an error, whatever the encoding.  A private-use character is
  never stored: it means nothing outside the system that made it.
* **gaiji.csv texts contain no ASCII.**  Gaiji are replaced before :mod:`csv` parses the
  line, so a 対応文字 with a quote, a comma or a line break would change the structure of
  the row.  A text of ASCII is never a gaiji anyway.
* ``gaiji.csv`` is written as UTF-8 without BOM, LF line ends, rows sorted by code; it is
  read with or without BOM and with CRLF or LF.
* Names are never normalised (no NFC/NFKC) anywhere here, except in the *lossy* export,
  where a composed form is one of the fallbacks and is reported as a replacement.
* **UTF-8 often decodes as cp932 without any error** (into mojibake: 山田 → 螻ｱ逕ｰ).
  Auto-detection tries UTF-8 first, so that only bites a file that is cp932 first and
  UTF-8 later, or a forced ``--encoding cp932``.  The reader refuses a cp932 line that is
  valid UTF-8 with three or more characters of U+0800 and above (cp932 Japanese is
  almost never valid UTF-8), and says 「文字コードが混在しています」 whenever a line fails to decode
  but reads in the other encoding.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Final, Literal, Protocol

import jntajis

from lgcloud.core.errors import LgcloudError
from lgcloud.core.files import write_atomically

__all__ = [
    "GAIJI_CAPACITY",
    "GAIJI_CSV_HEADER",
    "CodecError",
    "DecodedLines",
    "EncodingError",
    "GaijiCapacityError",
    "GaijiEntry",
    "GaijiError",
    "GaijiTable",
    "GaijiTableError",
    "InterchangeEncoding",
    "decode_cp932",
    "decode_lines",
    "detect_encoding",
    "encode_cp932",
    "format_gaiji_code",
    "gaiji_char",
    "gaiji_code",
    "is_cp932_safe",
    "is_user_defined",
    "iter_units",
    "normalize_encoding",
    "parse_gaiji_code",
    "to_shift_jis_lossy",
    "user_defined_codes",
]

InterchangeEncoding = Literal["utf-8-sig", "utf-8", "cp932"]

# ------------------------------------------------------------------------------ errors


class CodecError(LgcloudError):
    """Base class of the errors of this module (all carry a message for a clerk)."""


class EncodingError(CodecError):
    """The bytes are not text in a supported encoding (invalid, mixed, binary, UTF-16…).

    ``line_number`` (1-based physical line; ``line`` is the same) and ``byte_offset``
    (0-based, from the start of the stream) say where, when known; the message says it too.
    """

    def __init__(
        self, message: str, *, line_number: int | None = None, byte_offset: int | None = None
    ) -> None:
        super().__init__(message)
        self.line_number = line_number
        self.byte_offset = byte_offset

    @property
    def line(self) -> int | None:
        return self.line_number


class GaijiError(CodecError):
    """A user-defined character that cannot be resolved (or exported).

    ``code`` is the cp932 code in hex (``"F041"``), ``line_number`` (also ``line``) the
    physical line it was found on, ``byte_offset`` where on it.  A CSV importer knows
    which row and column that line belongs to; it can also decode with
    ``unknown_gaiji="keep"`` and find the codes per field with :func:`user_defined_codes`.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        line_number: int | None = None,
        byte_offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.line_number = line_number
        self.byte_offset = byte_offset

    @property
    def line(self) -> int | None:
        return self.line_number


class GaijiTableError(CodecError):
    """A gaiji table row (or an addition to the table) breaks a rule.

    ``row`` is the 1-based row of ``gaiji.csv`` (the header is row 1; it equals the line
    number since gaiji texts never contain line breaks), ``column`` the column name.
    """

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        super().__init__(message, field=column)
        self.row = row
        self.column = column


class GaijiCapacityError(GaijiTableError):
    """All user-defined codes (0xF040–0xF9FC, 1,880 of them) are in use."""


# ------------------------------------------------------------------------ code points

_GAIJI_LEADS: Final = range(0xF0, 0xFA)  # lead bytes 0xF0–0xF9
_TRAILS_PER_LEAD: Final = 188  # trail bytes 0x40–0x7E (63) and 0x80–0xFC (125)
GAIJI_CAPACITY: Final = len(_GAIJI_LEADS) * _TRAILS_PER_LEAD  # 1880
_PUA_FIRST: Final = 0xE000
_PUA_LAST: Final = _PUA_FIRST + GAIJI_CAPACITY - 1  # U+E757
_PUA_RE: Final = re.compile(f"[{chr(_PUA_FIRST)}-{chr(_PUA_LAST)}]")


def _code_index(code: int) -> int | None:
    lead, trail = code >> 8, code & 0xFF
    if lead not in _GAIJI_LEADS or not (0x40 <= trail <= 0x7E or 0x80 <= trail <= 0xFC):
        return None
    return (lead - 0xF0) * _TRAILS_PER_LEAD + trail - 0x40 - (trail >= 0x80)


def _index_code(index: int) -> int:
    lead, t = divmod(index, _TRAILS_PER_LEAD)
    return ((0xF0 + lead) << 8) | (0x40 + t + (t >= 0x3F))


def gaiji_char(code: int) -> str:
    """The code point Python's cp932 decodes a user-defined code to (0xF040 → U+E000)."""
    index = _code_index(code)
    if index is None:
        raise ValueError(f"{code:04X} は cp932 の外字の符号ではありません (F040–F9FC)")
    return chr(_PUA_FIRST + index)


def gaiji_code(char: str) -> int:
    """The cp932 code of a user-defined character (U+E000 → 0xF040)."""
    if not is_user_defined(char):
        raise ValueError(f"{char!r} is not a user-defined character (U+E000–U+E757)")
    return _index_code(ord(char) - _PUA_FIRST)


def is_user_defined(char: str) -> bool:
    """True for a single character in U+E000–U+E757 (cp932 0xF040–0xF9FC)."""
    return len(char) == 1 and _PUA_FIRST <= ord(char) <= _PUA_LAST


def format_gaiji_code(code: int) -> str:
    return f"{code:04X}"


def parse_gaiji_code(value: str) -> int:
    """``"F040"`` (also ``"f040"``, ``"0xF040"``, surrounding spaces) → 0xF040.

    Raises :class:`ValueError` for anything that is not a user-defined cp932 code.
    """
    s = value.strip()
    if s[:2].lower() == "0x":
        s = s[2:]
    if not re.fullmatch(r"[0-9A-Fa-f]{4}", s):
        raise ValueError(f"{value!r} は F040 のような16進4桁の外字コードではありません")
    code = int(s, 16)
    if _code_index(code) is None:
        raise ValueError(
            f"{code:04X} は cp932 の外字 (利用者定義文字) の符号ではありません: 上位バイトは "
            "F0–F9、下位バイトは 40–7E か 80–FC です"
        )
    return code


def _parse_code_cell(value: str) -> int:
    try:
        return parse_gaiji_code(value)
    except ValueError as exc:
        raise GaijiTableError(str(exc), column="外字コード") from None


def user_defined_codes(text: str) -> list[str]:
    """The cp932 codes (``"F041"``) of the user-defined characters left in ``text``."""
    return [format_gaiji_code(gaiji_code(m.group())) for m in _PUA_RE.finditer(text)]


def _describe(text: str) -> str:
    return " ".join(f"U+{ord(c):04X}" for c in text)


# ------------------------------------------------------------------------ gaiji table

GAIJI_CSV_HEADER: Final = ("外字コード", "MJ文字図形名", "対応文字")
_COL_CODE, _COL_MJ, _COL_TEXT = GAIJI_CSV_HEADER
_MJ_NAME_RE: Final = re.compile(r"MJ\d{6}")


@dataclass(frozen=True, slots=True)
class GaijiEntry:
    """One row of a gaiji table."""

    code: int
    text: str
    mj_name: str = ""

    @property
    def char(self) -> str:
        return gaiji_char(self.code)

    @property
    def code_hex(self) -> str:
        return format_gaiji_code(self.code)


def _text_problem(text: str) -> str | None:
    """Why ``text`` cannot be the 対応文字 of a gaiji, or None."""
    if not text:
        return "が空欄です"
    for ch in text:
        if ord(ch) < 0x80:
            return f"に ASCII の文字 {ch!r} があります (外字は ASCII 以外の文字を表します)"
        if is_user_defined(ch):
            return f"に外字 U+{ord(ch):04X} そのものがあります"
        if 0xD800 <= ord(ch) <= 0xDFFF:
            return f"に対になっていないサロゲート U+{ord(ch):04X} があります"
    return None


class GaijiTable:
    """User-defined characters (cp932 0xF040–0xF9FC = U+E000–U+E757) and their texts.

    Each code stands for one text (a base character, with or without a variation
    selector, possibly several code points) and each text has at most one code.
    The table is mutable only by adding: :meth:`add` and :meth:`allocate`.
    """

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __init__(
        self,
        entries: Iterable[GaijiEntry] = (),
        *,
        variant: Cp932Variant = "ibm",
        mj_names: Callable[[str], str] | None = None,
    ) -> None:
        #: which code :func:`encode_cp932` gives a character cp932 has several codes for
        self.variant: Cp932Variant = variant
        #: the MJ文字図形名 of a text, for the rows :meth:`allocate` adds without one
        self.mj_names = mj_names
        self._by_code: dict[int, GaijiEntry] = {}
        self._by_text: dict[str, int] = {}
        self._by_char: dict[str, str] = {}  # U+E000… → text
        self._next_free = 0  # every index below this one is in use
        for e in entries:
            self.add(e.code, e.text, e.mj_name)

    # -- queries

    def __len__(self) -> int:
        return len(self._by_code)

    def __iter__(self) -> Iterator[GaijiEntry]:
        """Entries in code order."""
        return iter([self._by_code[c] for c in sorted(self._by_code)])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GaijiTable):
            return NotImplemented
        return self._by_code == other._by_code

    def __repr__(self) -> str:
        return f"GaijiTable({list(self)!r})"

    def get(self, code: int) -> GaijiEntry | None:
        return self._by_code.get(code)

    def text_for_char(self, char: str) -> str | None:
        """The text a user-defined character stands for (None when it has no row)."""
        return self._by_char.get(char)

    def char_for_text(self, text: str) -> str | None:
        """The user-defined character that stands for ``text`` (None when there is none)."""
        code = self._by_text.get(text)
        return None if code is None else gaiji_char(code)

    # -- changes

    def add(self, code: int | str, text: str, mj_name: str = "") -> GaijiEntry:
        """Add a row; raises :class:`GaijiTableError` (with ``column``) when it breaks a rule."""
        if isinstance(code, str):
            code = _parse_code_cell(code)
        elif _code_index(code) is None:
            raise GaijiTableError(
                f"{code:04X} は cp932 の外字の符号ではありません (F040–F9FC、下位バイト "
                "40–7E か 80–FC)",
                column=_COL_CODE,
            )
        problem = _text_problem(text)
        if problem is not None:
            raise GaijiTableError(f"{_COL_TEXT} {problem}", column=_COL_TEXT)
        if mj_name and not _MJ_NAME_RE.fullmatch(mj_name):
            raise GaijiTableError(
                f"{_COL_MJ} {mj_name!r} は MJ文字図形名 (MJ022336 のような形) ではありません "
                "(空欄も可)",
                column=_COL_MJ,
            )
        if code in self._by_code:
            raise GaijiTableError(
                f"外字コード {code:04X} は既に外字表にあります ({self._by_code[code].text!r})",
                column=_COL_CODE,
            )
        if text in self._by_text:
            raise GaijiTableError(
                f"{_COL_TEXT} {text!r} ({_describe(text)}) には既に外字コード "
                f"{self._by_text[text]:04X} があります",
                column=_COL_TEXT,
            )
        entry = GaijiEntry(code, text, mj_name)
        self._by_code[code] = entry
        self._by_text[text] = code
        self._by_char[entry.char] = text
        return entry

    def allocate(self, text: str, mj_name: str = "") -> str:
        """The user-defined character for ``text``, taking the lowest free code if it is new.

        Codes are handed out from 0xF040 upward, skipping the byte pairs cp932 does not
        have (trail bytes 0x7F and 0xFD–0xFF, and below 0x40).  Raises
        :class:`GaijiCapacityError` when all 1,880 codes are taken, and
        :class:`GaijiTableError` when ``text`` cannot be a gaiji text.
        """
        existing = self._by_text.get(text)
        if existing is not None:
            return gaiji_char(existing)
        problem = _text_problem(text)
        if problem is not None:
            raise GaijiTableError(f"外字を割り当てられません: 文字{problem}")
        while self._next_free < GAIJI_CAPACITY and _index_code(self._next_free) in self._by_code:
            self._next_free += 1
        if self._next_free >= GAIJI_CAPACITY:
            raise GaijiCapacityError(
                f"外字表がいっぱいです: 外字コード F040–F9FC の {GAIJI_CAPACITY} 個すべてが"
                f"使われているため、{text!r} ({_describe(text)}) に割り当てられません"
            )
        if not mj_name and self.mj_names is not None:
            mj_name = self.mj_names(text)
        return self.add(_index_code(self._next_free), text, mj_name).char

    # -- gaiji.csv

    @classmethod
    def load(cls, source: str | os.PathLike[str] | IO[str]) -> GaijiTable:
        """Read ``gaiji.csv`` (UTF-8, optional BOM, CRLF or LF; columns in any order).

        Raises :class:`GaijiTableError` naming the row and column of the first problem.
        A text stream should be opened with ``newline=""``.
        """
        if isinstance(source, str | os.PathLike):
            with Path(source).open(encoding="utf-8-sig", newline="") as f:
                return cls._load_from(f)
        return cls._load_from(source)

    @classmethod
    def _load_from(cls, f: IO[str]) -> GaijiTable:
        table = cls()
        reader = csv.reader(f, strict=True)
        rows_of_code: dict[int, int] = {}
        rows_of_text: dict[str, int] = {}
        try:
            header = next(reader, None)
            if header is None:
                raise GaijiTableError("gaiji.csv が空です: 見出し行がありません", row=1)
            if header and header[0].startswith("\ufeff"):
                header[0] = header[0][1:]
            header = [name.strip() for name in header]
            if sorted(header) != sorted(GAIJI_CSV_HEADER):
                raise GaijiTableError(
                    f"見出し行は {','.join(GAIJI_CSV_HEADER)} です (順不同): "
                    f"{','.join(header)} ではありません",
                    row=1,
                )
            pos = {name: header.index(name) for name in GAIJI_CSV_HEADER}
            for fields in reader:
                row = reader.line_num
                if not fields:
                    continue  # a blank line
                if len(fields) != len(header):
                    raise GaijiTableError(
                        f"{row} 行目の項目数 {len(fields)} が見出し行の {len(header)} と違います",
                        row=row,
                    )
                code_s, mj, text = (fields[pos[n]] for n in GAIJI_CSV_HEADER)
                try:
                    code = _parse_code_cell(code_s)
                    if code in rows_of_code:
                        raise GaijiTableError(
                            f"外字コード {code:04X} は {rows_of_code[code]} 行目で"
                            "既に定義されています",
                            column=_COL_CODE,
                        )
                    if text in rows_of_text:
                        raise GaijiTableError(
                            f"{text!r} ({_describe(text)}) は {rows_of_text[text]} 行目の対応文字と"
                            "同じです",
                            column=_COL_TEXT,
                        )
                    table.add(code, text, mj.strip())
                except GaijiTableError as exc:
                    raise GaijiTableError(
                        f"gaiji.csv {row} 行目 {exc.column}: {exc.message}",
                        row=row,
                        column=exc.column,
                    ) from None
                rows_of_code[code] = row
                rows_of_text[text] = row
        except csv.Error as exc:
            row = reader.line_num
            raise GaijiTableError(
                f"gaiji.csv {row} 行目: CSV として読めません ({exc})", row=row
            ) from None
        except UnicodeDecodeError as exc:
            row = reader.line_num + 1
            raise GaijiTableError(
                f"gaiji.csv は UTF-8 で保存します: {row} 行目あたりに不正なバイトがあります "
                f"({exc.reason})",
                row=row,
            ) from None
        return table

    def write(self, target: str | os.PathLike[str] | IO[str]) -> None:
        """Write ``gaiji.csv``: UTF-8 without BOM, LF line ends, sorted by code.

        A path is replaced atomically (written to a temporary file in the same directory,
        then renamed), so a crash never leaves half a table.  A text stream should be
        opened with ``newline=""`` (the rows end in LF on every platform).
        """
        if not isinstance(target, str | os.PathLike):
            self._write_to(target)
            return
        text = io.StringIO(newline="")
        self._write_to(text)
        write_atomically(Path(target), text.getvalue().encode("utf-8"))

    def _write_to(self, f: IO[str]) -> None:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(GAIJI_CSV_HEADER)
        for e in self:
            w.writerow((e.code_hex, e.mj_name, e.text))


# ------------------------------------------------------------------ encoding detection

_BOM: Final = codecs.BOM_UTF8
_MAGIC: Final = (
    (b"\x89PNG\r\n\x1a\n", "PNG 画像"),
    (b"%PDF-", "PDF 文書"),
    (b"PK\x03\x04", "ZIP 書庫 (Excel の .xlsx ブック?)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "古い Office 文書 (Excel の .xls ブック?)"),
    (b"\xff\xd8\xff", "JPEG 画像"),
    (b"GIF8", "GIF 画像"),
    (b"\x1f\x8b", "gzip 書庫"),
)
_EOL: Final = re.compile(rb"\r\n|\r|\n")


def normalize_encoding(name: str) -> InterchangeEncoding:
    """Map an encoding name to ``"utf-8"``, ``"utf-8-sig"`` or ``"cp932"``.

    Shift_JIS means cp932 here (the README: "Shift_JIS as Windows writes it"), so
    ``shift_jis``, ``sjis``, ``ms932``, ``windows-31j`` all give ``"cp932"``.  Anything
    else raises :class:`EncodingError`.
    """
    key = name.strip().lower().replace("_", "-")
    if key in {"windows-31j", "ms-kanji", "mskanji", "x-sjis", "shift-jis", "sjis", "ms932"}:
        return "cp932"
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        canonical = ""
    if canonical == "utf-8":
        return "utf-8"
    if canonical == "utf-8-sig":
        return "utf-8-sig"
    if canonical in {"cp932", "shift_jis"}:
        return "cp932"
    raise EncodingError(
        f"文字コード {name!r} には対応していません: 連携ファイルは UTF-8 か Shift_JIS (cp932) です"
    )


def _line_at(data: bytes | bytearray, offset: int) -> int:
    """1-based physical line (CRLF, CR or LF) that byte ``offset`` of ``data`` is on."""
    return 1 + len(_EOL.findall(data, 0, offset))


def _check_magic(head: bytes | bytearray) -> None:
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise EncodingError(
                f"CSV のテキストファイルではありません ({what} のファイルです)",
                line_number=1,
                byte_offset=0,
            )


def _binary_check(data: bytes | bytearray, base_offset: int, base_line: int) -> None:
    if base_offset == 0:
        _check_magic(data)
    nul = data.find(b"\x00")
    if nul >= 0:
        line = base_line + _line_at(data, nul) - 1
        raise EncodingError(
            f"{line} 行目 (先頭から {base_offset + nul} バイト目) に NUL (0x00) があります: "
            "CSV のテキストファイルではありません (UTF-16 のテキストにも対応していません)",
            line_number=line,
            byte_offset=base_offset + nul,
        )


def detect_encoding(head: bytes) -> InterchangeEncoding:
    """Which encoding a file starting with ``head`` is in: ``utf-8-sig``, ``utf-8`` or ``cp932``.

    A BOM gives ``utf-8-sig``; bytes that are valid UTF-8 give ``utf-8`` (an incomplete
    character at the very end of ``head`` is ignored: ``head`` is usually a sample cut at
    an arbitrary byte); otherwise bytes that are valid cp932 give ``cp932``.  Raises
    :class:`EncodingError` naming the byte offset for binary data (NUL bytes, known file
    signatures), UTF-16 and ISO-2022-JP, for 「文字コードが混在」 (valid UTF-8 with
    non-Latin text, then bytes that are not UTF-8), and for bytes that are neither.
    """
    return _detect(head, 0, 1)


def _detect(head: bytes | bytearray, base_offset: int, base_line: int) -> InterchangeEncoding:
    if base_offset == 0:
        if head.startswith(_BOM):
            _binary_check(head, base_offset, base_line)
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise EncodingError(
                "UTF-16 のテキストには対応していません: UTF-8 か Shift_JIS (cp932) で"
                "保存し直してください",
                line_number=1,
                byte_offset=0,
            )
    _binary_check(head, base_offset, base_line)
    esc = head.find(b"\x1b")
    if esc >= 0 and head[esc + 1 : esc + 3] in {b"$B", b"$@", b"(J", b"(B"}:
        line = base_line + _line_at(head, esc) - 1
        raise EncodingError(
            f"{line} 行目 (先頭から {base_offset + esc} バイト目) が ISO-2022-JP (JIS) です: "
            "UTF-8 か Shift_JIS (cp932) で保存し直してください",
            line_number=line,
            byte_offset=base_offset + esc,
        )
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(bytes(head), final=False)
    except UnicodeDecodeError as exc:
        utf8_error = exc
    else:
        return "utf-8"
    u_at = utf8_error.start
    valid_prefix = bytes(head[:u_at]).decode("utf-8")
    if any(ord(c) >= 0x800 for c in valid_prefix):
        # cp932 text is almost never valid UTF-8 with three-byte characters (its kana and
        # level-1 kanji start with 0x81–0x9F, which UTF-8 never starts a character with).
        line = base_line + _line_at(head, u_at) - 1
        raise EncodingError(
            f"文字コードが混在しています: {line} 行目 (先頭から {base_offset + u_at} バイト目) "
            f"までは UTF-8 ですが、そこから UTF-8 でないバイトが始まります "
            f"({bytes(head[u_at : u_at + 4]).hex(' ').upper()}…、おそらく Shift_JIS)。"
            "ファイル全体を一つの文字コードで保存し直してください",
            line_number=line,
            byte_offset=base_offset + u_at,
        )
    try:
        codecs.getincrementaldecoder("cp932")("strict").decode(bytes(head), final=False)
    except UnicodeDecodeError as exc:
        c_at = exc.start
    else:
        return "cp932"
    at = max(u_at, c_at)
    line = base_line + _line_at(head, at) - 1
    raise EncodingError(
        f"{line} 行目: UTF-8 でも (先頭から {base_offset + u_at} バイト目の {head[u_at]:02X} が"
        f"不正) Shift_JIS (cp932) でも (先頭から {base_offset + c_at} バイト目の "
        f"{head[c_at]:02X} が不正) ありません",
        line_number=line,
        byte_offset=base_offset + at,
    )


# ---------------------------------------------------------------------- line decoding


class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def _preview(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


class DecodedLines(Iterator[str]):
    """Physical lines of a CSV byte stream as text, for :func:`csv.reader`.

    Made by :func:`decode_lines`.  Each item is one physical line with its line break
    (CRLF, LF or CR) kept, exactly what :func:`csv.reader` expects from a file opened
    with ``newline=""``, so quoted fields with line breaks parse as RFC 4180 says; the
    reader's ``line_num`` is then the physical line number used in errors here.

    ``encoding`` is the encoding in use (when auto-detecting a file whose head is ASCII,
    it is ``"utf-8"`` until the first non-ASCII line decides); ``line_number`` is the
    number of lines yielded so far and ``byte_offset`` the offset of the next line.
    """

    def __init__(
        self,
        stream: _Readable,
        encoding: str | None,
        gaiji: GaijiTable | None,
        *,
        unknown_gaiji: Literal["raise", "keep"],
        chunk_size: int,
        max_line_bytes: int,
        refuse_utf8_lines: bool,
    ) -> None:
        if chunk_size < 1 or max_line_bytes < 1:
            raise ValueError("chunk_size and max_line_bytes must be positive")
        self._stream = stream
        self._gaiji = gaiji
        self._keep_unknown = unknown_gaiji == "keep"
        self._chunk_size = chunk_size
        self._max_line = max_line_bytes
        self._refuse_utf8 = refuse_utf8_lines
        self._buf = bytearray()
        self._pos = 0  # start of the unread part of _buf
        self._eof = False
        self.line_number = 0
        self.byte_offset = 0
        self._tentative = False
        self._fill(chunk_size)
        _check_magic(self._buf)
        if encoding is None:
            self.encoding: InterchangeEncoding = _detect(self._buf, 0, 1)
            self._tentative = self.encoding == "utf-8" and self._buf.isascii() and not self._eof
        else:
            self.encoding = normalize_encoding(encoding)

    def __iter__(self) -> DecodedLines:
        return self

    # -- bytes

    def _fill(self, want: int) -> None:
        """Read until ``want`` unread bytes are buffered or the stream ends."""
        while not self._eof and len(self._buf) - self._pos < want:
            chunk = self._stream.read(self._chunk_size)
            if not chunk:
                self._eof = True
            else:
                if self._pos:
                    del self._buf[: self._pos]
                    self._pos = 0
                self._buf += chunk

    def _raw_line(self) -> bytes | None:
        scan = self._pos
        while True:
            m = _EOL.search(self._buf, scan)
            if m is not None and (m.end() < len(self._buf) or m.group() != b"\r" or self._eof):
                line = bytes(self._buf[self._pos : m.end()])
                self._pos = m.end()
                return line
            if self._eof:
                if self._pos >= len(self._buf):
                    return None
                line = bytes(self._buf[self._pos :])
                self._pos = len(self._buf)
                return line
            pending = len(self._buf) - self._pos
            if pending > self._max_line:
                line_no = self.line_number + 1
                raise EncodingError(
                    f"{line_no} 行目 (先頭から {self.byte_offset} バイト目から) が "
                    f"{self._max_line} バイトより長い行です: CSV のテキストファイルでないか、"
                    "壊れています",
                    line_number=line_no,
                    byte_offset=self.byte_offset,
                )
            rescan = max(0, pending - 1)  # a CR at the end may be half of a CRLF
            self._fill(pending + 1)  # may move the unread part to the start of _buf
            scan = self._pos + rescan

    # -- text

    def __next__(self) -> str:
        raw = self._raw_line()
        if raw is None:
            raise StopIteration
        self.line_number += 1
        start = self.byte_offset
        self.byte_offset += len(raw)
        line = self.line_number
        if b"\x00" in raw:
            _binary_check(raw, start, line)
        if self._tentative and not raw.isascii():
            self._tentative = False
            ahead = bytes(self._buf[self._pos : self._pos + self._chunk_size])
            self.encoding = _detect(raw + ahead, start, line)
        body, skip = raw, 0
        if line == 1 and raw.startswith(_BOM):
            if self.encoding == "cp932":
                raise EncodingError(
                    "ファイルの先頭に UTF-8 の BOM がありますが Shift_JIS (cp932) として"
                    "読もうとしています: UTF-8 のファイルです",
                    line_number=1,
                    byte_offset=0,
                )
            body, skip = raw[len(_BOM) :], len(_BOM)
        codec = "cp932" if self.encoding == "cp932" else "utf-8"
        try:
            decoded = body.decode(codec)
        except UnicodeDecodeError as exc:
            raise _line_decode_error(body, codec, exc, line, start + skip) from None
        if codec == "cp932" and self._refuse_utf8 and not body.isascii():
            _refuse_utf8_line(body, line, start)
        if _PUA_RE.search(decoded) is None:
            return decoded
        return _resolve_gaiji(
            decoded,
            self._gaiji,
            keep_unknown=self._keep_unknown,
            where=lambda i: (line, start + skip + len(decoded[:i].encode(codec))),
        )


_UTF8_EVIDENCE: Final = 3


def _refuse_utf8_line(body: bytes, line: int, line_offset: int) -> None:
    """Refuse a line of a cp932 file that is really UTF-8 (it decoded, but as mojibake).

    UTF-8 Japanese is often valid cp932 (E3 81 82 "あ" reads as a kanji and a half-width
    kana), so strict decoding alone lets it through.  cp932 Japanese is almost never valid
    UTF-8 with three-byte characters: kana and level-1 kanji start with 0x81–0x9F, which
    never starts a UTF-8 character.  A line that is valid UTF-8 with at least three
    characters of U+0800 or above is taken for UTF-8.
    """
    try:
        as_utf8 = body.decode("utf-8")
    except UnicodeDecodeError:
        return
    if sum(ord(c) >= 0x800 for c in as_utf8) >= _UTF8_EVIDENCE:
        first = next(i for i, b in enumerate(body) if b >= 0x80)
        raise EncodingError(
            f"文字コードが混在しています: Shift_JIS (cp932) として読んでいますが {line} 行目 "
            f"(先頭から {line_offset + first} バイト目から) は UTF-8 です: "
            f"{_preview(as_utf8.rstrip())!r}。ファイル全体を一つの文字コードで保存し直してください",
            line_number=line,
            byte_offset=line_offset + first,
        )


def _line_decode_error(
    body: bytes, codec: str, exc: UnicodeDecodeError, line: int, line_offset: int
) -> EncodingError:
    at = line_offset + exc.start
    bad = body[exc.start : exc.end].hex(" ").upper()
    other = "utf-8" if codec == "cp932" else "cp932"
    try:
        as_other = body.decode(other)
    except UnicodeDecodeError:
        as_other = None
    name = {"utf-8": "UTF-8", "cp932": "Shift_JIS (cp932)"}
    truncated = exc.end == len(body) and exc.reason in {
        "unexpected end of data",  # utf-8
        "incomplete multibyte sequence",  # cp932
    }
    if truncated:
        message = (
            f"ファイルの最後の {name[codec]} の文字が途中で切れています "
            f"({line} 行目、先頭から {at} バイト目)"
        )
    elif as_other is not None and not body.isascii():
        message = (
            f"文字コードが混在しています: {name[codec]} として読んでいますが {line} 行目は "
            f"{name[codec]} ではありません (先頭から {at} バイト目のバイト {bad})。"
            f"{name[other]} としてなら読めます: {_preview(as_other.rstrip())!r}。"
            "ファイル全体を一つの文字コードで保存し直してください"
        )
    else:
        message = (
            f"{line} 行目 (先頭から {at} バイト目) に {name[codec]} として不正なバイト {bad} "
            "があります"
        )
    return EncodingError(message, line_number=line, byte_offset=at)


class _Where(Protocol):
    def __call__(self, index: int, /) -> tuple[int, int | None]: ...


def _resolve_gaiji(
    text: str, gaiji: GaijiTable | None, *, keep_unknown: bool, where: _Where
) -> str:
    def replace(m: re.Match[str]) -> str:
        ch = m.group()
        resolved = None if gaiji is None else gaiji.text_for_char(ch)
        if resolved is not None:
            return resolved
        if keep_unknown:
            return ch
        code = format_gaiji_code(gaiji_code(ch))
        line, offset = where(m.start())
        at = f" (先頭から {offset} バイト目)" if offset is not None else ""
        why = (
            "が外字表 (gaiji.csv) にありません"
            if gaiji is not None
            else "を読むには外字表 (gaiji.csv) が必要です"
        )
        raise GaijiError(
            code,
            f"{line} 行目{at}: 外字 {code} (U+{ord(ch):04X}) {why}",
            line_number=line,
            byte_offset=offset,
        )

    return _PUA_RE.sub(replace, text)


def decode_lines(
    stream: _Readable,
    encoding: str | None = None,
    gaiji: GaijiTable | None = None,
    *,
    unknown_gaiji: Literal["raise", "keep"] = "raise",
    chunk_size: int = 1 << 16,
    max_line_bytes: int = 1 << 24,
    refuse_utf8_lines: bool = True,
) -> DecodedLines:
    """Decode a binary CSV stream into physical lines for :func:`csv.reader`.

    ``encoding`` is ``None`` (detect from the head of the stream with
    :func:`detect_encoding`; an all-ASCII head is decided at the first non-ASCII line)
    or any name :func:`normalize_encoding` accepts.  Decoding is strict: invalid bytes
    raise :class:`EncodingError` with line number and byte offset (saying 「文字コードが
    混在しています」 when the line reads in the other encoding), NUL bytes and known binary
    formats raise it too (「CSV のテキストファイルではありません」).  A UTF-8 BOM at the
    start is dropped.  User-defined characters (U+E000–U+E757) are replaced by their text in
    ``gaiji``; one without a row raises :class:`GaijiError`, or with
    ``unknown_gaiji="keep"`` stays in the text so that the caller can report it per
    field (:func:`user_defined_codes`).

    The stream is read ``chunk_size`` bytes at a time; only the current line is held
    (at most ``max_line_bytes``, beyond which the file is refused).  Byte offsets count
    from the position of ``stream`` when this is called.

    UTF-8 Japanese often decodes as cp932 without error (into mojibake), so in a cp932
    file a line that is valid UTF-8 with three or more characters of U+0800 and above is
    refused as 「文字コードが混在」; ``refuse_utf8_lines=False`` turns that check off for
    the (very unlikely) genuine cp932 line that happens to look like that.

    Usage::

        with path.open("rb") as f:
            lines = decode_lines(f, gaiji=table)
            for row in csv.reader(lines):
                ...  # lines.encoding, reader.line_num
    """
    return DecodedLines(
        stream,
        encoding,
        gaiji,
        unknown_gaiji=unknown_gaiji,
        chunk_size=chunk_size,
        max_line_bytes=max_line_bytes,
        refuse_utf8_lines=refuse_utf8_lines,
    )


# ---------------------------------------------------------------------- cp932 export

_ZWJ: Final = "\u200d"


def _is_selector(ch: str) -> bool:
    o = ord(ch)
    return 0xFE00 <= o <= 0xFE0F or 0xE0100 <= o <= 0xE01EF


def _extends(ch: str) -> bool:
    """Characters that belong to the unit before them (selectors, combining marks)."""
    o = ord(ch)
    return (
        _is_selector(ch)
        or 0x1F3FB <= o <= 0x1F3FF  # emoji skin-tone modifiers
        or unicodedata.category(ch)[0] == "M"
    )


def iter_units(text: str) -> Iterator[str]:
    """Split ``text`` into the units exported as one character.

    A unit is a non-ASCII base character with the variation selectors (U+FE00–U+FE0F,
    U+E0100–U+E01EF), combining marks and emoji modifiers that follow it, and with
    zero-width-joiner sequences (ZWJ + next non-ASCII character).  An ASCII character is
    always a unit of its own, and so is a selector or mark with no base before it.
    """
    i, n = 0, len(text)
    while i < n:
        j = _unit_end(text, i)
        yield text[i:j]
        i = j


def _joins_previous(text: str, i: int) -> bool:
    """Whether ``text[i]`` belongs to a non-ASCII character before it."""
    c = text[i]
    return _extends(c) or (c == _ZWJ and i + 1 < len(text) and ord(text[i + 1]) >= 0x80)


def _unit_end(text: str, i: int) -> int:
    """End of the unit that starts at ``text[i]``."""
    j, n = i + 1, len(text)
    if ord(text[i]) >= 0x80:
        while j < n and _joins_previous(text, j):
            j += 2 if text[j] == _ZWJ else 1
    return j


@lru_cache(maxsize=1 << 16)
def _cp932_bytes(ch: str) -> bytes | None:
    """cp932 bytes of ``ch`` if they decode back to exactly ``ch`` (and it is no gaiji)."""
    if is_user_defined(ch):
        return None
    try:
        b = ch.encode("cp932")
    except UnicodeEncodeError:
        return None
    return b if b.decode("cp932") == ch else None


def is_cp932_safe(char: str) -> bool:
    """True when ``char`` survives cp932 encode→decode unchanged (a gaiji never does)."""
    return len(char) == 1 and _cp932_bytes(char) is not None


#: which code a character gets where cp932 has several (module doc): ``ibm`` as Windows
#: writes, ``nec`` the NEC-selected codes, ``jis`` JIS X 0208 only (the rest as gaiji)
Cp932Variant = Literal["ibm", "nec", "jis"]
CP932_VARIANTS: tuple[Cp932Variant, ...] = ("ibm", "nec", "jis")


def export_table(
    variant: Cp932Variant = "ibm", known: Mapping[str, str] | None = None
) -> GaijiTable:
    """An empty gaiji table for an export: codes chosen by ``variant``, and each row it adds
    named by the name ``known`` gives the text (the town's registered 外字: its MJ文字図形名
    or local code), else by its MJ文字図形名 where IPAmj明朝 draws it (the project's MJ
    table)."""
    from lgcloud.documents.render import mj_name  # noqa: PLC0415  (reads the font's cmap)

    if variant not in CP932_VARIANTS:
        raise CodecError(f"cp932 の符号の選び方は {', '.join(CP932_VARIANTS)} のいずれかです")
    names = dict(known or {})
    return GaijiTable(variant=variant, mj_names=lambda text: names.get(text) or mj_name(text))


@lru_cache(maxsize=1)
def _ibm_codes() -> dict[str, bytes]:
    """char → its IBM extension code (0xFA–0xFC), for the characters Python's codec encodes
    as an NEC-selected IBM extension (0xED–0xEE): what Windows writes instead."""
    out: dict[str, bytes] = {}
    for lead in (0xFA, 0xFB, 0xFC):
        for trail in range(0x40, 0x100):
            pair = bytes([lead, trail])
            try:
                ch = pair.decode("cp932")
            except UnicodeDecodeError:
                continue
            if len(ch) == 1 and ch.encode("cp932")[0] in (0xED, 0xEE):
                out[ch] = pair
    return out


def encode_cp932(text: str, gaiji: GaijiTable, variant: Cp932Variant | None = None) -> bytes:
    """Encode ``text`` in cp932 without losing anything, each character with the code
    ``variant`` chooses (see :data:`Cp932Variant`; by default the table's).

    Each unit (:func:`iter_units`) that is one character cp932 carries exactly is
    encoded as usual; any other unit (a variant with a selector, a character cp932 lacks,
    one of the six that cp932 maps to a different character on the way back) gets a
    user-defined code from ``gaiji`` (allocated if new: save the table afterwards).
    ``decode_cp932(encode_cp932(t, g), g) == t`` for every ``t``.

    Raises :class:`GaijiError` when ``text`` already holds a user-defined character
    (it means nothing here), :class:`GaijiCapacityError` when the table is full.
    """
    variant = variant or gaiji.variant
    out = bytearray()
    done = 0  # text[:done] is encoded
    n = len(text)
    for m in _unsafe_re(variant).finditer(text):
        at = m.start()
        if at < done:
            continue  # part of the unit just encoded
        # a selector, mark or ZWJ after a safe non-ASCII character belongs to it
        if at > done and ord(text[at - 1]) >= 0x80 and _joins_previous(text, at):
            at -= 1
        out += text[done:at].encode("cp932")  # all safe, single-character units
        done = _unit_end(text, at)
        out += _unit_bytes(text[at:done], gaiji, variant)
    out += text[done:n].encode("cp932")
    return bytes(out)


def _unit_bytes(unit: str, gaiji: GaijiTable, variant: Cp932Variant = "ibm") -> bytes:
    b = _cp932_bytes(unit) if len(unit) == 1 else None
    if b is not None:
        if variant == "ibm":
            return _ibm_codes().get(unit, b)
        if variant == "nec" or _sjis_safe(unit, False):
            return b
    pua = next((c for c in unit if is_user_defined(c)), None)
    if pua is not None:
        hex_code = format_gaiji_code(gaiji_code(pua))
        raise GaijiError(
            hex_code,
            f"外字 {hex_code} (U+{ord(pua):04X}) は出力できません: 作ったシステムの外では"
            "意味を持たない文字です",
        )
    return gaiji_code(gaiji.allocate(unit)).to_bytes(2, "big")


@lru_cache(maxsize=len(CP932_VARIANTS))
def _unsafe_re(variant: Cp932Variant = "nec") -> re.Pattern[str]:
    """Matches every character Python's codec cannot write as ``variant`` wants: not
    cp932-safe, or (``ibm``) given another code by Windows, or (``jis``) outside JIS X 0208
    (built once per variant, from the codec itself)."""
    decoded: set[str] = set()
    for lead in range(0x100):
        for pair in [bytes([lead])] + [bytes([lead, t]) for t in range(0x40, 0x100)]:
            try:
                decoded.add(pair.decode("cp932"))
            except UnicodeDecodeError:
                continue
    safe = sorted(
        ord(c)
        for c in decoded
        if len(c) == 1
        and _cp932_bytes(c) is not None
        and not (variant == "ibm" and c in _ibm_codes())
        and not (variant == "jis" and not _sjis_safe(c, False))
    )
    ranges: list[str] = []
    i = 0
    while i < len(safe):
        j = i
        while j + 1 < len(safe) and safe[j + 1] == safe[j] + 1:
            j += 1
        ranges.append(f"\\u{safe[i]:04x}" + (f"-\\u{safe[j]:04x}" if j > i else ""))
        i = j + 1
    return re.compile(f"[^{''.join(ranges)}]")


def decode_cp932(data: bytes, gaiji: GaijiTable | None) -> str:
    """Decode cp932 ``data`` strictly, replacing user-defined characters by their text.

    The inverse of :func:`encode_cp932`.  Raises :class:`EncodingError` for invalid bytes
    and :class:`GaijiError` (with the line number) for a code the table lacks.
    """
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError as exc:
        line = _line_at(data, exc.start)
        raise EncodingError(
            f"{line} 行目 (先頭から {exc.start} バイト目) に Shift_JIS (cp932) として不正な"
            f"バイト {data[exc.start : exc.end].hex(' ').upper()} があります",
            line_number=line,
            byte_offset=exc.start,
        ) from None

    def where(i: int) -> tuple[int, int | None]:
        offset = len(text[:i].encode("cp932"))
        return _line_at(data, offset), offset

    return _resolve_gaiji(text, gaiji, keep_unknown=False, where=where)


# ------------------------------------------------------------------------ lossy export

_MJ_COMBO: Final = int(
    jntajis.MJShrinkSchemeCombo.JIS_INCORPORATION_UCS_UNIFICATION_RULE
    | jntajis.MJShrinkSchemeCombo.INFERENCE_BY_READING_AND_GLYPH
    | jntajis.MJShrinkSchemeCombo.MOJ_NOTICE_582
    | jntajis.MJShrinkSchemeCombo.MOJ_FAMILY_REGISTER_ACT_RELATED_NOTICE
)
_GETA: Final = "〓"  # U+3013 GETA MARK, the customary mark for a character that is missing
# JIS X 0208 in cp932: rows 1–8 (lead 0x81–0x84) and kanji (0x88–0x9F, 0xE0–0xEA).
_JIS_X_0208_LEADS: Final = frozenset([*range(0x81, 0x85), *range(0x88, 0xA0), *range(0xE0, 0xEB)])


@lru_cache(maxsize=1 << 16)
def _sjis_safe(ch: str, extensions: bool) -> bool:
    b = _cp932_bytes(ch)
    if b is None:
        return False
    if extensions or (len(b) == 1 and (b[0] < 0x80 or 0xA1 <= b[0] <= 0xDF)):
        return True
    return len(b) == 2 and b[0] in _JIS_X_0208_LEADS


def to_shift_jis_lossy(text: str, *, allow_cp932_extensions: bool = False) -> tuple[str, list[str]]:
    """Make ``text`` fit a receiver that takes Shift_JIS and no gaiji table.

    Returns the new text and the units replaced, in order of occurrence (repeats
    included), for the caller to report.  A unit (:func:`iter_units`) is kept when it is
    one character that cp932 carries exactly and, by default, that is in JIS X 0208 plus
    ASCII and half-width katakana (the NEC and IBM extensions such as 髙 0xEEE0 or 﨑
    0xED95, and row 13 ① ㈱, are what such receivers cannot show; pass
    ``allow_cp932_extensions=True`` to keep them).  Any other unit becomes, in order of
    preference: its first MJ shrink candidate (selectors removed; 髙→高, 﨑→崎, 𠮷→吉)
    that is safe; its NFC form if safe (か+゛→が); the character cp932 maps it to
    (〜→～, −→－); else 〓 (U+3013).  The result is always safe in cp932.
    """
    out: list[str] = []
    replaced: list[str] = []
    for unit in iter_units(text):
        if len(unit) == 1 and _sjis_safe(unit, allow_cp932_extensions):
            out.append(unit)
            continue
        replaced.append(unit)
        out.append(_lossy_replacement(unit, allow_cp932_extensions))
    return "".join(out), replaced


def _lossy_replacement(unit: str, extensions: bool) -> str:
    def ok(s: str) -> bool:
        return bool(s) and all(_sjis_safe(c, extensions) for c in s)

    base = "".join(c for c in unit if not _is_selector(c))
    if base and not any(is_user_defined(c) for c in base):
        for candidate in jntajis.mj_shrink_candidates(base, _MJ_COMBO):
            if ok(str(candidate)):
                return str(candidate)
        composed = unicodedata.normalize("NFC", base)
        if ok(composed):
            return composed
        if len(base) == 1:
            try:
                fitted = base.encode("cp932").decode("cp932")
            except UnicodeError:
                fitted = ""
            if ok(fitted):
                return fitted
    return _GETA
