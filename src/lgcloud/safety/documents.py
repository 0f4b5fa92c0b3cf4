"""What the safety ledger prints: every resident of the reference date by 行政区 with their
status, and the unaccounted-for by 行政区 — as PDF (for the headquarters' wall and the
district leaders) and CSV (for a spreadsheet). Seed 003 puts the all-residents list among
the four outputs that must never stop: a name no font can print does not stop the list,
it is printed with 〓 in place of what cannot be drawn and counted on the first page."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import cache
from itertools import groupby
from pathlib import Path
from typing import Any

from lgcloud.core.clock import JST
from lgcloud.core.spreadsheet import spreadsheet_cell
from lgcloud.core.wareki import to_wareki
from lgcloud.documents.render import PdfEngine, font_coverage
from lgcloud.safety.queries import LedgerLine

TEMPLATE_DIR = Path(__file__).resolve().with_name("templates")
NO_DISTRICT = "（行政区なし）"
#: the CSV's columns (ISO dates and times, for a program reading it)
CSV_COLUMNS = (
    *("行政区", "宛名番号", "氏名", "ふりがな", "生年月日", "住所"),
    *("安否", "所在", "所在地", "最終報告", "報告元"),
)
PDF_COLUMNS = ("氏名", "生年月日", "住所", "安否", "所在", "最終報告")


@cache
def engine() -> PdfEngine:
    return PdfEngine(template_dir=TEMPLATE_DIR)


def ledger_csv(lines: Sequence[LedgerLine]) -> bytes:
    """UTF-8 with a BOM (what a spreadsheet on the clerk's PC opens as UTF-8), CRLF, a
    header row; text that a spreadsheet would take for a formula is neutralised."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for x in lines:
        w.writerow(
            [
                spreadsheet_cell(x.district),
                x.number,
                spreadsheet_cell(x.name),
                spreadsheet_cell(x.kana),
                x.birth.isoformat(),
                spreadsheet_cell(x.address),
                x.status,
                x.location_kind,
                spreadsheet_cell(x.location),  # as a shelter wrote it
                x.reported_at.isoformat(timespec="minutes") if x.reported_at else "",
                spreadsheet_cell(x.source),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _when(t: datetime | None) -> str:
    if t is None:
        return ""
    local = t.astimezone(JST)
    return f"{to_wareki(local.date())} {local:%H:%M}"


def ledger_pdf(
    lines: Sequence[LedgerLine],
    *,
    town: str,
    as_of: date,
    printed: datetime,
    unaccounted: bool,
    glyphs: Mapping[str, str] | None = None,
) -> tuple[bytes, int]:
    """(the PDF, how many characters were printed as 〓): one section per 行政区, its
    counts per status first."""
    chain = font_coverage()
    drawn = glyphs or {}
    replaced = 0

    def printable(text: str) -> str:
        nonlocal replaced
        bad = chain.missing(text, drawn)
        for unit in bad:
            replaced += text.count(unit)
            text = text.replace(unit, "〓")
        return text

    districts: list[dict[str, Any]] = []
    for name, group in groupby(lines, key=lambda x: x.district):
        rows = list(group)
        counts = Counter(x.status for x in rows)
        districts.append(
            {
                "name": name or NO_DISTRICT,
                "counts": f"{len(rows)} 人（"
                + "、".join(f"{s} {n}" for s, n in sorted(counts.items()))
                + "）",
                "rows": [
                    [
                        printable(x.name),
                        to_wareki(x.birth),
                        printable(x.address),
                        x.status,
                        printable(" ".join(p for p in (x.location_kind, x.location) if p)),
                        _when(x.reported_at),
                    ]
                    for x in rows
                ],
            }
        )
    data = {
        "title": "所在不明者一覧（行政区別）" if unaccounted else "安否確認 住民一覧（行政区別）",
        "town": town,
        "as_of": to_wareki(as_of),
        "printed": _when(printed),
        "columns": list(PDF_COLUMNS),
        "districts": districts,
    }
    return engine().render("ledger", data, tagged=False, glyphs=drawn), replaced
