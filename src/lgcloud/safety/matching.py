"""Matching shelter evacuee lists against the resident register (安否確認): pure domain code.

Nothing here does I/O. :func:`read_evacuee` turns one messy row of evacuees.csv into an
:class:`Evacuee` (folded name and reading keys, birth date, age, sex, address);
:class:`ResidentIndex` holds the town's current residents with blocking indexes and
decides, for each evacuee, 一致 / 候補 / 不一致 (see docs/safety.md for the reasoning).

Scoring (0–100, higher is better) adds up evidence for one candidate:

* name, up to 50 points: ``50 × sim²`` where ``sim`` (0–1) is the rapidfuzz ratio of the
  folded keys (kanji name vs ``name_key``, reading vs ``kana_key``; the mean when both are
  known, ×0.96 when only one is); family/given swapped scores ×0.9, given name only ×0.6;
* birth, up to 35: exact date 35, a one-digit typing slip or day/month swap 22, 年齢
  consistent with the birth date 12 (±1 year: 8); a date or age that contradicts −30 / −20
  (a 年齢 more than a year off contradicts even next to a matching date);
* sex, 5 when equal, −15 when different;
* address, up to 10: rapidfuzz ``partial_ratio`` of the written address against 住所+方書,
  weighted down for very short text (a district name alone says little).

一致 needs a high score, a clear margin over the next candidate *and* strong evidence:
the written name equal to the resident's in at least one channel after folding, with
the other written channel (if any) not disagreeing, and the exact birth date — or a slip
in month/day only, backed by the address; a slip that changes the year never gives 一致.
Anything less is at most 候補. A wrong 一致 could report someone safe who is not.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import cache, cached_property
from typing import Final

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from lgcloud.core.dates import age_on
from lgcloud.core.wareki import parse_wareki
from lgcloud.register.folding import kana_key, name_key

__all__ = [
    "CANDIDATE_MIN_SCORE",
    "COLUMNS",
    "MATCH_MARGIN",
    "MATCH_MIN_SCORE",
    "MAX_CANDIDATES",
    "OUTPUT_COLUMNS",
    "Evacuee",
    "Match",
    "ResidentIndex",
    "ResidentRecord",
    "Verdict",
    "dates_near",
    "normalize_address",
    "parse_age",
    "parse_birth_date",
    "parse_sex",
    "read_evacuee",
    "standing",
]

COLUMNS: Final = (
    "受付番号",
    "氏名",
    "ふりがな",
    "生年月日",
    "年齢",
    "性別",
    "住所",
    "避難所",
    "状態",
)
OUTPUT_COLUMNS: Final = ("受付番号", "判定", "宛名番号", "スコア", "候補")

#: 一致 needs at least this score …
MATCH_MIN_SCORE: Final = 85
#: … and at least this many points more than the next candidate.
MATCH_MARGIN: Final = 12
#: Below this nobody is proposed (不一致).
CANDIDATE_MIN_SCORE: Final = 40
#: Candidates listed for 候補, best first.
MAX_CANDIDATES: Final = 5
#: A candidate more than this far below the best is not listed.
CANDIDATE_SPREAD: Final = 30

# rapidfuzz score cut-offs (0–100) for candidate retrieval by name and by reading.
_RETRIEVE_CUTOFF: Final = 60
_RETRIEVE_LIMIT: Final = 25


class Verdict(StrEnum):
    MATCH = "一致"
    CANDIDATES = "候補"
    NONE = "不一致"


# ------------------------------------------------------------------------------ parsers

_ISO_LIKE: Final = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT: Final = re.compile(r"(\d{4})(\d{2})(\d{2})")


def parse_birth_date(text: str) -> date | None:
    """A birth date as written at a shelter; ``None`` when blank.

    Accepts ISO ``1970-03-02``, ``1970/3/2``, ``1970.3.2``, ``1970年3月2日``, ``19700302``
    and 和暦 (``昭和45年3月2日``, ``S45.3.2``, ``s45/3/2``, ``H``/``R``/``T``/``M``, 元年,
    kanji numerals) via :func:`lgcloud.core.wareki.parse_wareki`; full-width digits
    anywhere. Raises ``ValueError`` (message for a clerk) when the text is not a real date.
    """
    normalized = unicodedata.normalize("NFKC", text).strip()
    if not normalized:
        return None
    match = _ISO_LIKE.fullmatch(normalized) or _COMPACT.fullmatch(normalized)
    if match is not None:
        year, month, day = (int(g) for g in match.groups())
        try:
            return date(year, month, day)
        except ValueError:
            raise ValueError(f"生年月日がありえない日付です: 「{text}」") from None
    return parse_wareki(normalized)  # raises ValueError with its own message


_AGE: Final = re.compile(r"(\d{1,3})\s*(?:歳|才)?")


def parse_age(text: str) -> int | None:
    """年齢 in years (``75``, ``７５``, ``75歳``); ``None`` when blank; ``ValueError`` for junk."""
    normalized = unicodedata.normalize("NFKC", text).strip()
    if not normalized:
        return None
    match = _AGE.fullmatch(normalized)
    if match is None or int(match.group(1)) > 130:
        raise ValueError(f"年齢が読めません: 「{text}」")
    return int(match.group(1))


_SEX: Final[Mapping[str, int]] = {
    "1": 1,
    "2": 2,
    "男": 1,
    "女": 2,
    "男性": 1,
    "女性": 2,
    "M": 1,
    "F": 2,
    "MALE": 1,
    "FEMALE": 2,
}


def parse_sex(text: str) -> int | None:
    """性別 as 1 (male) / 2 (female); ``None`` when blank or unreadable (not evidence)."""
    return _SEX.get(unicodedata.normalize("NFKC", text).strip().upper())


_ADDRESS_DROP: Final = re.compile(r"\s+|大字|字")
_ADDRESS_DASH: Final = re.compile(r"番地の?|丁目|番|号|の|[‐‑‒–—―−－-]+")


def normalize_address(text: str) -> str:
    """An address folded for fuzzy comparison: width, 大字/字 and spaces dropped,
    番地/番/号/丁目/の and dashes as ``-`` (``大字蓮野123番地4`` → ``蓮野123-4``)."""
    folded = _ADDRESS_DROP.sub("", unicodedata.normalize("NFKC", text))
    # the name key folds variant kanji (髙→高) but drops hyphens: mark them first
    folded = name_key(_ADDRESS_DASH.sub("#", folded)).replace("#", "-")
    return re.sub(r"-+", "-", folded).strip("-")


def _has_ideograph(text: str) -> bool:
    return any(
        0x3400 <= ord(ch) <= 0x9FFF or 0xF900 <= ord(ch) <= 0xFAFF or ord(ch) >= 0x20000
        for ch in text
    )


def _parts(text: str) -> tuple[str, str] | None:
    """(family, given) when the text separates them with a space, else None."""
    pieces = unicodedata.normalize("NFKC", text).split()
    if len(pieces) == 2:
        return pieces[0], pieces[1]
    return None


# ------------------------------------------------------------------------------ records


def standing(
    removal_reason: str,
    removed_on: date | None,
    destination: str,
    resident_since: date | None,
    as_of: date,
) -> str:
    """What a clerk must know of a person found besides the match: 転出済 (when, where
    to), 死亡 (when), another removal, or not yet a resident on ``as_of`` (the disaster
    date); "" for a resident then and now."""
    if removal_reason:
        on = removed_on.isoformat() if removed_on else "日付不明"
        if removal_reason == "死亡":
            return f"死亡 ({on})"
        if removal_reason in ("転出", "国外転出"):
            to = f"、{destination}" if destination else ""
            return f"{removal_reason}済 ({on}{to})"
        return f"{removal_reason} ({on})"
    if resident_since is not None and resident_since > as_of:
        return f"基準日 {as_of.isoformat()} には住民でない ({resident_since.isoformat()} から住民)"
    return ""


@dataclass(frozen=True)
class ResidentRecord:
    """What the matcher needs of one current resident (keys as stored in person_versions)."""

    number: str
    name_key: str
    given_name_key: str
    kana_key: str
    given_kana_key: str
    birth: date
    sex: int
    address: str  # 住所 + 方書, as registered
    #: where the person stands in the register now: "" for a resident, else the removal
    #: (転出, 国外転出, 死亡, 職権消除) with its date and, for a move, where to
    removal_reason: str = ""
    removed_on: date | None = None
    destination: str = ""
    resident_since: date | None = None

    def standing(self, as_of: date) -> str:
        """See :func:`standing`."""
        return standing(
            self.removal_reason, self.removed_on, self.destination, self.resident_since, as_of
        )

    # computed once per person: every row whose birth date is near scores them again
    @cached_property
    def family_name_key(self) -> str:
        return _family(self.name_key, self.given_name_key)

    @cached_property
    def family_kana_key(self) -> str:
        return _family(self.kana_key, self.given_kana_key)

    @cached_property
    def swapped_name_key(self) -> str:
        """The name given name first (太郎山田), "" when it has no given name."""
        return self.given_name_key + self.family_name_key if self.given_name_key else ""

    @cached_property
    def swapped_kana_key(self) -> str:
        return self.given_kana_key + self.family_kana_key if self.given_kana_key else ""


def _family(full: str, given: str) -> str:
    return full[: len(full) - len(given)] if given and full.endswith(given) else full


@dataclass(frozen=True)
class Evacuee:
    """One row of evacuees.csv, interpreted. Keys are folded; blank means not known."""

    receipt: str
    row: int
    name_key: str = ""  # kanji (or Latin) name, folded, no spaces; "" for a kana-only name
    kana_key: str = ""  # reading (from ふりがな, or from a name written in kana)
    name_parts: tuple[str, str] | None = None  # (family, given) name keys, when spaced
    kana_parts: tuple[str, str] | None = None
    birth: date | None = None
    age: int | None = None
    sex: int | None = None
    address: str = ""  # normalize_address()
    notes: tuple[str, ...] = ()  # fields that could not be read (kept for the report)

    @property
    def interpretable(self) -> bool:
        return bool(self.name_key or self.kana_key)


def read_evacuee(receipt: str, row: int, values: Mapping[str, str]) -> Evacuee:
    """Interpret one row (column → text). Never raises: unreadable fields become notes."""

    def get(column: str) -> str:
        return (values.get(column) or "").strip()

    notes: list[str] = []
    raw_name, raw_kana = get("氏名"), get("ふりがな")
    name_k = kana_from_name = ""
    name_parts = kana_parts = None
    if raw_name:
        # NFKC first: full-width Latin (ＮＧＵＹＥＮ) is Latin, not a reading
        script = unicodedata.normalize("NFKC", raw_name)
        if _has_ideograph(script) or any(ch.isascii() and ch.isalpha() for ch in script):
            name_k = name_key(raw_name)
            p = _parts(raw_name)
            name_parts = (name_key(p[0]), name_key(p[1])) if p else None
        else:  # written in kana: that is a reading
            kana_from_name = kana_key(raw_name)
            p = _parts(raw_name)
            kana_parts = (kana_key(p[0]), kana_key(p[1])) if p else None
    kana_k = kana_key(raw_kana) if raw_kana else kana_from_name
    if raw_kana:
        p = _parts(raw_kana)
        kana_parts = (kana_key(p[0]), kana_key(p[1])) if p else kana_parts
    birth = age = None
    try:
        birth = parse_birth_date(get("生年月日"))
    except ValueError as e:
        notes.append(str(e))
    try:
        age = parse_age(get("年齢"))
    except ValueError as e:
        notes.append(str(e))
    sex = parse_sex(get("性別"))
    if get("性別") and sex is None:
        notes.append(f"性別が読めません: 「{get('性別')}」")
    return Evacuee(
        receipt=receipt,
        row=row,
        name_key=name_k,
        kana_key=kana_k,
        name_parts=name_parts,
        kana_parts=kana_parts,
        birth=birth,
        age=age,
        sex=sex,
        address=normalize_address(get("住所")),
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class Match:
    """The decision for one evacuee: a row of matches.csv plus a reason for people."""

    receipt: str
    verdict: Verdict
    number: str  # 宛名番号, only for 一致
    score: int  # of the best candidate, 0–100
    candidates: tuple[str, ...] = ()  # best first (for 一致 the matched person only)
    reason: str = ""
    #: for 一致, the person's standing when not a resident (ResidentRecord.standing)
    standing: str = ""

    def row(self) -> list[str]:
        listed = ";".join(self.candidates) if self.verdict is Verdict.CANDIDATES else ""
        return [self.receipt, self.verdict.value, self.number, str(self.score), listed]


# ------------------------------------------------------------------------------ scoring


@dataclass(frozen=True)
class _Scored:
    index: int
    score: float
    name_sim: float
    birth: str  # exact / slip / slip_year / age / age1 / none / contradicts
    address: float
    name_equal: bool = False  # see _name_evidence
    sex_differs: bool = False


def _ratio(a: str, b: str) -> float:
    return fuzz.ratio(a, b) / 100.0 if a and b else 0.0


def _channel(
    query: str, parts: tuple[str, str] | None, full: str, given: str, family: str
) -> float:
    """Similarity of one channel (name or reading) allowing swapped or given-only writing."""
    best = _ratio(query, full)
    if given and family:
        best = max(best, 0.9 * _ratio(query, given + family))
        if parts is not None:
            best = max(best, 0.9 * _ratio(parts[1] + parts[0], full))
        best = max(best, 0.6 * _ratio(query, given))
    return best


def _channel_equal(
    query: str, parts: tuple[str, str] | None, full: str, given: str, family: str
) -> bool:
    """The whole written name equals the resident's (after folding), possibly swapped."""
    if query == full:
        return True
    if given and family:
        return query == given + family or (parts is not None and parts[1] + parts[0] == full)
    return False


