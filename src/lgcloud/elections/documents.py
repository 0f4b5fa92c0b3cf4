"""What the electoral roll prints: the roll and its 抄本 per 投票区 (PDF and CSV) and the
投票所入場券 as bulk notices (``lgcloud.notices``), each voter's line with a QR code the
polling station scans."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from functools import cache
from itertools import groupby
from pathlib import Path
from typing import Any

import segno

from lgcloud.core.wareki import to_wareki
from lgcloud.documents.render import PdfEngine
from lgcloud.elections.domain import ticket_code
from lgcloud.elections.models import Election, PollingDistrict
from lgcloud.elections.queries import RollEntry
from lgcloud.notices.domain import Notice

TEMPLATE_DIR = Path(__file__).resolve().with_name("templates")
SEX = {1: "男", 2: "女"}

#: the roll (名簿) and the 抄本 shown for 閲覧 (第28条の2: 氏名・住所・生年月日・性別)
ROLL_COLUMNS = ("名簿番号", "氏名", "ふりがな", "住所", "生年月日", "性別", "登録日", "表示")
EXTRACT_COLUMNS = ("氏名", "住所", "生年月日", "性別")
CSV_COLUMNS = (
    *("名簿番号", "宛名番号", "投票区", "氏名", "ふりがな", "住所", "生年月日", "性別"),
    *("登録日", "表示日", "表示事由"),
)


@cache
def engine() -> PdfEngine:
    return PdfEngine(template_dir=TEMPLATE_DIR)


def _roll_row(r: RollEntry) -> list[str]:
    mark = f"{r.mark_reason}（{to_wareki(r.marked_on)}）" if r.marked_on else ""
    return [
        r.elector_number,
        r.name,
        r.kana,
        r.address,
        to_wareki(r.birth_date),
        SEX.get(r.sex, ""),
        to_wareki(r.registered_on),
        mark,
    ]


def _extract_row(r: RollEntry) -> list[str]:
    return [r.name, r.address, to_wareki(r.birth_date), SEX.get(r.sex, "")]


def roll_csv(entries: Sequence[RollEntry], *, extract: bool = False) -> bytes:
    """The roll (or 抄本) as CSV: UTF-8 with a BOM (what a spreadsheet on the clerk's PC
    opens as UTF-8), CRLF, a header row, ISO dates for a program reading it."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    if extract:
        w.writerow(["氏名", "住所", "生年月日", "性別"])
        for r in entries:
            w.writerow([r.name, r.address, r.birth_date.isoformat(), SEX.get(r.sex, "")])
    else:
        w.writerow(CSV_COLUMNS)
        for r in entries:
            w.writerow(
                [
                    r.elector_number,
                    r.addressee_number,
                    r.polling_code,
                    r.name,
                    r.kana,
                    r.address,
                    r.birth_date.isoformat(),
                    SEX.get(r.sex, ""),
                    r.registered_on.isoformat(),
                    r.marked_on.isoformat() if r.marked_on else "",
                    r.mark_reason or "",
                ]
            )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def roll_pdf(
    entries: Sequence[RollEntry],
    *,
    town: str,
    district: PollingDistrict,
    as_of: date,
    extract: bool = False,
) -> bytes:
    data: dict[str, Any] = {
        "title": "選挙人名簿抄本" if extract else "選挙人名簿",
        "town": {"name": town},
        "district": {"code": district.code, "name": district.name, "place": district.place},
        "as_of": to_wareki(as_of),
        "columns": list(EXTRACT_COLUMNS if extract else ROLL_COLUMNS),
        "rows": [(_extract_row if extract else _roll_row)(r) for r in entries],
    }
    return engine().render("roll", data, tagged=False)


def qr(code: str) -> str:
    """The QR code of a ticket as SVG. segno encodes it: version 1, alphanumeric, error
    correction M and a fixed mask — ``E`` and ten digits fit version 1-M, and every mask is
    a valid encoding any reader decodes (choosing the "best" one only lowers a penalty score
    and costs five times the time, which over 25,000 tickets is a minute). The SVG is
    written here, one filled rectangle per run of dark modules with a 4-module quiet zone:
    segno's own writer draws stroked lines, which cost 30 % more to write and 20 % more for
    typst to render (measured over 1,000 cards), and a town prints 25,000."""
    matrix = segno.make_qr(
        code, error="m", version=1, mode="alphanumeric", mask=0, boost_error=False
    ).matrix
    runs = []
    for y, row in enumerate(matrix):
        x, width = 0, len(row)
        while x < width:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < width and row[x]:
                x += 1
            runs.append(f"M{start + 4} {y + 4}h{x - start}v1h{start - x}z")
    size = len(matrix) + 8
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}">'
        f'<path d="{"".join(runs)}"/></svg>'
    )


def tickets(
    entries: Sequence[RollEntry],
    e: Election,
    districts: dict[str, PollingDistrict],
    *,
    per_household: bool,
    hours: str,
) -> list[Notice]:
    """入場券 for every voter on the roll who may vote in ``e`` (marked electors only in a
    national election), one per voter or one per household (the household's voters on one
    card); ``hours`` is the 投票時間 (``elections.polling_hours``). They go to the voter's
    registered address: an 入場券 is not forwarded to a 送付先."""
    voters = [r for r in entries if r.marked_on is None or e.national]
    voters.sort(key=lambda r: (r.household_number, r.elector_number))
    groups = (
        [list(g) for _, g in groupby(voters, key=lambda r: (r.household_number, r.polling_code))]
        if per_household
        else [[r] for r in voters]
    )
    day = to_wareki(e.polling_day)
    out = []
    for group in groups:
        first = group[0]
        d = districts[first.polling_code]
        out.append(
            Notice(
                addressee_number=first.addressee_number,
                to_name=first.name if len(group) == 1 else f"{first.name} ほか{len(group) - 1}名",
                to_address=first.address,
                to_postal_code=first.postal_code,
                # 行政区順 groups by this: the 投票区, so each file is one 投票区's cards
                district=first.polling_code,
                to_is_send_address=False,
                title=f"{e.name} 投票所入場券",
                lines=(
                    f"選挙期日 {day}　投票時間 {hours}",
                    f"投票所 {d.place or d.name}（{d.name}）",
                    "この券を投票所の受付にお持ちください。",
                ),
                table_head=("名簿番号", "氏名", "投票区"),
                table_rows=tuple((r.elector_number, r.name, d.name) for r in group),
                extra={"qr": [qr(ticket_code(r.elector_number)) for r in group]},
            )
        )
    return out
