"""Identifiers and their check digits (pure; no I/O).

- 全国地方公共団体コード (local government code): five digits plus a check digit.
- 宛名番号 (addressee number) and 世帯番号 (household number): a sequence number plus a
  modulus-11 check digit, weights 2–7 repeating from the rightmost digit.
- 住民票コード (resident code): ten digits plus a check digit (住民基本台帳法施行規則 第1条).
- 個人番号 (individual number): eleven digits plus a check digit (番号法施行令 第8条).
"""

from __future__ import annotations

import re

TOWN_CODE_RE = re.compile(r"^[0-9]{6}$")
RESIDENT_CODE_RE = re.compile(r"^[0-9]{11}$")

#: Width of the sequence part of 宛名番号 / 世帯番号; with the check digit a number has 10 digits.
SEQUENCE_WIDTH = 9


class InvalidIdentifierError(ValueError):
    """An identifier is malformed or its check digit is wrong."""


def town_code_check_digit(first_five: str) -> int:
    """Check digit of a 全国地方公共団体コード.

    For digits abcde, S = 6a + 5b + 4c + 3d + 2e and the check digit is the last digit of
    11 − (S mod 11) (so a remainder of 0 gives 11 → 1, and a remainder of 1 gives 10 → 0).
    """
    if not re.fullmatch(r"[0-9]{5}", first_five):
        raise InvalidIdentifierError(f"団体コードの上5桁は数字5桁です: {first_five!r}")
    s = sum(w * int(d) for w, d in zip((6, 5, 4, 3, 2), first_five, strict=True))
    return (11 - s % 11) % 10


def validate_town_code(code: str) -> str:
    """Return ``code`` if it is a valid 6-digit town code, else raise with a clear reason."""
    if not TOWN_CODE_RE.fullmatch(code):
        raise InvalidIdentifierError(f"団体コードは数字6桁です: {code!r}")
    expected = town_code_check_digit(code[:5])
    if int(code[5]) != expected:
        raise InvalidIdentifierError(
            f"団体コード {code} の検査数字が正しくありません (正しくは {code[:5]}{expected})"
        )
    return code


def mod11_remainder(digits: str) -> int:
    """Σ digit × weight mod 11, weights 2,3,4,5,6,7,2,3,… from the rightmost digit."""
    total = 0
    for i, d in enumerate(reversed(digits)):
        total += int(d) * (2 + i % 6)
    return total % 11


def mod11_check_digit(digits: str) -> int | None:
    """Modulus-11 check digit for ``digits``, or None when no single digit exists.

    check = 11 − remainder; a remainder of 0 gives 0. A remainder of 1 would give 10,
    which is not a digit. Our rule for remainder 1: such a sequence number is never issued
    (the allocator skips it), so every issued number has exactly one valid check digit and
    a single-digit typo is always detected. This function returns None for that case.
    """
    if not digits.isdigit() or not digits.isascii():
        raise InvalidIdentifierError(f"数字ではありません: {digits!r}")
    r = mod11_remainder(digits)
    if r == 0:
        return 0
    if r == 1:
        return None
    return 11 - r


def is_issuable_sequence(seq: int) -> bool:
    """Whether sequence number ``seq`` can be issued (its check digit exists)."""
    return mod11_check_digit(f"{seq:0{SEQUENCE_WIDTH}d}") is not None


def format_numbered(seq: int) -> str:
    """Sequence number → 10-digit number with check digit. Raises for skipped sequences."""
    if seq <= 0 or seq >= 10**SEQUENCE_WIDTH:
        raise InvalidIdentifierError(f"連番が範囲外です: {seq}")
    body = f"{seq:0{SEQUENCE_WIDTH}d}"
    check = mod11_check_digit(body)
    if check is None:
        raise InvalidIdentifierError(f"連番 {seq} は検査数字が定まらないため発番しません")
    return f"{body}{check}"


def validate_numbered(number: str, label: str = "番号") -> str:
    """Validate a 宛名番号 / 世帯番号 (10 digits, last is the modulus-11 check digit)."""
    if not re.fullmatch(f"[0-9]{{{SEQUENCE_WIDTH + 1}}}", number):
        raise InvalidIdentifierError(f"{label}は数字{SEQUENCE_WIDTH + 1}桁です: {number!r}")
    check = mod11_check_digit(number[:-1])
    if check is None or check != int(number[-1]):
        raise InvalidIdentifierError(f"{label} {number} の検査数字が正しくありません")
    return number


def _weighted_check_digit(digits: str) -> int:
    """11 − (Σ P(n)·Q(n) mod 11), or 0 when the remainder is 0 or 1; P(n) is the n-th digit
    from the right and Q(n) = n + 1 for n ≤ 6, n − 5 for n ≥ 7. The algorithm of both the
    住民票コード and the 個人番号 (only their lengths differ)."""
    total = 0
    for n, d in enumerate(reversed(digits), start=1):
        total += int(d) * (n + 1 if n <= 6 else n - 5)
    r = total % 11
    return 0 if r <= 1 else 11 - r


def resident_code_check_digit(first_ten: str) -> int:
    """Check digit of a 住民票コード: 住民基本台帳法施行規則 第1条第2号 and the formula of
    平成14年総務省告示第436号 (the weights of :func:`_weighted_check_digit` over ten digits)."""
    if not re.fullmatch(r"[0-9]{10}", first_ten):
        raise InvalidIdentifierError(f"住民票コードの上10桁は数字10桁です: {first_ten!r}")
    return _weighted_check_digit(first_ten)


def validate_resident_code(code: str) -> str:
    """住民票コード: eleven digits, the last the check digit of the first ten (a code read
    from a file or typed at the counter with one digit wrong is refused here)."""
    if not RESIDENT_CODE_RE.fullmatch(code):
        raise InvalidIdentifierError(f"住民票コードは数字11桁です: {code!r}")
    expected = resident_code_check_digit(code[:10])
    if int(code[10]) != expected:
        raise InvalidIdentifierError(
            f"住民票コード {code} の検査数字が正しくありません (上10桁からは {expected})"
        )
    return code


def with_resident_check_digit(first_ten: str) -> str:
    """The eleven-digit 住民票コード made of ``first_ten`` and its check digit."""
    return f"{first_ten}{resident_code_check_digit(first_ten)}"


def individual_number_check_digit(first_eleven: str) -> int:
    """Check digit of a 個人番号 (My Number), per 施行令第8条.

    With P(n) the n-th digit from the right of the first eleven digits and Q(n) = n + 1
    for n ≤ 6, n − 5 for n ≥ 7: check = 11 − (Σ P(n)·Q(n) mod 11), or 0 when the
    remainder is 0 or 1.
    """
    if not re.fullmatch(r"[0-9]{11}", first_eleven):
        raise InvalidIdentifierError(f"個人番号の上11桁は数字11桁です: {first_eleven!r}")
    return _weighted_check_digit(first_eleven)


def validate_individual_number(number: str) -> str:
    """個人番号: 12 digits, the last a check digit."""
    if not re.fullmatch(r"[0-9]{12}", number):
        raise InvalidIdentifierError(f"個人番号は数字12桁です: {number!r}")
    if individual_number_check_digit(number[:11]) != int(number[11]):
        raise InvalidIdentifierError("個人番号の検査用数字が正しくありません")
    return number