#: When both name and reading were written, the one that is not equal must be at least
#: this similar for 一致 (one wrong kanji or kana in a short name is well below).
_OTHER_CHANNEL_MIN: Final = 0.95


def _one_kana_off(query: str, full: str, given: str, family: str) -> bool:
    """The written reading is one kana away from the resident's, whole or swapped: one
    mora misheard or miswritten (ショウ/ショオ, ユウコ/ユコ)."""
    targets = [full, given + family] if given and family else [full]
    return any(Levenshtein.distance(query, t, score_cutoff=1) <= 1 for t in targets)


def _name_evidence(e: Evacuee, r: ResidentRecord) -> tuple[float, bool]:
    """(similarity 0–1, equal): ``equal`` when at least one written channel (kanji/Latin
    name or reading) equals the resident's exactly after folding, and no other written
    channel disagrees (similarity below 0.95) — except a reading one kana off next to an
    equal kanji name: readings are heard, kanji copied from a card. Only an equal name can
    give 一致."""
    channels: list[tuple[float, bool]] = []
    name_equal = False
    if e.name_key and r.name_key:
        args = (e.name_key, e.name_parts, r.name_key, r.given_name_key, r.family_name_key)
        name_equal = _channel_equal(*args)
        channels.append((_channel(*args), name_equal))
    if e.kana_key and r.kana_key:
        args = (e.kana_key, e.kana_parts, r.kana_key, r.given_kana_key, r.family_kana_key)
        kana_equal = _channel_equal(*args)
        misheard = (
            name_equal
            and not kana_equal
            and _one_kana_off(e.kana_key, r.kana_key, r.given_kana_key, r.family_kana_key)
        )
        channels.append((_channel(*args), kana_equal or misheard))
    if not channels:
        return 0.0, False
    equal = any(eq for _, eq in channels) and all(
        eq or sim >= _OTHER_CHANNEL_MIN for sim, eq in channels
    )
    if len(channels) == 1:
        return 0.96 * channels[0][0], equal
    return (channels[0][0] + channels[1][0]) / 2, equal


