"""Set-up files for a disaster victim support system (被災者支援システム), from one town.

Seed 004's set-up tool reads the migration standard format: Shift_JIS, comma-separated,
no quoting character — data_d0101.csv (住民基本台帳), data_d0301.csv (外国人),
data_d0603.csv (所得) and data_cyonei.csv (町名・行政区). Without quoting, a value cannot
hold a comma or a line break: commas become "，" and line breaks a space. The receiver
takes no gaiji table, so a character outside JIS X 0208 is replaced by its MJ shrink
representative (髙→高) or 〓, and every replacement is listed in replacements.csv so staff
can correct the receiving system by hand. Columns are documented in docs/interchange.md.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, true

from lgcloud.core.context import RequestContext
from lgcloud.interchange.codec import to_shift_jis_lossy
from lgcloud.register.domain import EVENT_LABELS, FOREIGN_FIELDS, EventKind, Status
from lgcloud.register.models import District, PersonVersion
from lgcloud.taxation.models import ResidentTaxAssessment
from lgcloud.tenancy.platform import Town

RESIDENT_COLUMNS = (
    "団体コード",
    "宛名番号",
    "世帯番号",
    "住民票コード",
    "氏名",
    "カナ氏名",
    "生年月日",
    "性別",
    "続柄",
    "郵便番号",
    "住所",
    "方書",
    "行政区コード",
    "住民日",
    "住定日",
    "異動事由",
)
#: The foreign-resident file adds the items of 第30条の45 that a support desk needs (not
#: the residence card number: what the receiver does not need, it is not sent).
FOREIGN_ITEMS = ("nationality", "foreign_category", "residence_status", "stay_expires_on")
FOREIGN_COLUMNS = (*RESIDENT_COLUMNS, *(FOREIGN_FIELDS[a] for a in FOREIGN_ITEMS))
INCOME_COLUMNS = (
    "団体コード",
    "宛名番号",
    "年度",
    "総所得金額",
    "課税標準額",
    "所得割額",
    "均等割額",
)
DISTRICT_COLUMNS = ("行政区コード", "行政区コード名")


@dataclass
class VictimSupportExport:
    files: dict[str, int] = field(default_factory=dict)  # file name → data rows
    replacements: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # file, key, column, unit


class _Writer:
    """Shift_JIS lines with no quoting; unrepresentable characters replaced and recorded."""

    def __init__(self, path: Path, columns: tuple[str, ...], report: VictimSupportExport) -> None:
        self.path = path
        self.columns = columns
        self.report = report
        self.rows = 0
        self._f = path.open("wb")
        self._line(list(columns), key="(見出し)")

    def _line(self, values: list[str], *, key: str) -> None:
        cells = []
        for column, value in zip(self.columns, values, strict=True):
            flat = (
                value.replace(",", "，").replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
            )
            text, replaced = to_shift_jis_lossy(flat)
            self.report.replacements.extend(
                (self.path.name, key, column, unit) for unit in replaced
            )
            cells.append(text)
        self._f.write((",".join(cells) + "\r\n").encode("cp932"))

    def row(self, values: list[str], *, key: str) -> None:
        self._line(values, key=key)
        self.rows += 1

    def close(self) -> None:
        self._f.close()
        self.report.files[self.path.name] = self.rows


def export_victim_support(town: Town, ctx: RequestContext, out_dir: Path) -> VictimSupportExport:
    """Write the four set-up files and replacements.csv into ``out_dir`` (audited export)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = VictimSupportExport()
    s = town.session
    district_codes = {name: f"{i:06d}" for i, name in s.execute(select(District.id, District.name))}
    districts = _Writer(out_dir / "data_cyonei.csv", DISTRICT_COLUMNS, report)
    for name, code in sorted(district_codes.items(), key=lambda kv: kv[1]):
        districts.row([code, name], key=code)
    districts.close()

    # Japanese nationals go to data_d0101.csv (住民基本台帳) and foreign residents to
    # data_d0301.csv (外国人): the receiver loads both as its population, so each current
    # resident is in exactly one of them (a mixed household shares its 世帯番号 across both).
    residents = _Writer(out_dir / "data_d0101.csv", RESIDENT_COLUMNS, report)
    foreigners = _Writer(out_dir / "data_d0301.csv", FOREIGN_COLUMNS, report)
    subjects: list[str] = []
    pv = PersonVersion
    stmt = (
        select(*pv.__table__.columns)
        .where(pv.is_current == true(), pv.status == Status.RESIDENT.value)
        .order_by(pv.addressee_number)
        .execution_options(yield_per=5000)
    )
    for r in s.execute(stmt):
        subjects.append(r.addressee_number)
        values = [
            town.code,
            r.addressee_number,
            r.household_number,
            r.resident_code or "",
            r.name,
            r.kana,
            r.birth_date.isoformat(),
            str(r.sex),
            r.relationship,
            r.postal_code,
            r.address,
            r.address_detail,
            district_codes.get(r.district, ""),
            r.resident_since.isoformat(),
            r.settled_on.isoformat(),
            EVENT_LABELS.get(EventKind(r.last_event), ""),
        ]
        if r.nationality is None:
            residents.row(values, key=r.addressee_number)
        else:
            items = [getattr(r, a) for a in FOREIGN_ITEMS]
            foreign = [v.isoformat() if hasattr(v, "isoformat") else (v or "") for v in items]
            foreigners.row([*values, *foreign], key=r.addressee_number)
    residents.close()
    foreigners.close()

    income = _Writer(out_dir / "data_d0603.csv", INCOME_COLUMNS, report)
    year = s.scalar(select(func.max(ResidentTaxAssessment.fiscal_year)))
    if year is not None:
        rta = ResidentTaxAssessment
        for a in s.scalars(
            select(rta).where(rta.fiscal_year == year).order_by(rta.addressee_number)
        ):
            income.row(
                [
                    town.code,
                    a.addressee_number,
                    str(a.fiscal_year),
                    str(a.total_income),
                    str(a.taxable_income),
                    str(a.income_levy_municipal + a.income_levy_prefectural),
                    str(a.per_capita_municipal + a.per_capita_prefectural),
                ],
                key=a.addressee_number,
            )
    income.close()

    with (out_dir / "replacements.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(["ファイル", "宛名番号・コード", "列", "置き換えた文字", "コードポイント"])
        for file, key, column, unit in report.replacements:
            w.writerow([file, key, column, unit, " ".join(f"U+{ord(c):04X}" for c in unit)])
    town.audit(
        ctx,
        "export_victim_support",
        subjects=subjects,
        detail={"files": report.files, "replacements": len(report.replacements)},
    )
    return report
