"""和暦 on certificates: era boundaries, 元年, digit styles, parsing and its refusals, JST times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lgcloud.core.clock import JST as TZDB_TOKYO  # ZoneInfo("Asia/Tokyo"), the reference
from lgcloud.core.wareki import (
    ERAS,
    GREGORIAN_START,
    HEISEI,
    MEIJI,
    REIWA,
    SHOWA,
    TAISHO,
    Digits,
    Era,
    era_of,
    format_datetime_jst,
    kanji_numeral,
    parse_wareki,
    to_wareki,
    wareki_parts,
)

DIGIT_STYLES: tuple[Digits, ...] = ("ascii", "fullwidth", "kanji")

# ------------------------------------------------------------------------------ eras


def test_era_table() -> None:
    assert [(e.name, e.abbreviation, e.start) for e in ERAS] == [
        ("明治", "M", date(1868, 1, 25)),
        ("大正", "T", date(1912, 7, 30)),
        ("昭和", "S", date(1926, 12, 25)),
        ("平成", "H", date(1989, 1, 8)),
        ("令和", "R", date(2019, 5, 1)),
    ]
    assert ERAS == (MEIJI, TAISHO, SHOWA, HEISEI, REIWA)
    with pytest.raises(AttributeError):
        REIWA.name = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        # 明治: the first Gregorian day (明治5年12月3日 became 明治6年1月1日)
        (date(1873, 1, 1), "明治6年1月1日"),
        (date(1912, 7, 29), "明治45年7月29日"),
        (date(1912, 7, 30), "大正元年7月30日"),
        (date(1926, 12, 24), "大正15年12月24日"),
        (date(1926, 12, 25), "昭和元年12月25日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        # and the ordinary year change inside an era
        (date(1989, 12, 31), "平成元年12月31日"),
        (date(1990, 1, 1), "平成2年1月1日"),
        (date(2024, 12, 2), "令和6年12月2日"),
    ],
)
def test_era_boundaries(d: date, expected: str) -> None:
    assert to_wareki(d) == expected
    assert parse_wareki(expected) == d


@pytest.mark.parametrize("era", ERAS[1:])
def test_day_before_each_start_is_previous_era(era: Era) -> None:
    previous = ERAS[ERAS.index(era) - 1]
    assert era_of(era.start) is era
    assert era_of(era.start - timedelta(days=1)) is previous
    assert wareki_parts(era.start) == (era, 1, era.start.month, era.start.day)


def test_wareki_parts() -> None:
    assert wareki_parts(date(1989, 1, 7)) == (SHOWA, 64, 1, 7)
    assert wareki_parts(date(1989, 1, 8)) == (HEISEI, 1, 1, 8)
    assert wareki_parts(date(1873, 1, 1)) == (MEIJI, 6, 1, 1)
    assert wareki_parts(date(2026, 11, 23)) == (REIWA, 8, 11, 23)


@pytest.mark.parametrize("d", [date(1872, 12, 31), MEIJI.start, date(1800, 1, 1), date.min])
def test_lunisolar_dates_refused(d: date) -> None:
    with pytest.raises(ValueError, match="太陰太陽暦"):
        era_of(d)
    with pytest.raises(ValueError, match="1873-01-01"):
        to_wareki(d)


def test_datetime_is_not_a_date() -> None:
    with pytest.raises(TypeError, match="format_datetime_jst"):
        to_wareki(datetime(2024, 1, 1, tzinfo=UTC))


# ------------------------------------------------------------------------------ printing


@pytest.mark.parametrize(
    ("digits", "gannen", "expected"),
    [
        ("ascii", True, "令和元年5月1日"),
        ("ascii", False, "令和1年5月1日"),
        ("fullwidth", True, "令和元年５月１日"),
        ("fullwidth", False, "令和１年５月１日"),
        ("kanji", True, "令和元年五月一日"),
        ("kanji", False, "令和一年五月一日"),
    ],
)
def test_gannen(digits: Digits, gannen: bool, expected: str) -> None:
    assert to_wareki(date(2019, 5, 1), gannen=gannen, digits=digits) == expected


@pytest.mark.parametrize(
    ("d", "digits", "expected"),
    [
        (date(2024, 12, 2), "fullwidth", "令和６年１２月２日"),
        (date(2024, 12, 2), "kanji", "令和六年十二月二日"),
        (date(1970, 3, 2), "kanji", "昭和四十五年三月二日"),
        (date(1988, 10, 31), "kanji", "昭和六十三年十月三十一日"),
        (date(1989, 1, 7), "kanji", "昭和六十四年一月七日"),
        (date(2019, 4, 30), "kanji", "平成三十一年四月三十日"),
        (date(1912, 7, 29), "kanji", "明治四十五年七月二十九日"),
        (date(1925, 11, 11), "kanji", "大正十四年十一月十一日"),
        (date(2118, 1, 20), "kanji", "令和百年一月二十日"),
        (date(1989, 1, 7), "fullwidth", "昭和６４年１月７日"),
    ],
)
def test_digit_styles(d: date, digits: Digits, expected: str) -> None:
    assert to_wareki(d, digits=digits) == expected


def test_kanji_numerals_1_to_99() -> None:
    ones = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"]
    for n in range(1, 100):
        tens, unit = divmod(n, 10)
        tens_part = "" if tens == 0 else ("十" if tens == 1 else ones[tens] + "十")
        assert kanji_numeral(n) == tens_part + ones[unit], n
    assert [kanji_numeral(n) for n in (1, 10, 11, 20, 21, 99)] == [
        "一",
        "十",
        "十一",
        "二十",
        "二十一",
        "九十九",
    ]


def test_kanji_numerals_beyond_99() -> None:
    assert kanji_numeral(100) == "百"
    assert kanji_numeral(105) == "百五"
    assert kanji_numeral(110) == "百十"
    assert kanji_numeral(999) == "九百九十九"
    assert kanji_numeral(1000) == "千"
    assert kanji_numeral(2019) == "二千十九"
    assert kanji_numeral(9999) == "九千九百九十九"
    for bad in (0, -1, 10_000):
        with pytest.raises(ValueError, match="漢数字"):
            kanji_numeral(bad)


def test_unknown_digit_style_refused() -> None:
    with pytest.raises(ValueError, match="数字の表記"):
        to_wareki(date(2024, 1, 1), digits="roman")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("令和元年5月1日", date(2019, 5, 1)),
        ("令和1年5月1日", date(2019, 5, 1)),
        ("令和01年05月01日", date(2019, 5, 1)),
        ("令和６年１２月２日", date(2024, 12, 2)),
        ("令和六年十二月二日", date(2024, 12, 2)),
        ("令和一年五月一日", date(2019, 5, 1)),
        ("昭和四十五年三月二日", date(1970, 3, 2)),
        ("昭和45年3月2日", date(1970, 3, 2)),
        ("昭和 45 年 3 月 2 日", date(1970, 3, 2)),
        ("昭和\u300045年\u30003月\u30002日", date(1970, 3, 2)),  # full-width spaces
        ("  平成31年4月30日 ", date(2019, 4, 30)),
        ("R1.5.1", date(2019, 5, 1)),
        ("R元.5.1", date(2019, 5, 1)),
        ("H31.4.30", date(2019, 4, 30)),
        ("S45.3.2", date(1970, 3, 2)),
        ("S 45. 3. 2", date(1970, 3, 2)),
        ("s45.3.2", date(1970, 3, 2)),
        ("Ｓ４５．３．２", date(1970, 3, 2)),
        ("S45/3/2", date(1970, 3, 2)),
        ("S45-03-02", date(1970, 3, 2)),
        ("T15.12.24", date(1926, 12, 24)),
        ("M45.7.29", date(1912, 7, 29)),
        ("明治6年1月1日", date(1873, 1, 1)),
        ("㍻31年4月30日", date(2019, 4, 30)),  # one-character era sign
        ("㋿元年5月1日", date(2019, 5, 1)),
        ("令和二〇年一月一日", date(2038, 1, 1)),  # positional kanji digits
        ("令和弐年参月拾日", date(2020, 3, 10)),  # 大字
    ],
)
def test_parse_accepts(text: str, expected: date) -> None:
    assert parse_wareki(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("平成32年1月1日", "平成が終わった後"),  # 2020: 令和2年
        ("平成31年5月1日", "平成が終わった後"),  # the day 令和 began
        ("H31.5.1", "令和元年5月1日"),
        ("昭和64年1月8日", "昭和が終わった後"),
        ("大正15年12月25日", "大正が終わった後"),
        ("明治45年7月30日", "明治が終わった後"),
        ("令和元年4月30日", "令和の始まり"),
        ("R1.4.30", "平成31年4月30日"),
        ("平成元年1月7日", "平成の始まり"),
        ("昭和元年12月24日", "昭和の始まり"),
        ("大正元年7月29日", "大正の始まり"),
        ("明治5年12月31日", "太陰太陽暦"),
        ("M1.1.25", "太陰太陽暦"),
        ("平成3年2月30日", "日付はありません"),
        ("平成3年13月1日", "日付はありません"),
        ("令和0年1月1日", "年はありません"),
        ("令和〇年1月1日", "年はありません"),
        ("令和5年0月1日", "日付はありません"),
        ("令和十十年1月1日", "読めません"),
        ("令和二三年1月1日十", "読めません"),
        ("令和一二三四五六七八九〇一二年1月1日", "日付はありません"),
        ("令和5年", "読めません"),
        ("2019-05-01", "読めません"),
        ("X1.5.1", "読めません"),
        ("R1.5/1", "読めません"),
        ("", "読めません"),
    ],
)
def test_parse_refuses(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as excinfo:
        parse_wareki(text)
    assert f"「{text}」" in str(excinfo.value)  # the message names the input


@pytest.mark.parametrize("digits", DIGIT_STYLES)
@pytest.mark.parametrize("gannen", [True, False])
@given(d=st.dates(min_value=GREGORIAN_START, max_value=date(2100, 12, 31)))
def test_round_trip(d: date, digits: Digits, gannen: bool) -> None:
    assert parse_wareki(to_wareki(d, gannen=gannen, digits=digits)) == d


@given(d=st.dates(min_value=GREGORIAN_START))
def test_round_trip_to_date_max_in_kanji(d: date) -> None:
    # 令和 years past 99 (百, 千) still read back; date.max is 令和7981年.
    assert parse_wareki(to_wareki(d, digits="kanji")) == d


@given(d=st.dates(min_value=GREGORIAN_START, max_value=date(2100, 12, 31)))
def test_abbreviated_form_round_trip(d: date) -> None:
    era, year, month, day = wareki_parts(d)
    assert parse_wareki(f"{era.abbreviation}{year}.{month}.{day}") == d


# ------------------------------------------------------------------------------ データ時点


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (datetime(2026, 11, 23, 9, 5, 59, tzinfo=UTC), "令和8年11月23日 18時05分"),
        # 14:59 UTC is still the same day in Japan; 15:00 UTC is midnight of the next
        (datetime(2026, 11, 23, 14, 59, tzinfo=UTC), "令和8年11月23日 23時59分"),
        (datetime(2026, 11, 23, 15, 0, tzinfo=UTC), "令和8年11月24日 0時00分"),
        (datetime(2026, 12, 31, 15, 30, tzinfo=UTC), "令和9年1月1日 0時30分"),
        # and across an era change: 令和 began at midnight JST, 2019-04-30 15:00 UTC
        (datetime(2019, 4, 30, 14, 59, tzinfo=UTC), "平成31年4月30日 23時59分"),
        (datetime(2019, 4, 30, 15, 0, tzinfo=UTC), "令和元年5月1日 0時00分"),
    ],
)
def test_format_datetime_jst_crosses_midnight(utc: datetime, expected: str) -> None:
    assert format_datetime_jst(utc) == expected


def test_format_datetime_jst_other_offsets_and_styles() -> None:
    new_york = timezone(timedelta(hours=-5))
    assert format_datetime_jst(datetime(2026, 11, 23, 4, 5, tzinfo=new_york)) == (
        "令和8年11月23日 18時05分"
    )
    dt = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
    assert format_datetime_jst(dt, digits="fullwidth") == "令和８年１１月２３日 １８時０５分"
    assert format_datetime_jst(dt, digits="kanji") == "令和八年十一月二十三日 十八時五分"
    midnight = datetime(2019, 4, 30, 15, 0, tzinfo=UTC)
    assert format_datetime_jst(midnight, digits="kanji") == "令和元年五月一日 零時零分"
    assert format_datetime_jst(midnight, gannen=False) == "令和1年5月1日 0時00分"


def test_format_datetime_jst_refusals() -> None:
    with pytest.raises(ValueError, match="タイムゾーンのない日時"):
        format_datetime_jst(datetime(2026, 11, 23, 18, 5))
    with pytest.raises(ValueError, match="サマータイム"):
        format_datetime_jst(datetime(1951, 9, 8, 14, 59, tzinfo=UTC))
    assert format_datetime_jst(datetime(1951, 9, 8, 15, 0, tzinfo=UTC)) == (
        "昭和26年9月9日 0時00分"
    )


@given(
    dt=st.datetimes(
        min_value=datetime(1951, 9, 8, 15, 0),
        max_value=datetime(2100, 12, 31, 23, 59),
        timezones=st.just(UTC),
    )
)
def test_fixed_offset_agrees_with_tz_database(dt: datetime) -> None:
    local = dt.astimezone(TZDB_TOKYO)
    assert format_datetime_jst(dt) == (
        f"{to_wareki(local.date())} {local.hour}時{local.minute:02d}分"
    )