@cache
def _digits(d: date) -> str:
    """YYYYMMDD (cached: the register's birth dates are compared over and over)."""
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


def _one_slip(a: date, b: date) -> bool:
    """One digit of YYYYMMDD different, two adjacent digits swapped, or day/month swapped."""
    x, y = _digits(a), _digits(b)
    diff = [i for i in range(8) if x[i] != y[i]]
    if len(diff) == 1:
        return True
    if len(diff) == 2 and diff[1] == diff[0] + 1 and x[diff[0]] == y[diff[1]]:
        return x[diff[1]] == y[diff[0]]
    return a.year == b.year and a.month == b.day and a.day == b.month


def _slip_variants(d: date) -> set[str]:
    """YYYYMMDD of the dates one typing slip or one day away from ``d`` (for blocking;
    strings that are no date simply find nobody)."""
    digits = _digits(d)
    texts = {_digits(d + timedelta(days=1)), _digits(d - timedelta(days=1))}
    for i in range(8):
        head, tail = digits[:i], digits[i + 1 :]
        texts.update(head + c + tail for c in "0123456789")
        if i < 7:
            texts.add(head + digits[i + 1] + digits[i] + digits[i + 2 :])
    texts.add(f"{d.year:04d}{d.day:02d}{d.month:02d}")
    texts.discard(digits)
    return texts


