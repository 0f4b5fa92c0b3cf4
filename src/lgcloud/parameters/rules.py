"""Dated parameters, pure: what a parameter is (``Spec``: its key, label, unit and the values
shipped with lgcloud, each with the law and article it comes from), and which value holds
on a date. No I/O: the service reads the operator's entries and hands them in.

A value holds from ``effective_from`` (inclusive) to ``effective_to`` (exclusive, or open).
On a date, of the entries that hold, the one that began last wins; on the same start date an
operator's entry wins over a shipped one. So an operator can set next April's value ahead of
time, and a later law shipped with a new release supersedes an older local setting."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from lgcloud.core.errors import NotFoundError, RuleViolationError

#: the kinds of value a parameter holds
KINDS = ("int", "yen", "rate", "days", "months", "years", "text")


@dataclass(frozen=True)
class Entry:
    """One value of a parameter over a period."""

    value: str
    effective_from: date
    effective_to: date | None = None
    source: str = ""  # 根拠法令 (law and article) or the ordinance
    by_operator: bool = False

    def holds_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


@dataclass(frozen=True)
class Spec:
    """A parameter as a business area declares it."""

    key: str  # "<area>.<name>", e.g. "seals.min_age"
    label: str  # Japanese, as the operator's page shows it
    kind: str
    shipped: tuple[Entry, ...] = field(default_factory=tuple)

    @classmethod
    def one_value(
        cls, key: str, label: str, kind: str, value: str, effective_from: date, source: str
    ) -> Spec:
        """A parameter shipped with one value from ``effective_from`` (the usual case)."""
        return cls(key, label, kind, (Entry(value, effective_from, source=source),))

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.key}: unknown kind {self.kind}")
        if "." not in self.key:
            raise ValueError(f"{self.key}: a key is <area>.<name>")
        for e in self.shipped:
            parse(self.kind, e.value)
            if not e.source:
                raise ValueError(f"{self.key}: a shipped value cites its law ({e.value})")


def parse(kind: str, text: str) -> int | Decimal | str:
    """A stored value as the rules use it; a value that is not of the kind is refused."""
    if kind == "text":
        return text
    try:
        if kind == "rate":
            value: int | Decimal = Decimal(text)
        else:
            value = int(text)
    except (ValueError, InvalidOperation) as e:
        raise RuleViolationError(
            f"値「{text}」は{_KIND_LABELS[kind]}ではありません", field="value"
        ) from e
    if value < 0:
        raise RuleViolationError("値は0以上です", field="value")
    return value


_KIND_LABELS = {
    "int": "整数",
    "yen": "金額（円、整数）",
    "rate": "率（小数）",
    "days": "日数（整数）",
    "months": "月数（整数）",
    "years": "年数（整数）",
    "text": "文字列",
}


def entry_on(spec: Spec, operator_entries: Iterable[Entry], day: date) -> Entry:
    """The entry of ``spec`` that holds on ``day`` (see the module's rule)."""
    holding = [e for e in (*spec.shipped, *operator_entries) if e.holds_on(day)]
    if not holding:
        raise NotFoundError(f"{spec.label}（{spec.key}）は {day.isoformat()} の値がありません")
    return max(holding, key=lambda e: (e.effective_from, e.by_operator))


@dataclass(frozen=True)
class Parameters:
    """The values of some parameters on one day, for pure rules: ``p.int("seals.min_age")``."""

    day: date
    values: Mapping[str, int | Decimal | str]
    sources: Mapping[str, str] = field(default_factory=dict)

    def int(self, key: str) -> int:
        value = self.values[key]
        if not isinstance(value, int):
            raise TypeError(f"{key} is not an integer parameter")
        return value

    def rate(self, key: str) -> Decimal:
        value = self.values[key]
        if not isinstance(value, Decimal):
            raise TypeError(f"{key} is not a rate parameter")
        return value

    def text(self, key: str) -> str:
        return str(self.values[key])


def resolve(
    specs: Iterable[Spec], operator_entries: Mapping[str, list[Entry]], day: date
) -> Parameters:
    values: dict[str, int | Decimal | str] = {}
    sources: dict[str, str] = {}
    for spec in specs:
        e = entry_on(spec, operator_entries.get(spec.key, []), day)
        values[spec.key] = parse(spec.kind, e.value)
        sources[spec.key] = e.source
    return Parameters(day, values, sources)
