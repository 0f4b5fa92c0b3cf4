"""安否確認 matching, pure part: parsers, scoring and the decisions on hard cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lgcloud.core.wareki import to_wareki
from lgcloud.generate.evacuees import half_width, hiragana
from lgcloud.register.service import search_keys
from lgcloud.safety.matching import (
    MAX_CANDIDATES,
    Evacuee,
    ResidentIndex,
    ResidentRecord,
    Verdict,
    normalize_address,
    parse_age,
    parse_birth_date,
    parse_sex,
    read_evacuee,
)

TODAY = date(2026, 11, 23)

# ------------------------------------------------------------------------------ parsers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1970-03-02", date(1970, 3, 2)),
        ("1970/3/2", date(1970, 3, 2)),
        ("1970.3.2", date(1970, 3, 2)),
        ("1970年3月2日", date(1970, 3, 2)),
        ("19700302", date(1970, 3, 2)),
        ("１９７０／３／２", date(1970, 3, 2)),
        ("昭和45年3月2日", date(1970, 3, 2)),
        ("昭和４５年３月２日", date(1970, 3, 2)),
        ("S45.3.2", date(1970, 3, 2)),
        ("s45/3/2", date(1970, 3, 2)),
        ("Ｓ４５．３．２", date(1970, 3, 2)),
        ("H1.1.8", date(1989, 1, 8)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("R2.5.1", date(2020, 5, 1)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("T10.4.1", date(1921, 4, 1)),
        ("M45.1.1", date(1912, 1, 1)),
        (" 1970-03-02 ", date(1970, 3, 2)),
        ("", None),
        ("  ", None),
    ],
)
def test_parse_birth_date(text: str, expected: date | None) -> None:
    assert parse_birth_date(text) == expected


@pytest.mark.parametrize("text", ["1970-02-30", "昭和70年1月1日", "不明", "S45", "70/3/2"])
def test_parse_birth_date_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"「"):
        parse_birth_date(text)


@given(st.dates(min_value=date(1873, 1, 1), max_value=date(2100, 12, 31)))
def test_birth_date_round_trips_every_written_form(d: date) -> None:
    forms = [
        d.isoformat(),
        f"{d.year}/{d.month}/{d.day}",
        f"{d.year}.{d.month}.{d.day}",
        to_wareki(d),
        to_wareki(d, digits="fullwidth"),
        to_wareki(d, gannen=False),
    ]
    for form in forms:
        assert parse_birth_date(form) == d, form


@pytest.mark.parametrize(
    ("text", "expected"), [("75", 75), ("７５", 75), ("75歳", 75), ("0", 0), ("", None)]
)
def test_parse_age(text: str, expected: int | None) -> None:
    assert parse_age(text) == expected


@pytest.mark.parametrize("text", ["七十五", "75-80", "200"])
def test_parse_age_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="年齢"):
        parse_age(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("男", 1),
        ("女", 2),
        ("1", 1),
        ("２", 2),
        ("M", 1),
        ("f", 2),
        ("男性", 1),
        ("", None),
        ("?", None),
    ],
)
def test_parse_sex(text: str, expected: int | None) -> None:
    assert parse_sex(text) == expected


def test_normalize_address() -> None:
    assert normalize_address("大字蓮野123番地4") == "蓮野123-4"
    assert normalize_address("蓮野１２３－４") == "蓮野123-4"
    assert normalize_address("") == ""


@given(
    st.text(
        alphabet="アイウエオカキクケコガギグゲゴサシスセソタチツテトナニヌネノハバパ", min_size=1
    )
)
def test_every_way_of_writing_a_reading_gives_the_same_key(kana: str) -> None:
    keys = {
        read_evacuee("1", 2, {"ふりがな": form}).kana_key
        for form in (kana, hiragana(kana), half_width(kana))
    }
    name_keys = {
        read_evacuee("1", 2, {"氏名": form}).kana_key
        for form in (kana, hiragana(kana), half_width(kana))
    }
    assert len(keys | name_keys) == 1


@given(st.text(max_size=30), st.text(max_size=30), st.text(max_size=20), st.text(max_size=10))
def test_reading_a_row_never_raises(name: str, kana: str, birth: str, age: str) -> None:
    e = read_evacuee("1", 2, {"氏名": name, "ふりがな": kana, "生年月日": birth, "年齢": age})
    assert isinstance(e, Evacuee)


def test_read_evacuee_keys_match_the_register_keys() -> None:
    keys = search_keys("髙橋\u3000一郎", "タカハシ\u3000イチロウ")
    e = read_evacuee("1", 2, {"氏名": "高橋一郎", "ふりがな": "ﾀｶﾊｼ ｲﾁﾛｳ"})
    assert e.name_key == keys["name_key"]
    assert e.kana_key == keys["kana_key"]
    assert e.kana_parts == (keys["kana_key"][:4], keys["given_kana_key"])
    kana_only = read_evacuee("1", 2, {"氏名": "たかはし いちろう"})
    assert kana_only.name_key == ""
    assert kana_only.kana_key == keys["kana_key"]


def test_unreadable_fields_become_notes() -> None:
    e = read_evacuee("1", 2, {"氏名": "山田太郎", "生年月日": "S99.99.99", "性別": "?"})
    assert e.birth is None
    assert len(e.notes) == 2


# ------------------------------------------------------------------------------ decisions


def resident(
    number: str,
    name: str,
    kana: str,
    birth: date,
    sex: int = 1,
    address: str = "大字蓮野100番地1",
) -> ResidentRecord:
    k = search_keys(name, kana)
    return ResidentRecord(
        number=number,
        name_key=k["name_key"],
        given_name_key=k["given_name_key"],
        kana_key=k["kana_key"],
        given_kana_key=k["given_kana_key"],
        birth=birth,
        sex=sex,
        address=address,
    )


TWIN_DAY = date(1988, 6, 1)
REGISTER = [
    resident("0000000011", "佐藤\u3000一郎", "サトウ\u3000イチロウ", TWIN_DAY),
    resident("0000000021", "佐藤\u3000二郎", "サトウ\u3000ジロウ", TWIN_DAY),
    resident("0000000031", "佐藤\u3000花子", "サトウ\u3000ハナコ", date(1950, 2, 3), 2),
    resident(
        "0000000041", "佐藤\u3000花子", "サトウ\u3000ハナコ", date(1950, 2, 3), 2, "大字島見5番地"
    ),
    resident("0000000051", "渡邉\u3000健", "ワタナベ\u3000ケン", date(1961, 12, 24)),
    resident("0000000061", "渡部\u3000健", "ワタベ\u3000ケン", date(1961, 12, 24)),
    resident("0000000071", "髙橋\u3000美咲", "タカハシ\u3000ミサキ", date(1999, 9, 9), 2),
    *(
        resident(f"00000010{i:02d}", "鈴木\u3000次郎", "スズキ\u3000ジロウ", date(1940 + i, 1, 1))
        for i in range(8)
    ),
]


@pytest.fixture(scope="module")
def index() -> ResidentIndex:
    return ResidentIndex.build(REGISTER, TODAY)


def decide(index: ResidentIndex, **values: str) -> tuple[Verdict, str, tuple[str, ...]]:
    m = index.match(read_evacuee("A1", 2, values))
    return m.verdict, m.number, m.candidates


def test_exact_person_is_matched(index: ResidentIndex) -> None:
    verdict, number, _ = decide(
        index, 氏名="高橋美咲", ふりがな="たかはし みさき", 生年月日="H11.9.9", 性別="女"
    )
    assert (verdict, number) == (Verdict.MATCH, "0000000071")


def test_twins_with_the_full_name_are_told_apart(index: ResidentIndex) -> None:
    verdict, number, _ = decide(
        index, 氏名="佐藤 一郎", ふりがな="さとう いちろう", 生年月日="S63.6.1", 性別="男"
    )
    assert (verdict, number) == (Verdict.MATCH, "0000000011")


def test_twins_with_the_family_name_only_are_candidates(index: ResidentIndex) -> None:
    verdict, number, candidates = decide(index, 氏名="さとう", 生年月日="1988/6/1", 性別="1")
    assert verdict is not Verdict.MATCH
    assert number == ""
    assert set(candidates) <= {"0000000011", "0000000021"}


def test_same_name_same_birthday_is_never_a_match(index: ResidentIndex) -> None:
    verdict, _, candidates = decide(
        index, 氏名="佐藤花子", ふりがな="サトウハナコ", 生年月日="1950-02-03", 性別="女"
    )
    assert verdict is Verdict.CANDIDATES
    assert set(candidates) == {"0000000031", "0000000041"}


def test_reading_tells_watanabe_from_watabe(index: ResidentIndex) -> None:
    verdict, number, _ = decide(
        index, 氏名="渡辺健", ふりがな="わたなべ けん", 生年月日="1961-12-24", 性別="男"
    )
    assert (verdict, number) == (Verdict.MATCH, "0000000051")


def test_without_birth_evidence_there_is_no_match(index: ResidentIndex) -> None:
    verdict, _, candidates = decide(
        index, 氏名="髙橋 美咲", ふりがな="タカハシミサキ", 性別="女", 住所="蓮野100-1"
    )
    assert verdict is Verdict.CANDIDATES
    assert candidates[0] == "0000000071"


def test_age_only_is_at_most_candidates(index: ResidentIndex) -> None:
    verdict, _, candidates = decide(index, 氏名="高橋美咲", 年齢="２７", 性別="女")
    assert verdict is Verdict.CANDIDATES
    assert candidates[0] == "0000000071"


def test_common_name_lists_at_most_five(index: ResidentIndex) -> None:
    verdict, _, candidates = decide(index, 氏名="鈴木次郎", ふりがな="すずきじろう")
    assert verdict is Verdict.CANDIDATES
    assert len(candidates) == MAX_CANDIDATES


def test_one_digit_slip_needs_the_address_to_match(index: ResidentIndex) -> None:
    slipped = {
        "氏名": "高橋美咲",
        "ふりがな": "たかはしみさき",
        "生年月日": "1999-09-08",
        "性別": "女",
    }
    assert decide(index, **slipped)[0] is Verdict.CANDIDATES
    verdict, number, _ = decide(index, **slipped, 住所="大字蓮野100番地1")
    assert (verdict, number) == (Verdict.MATCH, "0000000071")


def test_visitor_with_a_residents_name_but_another_birthday(index: ResidentIndex) -> None:
    verdict, _, _ = decide(index, 氏名="高橋美咲", 生年月日="1975-04-01", 性別="女")
    assert verdict is Verdict.NONE


def test_visitor_with_an_unknown_name(index: ResidentIndex) -> None:
    assert decide(index, 氏名="山本 大輔", 生年月日="1988-06-01", 性別="男")[0] is Verdict.NONE


def test_swapped_family_and_given_name_is_a_candidate(index: ResidentIndex) -> None:
    verdict, _, candidates = decide(index, 氏名="美咲 高橋", 生年月日="1999-09-09")
    assert verdict is not Verdict.NONE
    assert candidates[0] == "0000000071"


def test_given_name_only_with_birthday_is_a_candidate(index: ResidentIndex) -> None:
    verdict, _, candidates = decide(index, 氏名="みさき", 生年月日="1999/9/9", 性別="女")
    assert verdict is Verdict.CANDIDATES
    assert candidates == ("0000000071",)


def test_row_without_name_is_not_matched_with_a_reason(index: ResidentIndex) -> None:
    m = index.match(read_evacuee("A9", 2, {"生年月日": "1999-09-09"}))
    assert m.verdict is Verdict.NONE
    assert "氏名" in m.reason
    assert m.row() == ["A9", "不一致", "", "0", ""]


# ------------------------------------------------- people who are not the resident (review)

HOME = "大字蓮野100番地1"
LOOKALIKES = [
    resident("0000002011", "山田\u3000太郎", "ヤマダ\u3000タロウ", date(1965, 3, 4)),
    resident("0000002021", "勅使河原\u3000佑太", "テシガワラ\u3000ユウタ", date(1990, 5, 5)),
    resident("0000002031", "NGUYEN\u3000VAN NAM", "グエン\u3000ヴァン ナム", date(2001, 7, 7)),
    resident("0000002041", "佐藤\u3000優子", "サトウ\u3000ユウコ", date(1985, 4, 1), 2),
    resident("0000002051", "齋藤\u3000美穂", "サイトウ\u3000ミホ", date(1972, 10, 20), 2),
]


@pytest.fixture(scope="module")
def lookalikes() -> ResidentIndex:
    return ResidentIndex.build(LOOKALIKES, TODAY)


def test_namesake_son_born_a_year_slip_away_is_not_matched(lookalikes: ResidentIndex) -> None:
    # the father is registered; the son (same name, same house) is not. 1995 vs 1965 is
    # one digit, and the written 年齢 31 contradicts the father's 61.
    son = {"氏名": "山田 太郎", "ふりがな": "やまだ たろう", "性別": "男", "住所": HOME}
    verdict, number, candidates = decide(lookalikes, **son, 生年月日="1995-03-04", 年齢="31")
    assert (verdict, number) == (Verdict.CANDIDATES, "")
    assert candidates == ("0000002011",)  # for a clerk to look at, not reported safe
    # without the age: a slip that changes the year is still never 一致
    verdict, _, candidates = decide(lookalikes, **son, 生年月日="1995-03-04")
    assert verdict is Verdict.CANDIDATES
    assert candidates == ("0000002011",)


def test_age_that_contradicts_a_matching_date_prevents_a_match(
    lookalikes: ResidentIndex,
) -> None:
    row = {"氏名": "山田太郎", "ふりがな": "やまだたろう", "生年月日": "1965-03-04", "住所": HOME}
    assert decide(lookalikes, **row, 年齢="61")[0] is Verdict.MATCH
    assert decide(lookalikes, **row, 年齢="62")[0] is Verdict.MATCH  # 数え年: one year off
    assert decide(lookalikes, **row, 年齢="31")[0] is not Verdict.MATCH


def test_month_day_slip_with_contradicting_age_is_not_matched(
    lookalikes: ResidentIndex,
) -> None:
    row = {
        "氏名": "山田太郎",
        "ふりがな": "やまだたろう",
        "生年月日": "1965-03-05",
        "性別": "男",
        "住所": HOME,
    }
    assert decide(lookalikes, **row)[:2] == (Verdict.MATCH, "0000002011")
    verdict, _, candidates = decide(lookalikes, **row, 年齢="40")
    assert verdict is Verdict.CANDIDATES
    assert candidates == ("0000002011",)


@pytest.mark.parametrize(
    "row",
    [
        {"氏名": "NGUYEN VAN LAM", "生年月日": "2001-07-07", "性別": "男"},
        {"氏名": "ＮＧＵＹＥＮ　ＶＡＮ　ＬＡＭ", "生年月日": "2001-07-07", "性別": "男"},
        {
            "氏名": "勅使河原 佑斗",
            "ふりがな": "てしがわら ゆうと",
            "生年月日": "1990-05-05",
            "性別": "男",
        },
        {"ふりがな": "てしがわらゆうと", "生年月日": "1990/5/5", "性別": "男"},
    ],
    ids=["latin", "latin-fullwidth", "kanji-and-reading", "reading-only"],
)
def test_absent_twin_with_a_given_name_one_character_off_is_a_candidate(
    lookalikes: ResidentIndex, row: dict[str, str]
) -> None:
    verdict, number, candidates = decide(lookalikes, **row, 住所=HOME)
    assert (verdict, number) == (Verdict.CANDIDATES, "")
    assert len(candidates) == 1
    assert candidates[0] in {"0000002021", "0000002031"}


def test_same_reading_but_another_kanji_is_a_candidate(lookalikes: ResidentIndex) -> None:
    verdict, number, candidates = decide(
        lookalikes,
        氏名="佐藤 裕子",
        ふりがな="さとう ゆうこ",
        生年月日="1985-04-01",
        性別="女",
        住所="蓮野100-1",
    )
    assert (verdict, number) == (Verdict.CANDIDATES, "")
    assert candidates == ("0000002041",)


def test_full_width_latin_is_a_name_not_a_reading() -> None:
    e = read_evacuee("1", 2, {"氏名": "ＮＧＵＹＥＮ　ＶＡＮ　ＮＡＭ"})
    assert e.name_key == read_evacuee("1", 2, {"氏名": "NGUYEN VAN NAM"}).name_key
    assert e.name_key
    assert e.kana_key == ""


@pytest.mark.parametrize(
    ("row", "number"),
    [
        (
            {"氏名": "ＮＧＵＹＥＮ　ＶＡＮ　ＮＡＭ", "生年月日": "2001-07-07", "性別": "男"},
            "0000002031",
        ),
        ({"氏名": "Nguyen Van Nam", "生年月日": "H13.7.7", "性別": "M"}, "0000002031"),
        ({"氏名": "山田 太郎", "ふりがな": "ヤマダ タロウ", "生年月日": "S40.3.4"}, "0000002011"),
        ({"氏名": "山田太郎", "生年月日": "1965/3/4", "性別": "1"}, "0000002011"),
        ({"氏名": "やまだ たろう", "生年月日": "19650304", "住所": HOME}, "0000002011"),
        ({"氏名": "ﾔﾏﾀﾞ ﾀﾛｳ", "生年月日": "1965-03-04", "性別": "男"}, "0000002011"),
        ({"氏名": "佐藤優子", "ふりがな": "さとうゆうこ", "生年月日": "1985-04-01"}, "0000002041"),
        ({"氏名": "斎藤 美穂", "ふりがな": "さいとう みほ", "生年月日": "S47.10.20"}, "0000002051"),
        ({"氏名": "斉藤美穂", "生年月日": "1972-10-20", "性別": "女"}, "0000002051"),
        (
            {"氏名": "勅使河原佑太", "ふりがな": "てしがわらゆうた", "生年月日": "1990-5-5"},
            "0000002021",
        ),
        (
            {"氏名": "勅使河原 佑太", "生年月日": "1990-05-05", "年齢": "36", "性別": "1"},
            "0000002021",
        ),
    ],
)
def test_ordinary_good_rows_are_still_matched(
    lookalikes: ResidentIndex, row: dict[str, str], number: str
) -> None:
    assert decide(lookalikes, **row)[:2] == (Verdict.MATCH, number)


# ---------------------------------------------------- the clerk's easy work (issue 18)


def former(
    number: str, name: str, kana: str, birth: date, reason: str, on: date, to: str = ""
) -> ResidentRecord:
    """A person of the 除票: removed by ``reason`` on ``on`` (moved ``to``)."""
    return replace(
        resident(number, name, kana, birth), removal_reason=reason, removed_on=on, destination=to
    )


EASY = [
    resident("0000000111", "山田\u3000太郎", "ヤマダ\u3000タロウ", date(1950, 10, 29)),
    resident("0000000121", "小林\u3000幸子", "コバヤシ\u3000サチコ", date(1962, 5, 31), 2),
    resident("0000000131", "勅使河原\u3000悟", "テシガワラ\u3000サトル", date(1970, 1, 5)),
    resident("0000000141", "中村\u3000翔", "ナカムラ\u3000ショウ", date(2001, 4, 2)),
    former(
        "0000000151",
        "石田\u3000和夫",
        "イシダ\u3000カズオ",
        date(1944, 8, 8),
        "転出",
        date(2026, 3, 31),
        "新潟県新潟市中央区1番地",
    ),
    former(
        "0000000161",
        "森\u3000光子",
        "モリ\u3000ミツコ",
        date(1931, 2, 14),
        "死亡",
        date(2026, 12, 1),
    ),
    replace(
        resident("0000000171", "青木\u3000健太", "アオキ\u3000ケンタ", date(1990, 7, 7)),
        resident_since=date(2026, 12, 5),
    ),
]


@pytest.fixture(scope="module")
def easy() -> ResidentIndex:
    return ResidentIndex.build(EASY, TODAY)


def test_exact_name_and_date_unique_in_the_town_is_matched_with_all_else_blank(
    easy: ResidentIndex,
) -> None:
    """Score 81 (no sex, no address), yet nobody else could be 山田太郎 born that day."""
    m = easy.match(read_evacuee("A1", 2, {"氏名": "山田太郎", "生年月日": "S25.10.29"}))
    assert (m.verdict, m.number) == (Verdict.MATCH, "0000000111")
    assert m.score < 85


@pytest.mark.parametrize(
    ("number", "name", "written"),
    [
        ("0000000111", "山田 太郎", "1950-10-30"),  # 29 → 30: two digits
        ("0000000121", "小林 幸子", "1962-06-01"),  # 05-31 → 06-01: four digits
    ],
)
def test_a_date_a_day_off_is_found_and_matched_with_the_address(
    easy: ResidentIndex, number: str, name: str, written: str
) -> None:
    row = {"氏名": name, "生年月日": written}
    m = easy.match(read_evacuee("A1", 2, row))
    assert (m.verdict, m.candidates) == (Verdict.CANDIDATES, (number,))  # found, not missed
    m = easy.match(read_evacuee("A1", 2, row | {"住所": "蓮野100-1"}))
    assert (m.verdict, m.number) == (Verdict.MATCH, number)


def test_given_name_first_without_a_space_and_only_an_age_is_found(easy: ResidentIndex) -> None:
    row = {"氏名": "悟勅使河原", "年齢": "56"}
    m = easy.match(read_evacuee("A1", 2, row))
    assert (m.verdict, m.candidates) == (Verdict.CANDIDATES, ("0000000131",))
    m = easy.match(read_evacuee("A1", 2, row | {"住所": "大字蓮野100番地1"}))
    assert (m.verdict, m.number) == (Verdict.MATCH, "0000000131")


def test_age_only_is_matched_only_at_the_registered_address(easy: ResidentIndex) -> None:
    row = {"氏名": "中村 翔", "ふりがな": "なかむら しょう", "年齢": "25"}
    assert easy.match(read_evacuee("A1", 2, row)).verdict is Verdict.CANDIDATES
    at_home = row | {"住所": "蓮野100-1"}
    assert easy.match(read_evacuee("A1", 2, at_home)).verdict is Verdict.MATCH
    # 数え年 (one year more) at the address: still only a candidate
    older = at_home | {"年齢": "26"}
    assert easy.match(read_evacuee("A1", 2, older)).verdict is Verdict.CANDIDATES


def test_a_reading_one_kana_off_next_to_the_right_kanji_is_matched(easy: ResidentIndex) -> None:
    row = {"氏名": "中村 翔", "ふりがな": "なかむら しょお", "生年月日": "2001-04-02"}
    m = easy.match(read_evacuee("A1", 2, row))
    assert (m.verdict, m.number) == (Verdict.MATCH, "0000000141")
    # the reading alone, one kana off: a candidate (it could be an absent twin)
    kana_only = {"氏名": "なかむら しょお", "生年月日": "2001-04-02"}
    assert easy.match(read_evacuee("A1", 2, kana_only)).verdict is Verdict.CANDIDATES
    # two kana off next to the kanji: the reading disagrees
    two_off = row | {"ふりがな": "なかもと しょお"}
    assert easy.match(read_evacuee("A1", 2, two_off)).verdict is Verdict.CANDIDATES


def test_former_residents_are_matched_and_said_to_be_gone(easy: ResidentIndex) -> None:
    m = easy.match(read_evacuee("A1", 2, {"氏名": "石田和夫", "生年月日": "1944-08-08"}))
    assert (m.verdict, m.number) == (Verdict.MATCH, "0000000151")
    assert m.standing == "転出済 (2026-03-31、新潟県新潟市中央区1番地)"
    m = easy.match(read_evacuee("A1", 2, {"氏名": "森光子", "生年月日": "S6.2.14"}))
    assert (m.verdict, m.standing) == (Verdict.MATCH, "死亡 (2026-12-01)")
    m = easy.match(read_evacuee("A1", 2, {"氏名": "山田太郎", "生年月日": "1950-10-29"}))
    assert m.standing == ""


def test_the_reference_date_sets_ages_and_who_was_a_resident() -> None:
    disaster = date(2026, 12, 1)
    index = ResidentIndex.build(EASY, disaster)
    m = index.match(read_evacuee("A1", 2, {"氏名": "青木健太", "生年月日": "1990-07-07"}))
    assert m.verdict is Verdict.MATCH
    assert m.standing == "基準日 2026-12-01 には住民でない (2026-12-05 から住民)"
    # 中村翔 turned 25 on 2026-04-02: 24 is one year off on the disaster date
    row = {"氏名": "中村 翔", "年齢": "24", "住所": "蓮野100-1"}
    assert index.match(read_evacuee("A1", 2, row)).verdict is Verdict.CANDIDATES
    early = ResidentIndex.build(EASY, date(2026, 3, 1))
    assert early.match(read_evacuee("A1", 2, row)).verdict is Verdict.MATCH


def test_the_name_prefilter_keeps_a_name_one_kanji_off() -> None:
    """Nine people born within a typing slip of the row's date: filtered by name before
    scoring, yet 山田次郎 (one kanji off 山田太郎, born a day later) is still listed."""
    others = ["佐藤\u3000一郎", "鈴木\u3000花子", "高橋\u3000勇", "田中\u3000恵", "伊藤\u3000翼"]
    others += ["渡辺\u3000涼", "中村\u3000学", "小林\u3000茜"]
    register = [
        resident(f"00000020{i:02d}", name, "", date(1970, 3, i + 1))
        for i, name in enumerate(others)
    ]
    register.append(resident("0000002091", "山田\u3000次郎", "", date(1970, 3, 6)))
    index = ResidentIndex.build(register, TODAY)
    row = read_evacuee("A1", 2, {"氏名": "山田太郎", "生年月日": "1970-03-05"})
    assert len(index.candidates_of(row)) > 6  # the filter applies
    m = index.match(row)
    assert (m.verdict, m.candidates) == (Verdict.CANDIDATES, ("0000002091",))