def dates_near(d: date) -> set[date]:
    """``d`` and the real dates one typing slip or one day away from it: the birth dates
    a person who states ``d`` may be registered with."""
    out = {d}
    for text in _slip_variants(d):
        try:
            out.add(date(int(text[:4]), int(text[4:6]), int(text[6:])))
        except ValueError:
            continue
    return out


def _birth_evidence(e: Evacuee, r: ResidentRecord, today: date) -> tuple[str, float]:
    """(kind, points). A written 年齢 more than a year off the resident's age contradicts
    even when a birth date is written too: the stronger negative wins."""
    age_gap = abs(age_on(r.birth, today) - e.age) if e.age is not None else None
    if e.birth is not None:
        next_day = abs((e.birth - r.birth).days) == 1  # 10-29 → 10-30, 05-31 → 06-01
        if e.birth != r.birth and not next_day and not _one_slip(e.birth, r.birth):
            return "contradicts", -30.0
        if age_gap is not None and age_gap > 1:
            return "contradicts", -20.0
        if e.birth == r.birth:
            return "exact", 35.0
        if next_day:  # a day off, however many digits it changes (even across a new year)
            return "day", 22.0
        # a slip that changes the year may be another person (a namesake son or father)
        return ("slip" if e.birth.year == r.birth.year else "slip_year"), 22.0
    if age_gap is not None:
        if age_gap == 0:
            return "age", 12.0
        if age_gap == 1:  # 数え年, or the age as of the last new year
            return "age1", 8.0
        return "contradicts", -20.0
    return "none", 0.0


