"""Japanese era dates (和暦) as printed on municipal certificates.

Pure functions, no I/O: everything here is computed from the tables below.

Conventions
-----------
* An era's first day belongs to the new era: 1989-01-07 is 昭和64年1月7日 and 1989-01-08 is
  平成元年1月8日; 2019-04-30 is 平成31年4月30日 and 2019-05-01 is 令和元年5月1日.
* 明治 is given the start date 1868-01-25, the Gregorian equivalent of 慶応4年1月1日: the
  改元の詔 of 慶応4年9月8日 applied the new era from the first day of that year, and that is
  the day Japanese government practice counts 明治 from.  Until 明治5年12月2日 Japan used the
  lunisolar 天保暦, whose days and months do not line up with Gregorian ones; the next day
  was declared 明治6年1月1日 = 1873-01-01, and from then on an era year is simply a
  Gregorian year counted from the era's first year (明治6年 = 1873).  Dates before
  1873-01-01 therefore have no Gregorian 和暦 reading and are refused with ``ValueError``
  (they would need a lunisolar conversion table, which a certificate never needs).
* Year 1 of an era prints as 元年 by default (``gannen=False`` prints 1年).
* Digits are ASCII (``令和6年12月2日``), full-width (``令和６年１２月２日``) or kanji numerals
  in certificate style (``令和六年十二月二日``: 十, 十一, 二十, 二十一 ..., 百 and 千 beyond).
* Times are shown in 日本標準時 (UTC+9).  Japan has kept no summer time since its last one
  ended at 1951-09-09 01:00 (local), so Asia/Tokyo is the fixed offset UTC+9 from then on;
  this module uses that fixed offset (no tz database needed) and refuses earlier instants.

Errors are ``ValueError`` with a Japanese message that quotes the offending input, so the
message can be shown to a clerk as is.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final, Literal, get_args

__all__ = [
    "ERAS",
    "GREGORIAN_START",
    "HEISEI",
    "JST",
    "MEIJI",
    "REIWA",
    "SHOWA",
    "TAISHO",
    "Digits",
    "Era",
    "era_of",
    "format_datetime_jst",
    "kanji_numeral",
    "parse_wareki",
    "to_wareki",
    "wareki_parts",
]

Digits = Literal["ascii", "fullwidth", "kanji"]


@dataclass(frozen=True)
class Era:
    """A Japanese era (元号): its name, its one-letter abbreviation and its first day."""

    name: str
    abbreviation: str
    start: date


MEIJI: Final = Era("明治", "M", date(1868, 1, 25))
TAISHO: Final = Era("大正", "T", date(1912, 7, 30))
SHOWA: Final = Era("昭和", "S", date(1926, 12, 25))
HEISEI: Final = Era("平成", "H", date(1989, 1, 8))
REIWA: Final = Era("令和", "R", date(2019, 5, 1))

#: The eras in order, oldest first.
ERAS: Final[tuple[Era, ...]] = (MEIJI, TAISHO, SHOWA, HEISEI, REIWA)

#: 明治6年1月1日, the first day of the Gregorian calendar in Japan.
GREGORIAN_START: Final = date(1873, 1, 1)

#: 日本標準時 as a fixed offset (see the module docstring for why that is exact since 1951).
JST: Final = timezone(timedelta(hours=9), "JST")

# The last summer time (サマータイム) ended at this instant; from here on Asia/Tokyo is UTC+9.
_JST_FIXED_SINCE: Final = datetime(1951, 9, 8, 15, 0, tzinfo=UTC)

_BY_NAME: Final[dict[str, Era]] = {e.name: e for e in ERAS}
_BY_LETTER: Final[dict[str, Era]] = {e.abbreviation: e for e in ERAS}

# ------------------------------------------------------------------------------ numerals

_KANJI_DIGITS: Final = "〇一二三四五六七八九"
_FULLWIDTH: Final = str.maketrans("0123456789", "０１２３４５６７８９")

# Digits accepted when parsing: plain kanji digits, plus 零 and the 大字 壱弐参 of legal text.
_KANJI_DIGIT_VALUES: Final[dict[str, int]] = {
    **{c: i for i, c in enumerate(_KANJI_DIGITS)},
    "零": 0,
    "壱": 1,
    "弐": 2,
    "参": 3,
}
_KANJI_UNIT_VALUES: Final[dict[str, int]] = {"十": 10, "拾": 10, "百": 100, "千": 1000}


def kanji_numeral(n: int) -> str:
    """Write 1 ≤ n ≤ 9999 in kanji numerals as certificates do: 十, 十一, 二十, 百五, 二千十九."""
    if not 1 <= n <= 9999:
        raise ValueError(f"漢数字に変換できるのは1から9999までです: {n}")
    parts: list[str] = []
    rest = n
    for value, unit in ((1000, "千"), (100, "百"), (10, "十")):
        count, rest = divmod(rest, value)
        if count:
            parts.append(("" if count == 1 else _KANJI_DIGITS[count]) + unit)
    if rest:
        parts.append(_KANJI_DIGITS[rest])
    return "".join(parts)


def _parse_kanji_numeral(s: str) -> int | None:
    """Read 十一, 二十一, 百五 ... or positional 二〇; None if ``s`` is not well formed."""
    if all(c in _KANJI_DIGIT_VALUES for c in s):  # positional: 三, 二〇, 一二
        return int("".join(str(_KANJI_DIGIT_VALUES[c]) for c in s))
    total = 0
    pending: int | None = None  # a digit waiting for its unit (or for the end)
    last_unit = 10_000
    for c in s:
        if c in _KANJI_DIGIT_VALUES:
            if pending is not None:  # two digits in a row inside a 十/百/千 numeral
                return None
            pending = _KANJI_DIGIT_VALUES[c]
        else:
            unit = _KANJI_UNIT_VALUES[c]
            if unit >= last_unit or pending == 0:  # 十百, 十十, 〇十
                return None
            total += (1 if pending is None else pending) * unit
            pending, last_unit = None, unit
    return total + (pending or 0)


def _number(n: int, digits: Digits) -> str:
    if digits == "ascii":
        return str(n)
    if digits == "fullwidth":
        return str(n).translate(_FULLWIDTH)
    return "零" if n == 0 else kanji_numeral(n)


def _check_digits(digits: str) -> None:
    if digits not in get_args(Digits):
        raise ValueError(f"数字の表記は ascii, fullwidth, kanji のいずれかです: {digits!r}")


# ------------------------------------------------------------------------------ date → 和暦


def era_of(d: date) -> Era:
    """The era ``d`` falls in (an era's first day belongs to it); refuses pre-1873 dates."""
    if isinstance(d, datetime):
        raise TypeError(
            f"日時ではなく日付を渡してください（日時は format_datetime_jst を使います）: {d!r}"
        )
    if d < GREGORIAN_START:
        raise ValueError(
            f"{d.isoformat()} は太陽暦の採用（明治6年1月1日＝1873-01-01）より前の日付です。"
            "当時は太陰太陽暦（天保暦）のため和暦に換算できません"
        )
    for era in reversed(ERAS):
        if d >= era.start:
            return era
    raise AssertionError("unreachable: GREGORIAN_START is within 明治")  # pragma: no cover


def wareki_parts(d: date) -> tuple[Era, int, int, int]:
    """``(era, era_year, month, day)``: 1989-01-08 → ``(HEISEI, 1, 1, 8)``."""
    era = era_of(d)
    return era, d.year - era.start.year + 1, d.month, d.day


def to_wareki(d: date, *, gannen: bool = True, digits: Digits = "ascii") -> str:
    """``d`` as printed on a certificate.

    ``令和元年5月1日`` (ascii), ``令和６年１２月２日`` (fullwidth), ``令和六年十二月二日`` (kanji).

    ``gannen=False`` prints the first year of an era as 1年 (一年, １年) instead of 元年.
    """
    _check_digits(digits)
    era, year, month, day = wareki_parts(d)
    year_text = "元" if year == 1 and gannen else _number(year, digits)
    return f"{era.name}{year_text}年{_number(month, digits)}月{_number(day, digits)}日"


def format_datetime_jst(dt: datetime, *, gannen: bool = True, digits: Digits = "ascii") -> str:
    """An aware datetime as a データ時点 line in 日本時間: ``令和8年11月23日 18時05分``.

    Seconds are dropped (not rounded).  Minutes are zero-padded in ASCII and full-width digits
    (``18時05分``) and written plainly in kanji (``十八時五分``, ``零時零分``).  Naive datetimes are
    refused: they do not say which instant they mean.
    """
    _check_digits(digits)
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(
            f"タイムゾーンのない日時は日本時間に換算できません: {dt.isoformat()}"
            "（UTC などのタイムゾーン付きで渡してください）"
        )
    if dt < _JST_FIXED_SINCE:
        raise ValueError(
            f"{dt.isoformat()} は日本のサマータイム廃止（1951-09-09）より前の日時のため"
            "換算できません"
        )
    local = dt.astimezone(JST)
    minute = _number(local.minute, digits)
    if digits != "kanji":
        minute = minute.rjust(2, "0" if digits == "ascii" else "０")
    day = to_wareki(local.date(), gannen=gannen, digits=digits)
    return f"{day} {_number(local.hour, digits)}時{minute}分"


# ------------------------------------------------------------------------------ 和暦 → date

_ERA_TOKEN: Final = "|".join([*_BY_NAME, *_BY_LETTER])
_NUM: Final = r"[0-9]{1,4}|[〇零一二三四五六七八九十百千壱弐参拾]{1,12}"
_YEAR: Final = rf"元|{_NUM}"
# 令和元年5月1日, 昭和 45 年 3 月 2 日
_LONG_FORM: Final = re.compile(
    rf"(?P<era>{_ERA_TOKEN})\s*(?P<year>{_YEAR})\s*年\s*(?P<month>{_NUM})\s*月"
    rf"\s*(?P<day>{_NUM})\s*日",
    re.IGNORECASE,
)
# R1.5.1, H31/4/30, S45-3-2 (one separator throughout)
_SHORT_FORM: Final = re.compile(
    rf"(?P<era>{_ERA_TOKEN})\s*(?P<year>{_YEAR})\s*(?P<sep>[./-])\s*(?P<month>{_NUM})"
    rf"\s*(?P=sep)\s*(?P<day>{_NUM})",
    re.IGNORECASE,
)


def _read_number(token: str, text: str) -> int:
    if token.isdigit():
        return int(token)
    value = _parse_kanji_numeral(token)
    if value is None:
        raise ValueError(f"和暦の日付の数字「{token}」が読めません: 「{text}」")
    return value


def parse_wareki(text: str) -> date:
    """Read a 和暦 date: ``令和元年5月1日``, ``令和1年5月1日``, ``令和６年１２月２日``,
    ``令和六年十二月二日``, ``R1.5.1``, ``H31.4.30``, ``S45.3.2`` (spaces allowed between parts).

    Refuses, with ``ValueError``: text that is not a 和暦 date; days that do not exist
    (平成3年2月30日); dates outside their era (平成32年1月1日 is after 平成 ended,
    令和元年4月30日 is before 令和 began); and 明治 dates before 明治6年 (lunisolar calendar).
    """
    # NFKC folds full-width digits, letters, punctuation and spaces to ASCII, and the
    # one-character era signs ㍾㍽㍼㍻㋿ to 明治 … 令和.
    normalized = unicodedata.normalize("NFKC", text).strip()
    match = _LONG_FORM.fullmatch(normalized) or _SHORT_FORM.fullmatch(normalized)
    if match is None:
        raise ValueError(f"和暦の日付として読めません: 「{text}」（例: 令和元年5月1日, R1.5.1）")
    token = match["era"]
    era = _BY_NAME.get(token) or _BY_LETTER[token.upper()]
    year = 1 if match["year"] == "元" else _read_number(match["year"], text)
    month = _read_number(match["month"], text)
    day = _read_number(match["day"], text)
    if year < 1:
        raise ValueError(f"{era.name}{year}年という年はありません: 「{text}」")
    shown = f"{era.name}{'元' if year == 1 else year}年{month}月{day}日"
    try:
        result = date(era.start.year + year - 1, month, day)
    except (ValueError, OverflowError):  # 2月30日, 13月, or a year past 9999
        raise ValueError(f"{shown}という日付はありません: 「{text}」") from None
    if result < GREGORIAN_START:
        raise ValueError(
            f"{shown}は太陽暦の採用（明治6年1月1日）より前で、太陰太陽暦の日付のため"
            f"換算できません: 「{text}」"
        )
    actual = era_of(result)
    if actual != era:
        if result < era.start:
            where = f"{era.name}の始まり（{to_wareki(era.start)}）より前です"
        else:
            where = f"{era.name}が終わった後です"
        raise ValueError(
            f"{shown}という日付はありません: 「{text}」"
            f"（{result.isoformat()}は{to_wareki(result)}で、{where}）"
        )
    return result
