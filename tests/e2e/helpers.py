"""Data the browser tests look for, taken from the served towns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from lgcloud.register.models import PersonVersion

KATA_TO_HIRA = {c: chr(ord(c) - 0x60) for c in map(chr, range(0x30A1, 0x30F7))}
AS_OF = re.compile(r"データ時点[:：]?(\S+?日\d+時\d+分)")


def hiragana(text: str) -> str:
    return "".join(KATA_TO_HIRA.get(c, c) for c in text)


@dataclass(frozen=True)
class Person:
    number: str
    name: str
    kana: str
    household: str
    household_size: int

    @property
    def surname_kana(self) -> str:
        return self.kana.split("\u3000")[0]


def pick_person(platform: Any, town: str, *, offset: int = 0, min_household: int = 1) -> Person:
    """A current resident whose surname reading is shared by few people (a short list)."""
    with platform.town(town) as t:
        s = t.session
        current = (PersonVersion.is_current.is_(True), PersonVersion.status == "resident")
        sizes = dict(
            s.execute(
                select(PersonVersion.household_number, func.count())
                .where(*current)
                .group_by(PersonVersion.household_number)
            ).all()
        )
        rows = list(s.scalars(select(PersonVersion).where(*current).order_by(PersonVersion.id)))
    rows = [r for r in rows if sizes[r.household_number] >= min_household and "\u3000" in r.kana]
    r = rows[offset % len(rows)]
    return Person(r.addressee_number, r.name, r.kana, r.household_number, sizes[r.household_number])


def as_of_text(text: str) -> str:
    """The データ時点 in a text (screen or PDF), spaces removed: 令和8年11月23日18時05分."""
    m = AS_OF.search(re.sub(r"[ \t\u3000]", "", text))
    assert m, f"no データ時点 in {text[:400]!r}"
    return m.group(1).strip()