def _address_similarity(e: Evacuee, r_address: str) -> float:
    if not e.address or not r_address:
        return 0.0
    pr = fuzz.partial_ratio(e.address, r_address)
    weight = min(1.0, len(e.address) / 6)  # a district name alone says little
    return max(0.0, (pr - 60) / 40) * weight


# ------------------------------------------------------------------------------ the index


@dataclass
class _KeyBlock:
    """Distinct name and reading keys of a set of residents, for fuzzy retrieval."""

    by_name: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_kana: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    names: list[str] = field(default_factory=list)
    kanas: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, residents: list[ResidentRecord], members: Iterable[int]) -> _KeyBlock:
        block = cls()
        for i in members:
            r = residents[i]
            # each name also given name first, as a list writes it with no space between
            # (太郎山田): a fuzzy ratio against the family-first key is too low to find it
            if r.name_key:
                block.by_name[r.name_key].append(i)
                swapped = r.given_name_key + r.family_name_key
                if r.given_name_key and swapped != r.name_key:
                    block.by_name[swapped].append(i)
            if r.kana_key:
                block.by_kana[r.kana_key].append(i)
                swapped = r.given_kana_key + r.family_kana_key
                if r.given_kana_key and swapped != r.kana_key:
                    block.by_kana[swapped].append(i)
        block.names, block.kanas = list(block.by_name), list(block.by_kana)
        return block


#: the keys of a person the name prefilter reads in bulk (ResidentIndex._keys)
_KEY_ATTRIBUTES: Final = (
    "name_key",
    "swapped_name_key",
    "given_name_key",
    "kana_key",
    "swapped_kana_key",
    "given_kana_key",
)
#: a row with more people born near its date than this has them filtered by name in C first
_PREFILTER_ABOVE: Final = 6


def _alike(query: str, choices: Mapping[int, str], cutoff: float) -> set[int]:
    """The keys of ``choices`` whose ratio against ``query`` is at least ``cutoff``."""
    found = process.extract(
        query, choices, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None, processor=None
    )
    return {key for _, _, key in found}


def _fuzzy(query: str, choices: list[str], keys: dict[str, list[int]]) -> set[int]:
    found: set[int] = set(keys.get(query, ()))
    for choice, _score, _pos in process.extract(
        query, choices, scorer=fuzz.ratio, score_cutoff=_RETRIEVE_CUTOFF, limit=_RETRIEVE_LIMIT
    ):
        found.update(keys[choice])
    return found


