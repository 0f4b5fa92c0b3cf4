"""Bulk notices, pure: the order of a print run (郵便番号 or 行政区, for the post's sorting
discount and the districts' hand delivery) and its split into files a printer takes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lgcloud.core.errors import RuleViolationError

SORTS = {"postal_code": "郵便番号順", "district": "行政区順"}
MAX_PER_FILE = 2000
#: a postal code sorts last when unknown
_NO_CODE = "9999999"


@dataclass(frozen=True)
class Notice:
    """One notice: to whom it goes (the 送付先 or the addressee's own address) and what it
    says (``title``, ``lines``, an optional ``table`` of ``head`` and ``rows``)."""

    addressee_number: str
    to_name: str
    to_address: str
    to_postal_code: str
    district: str
    #: whether ``to_*`` is the area's 送付先 (not the addressee's own address)
    to_is_send_address: bool
    title: str
    lines: tuple[str, ...] = ()
    table_head: tuple[str, ...] = ()
    table_rows: tuple[tuple[str, ...], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        """What the template reads for this notice."""
        return {
            "number": self.addressee_number,
            "to": {
                "name": self.to_name,
                "address": self.to_address,
                "postal": f"{self.to_postal_code[:3]}-{self.to_postal_code[3:]}"
                if len(self.to_postal_code) == 7
                else "",
            },
            "title": self.title,
            "lines": list(self.lines),
            "table": {"head": list(self.table_head), "rows": [list(r) for r in self.table_rows]},
            **self.extra,
        }


def order(notices: Sequence[Notice], sort_by: str) -> list[Notice]:
    if sort_by not in SORTS:
        raise RuleViolationError("並び順は郵便番号順か行政区順です", field="sort_by")
    if sort_by == "postal_code":
        return sorted(
            notices,
            key=lambda n: (n.to_postal_code or _NO_CODE, n.to_address, n.addressee_number),
        )
    return sorted(
        notices,
        key=lambda n: (
            n.district or "\uffff",
            n.to_postal_code or _NO_CODE,
            n.to_address,
            n.addressee_number,
        ),
    )


def split(notices: Sequence[Notice], per_file: int) -> list[list[Notice]]:
    """Files of at most ``per_file`` notices; under 行政区順 a file never mixes districts
    (each district's bundle goes to its own deliverer)."""
    if not 1 <= per_file <= MAX_PER_FILE:
        raise RuleViolationError(f"1ファイルの通数は1〜{MAX_PER_FILE}です", field="per_file")
    files: list[list[Notice]] = []
    for n in notices:
        if not files or len(files[-1]) >= per_file:
            files.append([])
        files[-1].append(n)
    return files


def split_by_district(notices: Sequence[Notice], per_file: int) -> list[list[Notice]]:
    out: list[list[Notice]] = []
    bundle: list[Notice] = []
    for n in notices:
        if bundle and bundle[-1].district != n.district:
            out += split(bundle, per_file)
            bundle = []
        bundle.append(n)
    if bundle:
        out += split(bundle, per_file)
    return out
