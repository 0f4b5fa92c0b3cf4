"""Names and addresses no installed font can print, known before the counter meets them.

A certificate refuses a value the font chain cannot draw (documents.render.FontChain); a
record the counter cannot certify should be known when it is entered, not when a resident
is waiting. So life events return the fields they wrote that no font prints (a warning:
the record is true, only unprintable), imports list them per row (or refuse them with
``strict``), and :func:`report` lists every current resident's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import select

from lgcloud.register.domain import PersonState
from lgcloud.register.glyphs import glyphs_of
from lgcloud.register.models import PersonVersion
from lgcloud.tenancy.platform import Town

#: the register's fields certificates print, with their Japanese names
PRINTED_FIELDS: dict[str, str] = {
    "name": "氏名",
    "address": "住所",
    "address_detail": "方書",
    "honseki": "本籍",
    "hittousha": "筆頭者",
}


@dataclass(frozen=True)
class Unprintable:
    """A field of a person's record that no font of the chain can print."""

    addressee_number: str
    name: str
    field: str  # the Japanese field name
    characters: tuple[str, ...]

    @property
    def message(self) -> str:
        from lgcloud.documents.render import describe  # noqa: PLC0415  (typst: loaded late)

        listed = "、".join(describe(c) for c in self.characters)
        return (
            f"{self.field}の文字 {listed} はどのフォントでも印字できません "
            "(外字の登録 `lgcloud gaiji register` か記録の職権修正が必要です)"
        )


def unprintable_fields(
    values: dict[str, str | None], glyphs: Collection[str] = ()
) -> dict[str, list[str]]:
    """Japanese field name → what no font prints and no registered 外字 (``glyphs``, by
    text) draws, for ``values`` (attribute → text)."""
    from lgcloud.documents.render import font_coverage  # noqa: PLC0415  (loaded late)

    chain = font_coverage()
    out: dict[str, list[str]] = {}
    for attribute, label in PRINTED_FIELDS.items():
        text = values.get(attribute)
        if text:
            missing = chain.missing(text, glyphs)
            if missing:
                out[label] = missing
    return out


def unprintable_in(
    states: Iterable[PersonState], glyphs: Collection[str] = ()
) -> list[Unprintable]:
    """The unprintable fields of ``states`` (those of current residents)."""
    out: list[Unprintable] = []
    for s in states:
        if not s.is_resident:
            continue
        values = {a: getattr(s, a) for a in PRINTED_FIELDS}
        for label, chars in unprintable_fields(values, glyphs).items():
            out.append(Unprintable(s.addressee_number, s.name, label, tuple(chars)))
    return out


def report(town: Town) -> list[Unprintable]:
    """Every current resident's fields no font prints, by 宛名番号 (read-only)."""
    v = PersonVersion
    out: list[Unprintable] = []
    glyphs = set(glyphs_of(town))
    rows = town.session.execute(
        select(v.addressee_number, v.name, *(getattr(v, a) for a in PRINTED_FIELDS))
        .where(v.is_current.is_(True), v.status == "resident")
        .order_by(v.addressee_number)
    )
    for number, name, *texts in rows:
        values = dict(zip(PRINTED_FIELDS, texts, strict=True))
        for label, chars in unprintable_fields(values, glyphs).items():
            out.append(Unprintable(number, name, label, tuple(chars)))
    return out


__all__ = ["PRINTED_FIELDS", "Unprintable", "report", "unprintable_fields", "unprintable_in"]