@dataclass
class ResidentIndex:
    """The town's current residents with blocking indexes: by birth date, by birth year
    (for 年齢), by exact given-name keys, and the distinct name/reading keys for fuzzy
    retrieval."""

    today: date
    residents: list[ResidentRecord] = field(default_factory=list)
    _by_birth: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    _by_year: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    _by_given_name: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    _by_given_kana: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    _addresses: dict[int, str] = field(default_factory=dict)  # normalised when first scored
    _all: _KeyBlock = field(default_factory=_KeyBlock)
    _by_year_block: dict[int, _KeyBlock] = field(default_factory=dict)
    #: each person's keys by attribute name, as lists over the index (read in bulk)
    _keys: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, residents: Iterable[ResidentRecord], today: date) -> ResidentIndex:
        index = cls(today)
        for i, r in enumerate(residents):
            index.residents.append(r)
            index._by_birth[_digits(r.birth)].append(i)
            index._by_year[r.birth.year].append(i)
            if r.given_name_key:
                index._by_given_name[r.given_name_key].append(i)
            if r.given_kana_key:
                index._by_given_kana[r.given_kana_key].append(i)
        index._all = _KeyBlock.of(index.residents, range(len(index.residents)))
        for attribute in _KEY_ATTRIBUTES:
            index._keys[attribute] = [getattr(r, attribute) for r in index.residents]
        return index

    def __len__(self) -> int:
        return len(self.residents)

    # -- blocking
    def _year_block(self, year: int) -> _KeyBlock:
        """The keys of the people born in ``year`` (cached per year: an age covers three
        or four years, and each person is in one block only)."""
        block = self._by_year_block.get(year)
        if block is None:
            block = _KeyBlock.of(self.residents, self._by_year.get(year, ()))
            self._by_year_block[year] = block
        return block

    def _address_of(self, i: int) -> str:
        address = self._addresses.get(i)
        if address is None:
            address = self._addresses[i] = normalize_address(self.residents[i].address)
        return address

    def _birth_compatible(self, e: Evacuee, i: int) -> bool:
        r = self.residents[i]
        if e.age is not None:
            return abs(age_on(r.birth, self.today) - e.age) <= 1
        return False

    def candidates_of(self, e: Evacuee) -> set[int]:
        """Residents worth scoring for ``e``.

        With a birth date: everyone born that day or one typing slip away, and nobody
        else (a contradicting birth date costs 30 points, so such a person could never be
        listed). With only 年齢: similar names and readings (rapidfuzz over the distinct
        keys) among people of that age ±1, plus given-name-only matches. With neither:
        similar names and readings among everyone.
        """
        found: set[int] = set()
        if e.birth is not None:
            by_birth = self._by_birth
            found.update(by_birth.get(_digits(e.birth), ()))
            for text in _slip_variants(e.birth):
                found.update(by_birth.get(text, ()))
            return found
        if e.age is not None:  # the years of birth an age ±1 covers, then the exact filter
            years = range(self.today.year - e.age - 2, self.today.year - e.age + 2)
            blocks = [self._year_block(y) for y in years]
        else:
            blocks = [self._all]
        # the blocks hold every key both ways round (太郎山田 too), so the row's own
        # order is enough: its swapped order would find the same people
        for block in blocks:
            if e.name_key:
                found |= _fuzzy(e.name_key, block.names, block.by_name)
            if e.kana_key:
                found |= _fuzzy(e.kana_key, block.kanas, block.by_kana)
        if e.age is not None:
            found = {i for i in found if self._birth_compatible(e, i)}
        given = set(self._by_given_name.get(e.name_key, ())) | set(
            self._by_given_kana.get(e.kana_key, ())
        )
        found.update(i for i in given if self._birth_compatible(e, i))
        return found

    def _named_alike(self, e: Evacuee, found: set[int]) -> set[int]:
        """Of the people born near the row's date (``found``), those worth scoring: all
        born that very day (the exact date at the written address is listable with any
        name), and the others whose name could reach the listing threshold (similarity
        0.5) in some written channel. A channel's similarity (:func:`_channel`) is at most
        the ratio of the written key against the person's key either way round (or of the
        row's swapped parts against it), or 0.6 of the ratio against the given name, so
        the bound is taken for all of them at once in C (rapidfuzz): scoring every person
        born within a typing slip in Python was most of a long list's time, for people
        with another name. Nobody left out could be listed, be a rival, or change the
        margin of a match (their score is below 50; a match needs 85 and a 12-point lead)."""
        assert e.birth is not None
        keep = set(self._by_birth.get(_digits(e.birth), ()))
        rest = found - keep
        keys = self._keys
        for query, parts, full_of, swapped_of, given_of in (
            (e.name_key, e.name_parts, "name_key", "swapped_name_key", "given_name_key"),
            (e.kana_key, e.kana_parts, "kana_key", "swapped_kana_key", "given_kana_key"),
        ):
            if not query or not rest:
                continue
            full_keys, swapped_keys, given_keys = keys[full_of], keys[swapped_of], keys[given_of]
            full = {i: full_keys[i] for i in rest}
            close = _alike(query, full, 50) | _alike(query, {i: swapped_keys[i] for i in rest}, 50)
            if parts is not None:
                close |= _alike(parts[1] + parts[0], full, 50)
            close |= _alike(query, {i: given_keys[i] for i in rest}, 83)
            keep |= close
            rest -= close
        return keep

    # -- scoring and deciding
    def score(self, e: Evacuee, i: int) -> _Scored:
        r = self.residents[i]
        sim, equal = _name_evidence(e, r)
        birth_kind, birth_points = _birth_evidence(e, r, self.today)
        address = _address_similarity(e, self._address_of(i)) if e.address else 0.0
        points = 50 * sim * sim + birth_points + 10 * address
        if e.sex is not None:
            points += 5 if e.sex == r.sex else -15
        differs = e.sex is not None and e.sex != r.sex
        return _Scored(i, max(0.0, min(100.0, points)), sim, birth_kind, address, equal, differs)

    def _listable(self, s: _Scored) -> bool:
        # some name evidence, or the exact birth date at the written address
        return s.score >= CANDIDATE_MIN_SCORE and (
            s.name_sim >= 0.5 or (s.birth == "exact" and s.address >= 0.8)
        )

    def _confident(self, s: _Scored) -> bool:
        """Strong enough evidence for 一致, were this person the only one it could be:
        the name equal, no sex written against it, and the exact birth date — or, with
        the written address agreeing with the registered one, a slip in month or day, a
        date one day off, or the exact age. A slip that changes the year may be a namesake
        son or father, an age one year off is 数え年 or a namesake: never 一致; nor a name
        without any birth data."""
        if not s.name_equal or s.name_sim < 0.85 or s.sex_differs:
            return False
        if s.birth == "exact":
            return True
        if s.birth == "age":  # 年齢 equal to the age on the reference date, at home's address
            return s.address >= 0.8
        return s.birth in ("slip", "day") and s.name_sim >= 0.95 and s.address >= 0.8

    @staticmethod
    def _rival(s: _Scored) -> bool:
        """Another person the row could also be: a similar name and a birth date (or
        age) the row does not contradict."""
        return (s.name_equal or s.name_sim >= 0.85) and s.birth != "contradicts"

    def match(self, e: Evacuee) -> Match:
        """一致 when the best candidate's evidence is strong (:meth:`_confident`) and it
        stands alone: nobody else is a rival (:meth:`_rival`), or, when someone is, the
        best scores at least :data:`MATCH_MIN_SCORE` and :data:`MATCH_MARGIN` more than
        the next. So an exact folded name and exact birth date, unique in the register,
        is 一致 whatever else was left blank."""
        if not e.interpretable:
            return Match(
                e.receipt, Verdict.NONE, "", 0, reason="氏名もふりがなもないため照合できません"
            )
        found = self.candidates_of(e)
        if e.birth is not None and len(found) > _PREFILTER_ABOVE:
            found = self._named_alike(e, found)
        scored = sorted(
            (self.score(e, i) for i in found),
            key=lambda s: (-s.score, self.residents[s.index].number),
        )
        if not scored:
            return Match(e.receipt, Verdict.NONE, "", 0, reason="候補がありません")
        best = scored[0]
        top = round(best.score)
        runner_up = scored[1].score if len(scored) > 1 else 0.0
        listed = [
            s for s in scored if self._listable(s) and s.score >= best.score - CANDIDATE_SPREAD
        ][:MAX_CANDIDATES]
        numbers = tuple(self.residents[s.index].number for s in listed)
        alone = not any(self._rival(s) for s in scored[1:]) or (
            best.score >= MATCH_MIN_SCORE and best.score - runner_up >= MATCH_MARGIN
        )
        if self._confident(best) and alone:
            record = self.residents[best.index]
            standing = record.standing(self.today)
            return Match(
                e.receipt, Verdict.MATCH, record.number, top, (record.number,), "", standing
            )
        if listed:
            reason = (
                "同点に近い候補があります" if self._confident(best) else "確かな一致ではありません"
            )
            return Match(e.receipt, Verdict.CANDIDATES, "", top, numbers, reason)
        return Match(e.receipt, Verdict.NONE, "", top, reason="十分に近い住民がいません")
