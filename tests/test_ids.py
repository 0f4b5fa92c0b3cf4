"""Tests for lgcloud.core.ids: town code check digits and modulus-11 宛名番号 / 世帯番号."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import TODAY, TOWN_A, make_ctx
from lgcloud.core.ids import (
    SEQUENCE_WIDTH,
    InvalidIdentifierError,
    format_numbered,
    is_issuable_sequence,
    mod11_check_digit,
    mod11_remainder,
    resident_code_check_digit,
    town_code_check_digit,
    validate_numbered,
    validate_resident_code,
    validate_town_code,
    with_resident_check_digit,
)
from lgcloud.register.domain import AddressIn, EventKind, MoveIn, NewPerson, Sex
from lgcloud.register.service import record_event
from lgcloud.tenancy.platform import Platform


def reference_town_sum(first_five: str) -> int:
    """S = 6a + 5b + 4c + 3d + 2e, computed independently of the code under test."""
    a, b, c, d, e = (int(ch) for ch in first_five)
    return 6 * a + 5 * b + 4 * c + 3 * d + 2 * e


def reference_mod11_remainder(digits: str) -> int:
    """Weights 2,3,4,5,6,7,2,3,… from the rightmost digit, written out longhand."""
    weights = [2, 3, 4, 5, 6, 7]
    total = 0
    for position, ch in enumerate(reversed(digits)):
        total += int(ch) * weights[position % 6]
    return total % 11


# --------------------------------------------------------------------------- town codes


@pytest.mark.parametrize("code", ["153079", "154059", "155811", "131016", "011002"])
def test_valid_town_codes(code: str) -> None:
    assert validate_town_code(code) == code
    assert town_code_check_digit(code[:5]) == int(code[5])


@pytest.mark.parametrize(
    ("code", "correct"),
    [("153070", "153079"), ("154058", "154059"), ("155812", "155811"), ("131017", "131016")],
)
def test_wrong_town_check_digit_is_refused_naming_the_right_one(code: str, correct: str) -> None:
    with pytest.raises(InvalidIdentifierError, match="検査数字") as exc:
        validate_town_code(code)
    assert correct in str(exc.value)


@pytest.mark.parametrize(
    "code", ["15307", "1530790", "15307a", "１５３０７９", "", " 153079", "15-079"]
)
def test_malformed_town_codes_are_refused_with_a_message(code: str) -> None:
    with pytest.raises(InvalidIdentifierError, match="団体コードは数字6桁です"):
        validate_town_code(code)


@pytest.mark.parametrize("prefix", ["1530", "153071", "1530a", "１５３０７"])
def test_town_check_digit_needs_five_ascii_digits(prefix: str) -> None:
    with pytest.raises(InvalidIdentifierError, match="上5桁"):
        town_code_check_digit(prefix)


def _prefixes_with_remainder(r: int) -> list[str]:
    return [f"{i:05d}" for i in range(100000) if reference_town_sum(f"{i:05d}") % 11 == r]


def test_town_rule_remainder_zero_gives_one() -> None:
    # S mod 11 == 0 → 11 − 0 = 11 → last digit 1.
    prefixes = _prefixes_with_remainder(0)
    assert "00000" in prefixes
    assert "15306" in prefixes  # 6 + 25 + 12 + 0 + 12 = 55 = 5 × 11
    for p in ["00000", "15306", *prefixes[1:50:7]]:
        assert town_code_check_digit(p) == 1
        assert validate_town_code(p + "1") == p + "1"
        with pytest.raises(InvalidIdentifierError):
            validate_town_code(p + "0")


def test_town_rule_remainder_one_gives_zero() -> None:
    # S mod 11 == 1 → 11 − 1 = 10 → last digit 0.
    prefixes = _prefixes_with_remainder(1)
    assert "00006" in prefixes  # 2 × 6 = 12, 12 mod 11 = 1
    assert "15301" in prefixes  # 6 + 25 + 12 + 0 + 2 = 45 = 4 × 11 + 1
    for p in ["00006", "15301", *prefixes[1:50:7]]:
        assert town_code_check_digit(p) == 0
        assert validate_town_code(p + "0") == p + "0"
        with pytest.raises(InvalidIdentifierError):
            validate_town_code(p + "1")


@given(st.from_regex(r"\A[0-9]{5}\Z"))
def test_town_check_digit_matches_the_rule(first_five: str) -> None:
    s = reference_town_sum(first_five)
    assert town_code_check_digit(first_five) == (11 - s % 11) % 10
    assert validate_town_code(first_five + str((11 - s % 11) % 10))


# ------------------------------------------------------------------- modulus-11 numbers


def test_mod11_weights_run_two_to_seven_from_the_right() -> None:
    # A single 1 in position i (from the right) contributes weight 2,3,4,5,6,7,2,3,4.
    expected = [2, 3, 4, 5, 6, 7, 2, 3, 4]
    for i, w in enumerate(expected):
        digits = ["0"] * SEQUENCE_WIDTH
        digits[SEQUENCE_WIDTH - 1 - i] = "1"
        assert mod11_remainder("".join(digits)) == w % 11


@given(st.from_regex(r"\A[0-9]{1,12}\Z"))
def test_mod11_remainder_matches_reference(digits: str) -> None:
    assert mod11_remainder(digits) == reference_mod11_remainder(digits)


def test_remainder_zero_gives_check_digit_zero() -> None:
    assert mod11_remainder("000000000") == 0
    assert mod11_check_digit("000000000") == 0
    body = "000000014"  # 1 × 3 + 4 × 2 = 11
    assert reference_mod11_remainder(body) == 0
    assert mod11_check_digit(body) == 0
    assert format_numbered(int(body)) == body + "0"
    assert validate_numbered(body + "0") == body + "0"


@pytest.mark.parametrize("seq", [6, 23, 37, 40, 54])
def test_remainder_one_sequence_is_skipped(seq: int) -> None:
    body = f"{seq:09d}"
    assert reference_mod11_remainder(body) == 1
    assert mod11_check_digit(body) is None
    assert not is_issuable_sequence(seq)
    with pytest.raises(InvalidIdentifierError, match="発番しません"):
        format_numbered(seq)
    # No check digit makes such a number valid.
    for check in "0123456789":
        with pytest.raises(InvalidIdentifierError):
            validate_numbered(body + check)


def test_other_remainders_give_eleven_minus_remainder() -> None:
    seen = set()
    for seq in range(1, 200):
        body = f"{seq:09d}"
        r = reference_mod11_remainder(body)
        if r >= 2:
            assert mod11_check_digit(body) == 11 - r
            seen.add(r)
    assert seen == set(range(2, 11))


def test_known_first_numbers() -> None:
    # 000000001: 1 × 2 = 2 → 9; 000000002: 4 → 7; 000000006: 12 → remainder 1 → skipped.
    assert format_numbered(1) == "0000000019"
    assert format_numbered(2) == "0000000027"
    assert not is_issuable_sequence(6)


@pytest.mark.parametrize("seq", [0, -1, 10**SEQUENCE_WIDTH])
def test_out_of_range_sequences_are_refused(seq: int) -> None:
    with pytest.raises(InvalidIdentifierError, match="範囲外"):
        format_numbered(seq)


@pytest.mark.parametrize(
    "number",
    ["", "000000001", "00000000190", "000000001a", "０００００００００１９", "0000000019 "],
)
def test_malformed_numbers_are_refused(number: str) -> None:
    with pytest.raises(InvalidIdentifierError, match="10桁"):
        validate_numbered(number, "宛名番号")


def test_mod11_check_digit_refuses_non_digits() -> None:
    with pytest.raises(InvalidIdentifierError, match="数字ではありません"):
        mod11_check_digit("12a")
    with pytest.raises(InvalidIdentifierError):
        mod11_check_digit("１２３")


issuable = st.integers(min_value=1, max_value=10**SEQUENCE_WIDTH - 1).filter(is_issuable_sequence)


@given(issuable)
def test_every_formatted_number_validates(seq: int) -> None:
    number = format_numbered(seq)
    assert len(number) == SEQUENCE_WIDTH + 1
    assert int(number[:-1]) == seq
    assert validate_numbered(number) == number


@given(
    seq=issuable,
    position=st.integers(min_value=0, max_value=SEQUENCE_WIDTH),
    shift=st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_substitution_is_detected(seq: int, position: int, shift: int) -> None:
    number = format_numbered(seq)
    wrong = str((int(number[position]) + shift) % 10)
    typo = number[:position] + wrong + number[position + 1 :]
    assert typo != number
    with pytest.raises(InvalidIdentifierError, match="検査数字"):
        validate_numbered(typo)


def test_every_substitution_of_a_small_range_is_detected() -> None:
    # Exhaustive over the first few hundred numbers, every position and digit.
    for seq in filter(is_issuable_sequence, range(1, 300)):
        number = format_numbered(seq)
        for position in range(len(number)):
            for d in "0123456789":
                if d == number[position]:
                    continue
                typo = number[:position] + d + number[position + 1 :]
                with pytest.raises(InvalidIdentifierError):
                    validate_numbered(typo)


def test_resident_code_is_eleven_digits() -> None:
    assert validate_resident_code("12345678903") == "12345678903"
    for bad in ["1234567890", "123456789012", "1234567890a", "１２３４５６７８９０１"]:
        with pytest.raises(InvalidIdentifierError, match="11桁"):
            validate_resident_code(bad)


def test_resident_code_check_digit_worked_by_hand() -> None:
    # 1234567890 from the right: 0·2 + 9·3 + 8·4 + 7·5 + 6·6 + 5·7 + 4·2 + 3·3 + 2·4 + 1·5
    # = 195; 195 mod 11 = 8; 11 − 8 = 3
    assert resident_code_check_digit("1234567890") == 3
    assert resident_code_check_digit("0000000050") == 7  # 5·3 = 15 → remainder 4 → 7
    assert resident_code_check_digit("0000000005") == 1  # 5·2 = 10 → remainder 10 → 1
    # remainders 0 and 1 give 0
    assert resident_code_check_digit("0000000000") == 0
    assert resident_code_check_digit("0000000006") == 0  # 6·2 = 12 → remainder 1


@given(st.from_regex(r"[0-9]{10}", fullmatch=True))
def test_resident_code_check_digit_follows_the_formula(first_ten: str) -> None:
    total = sum(
        int(d) * (n + 1 if n <= 6 else n - 5) for n, d in enumerate(reversed(first_ten), start=1)
    )
    expected = 0 if total % 11 <= 1 else 11 - total % 11
    assert resident_code_check_digit(first_ten) == expected
    code = with_resident_check_digit(first_ten)
    assert validate_resident_code(code) == code


@given(st.from_regex(r"[0-9]{10}", fullmatch=True), st.integers(0, 9), st.integers(1, 9))
def test_resident_code_single_digit_typos_are_refused(first_ten: str, pos: int, add: int) -> None:
    code = with_resident_check_digit(first_ten)
    typo = code[:pos] + str((int(code[pos]) + add) % 10) + code[pos + 1 :]
    # a changed digit changes the weighted sum by add·weight (weights 2..7, never ≡ 0 mod
    # 11), so the check digit differs, except where both sums fall in the 0-or-1 band
    if resident_code_check_digit(typo[:10]) == int(typo[10]):
        assert {
            sum(int(d) * (n + 1 if n <= 6 else n - 5) for n, d in enumerate(reversed(x), 1)) % 11
            for x in (code[:10], typo[:10])
        } <= {0, 1}
    else:
        with pytest.raises(InvalidIdentifierError, match="検査数字"):
            validate_resident_code(typo)


# ------------------------------------------------------------------ issuing in a town


def test_issued_numbers_skip_non_issuable_sequences(platform: Platform) -> None:
    ctx = make_ctx()
    addressees: list[str] = []
    households: list[str] = []
    for i in range(8):
        event = MoveIn(
            kind=EventKind.DOMESTIC_MOVE_IN,
            effective_date=date(2020, 1, 1 + i),
            previous_address="東京都千代田区千代田1番1号",
            address=AddressIn(address=f"聖籠町大字諏訪山{i + 1}番地"),
            persons=[
                NewPerson(
                    name=f"試験\u3000{i}郎",
                    birth_date=date(1980, 1, 1),
                    sex=Sex.MALE,
                    relationship="世帯主",
                ),
                NewPerson(
                    name=f"試験\u3000{i}子",
                    birth_date=date(1982, 1, 1),
                    sex=Sex.FEMALE,
                    relationship="妻",
                ),
            ],
        )
        with platform.town(TOWN_A) as town:
            result = record_event(town, ctx, event, today=TODAY)
        addressees += result.subjects
        households += result.new_households

    for numbers in (addressees, households):
        for n in numbers:
            assert validate_numbered(n) == n
        sequences = [int(n[:-1]) for n in numbers]
        assert sequences == sorted(sequences)
        assert len(set(sequences)) == len(sequences)
        # Exactly the issuable sequences, in order, from 1: the skipped ones never appear.
        expected = [s for s in range(1, sequences[-1] + 1) if is_issuable_sequence(s)]
        assert sequences == expected
        assert 6 not in sequences
    assert len(addressees) == 16
    assert len(households) == 8
    # 16 addressees needed 17 or more sequence numbers (6 was skipped).
    assert int(addressees[-1][:-1]) > 16
