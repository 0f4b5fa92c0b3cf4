"""Synthetic shelter lists for tests and benchmarks: a town's residents written the way a
shelter writes them (hiragana or half-width readings, no spaces, standard kanji for
variant ones, 和暦 dates, ages instead of dates, a digit slipped, blanks), plus visitors
who are not residents, with the truth for scoring. Among the visitors are the hard cases
a wrong 一致 would come from: a resident's exact name with another birth date; a
namesake (son or father) living at the resident's address, born one typing slip away in
the year; and an "absent twin" (same family name, birth date and address, given name and
reading one character different).

Deterministic for a seed. :func:`source_people` reads a town; the rest is pure.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select, true

from lgcloud.core.dates import age_on
from lgcloud.core.wareki import era_of, to_wareki
from lgcloud.generate import names_data as nd
from lgcloud.register.domain import Status
from lgcloud.register.folding import kana_key, name_key, strip_variation_selectors
from lgcloud.register.models import PersonVersion
from lgcloud.safety.matching import COLUMNS, Match, Verdict, _has_ideograph, _one_slip
from lgcloud.tenancy.platform import Town

_STANDARD_OF = {v: std for std, variants in nd.VARIANT_FORMS.items() for v in variants}
_HALF_WIDTH = (
    {unicodedata.normalize("NFKC", chr(cp)): chr(cp) for cp in range(0xFF66, 0xFF9E)}
    | {
        unicodedata.normalize("NFKC", chr(cp) + "\uff9e"): chr(cp) + "\uff9e"
        for cp in range(0xFF66, 0xFF9E)
    }
    | {
        unicodedata.normalize("NFKC", chr(cp) + "\uff9f"): chr(cp) + "\uff9f"
        for cp in range(0xFF8A, 0xFF8F)
    }
)


@dataclass(frozen=True)
class Person:
    number: str
    name: str
    kana: str
    birth: date
    sex: int
    address: str
    district: str
    former: bool = False  # 除票: moved out, died or removed ex officio


@dataclass(frozen=True)
class SyntheticRow:
    values: dict[str, str]
    truth: str | None  # the resident's 宛名番号, None for a visitor
    #: resident / former (a 除票 person) / visitor / same_name_visitor / slip_namesake /
    #: absent_twin / blank
    kind: str


def source_people(town: Town, *, former: bool = False) -> list[Person]:
    """The town's current residents, as the synthetic list writes them; with ``former``
    also the people of its 除票 (moved out, dead), marked ``former``."""
    pv = PersonVersion
    stmt = select(
        pv.addressee_number,
        pv.name,
        pv.kana,
        pv.birth_date,
        pv.sex,
        pv.address,
        pv.district,
        pv.status,
    ).where(pv.is_current == true())
    if not former:
        stmt = stmt.where(pv.status == Status.RESIDENT.value)
    rows = town.session.execute(stmt.order_by(pv.addressee_number))
    return [
        Person(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] != Status.RESIDENT.value)
        for r in rows
    ]


def hiragana(kana: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in kana)


def half_width(kana: str) -> str:
    out = []
    for c in kana:
        out.append(_HALF_WIDTH.get(c, " " if c == "\u3000" else c))
    return "".join(out)


def standard_kanji(name: str) -> str:
    return "".join(_STANDARD_OF.get(c, c) for c in strip_variation_selectors(name))


def _given_first(text: str) -> str:
    """The given name first and no space (山田\u3000太郎 → 太郎山田)."""
    family, _, given = text.partition("\u3000")
    return given + family


def _no_space(text: str) -> str:
    return text.replace("\u3000", "").replace(" ", "")


def _slip(rng: random.Random, d: date) -> date:
    digits = f"{d.year:04d}{d.month:02d}{d.day:02d}"
    for _ in range(100):
        i = rng.choice((3, 5, 6, 7))
        text = digits[:i] + rng.choice("0123456789") + digits[i + 1 :]
        try:
            slipped = date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            continue
        if slipped != d:
            return slipped
    return d + timedelta(days=1)


def _birth_fields(rng: random.Random, d: date, today: date) -> tuple[str, str]:
    """(生年月日, 年齢) as a shelter writes them."""
    x = rng.random()
    fw = str.maketrans("0123456789/", "０１２３４５６７８９／")
    if x < 0.28:
        return d.isoformat(), ""
    if x < 0.42:
        return f"{d.year}/{d.month}/{d.day}", ""
    if x < 0.47:
        return f"{d.year}.{d.month}.{d.day}", ""
    if x < 0.62:
        return to_wareki(d, digits=rng.choice(("ascii", "fullwidth"))), ""
    if x < 0.72:
        era, year = to_wareki(d)[:2], d.year - _era_start(d) + 1
        letter = {"明治": "M", "大正": "T", "昭和": "S", "平成": "H", "令和": "R"}[era]
        sep = rng.choice("./")
        letter = letter.lower() if rng.random() < 0.5 else letter
        return f"{letter}{year}{sep}{d.month}{sep}{d.day}", ""
    if x < 0.79:
        return f"{d.year}/{d.month}/{d.day}".translate(fw), ""
    if x < 0.89:
        age = str(age_on(d, today))
        return "", age.translate(fw) if rng.random() < 0.3 else age
    if x < 0.94:
        return _slip(rng, d).isoformat(), ""
    if x < 0.97:  # a day off: 10-29 → 10-30 and 05-31 → 06-01 change two digits or more
        return (d + timedelta(days=rng.choice((-1, 1)))).isoformat(), ""
    return "", ""


def _era_start(d: date) -> int:
    return era_of(d).start.year


def _misspelt(rng: random.Random, kana: str) -> str:
    """One kana of the reading heard or written wrong (ショウ → ショオ)."""
    spots = [i for i, c in enumerate(kana) if "\u30a1" <= c <= "\u30f6"]
    if not spots:
        return kana
    i = rng.choice(spots)
    return kana[:i] + rng.choice("アイウオカコサシトナノマリ") + kana[i + 1 :]


def _name_fields(rng: random.Random, p: Person) -> tuple[str, str]:
    """(氏名, ふりがな); one row in twenty has a misspelt reading."""
    x = rng.random()
    kana = p.kana or ""
    if rng.random() < 0.05:
        kana = _misspelt(rng, kana)
    if x < 0.2 or not kana:
        return p.name, kana
    if x < 0.4:
        return _no_space(p.name), hiragana(_no_space(kana))
    if x < 0.52:
        return hiragana(kana), ""
    if x < 0.62:
        return half_width(kana), ""
    if x < 0.77:
        return standard_kanji(p.name), rng.choice((hiragana(kana), ""))
    if x < 0.9:
        return _no_space(standard_kanji(p.name)), half_width(kana)
    return p.name, ""


def _sex_field(rng: random.Random, sex: int) -> str:
    x = rng.random()
    if x < 0.4:
        return "男" if sex == 1 else "女"
    if x < 0.6:
        return str(sex)
    if x < 0.7:
        return "M" if sex == 1 else "F"
    return ""


def _address_field(rng: random.Random, p: Person) -> str:
    x = rng.random()
    if x < 0.4:
        return p.address
    if x < 0.7:
        short = p.address.removeprefix("大字").replace("番地", "-")
        return short.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
    if x < 0.75:
        return p.district
    return ""


def _year_slip(rng: random.Random, p: Person, known: set[date], today: date) -> date | None:
    """A birth date one digit off ``p.birth`` in the year (decade or last digit), not
    within a slip or a year of any *other* resident of that name, or ``None``."""
    digits = f"{p.birth.year:04d}{p.birth.month:02d}{p.birth.day:02d}"
    others = [b for b in known if b != p.birth]
    for _ in range(50):
        i = rng.choice((2, 3))
        text = digits[:i] + rng.choice("0123456789") + digits[i + 1 :]
        try:
            born = date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            continue
        if born == p.birth or born > today or born.year < 1900:
            continue
        if all(not _close(born, b) for b in others):
            return born
    return None


def _twin_names(
    rng: random.Random, p: Person, taken: set[tuple[str, date]]
) -> tuple[str, str] | None:
    """(name, kana) of an unregistered twin of ``p``: the given name with one kanji
    changed and the given reading with one kana changed, matching nobody born that day."""
    family, sep, given = p.name.partition("\u3000")
    family_kana, sep_kana, given_kana = (p.kana or "").partition("\u3000")
    if not (sep and sep_kana and given and given_kana):
        return None
    pool = nd.GIVEN_NAMES_MALE if p.sex == 1 else nd.GIVEN_NAMES_FEMALE
    kanji = sorted({c for g in pool for c in g.kanji if _has_ideograph(c)})
    for _ in range(20):
        i = rng.randrange(len(given))
        c = rng.choice(kanji)
        twin_kana = _misspelt(rng, given_kana)
        if c == given[i] or twin_kana == given_kana:
            continue
        name = f"{family}\u3000{given[:i]}{c}{given[i + 1 :]}"
        kana = f"{family_kana}\u3000{twin_kana}"
        if (name_key(name), p.birth) not in taken and (kana_key(kana), p.birth) not in taken:
            return name, kana
    return None


def _written_date(rng: random.Random, d: date) -> str:
    return rng.choice((d.isoformat(), f"{d.year}/{d.month}/{d.day}", to_wareki(d)))


def _own_address(rng: random.Random, p: Person) -> str:
    return rng.choice((p.address, p.address.removeprefix("大字").replace("番地", "-")))


def _hard_visitor(
    rng: random.Random,
    people: Sequence[Person],
    kind: str,
    births_by_name: dict[str, set[date]],
    taken: set[tuple[str, date]],
    today: date,
) -> dict[str, str] | None:
    """A slip_namesake or absent_twin row (at the resident's own address), or ``None``."""
    p = rng.choice(list(people))
    age = ""
    if kind == "slip_namesake":
        name, kana = p.name, p.kana or ""
        born = _year_slip(rng, p, births_by_name.get(name_key(p.name), set()), today)
        if born is None:
            return None
        if rng.random() < 0.25:  # the shelter also wrote the visitor's own age
            age = str(age_on(born, today))
    else:
        names = _twin_names(rng, p, taken)
        if names is None:
            return None
        (name, kana), born = names, p.birth
    return {
        "氏名": rng.choice((name, _no_space(name), standard_kanji(name), hiragana(kana))),
        "ふりがな": rng.choice((kana, hiragana(_no_space(kana)), "")),
        "生年月日": _written_date(rng, born),
        "年齢": age,
        "性別": _sex_field(rng, p.sex),
        "住所": _own_address(rng, p),
        "避難所": "公民館",
        "状態": "無事",
    }


def noisy_evacuees(
    people: Sequence[Person],
    *,
    rows: int,
    today: date,
    seed: int = 1,
    visitor_share: float = 0.1,
    blank_rows: int = 2,
    former_share: float = 0.03,
) -> list[SyntheticRow]:
    """``rows`` shelter rows: residents with noise, ~``visitor_share`` visitors and
    ``blank_rows`` rows without any name; ~``former_share`` of the people rows are former
    residents (when ``people`` holds any: :func:`source_people` with ``former``). Of the
    visitors a third use a resident's exact name with another birth date, a sixth are
    slip namesakes and a sixth absent twins (see the module docstring); the rest have
    random names."""
    # synthetic data: a seeded PRNG is what we want, not crypto
    rng = random.Random(f"lgcloud:safety:{seed}")
    visitors = round(rows * visitor_share)
    current = [p for p in people if not p.former]
    gone = [p for p in people if p.former]
    wanted = rows - visitors - blank_rows
    # former residents (moved out, died since): a shelter lists people, not residents
    formers = rng.sample(gone, min(len(gone), round(wanted * former_share)))
    residents = rng.sample(current, min(len(current), wanted - len(formers))) + formers
    births_by_name: dict[str, set[date]] = {}
    taken: set[tuple[str, date]] = set()
    for p in people:
        births_by_name.setdefault(name_key(p.name), set()).add(p.birth)
        taken |= {(name_key(p.name), p.birth), (kana_key(p.kana or ""), p.birth)}
    out: list[SyntheticRow] = []
    for p in residents:
        name, kana = _name_fields(rng, p)
        birth, age = _birth_fields(rng, p.birth, today)
        if not birth and age and "\u3000" in p.name and rng.random() < 0.3:
            # given name first with no space (太郎山田), and only an age: hard to find
            name, kana = _given_first(p.name), rng.choice(("", hiragana(_given_first(p.kana))))
        values = {
            "氏名": name,
            "ふりがな": kana,
            "生年月日": birth,
            "年齢": age,
            "性別": _sex_field(rng, p.sex),
            "住所": _address_field(rng, p),
            "避難所": rng.choice(("第一小学校体育館", "公民館", "総合体育館")),
            "状態": rng.choice(("無事", "無事", "負傷", "要支援", "")),
        }
        out.append(SyntheticRow(values, p.number, "former" if p.former else "resident"))
    for i in range(visitors):
        if i % 6 in (1, 2) and people:
            kind = "slip_namesake" if i % 6 == 1 else "absent_twin"
            hard = _hard_visitor(rng, people, kind, births_by_name, taken, today)
            if hard is not None:
                out.append(SyntheticRow(hard, None, kind))
                continue
        sex = rng.choice((1, 2))
        if i % 3 == 0 and people:
            namesake = rng.choice(list(people))
            name, kana, sex = namesake.name, namesake.kana, namesake.sex
            kind = "same_name_visitor"
        else:
            fam = rng.choice(nd.FAMILY_NAMES)
            given = rng.choice(nd.GIVEN_NAMES_MALE if sex == 1 else nd.GIVEN_NAMES_FEMALE)
            name, kana = f"{fam.kanji}\u3000{given.kanji}", f"{fam.reading}\u3000{given.reading}"
            kind = "visitor"
        known = births_by_name.get(name_key(name), set())
        while True:
            born = date(1930, 1, 1) + timedelta(days=rng.randrange(365 * 90))
            if all(born != b and not _close(born, b) for b in known):
                break
        values = {
            "氏名": rng.choice((name, _no_space(name), hiragana(kana))),
            "ふりがな": rng.choice((kana, "")),
            "生年月日": born.isoformat() if rng.random() < 0.8 else "",
            "年齢": "",
            "性別": _sex_field(rng, sex),
            "住所": rng.choice((*nd.PREFECTURES_FOR_MOVES[:5], "")),
            "避難所": "公民館",
            "状態": "無事",
        }
        if not values["生年月日"]:
            values["年齢"] = str(age_on(born, today))
        out.append(SyntheticRow(values, None, kind))
    for _ in range(blank_rows):
        values = dict.fromkeys(COLUMNS, "")
        values |= {"生年月日": "1950-01-01", "避難所": "公民館"}
        out.append(SyntheticRow(values, None, "blank"))
    rng.shuffle(out)
    for n, row in enumerate(out, start=1):
        row.values["受付番号"] = f"A{n:05d}"
    return out


def _close(a: date, b: date) -> bool:
    """Within one typing slip or a year of age: a visitor must differ more than that."""
    return _one_slip(a, b) or abs((a - b).days) < 400


def write_evacuees(rows: Sequence[SyntheticRow], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([r.values.get(c, "") for c in COLUMNS])


@dataclass(frozen=True)
class Accuracy:
    residents: int  # rows of people of the register (residents and former residents)
    visitors: int
    matched: int  # 一致 rows
    candidates: int  # 候補 rows
    none: int
    wrong_match: int  # 一致 with the wrong person (or a visitor)
    visitor_match: int
    found: int  # residents 一致 right or among 候補
    rows_by_kind: dict[str, int] = field(default_factory=dict)
    match_by_kind: dict[str, int] = field(default_factory=dict)  # 一致 rows per kind

    @property
    def recall(self) -> float:
        return self.found / self.residents if self.residents else 1.0

    @property
    def missed(self) -> int:
        """People of the register (residents or former) neither 一致 with the right person
        nor listed among the 候補: nobody will look for them."""
        return self.residents - self.found

    @property
    def exact_recall(self) -> float:
        """Share of resident rows that came out 一致 with the right person."""
        return (self.matched - self.wrong_match) / self.residents if self.residents else 0.0


def accuracy(rows: Sequence[SyntheticRow], results: Sequence[Match]) -> Accuracy:
    by_receipt = {m.receipt: m for m in results}
    residents = visitors = matched = cands = none = wrong = vmatch = found = 0
    rows_by_kind: dict[str, int] = {}
    match_by_kind: dict[str, int] = {}
    for r in rows:
        m = by_receipt[r.values["受付番号"]]
        rows_by_kind[r.kind] = rows_by_kind.get(r.kind, 0) + 1
        match_by_kind[r.kind] = match_by_kind.get(r.kind, 0) + (m.verdict is Verdict.MATCH)
        matched += m.verdict is Verdict.MATCH
        cands += m.verdict is Verdict.CANDIDATES
        none += m.verdict is Verdict.NONE
        if m.verdict is Verdict.MATCH and m.number != r.truth:
            wrong += 1
            vmatch += r.truth is None
        if r.truth is None:
            visitors += 1
            continue
        residents += 1
        found += r.truth == m.number or (
            m.verdict is Verdict.CANDIDATES and r.truth in m.candidates
        )
    return Accuracy(
        residents, visitors, matched, cands, none, wrong, vmatch, found, rows_by_kind, match_by_kind
    )
