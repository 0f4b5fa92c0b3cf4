"""Standard layouts for 住登外者, taxes, collections, national health insurance and seals.

Each layout is a flat CSV (CRLF, RFC 4180, header row, columns named in the vocabulary of
the standard) of one table, keyed by natural keys rather than internal ids: an assessment
by (宛名番号, 年度[, 標識番号]), an installment by (税目, 宛名番号, 年度, 標識番号, 期別).
Export writes rows in key order, so export → import → export is identical.

Files are UTF-8 (no BOM) by default, or Shift_JIS as Windows writes it (cp932): then every
character cp932 cannot hold exactly (IVS sequences, variant kanji, …) is written as a
user-defined code, listed in one ``gaiji.csv`` shared by all the files of an export
(:mod:`lgcloud.interchange.codec`).  Import detects each file's encoding (BOM, valid UTF-8,
else cp932) and resolves user-defined codes with the gaiji table it is given.

Import is all or nothing, refuses rows with a clear row/column/reason, and skips rows
already stored identically (importing a file twice changes nothing the second time).  It
reads the file in chunks, looks up only what each chunk names with a few set-based queries
and inserts each chunk's new rows together, so memory follows the chunk, not the size of
the town (see :func:`import_layout`).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy import inspect as sa_inspect

from lgcloud.addressees.domain import check_corporate_number
from lgcloud.addressees.models import NonResident
from lgcloud.addressees.reasons import REASONS
from lgcloud.core.clock import utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import LgcloudError
from lgcloud.core.ids import InvalidIdentifierError, validate_numbered
from lgcloud.insurance.models import NhiHousehold, NhiMember
from lgcloud.interchange.codec import (
    Cp932Variant,
    EncodingError,
    GaijiTable,
    decode_lines,
    encode_cp932,
    export_table,
    user_defined_codes,
)
from lgcloud.interchange.residents import ImportRefusedError, Rejection, csv_records
from lgcloud.register import folding
from lgcloud.register.glyphs import glyph_names, keep_imported_names
from lgcloud.register.models import Person
from lgcloud.seals.models import SealRegistration
from lgcloud.taxation.models import (
    LightVehicleTaxAssessment,
    PropertyTaxAssessment,
    ResidentTaxAssessment,
    TaxInstallment,
    TaxPayment,
)
from lgcloud.tenancy.platform import Platform, Town
from lgcloud.trail.journal import CAPTURE_KEY, check_writable, finish_write, jsonable


@dataclass(frozen=True)
class Col:
    header: str
    attr: str
    kind: str = "int"  # int | str | date | date? | b64 | str?

    def out(self, value: Any) -> str:
        if value is None:
            return ""
        if self.kind.startswith("date"):
            return str(value.isoformat())
        if self.kind == "b64":
            return base64.b64encode(value).decode("ascii")
        return str(value)

    def parse(self, text: str) -> Any:
        optional = self.kind.endswith("?")
        if text == "" and optional:
            return None
        if text == "" and self.kind != "str":
            raise ValueError(f"{self.header} は必須です")
        kind = self.kind.rstrip("?")
        if kind == "int":
            if not text.lstrip("-").isdigit():
                raise ValueError(f"{self.header} は整数です: 「{text}」")
            return int(text)
        if kind == "date":
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise ValueError(
                    f"{self.header} は YYYY-MM-DD のありうる日付です: 「{text}」"
                ) from None
        if kind == "b64":
            try:
                return base64.b64decode(text, validate=True)
            except binascii.Error:
                raise ValueError(f"{self.header} は base64 です") from None
        return text


def _c(header: str, attr: str, kind: str = "int") -> Col:
    return Col(header, attr, kind)


NON_RESIDENTS = (
    _c("宛名番号", "addressee_number", "str"),
    _c("区分", "kind", "str"),  # person | corporation
    _c("氏名又は名称", "name", "str"),
    _c("カナ", "kana", "str"),
    _c("生年月日", "birth_date", "date?"),
    _c("性別", "sex", "int?"),
    _c("法人番号", "corporate_number", "str"),
    _c("住所", "address", "str"),
    _c("方書", "address_detail", "str"),
    _c("郵便番号", "postal_code", "str"),
    _c("住登外の理由", "reason", "str"),
)
RESIDENT_TAX = (
    _c("宛名番号", "addressee_number", "str"),
    _c("年度", "fiscal_year"),
    _c("給与収入", "salary_revenue"),
    _c("給与所得", "salary_income"),
    _c("公的年金等収入", "pension_revenue"),
    _c("公的年金等所得", "pension_income"),
    _c("事業所得", "business_income"),
    _c("農業所得", "agriculture_income"),
    _c("その他の所得", "other_income"),
    _c("総所得金額", "total_income"),
    _c("社会保険料控除", "social_insurance_deduction"),
    _c("配偶者控除", "spouse_deduction"),
    _c("扶養控除", "dependents_deduction"),
    _c("基礎控除", "basic_deduction"),
    _c("その他の控除", "other_deductions"),
    _c("所得控除合計", "total_deductions"),
    _c("課税標準額", "taxable_income"),
    _c("所得割額_市町村民税", "income_levy_municipal"),
    _c("所得割額_道府県民税", "income_levy_prefectural"),
    _c("均等割額_市町村民税", "per_capita_municipal"),
    _c("均等割額_道府県民税", "per_capita_prefectural"),
    _c("森林環境税", "forest_environment_tax"),
    _c("年税額", "total_tax"),
    _c("徴収方法", "collection_method", "str"),
    _c("扶養人数", "dependents"),
    _c("課税日", "assessed_on", "date"),
)
PROPERTY_TAX = (
    _c("宛名番号", "addressee_number", "str"),
    _c("年度", "fiscal_year"),
    _c("土地筆数", "land_parcels"),
    _c("土地評価額", "land_assessed_value"),
    _c("土地課税標準額", "land_tax_base"),
    _c("家屋棟数", "buildings"),
    _c("家屋評価額", "building_assessed_value"),
    _c("家屋課税標準額", "building_tax_base"),
    _c("年税額", "total_tax"),
    _c("課税日", "assessed_on", "date"),
)
LIGHT_VEHICLE_TAX = (
    _c("宛名番号", "addressee_number", "str"),
    _c("年度", "fiscal_year"),
    _c("車種区分", "vehicle_class", "str"),
    _c("標識番号", "plate_number", "str"),
    _c("年税額", "total_tax"),
    _c("課税日", "assessed_on", "date"),
)
INSTALLMENTS = (
    _c("税目", "tax_kind", "str"),
    _c("宛名番号", "addressee_number", "str"),
    _c("年度", "fiscal_year"),
    _c("標識番号", "plate", "str"),
    _c("期別", "period"),
    _c("納期限", "due_date", "date"),
    _c("税額", "amount"),
)
PAYMENTS = (
    _c("税目", "tax_kind", "str"),
    _c("宛名番号", "addressee_number", "str"),
    _c("年度", "fiscal_year"),
    _c("標識番号", "plate", "str"),
    _c("期別", "period"),
    _c("納付日", "paid_on", "date"),
    _c("納付額", "amount"),
    _c("納付方法", "channel", "str"),
)
NHI = (
    _c("世帯番号", "household_number", "str"),
    _c("記号", "symbol", "str"),
    _c("国保世帯主宛名番号", "householder", "str"),
    _c("世帯資格取得日", "started_on", "date"),
    _c("世帯資格喪失日", "ended_on", "date?"),
    _c("宛名番号", "addressee_number", "str"),
    _c("番号", "insured_number", "str"),
    _c("枝番", "branch", "str"),
    _c("資格取得日", "qualified_on", "date"),
    _c("資格喪失日", "disqualified_on", "date?"),
    _c("一部負担金の割合", "copay_percent"),
)
SEALS = (
    _c("登録番号", "registration_number", "str"),
    _c("宛名番号", "addressee_number", "str"),
    _c("登録日", "registered_on", "date"),
    _c("廃止日", "abolished_on", "date?"),
    _c("廃止事由", "abolition_reason", "str"),
    _c("印影PNG_base64", "image_png", "b64"),
)


#: The table whose rows are the rows of each layout (its ``id`` grows with each insert).
ROW_MODEL: dict[str, Any] = {
    "non_residents": NonResident,  # keyed by 宛名番号, no id (see _last_id)
    "resident_taxes": ResidentTaxAssessment,
    "property_taxes": PropertyTaxAssessment,
    "light_vehicle_taxes": LightVehicleTaxAssessment,
    "installments": TaxInstallment,
    "payments": TaxPayment,
    "nhi": NhiMember,
    "seals": SealRegistration,
}


def _rows(
    town: Town,
    name: str,
    *,
    people: Collection[str] | None = None,
    max_id: int | None = None,
    tax_kinds: Collection[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every record of layout ``name`` as {attr: value}, in key order.

    ``people`` keeps only the records whose 宛名番号 is one of them, ``max_id`` only those
    whose row (:data:`ROW_MODEL`) has an id up to it (stored before an import began),
    ``tax_kinds`` (installments and payments) only those of these 税目.
    """
    s = town.session
    model = ROW_MODEL[name]

    def only(stmt: Any, number: Any = None) -> Any:
        if people is not None:
            stmt = stmt.where((number or model.addressee_number).in_(people))
        if max_id is not None and model is not NonResident:
            stmt = stmt.where(model.id <= max_id)
        return stmt

    if name == "non_residents":
        for nr in s.scalars(only(select(NonResident)).order_by(NonResident.addressee_number)):
            row = {c.attr: getattr(nr, c.attr) for c in NON_RESIDENTS}
            yield {**row, "corporate_number": nr.corporate_number or ""}
    elif name == "resident_taxes":
        for a in s.scalars(
            only(select(ResidentTaxAssessment)).order_by(
                ResidentTaxAssessment.addressee_number, ResidentTaxAssessment.fiscal_year
            )
        ):
            yield {c.attr: getattr(a, c.attr) for c in RESIDENT_TAX}
    elif name == "property_taxes":
        for pa in s.scalars(
            only(select(PropertyTaxAssessment)).order_by(
                PropertyTaxAssessment.addressee_number, PropertyTaxAssessment.fiscal_year
            )
        ):
            yield {c.attr: getattr(pa, c.attr) for c in PROPERTY_TAX}
    elif name == "light_vehicle_taxes":
        lv = LightVehicleTaxAssessment
        for v in s.scalars(
            only(select(lv)).order_by(lv.addressee_number, lv.fiscal_year, lv.plate_number)
        ):
            yield {c.attr: getattr(v, c.attr) for c in LIGHT_VEHICLE_TAX}
    elif name in ("installments", "payments"):
        # Ordered by the natural key (the plate, not the internal assessment id), so an
        # export after an import lists rows in the same order as the file imported.
        # Plain columns, not ORM objects: this runs for every chunk of an import too.
        ti, tp, lv = TaxInstallment, TaxPayment, LightVehicleTaxAssessment
        plate = func.coalesce(lv.plate_number, "")
        key = (ti.tax_kind, ti.addressee_number, ti.fiscal_year, plate, ti.period)
        extra = (
            (ti.due_date, ti.amount)
            if name == "installments"
            else (tp.paid_on, tp.amount, tp.channel)
        )
        stmt = only(select(*key, *extra), ti.addressee_number).outerjoin_from(
            ti, lv, and_(ti.tax_kind == "light_vehicle", lv.id == ti.assessment_id)
        )
        if tax_kinds is not None:
            stmt = stmt.where(ti.tax_kind.in_(tax_kinds))
        if name == "installments":
            stmt = stmt.order_by(*key)
        else:
            stmt = stmt.join(tp, tp.installment_id == ti.id).order_by(*key, tp.paid_on, tp.id)
        attrs = [c.attr for c in LAYOUTS[name]]
        for values in s.execute(stmt):
            yield dict(zip(attrs, values, strict=True))
    elif name == "nhi":
        for m, h in s.execute(
            only(select(NhiMember, NhiHousehold))
            .join(NhiHousehold, NhiHousehold.id == NhiMember.nhi_household_id)
            .order_by(
                NhiHousehold.household_number,
                NhiHousehold.started_on,
                NhiMember.branch,
                NhiMember.id,
            )
        ).tuples():
            yield {
                "household_number": h.household_number,
                "symbol": h.symbol,
                "householder": h.householder,
                "started_on": h.started_on,
                "ended_on": h.ended_on,
                "addressee_number": m.addressee_number,
                "insured_number": m.insured_number,
                "branch": m.branch,
                "qualified_on": m.qualified_on,
                "disqualified_on": m.disqualified_on,
                "copay_percent": m.copay_percent,
            }
    elif name == "seals":
        for r in s.scalars(
            only(select(SealRegistration)).order_by(SealRegistration.registration_number)
        ):
            yield {
                c.attr: getattr(r, c.attr)
                if c.attr != "abolition_reason"
                else (r.abolition_reason or "")
                for c in SEALS
            }
    else:
        raise KeyError(name)


LAYOUTS: dict[str, tuple[Col, ...]] = {
    "non_residents": NON_RESIDENTS,
    "resident_taxes": RESIDENT_TAX,
    "property_taxes": PROPERTY_TAX,
    "light_vehicle_taxes": LIGHT_VEHICLE_TAX,
    "installments": INSTALLMENTS,
    "payments": PAYMENTS,
    "nhi": NHI,
    "seals": SEALS,
}


ENCODINGS = ("utf-8", "cp932")
#: What cp932 decodes a user-defined code to (U+E000–U+E757: codec.gaiji_char).
_USER_DEFINED = re.compile("[\ue000-\ue757]")
GAIJI_CSV = "gaiji.csv"


def export_layout(town: Town, ctx: RequestContext, name: str, out: IO[str]) -> int:
    """Write layout ``name`` (``<name>.csv``) as text; returns the row count. Audited."""
    return _export(town, ctx, name, out.write, "utf-8", None)


def write_layout(
    town: Town,
    ctx: RequestContext,
    name: str,
    out: IO[bytes],
    *,
    encoding: str = "utf-8",
    gaiji: GaijiTable | None = None,
) -> int:
    """Write layout ``name`` as bytes, in ``encoding`` ("utf-8", no BOM, or "cp932").

    For cp932 every character Shift_JIS cannot hold exactly becomes a user-defined code
    allocated in ``gaiji`` (required; pass the same table for every file of an export and
    save it as gaiji.csv afterwards), so the round trip is exact.  Audited as an export.
    """
    if encoding not in ENCODINGS:
        raise LgcloudError(f"出力の文字コードは utf-8 か cp932 です: {encoding}")
    if encoding == "utf-8":
        return _export(town, ctx, name, lambda t: out.write(t.encode("utf-8")), encoding, None)
    if gaiji is None:
        raise LgcloudError("cp932 で出力するには外字表 (gaiji.csv) が必要です")
    table = gaiji
    return _export(town, ctx, name, lambda t: out.write(encode_cp932(t, table)), encoding, table)


def _export(
    town: Town,
    ctx: RequestContext,
    name: str,
    write: Callable[[str], object],
    encoding: str,
    gaiji: GaijiTable | None,
) -> int:
    cols = LAYOUTS[name]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")

    def emit(values: list[str]) -> None:
        w.writerow(values)
        write(buf.getvalue())
        buf.seek(0)
        buf.truncate()

    emit([c.header for c in cols])
    count = 0
    people: set[str] = set()
    for row in _rows(town, name):
        emit([c.out(row[c.attr]) for c in cols])
        people.add(str(row.get("addressee_number", "")))
        count += 1
    detail: dict[str, Any] = {"layout": name, "rows": count}
    if gaiji is not None:
        detail |= {"encoding": encoding, "gaiji": len(gaiji)}
    town.audit(
        ctx,
        "export_layout",
        subjects=sorted(people - {""}),
        detail=detail,
    )
    return count


def _read(
    path: Path,
    cols: tuple[Col, ...],
    encoding: str | None = None,
    gaiji: GaijiTable | None = None,
    seen: dict[str, str] | None = None,
) -> Iterator[tuple[int, dict[str, Any] | Rejection]]:
    """(line, parsed row or rejection) of each record; the file is refused for unreadable
    text (bad encoding, binary, mixed encoding), bad CSV or a wrong header.  The encoding
    read is left in ``seen["encoding"]``."""
    with path.open("rb") as f:
        try:
            # unknown gaiji stay in the text so each is reported with its row and column
            lines = decode_lines(f, encoding, gaiji, unknown_gaiji="keep")
            if seen is not None:
                seen["encoding"] = lines.encoding
            records = csv_records(lines, path.name)
            first = next(records, None)
            if first is None:
                raise ImportRefusedError(f"{path.name}: 空のファイルです")
            header = first[1]
            expected = [c.header for c in cols]
            if header != expected:
                missing = [h for h in expected if h not in header]
                unknown = [h for h in header if h not in expected]
                raise ImportRefusedError(
                    f"{path.name}: 見出しが違います (足りない列: {', '.join(missing) or 'なし'}、"
                    f"知らない列: {', '.join(unknown) or 'なし'}、列の順序は文書のとおり)"
                )
            for line, values in records:
                gaiji_missing = [
                    Rejection(line, c.header, f"外字 {code} が外字表 (gaiji.csv) にありません")
                    for c, v in zip(cols, values, strict=False)
                    if _USER_DEFINED.search(v)  # a quick test first: this runs per field
                    for code in user_defined_codes(v)
                ]
                if gaiji_missing:
                    for r in gaiji_missing:
                        yield line, r
                    continue
                if len(values) != len(cols):
                    yield line, Rejection(line, "", "列の数が見出しと違います")
                    continue
                row: dict[str, Any] = {}
                for c, v in zip(cols, values, strict=True):
                    try:
                        row[c.attr] = c.parse(v)
                    except ValueError as e:
                        yield line, Rejection(line, c.header, str(e))
                        break
                else:
                    yield line, row
            if seen is not None:
                seen["encoding"] = lines.encoding  # decided at the first non-ASCII line
        except EncodingError as e:
            where = f"{e.line_number} 行目: " if e.line_number else ""
            raise ImportRefusedError(
                f"{path.name}: {where}文字コードを読めません ({e})",
                [Rejection(e.line_number or 0, "", str(e))],
            ) from e


#: Rows read and looked up together by :func:`import_layout`.
CHUNK_ROWS = 2000


def import_layout(
    town: Town,
    ctx: RequestContext,
    name: str,
    path: Path,
    *,
    partial: bool = False,
    encoding: str | None = None,
    gaiji: GaijiTable | None = None,
    chunk_size: int = CHUNK_ROWS,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[int, int, list[Rejection]]:
    """Import layout ``name`` from ``path`` in ``town``'s transaction (one transaction: all
    of it or nothing). Returns (imported, unchanged, rejected).

    All or nothing by default: the first bad row refuses the file and nothing is stored.
    With ``partial``, bad rows are skipped and returned. Rows already stored identically
    are skipped; a row naming a person, assessment or installment the town does not have
    is bad.  ``encoding`` is detected per file unless given ("utf-8" or "cp932");
    user-defined characters are resolved with ``gaiji`` (a code it lacks, or any code when
    there is no table, is a bad row naming its column).

    Memory follows ``chunk_size``, not the town.  Rows are read ``chunk_size`` at a time
    and, for each chunk, only what its rows name is looked up: the people it mentions
    (unknown-person check) and the stored rows of those people (already stored or not).
    Only rows stored *before* the import count as already stored (ids up to the largest
    id when it began), so rows this import adds never match later rows of the file.
    Identical rows are a multiset (two identical payments are two payments): a file row is
    "already stored" only while stored copies remain unmatched, and the number matched so
    far is kept, across chunks, for the keys that matched at all.

    New rows are checked and inserted a chunk at a time as well: what they refer to (the
    assessment, the installment and what is already paid on it, the 国保 household, a
    natural key already taken) is looked up with a few queries per chunk, kept up to date
    as the chunk's rows are added (so a payment sees the earlier payments of the file), and
    the chunk's new rows are flushed together, in file order, so ids, ``recorded_at`` and
    the journal's row images are those of a row-by-row import.  ``on_progress`` is called
    with the number of rows read so far after each chunk.

    A whole town's files go in through :func:`import_layouts`, which checks them all
    first and then writes in short transactions.
    """
    check_writable(ctx, "import_layout")
    run = _LayoutImport(
        name,
        path,
        _last_id(town, name),
        partial=partial,
        encoding=encoding,
        gaiji=gaiji,
        chunk_size=chunk_size,
        on_progress=on_progress,
    )
    for chunk in run.chunks():
        run.store(town, chunk)
    _keep_gaiji_names(town, gaiji)
    finish_write(
        town.session, ctx, "import_layout", subjects=sorted(run.people), detail=run.detail()
    )
    return run.imported, run.unchanged, run.rejected


def _keep_gaiji_names(town: Town, gaiji: GaijiTable | None) -> None:
    """Keep the MJ文字図形名 the import's gaiji table gave, for the town's later exports
    (as residents.csv's import does)."""
    if gaiji is not None:
        keep_imported_names(town, {e.text: e.mj_name for e in gaiji if e.mj_name})


def _last_id(town: Town, name: str) -> int | None:
    """The largest id of layout ``name``'s table: rows up to it were stored before an
    import begins (None: the table is empty). 住登外者 are keyed by their 宛名番号, which
    a file cannot hold twice: any stored one counts (0 when there are some)."""
    if ROW_MODEL[name] is NonResident:
        return 0 if town.session.scalar(select(func.count()).select_from(NonResident)) else None
    last: int | None = town.session.scalar(select(func.max(ROW_MODEL[name].id)))
    return last


#: one row of a layout file as read: (line, values) or the row's refusal
_Read = tuple[int, dict[str, Any] | Rejection]


class _LayoutImport:
    """One layout file being imported: reads it a chunk at a time (:meth:`chunks`, no
    database work) and stores a chunk in the transaction it is given (:meth:`store`),
    keeping across chunks what the whole file needs (stored copies matched so far, the
    counts, the people named, the rows refused)."""

    def __init__(
        self,
        name: str,
        path: Path,
        max_id: int | None,
        *,
        partial: bool,
        encoding: str | None,
        gaiji: GaijiTable | None,
        chunk_size: int,
        on_progress: Callable[[int], None] | None,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        self.name = name
        self.path = path
        self.cols = LAYOUTS[name]
        #: rows with an id up to this one were stored before the import; None: none were
        self.max_id = max_id
        self.partial = partial
        self.encoding = encoding
        self.gaiji = gaiji
        self.chunk_size = chunk_size
        self.on_progress = on_progress
        self.matched: Counter[tuple[Any, ...]] = Counter()  # stored copies matched so far
        self.imported = self.unchanged = 0
        self.people: set[str] = set()
        self.rejected: list[Rejection] = []
        self.read = self.last_line = 0  # records read so far, and the last one's first line
        self.seen: dict[str, str] = {}

    def chunks(self) -> Iterator[list[_Read]]:
        chunk: list[_Read] = []
        for item in _read(self.path, self.cols, self.encoding, self.gaiji, self.seen):
            chunk.append(item)
            # a bad row ends the chunk when it refuses the file, so the earlier rows' own
            # errors come first, as they would row by row
            if len(chunk) >= self.chunk_size or (
                isinstance(item[1], Rejection) and not self.partial
            ):
                yield chunk
                chunk = []
        yield chunk

    def detail(self) -> dict[str, Any]:
        return {
            "layout": self.name,
            "file": self.path.name,
            "imported": self.imported,
            "unchanged": self.unchanged,
            "rejected": len(self.rejected),
            "encoding": self.seen.get("encoding", ""),
        }

    def reject(self, r: Rejection) -> None:
        if not self.partial:
            where = f"{r.row} 行目" + (f" {r.column}" if r.column else "")
            raise ImportRefusedError(f"{self.path.name}: {where}: {r.reason}", [r])
        self.rejected.append(r)

    def store(self, town: Town, chunk: list[_Read]) -> set[str]:
        """Check and insert ``chunk``'s new rows in ``town``'s transaction; returns the
        people whose rows it added."""
        cols = self.cols
        parsed = [(line, row) for line, row in chunk if not isinstance(row, Rejection)]
        numbers = {
            str(row[attr])
            for _, row in parsed
            for attr in ("addressee_number", "householder")
            if attr in row
        }
        if not numbers:
            known: set[str] = set()
        else:
            known = set(
                town.session.scalars(
                    select(Person.addressee_number).where(Person.addressee_number.in_(numbers))
                )
            )
        stored: Counter[tuple[Any, ...]] = Counter()
        if self.max_id is not None and numbers:
            kinds = {str(row["tax_kind"]) for _, row in parsed if "tax_kind" in row}
            stored.update(
                tuple(r[c.attr] for c in cols)
                for r in _rows(
                    town, self.name, people=numbers, max_id=self.max_id, tax_kinds=kinds or None
                )
            )
        # which rows are already stored does not depend on the rows added, so it is decided
        # first, and only the other rows' references are looked up
        fresh: list[bool] = []
        for _, values in parsed:
            key = tuple(values[c.attr] for c in cols)
            fresh.append(self.matched[key] >= stored[key])
            if not fresh[-1]:
                self.matched[key] += 1
        new = _CHUNKS[self.name](town, [v for (_, v), f in zip(parsed, fresh, strict=True) if f])
        is_fresh = iter(fresh)
        added: set[str] = set()
        imported = 0
        for line, row in chunk:
            if isinstance(row, Rejection):
                self.reject(row)
                continue
            if not next(is_fresh):
                self.unchanged += 1
                continue
            unknown = [
                (attr, row[attr])
                for attr in ("addressee_number", "householder")
                if attr in row and row[attr] not in known and self.name != "non_residents"
            ]
            if unknown:
                attr, number = unknown[0]
                header = next(c.header for c in cols if c.attr == attr)
                self.reject(
                    Rejection(line, header, f"宛名番号 {number} の住民はこの町村にいません")
                )
                continue
            try:
                new.add(row)
            except LookupError as e:
                self.reject(Rejection(line, "", str(e)))
                continue
            added.add(str(row.get("addressee_number", "")))
            imported += 1
        new.store()
        self.imported += imported
        added.discard("")
        self.people |= added
        for line, _ in chunk:  # a row with several bad fields is one row
            self.read += line != self.last_line
            self.last_line = line
        if self.on_progress is not None and chunk:
            self.on_progress(self.read)
        return added


def import_layouts(
    platform: Platform,
    ctx: RequestContext,
    files: Sequence[tuple[str, Path]],
    *,
    partial: bool = False,
    encoding: str | None = None,
    gaiji: GaijiTable | None = None,
    chunk_size: int = CHUNK_ROWS,
    on_progress: Callable[[str, str, int], None] | None = None,
) -> list[tuple[int, int, list[Rejection]]]:
    """Import a town's layout files (``(layout, path)`` in :data:`ORDER`), without holding
    the town's write lock for more than a chunk. Returns (imported, unchanged, rejected)
    per file.

    All or nothing across the files unless ``partial``: first every file is imported, in
    order, into a trial of the town's database whose writes are thrown away
    (:meth:`Platform.trial_town`: a private copy on SQLite), so a bad row of any file
    refuses them all before anything is written, and the counter never waits for the
    check. Then each file is written ``chunk_size`` rows per short transaction, each with
    an audit entry naming its people, and one entry per file with its counts. Should the
    town change between the two (a clerk records a payment the file also holds) so that a
    row is refused while writing, what was written stays, the refusal says so, and the
    same files imported again add the rest (rows already stored are skipped).
    ``on_progress(stage, layout, rows)`` follows both passes (stage "check", "write").
    """
    check_writable(ctx, "import_layout")
    code = ctx.town_code

    def progress(stage: str, name: str) -> Callable[[int], None] | None:
        if on_progress is None:
            return None
        return lambda rows: on_progress(stage, name, rows)

    def opened(name: str, path: Path, max_id: int | None, stage: str) -> _LayoutImport:
        return _LayoutImport(
            name,
            path,
            max_id,
            partial=partial,
            encoding=encoding,
            gaiji=gaiji,
            chunk_size=chunk_size,
            on_progress=progress(stage, name),
        )

    if not partial:
        with platform.trial_town(code) as trial:
            for name, path in files:
                run = opened(name, path, _last_id(trial, name), "check")
                for chunk in run.chunks():
                    run.store(trial, chunk)
    results: list[tuple[int, int, list[Rejection]]] = []
    for name, path in files:
        with platform.read_town(code) as town:
            run = opened(name, path, _last_id(town, name), "write")
        for chunk in run.chunks():
            try:
                with platform.town(code) as town:
                    added = run.store(town, chunk)
                    if added:
                        finish_write(
                            town.session,
                            ctx,
                            "import_layout_rows",
                            subjects=sorted(added),
                            detail={"layout": name, "file": path.name, "people": len(added)},
                        )
            except ImportRefusedError as e:
                if not run.imported and not any(done for done, _, _ in results):
                    raise  # nothing written yet
                cause = "" if partial else "取り込み中に町村のデータが変わりました。"
                raise ImportRefusedError(
                    f"{e} ({cause}これより前の行は取り込まれています。直して同じファイルを"
                    "もう一度取り込むと、取り込み済みの行は飛ばして残りを取り込みます)",
                    e.rejections,
                ) from e
        with platform.town(code) as town:
            if not results:  # once, with the first file's closing entry
                _keep_gaiji_names(town, gaiji)
            finish_write(town.session, ctx, "import_layout", detail=run.detail())
        results.append((run.imported, run.unchanged, run.rejected))
    return results


_ASSESSMENT_MODELS: dict[str, Any] = {
    "resident": ResidentTaxAssessment,
    "property": PropertyTaxAssessment,
    "light_vehicle": LightVehicleTaxAssessment,
}


def _assessment_ids(town: Town, rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], int]:
    """The assessment of every (税目, 宛名番号, 年度[, 標識番号]) the rows name, in one query
    per 税目: key → id (the first stored, as a lookup row by row would find it).  The 標識番号
    is part of the key of light vehicles only."""
    found: dict[tuple[Any, ...], int] = {}
    for kind, model in _ASSESSMENT_MODELS.items():
        people = {r["addressee_number"] for r in rows if r["tax_kind"] == kind}
        if not people:
            continue
        cols = [model.id, model.addressee_number, model.fiscal_year]
        if kind == "light_vehicle":
            cols.append(model.plate_number)
        stmt = select(*cols).where(model.addressee_number.in_(people)).order_by(model.id)
        for aid, *key in town.session.execute(stmt):
            found.setdefault((kind, *key), int(aid))
    return found


def _assessment_id(found: dict[tuple[Any, ...], int], row: dict[str, Any]) -> int:
    kind, person, year = row["tax_kind"], row["addressee_number"], row["fiscal_year"]
    if kind not in _ASSESSMENT_MODELS:
        raise LookupError(f"税目「{kind}」は resident, property, light_vehicle のいずれかです")
    key = (kind, person, year, row["plate"]) if kind == "light_vehicle" else (kind, person, year)
    aid = found.get(key)
    if aid is None:
        raise LookupError(
            f"{kind} {person} {year}年度 の課税がありません (先に課税のファイルを取り込みます)"
        )
    return aid


def _insert(
    town: Town, model: Any, rows: list[dict[str, Any]]
) -> tuple[list[int], list[dict[str, Any]]]:
    """Insert ``rows`` ({attribute: value}) of ``model`` in order with one statement per
    batch; returns their ids and their journal changes, for :func:`_journal`.

    A change is the image of the row exactly as the journal's flush hook captures an ORM
    insert (:func:`lgcloud.trail.journal.row_image`: every column, the new id, a
    column left out holding its default); the cost of ORM objects and a unit of work per
    row is what this avoids.
    """
    if not rows:
        return [], []
    table = model.__table__
    attrs = [(prop.key, prop.columns[0]) for prop in sa_inspect(model).column_attrs]
    full: list[dict[str, Any]] = []
    for row in rows:
        values: dict[str, Any] = {}
        for key, col in attrs:
            if col.primary_key:
                continue
            if key in row:
                values[col.name] = row[key]
            elif col.default is not None and col.default.is_scalar:
                values[col.name] = col.default.arg
            else:
                values[col.name] = None
        full.append(values)
    ids = [
        int(i)
        for i in town.session.connection()
        .execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), full)
        .scalars()
    ]
    images = [
        {
            "table": table.name,
            "op": "insert",
            "row": {
                key: jsonable(new_id if col.primary_key else values[col.name]) for key, col in attrs
            },
        }
        for values, new_id in zip(full, ids, strict=True)
    ]
    return ids, images


def _journal(town: Town, changes: list[dict[str, Any]]) -> None:
    """Add ``changes`` to the write's, where the journal's after_flush hook adds what a flush
    inserts (:func:`finish_write` puts them all in the write's journal entry)."""
    captured: list[dict[str, Any]] | None = town.session.info.get(CAPTURE_KEY)
    if captured is not None:  # capturing, as the hook checks
        captured.extend(changes)


class _Chunk:
    """The new rows of one chunk: :meth:`add` checks a row against what the chunk's rows
    name, looked up together when the chunk begins (plus what earlier rows of the chunk
    added), and raises LookupError for a bad row; :meth:`store` inserts the rows added, in
    file order, together (:func:`_insert`: journalled as a row-by-row flush would be)."""

    model: Any = None

    def __init__(self, town: Town, rows: list[dict[str, Any]]) -> None:
        self.town = town
        self.new: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any]) -> None:
        raise NotImplementedError

    def store(self) -> None:
        _journal(self.town, _insert(self.town, self.model, self.new)[1])
        self.new = []


class _InstallmentChunk(_Chunk):
    model = TaxInstallment

    def __init__(self, town: Town, rows: list[dict[str, Any]]) -> None:
        super().__init__(town, rows)
        self.assessments = _assessment_ids(town, rows)
        #: (税目, assessment id, 期別) already stored, or added by an earlier row (running):
        #: one installment per period (the table's unique index), refused as a bad row
        ti = TaxInstallment
        aids = set(self.assessments.values())
        self.taken: set[tuple[str, int, int]] = (
            {
                (kind, int(aid), int(period))
                for kind, aid, period in town.session.execute(
                    select(ti.tax_kind, ti.assessment_id, ti.period).where(
                        ti.assessment_id.in_(aids)
                    )
                )
            }
            if aids
            else set()
        )

    def add(self, row: dict[str, Any]) -> None:
        aid = _assessment_id(self.assessments, row)
        key = (row["tax_kind"], aid, row["period"])
        if key in self.taken:
            raise LookupError(
                f"第{row['period']}期の期別は既に別の内容で登録されているか、"
                "ファイルの中で2度あります"
            )
        self.taken.add(key)
        self.new.append(
            {
                "tax_kind": row["tax_kind"],
                "assessment_id": aid,
                "addressee_number": row["addressee_number"],
                "fiscal_year": row["fiscal_year"],
                "period": row["period"],
                "due_date": row["due_date"],
                "amount": row["amount"],
            }
        )


class _PaymentChunk(_Chunk):
    model = TaxPayment

    def __init__(self, town: Town, rows: list[dict[str, Any]]) -> None:
        super().__init__(town, rows)
        self.assessments = _assessment_ids(town, rows)
        ti, tp = TaxInstallment, TaxPayment
        #: (税目, assessment id, 期別) → (installment id, 税額)
        self.installments: dict[tuple[str, int, int], tuple[int, int]] = {}
        #: installment id → paid so far, this import's rows included (running)
        self.paid: dict[int, int] = {}
        aids = set(self.assessments.values())
        if not aids:
            return
        for iid, kind, aid, period, amount in town.session.execute(
            select(ti.id, ti.tax_kind, ti.assessment_id, ti.period, ti.amount)
            .where(ti.assessment_id.in_(aids))
            .order_by(ti.id)
        ):
            self.installments.setdefault((kind, aid, period), (int(iid), int(amount or 0)))
        ids = {iid for iid, _ in self.installments.values()}
        if ids:
            self.paid = {
                int(iid): int(paid or 0)
                for iid, paid in town.session.execute(
                    select(tp.installment_id, func.sum(tp.amount))
                    .where(tp.installment_id.in_(ids))
                    .group_by(tp.installment_id)
                )
            }

    def add(self, row: dict[str, Any]) -> None:
        aid = _assessment_id(self.assessments, row)
        found = self.installments.get((row["tax_kind"], aid, row["period"]))
        if found is None:
            raise LookupError(
                f"第{row['period']}期の期別がありません (先に期別のファイルを取り込みます)"
            )
        inst, levied = found
        # the rule record_payment enforces: never more than is outstanding
        paid = self.paid.get(inst, 0)
        if not 0 < row["amount"] <= levied - paid:
            raise LookupError(
                f"納付額 {row['amount']:,}円 が第{row['period']}期の未納額 {levied - paid:,}円 を"
                "超えるか、1円未満です"
            )
        self.paid[inst] = paid + row["amount"]
        self.new.append(
            {
                "installment_id": inst,
                "paid_on": row["paid_on"],
                "amount": row["amount"],
                "channel": row["channel"],
                "recorded_at": utcnow(),
            }
        )


class _NhiChunk(_Chunk):
    model = NhiMember

    def __init__(self, town: Town, rows: list[dict[str, Any]]) -> None:
        super().__init__(town, rows)
        nh = NhiHousehold
        #: (世帯番号, 記号, 世帯資格取得日) → household id, or (for a household this chunk
        #: adds) the negative of 1 + its place in ``new_households``
        self.households: dict[tuple[Any, ...], int] = {}
        self.new_households: list[dict[str, Any]] = []
        #: per member added, whether it added its household too (journalled before it)
        self.with_household: list[bool] = []
        numbers = {r["household_number"] for r in rows}
        if numbers:
            for hid, *key in town.session.execute(
                select(nh.id, nh.household_number, nh.symbol, nh.started_on)
                .where(nh.household_number.in_(numbers))
                .order_by(nh.id)
            ):
                self.households.setdefault(tuple(key), int(hid))

    def add(self, row: dict[str, Any]) -> None:
        key = (row["household_number"], row["symbol"], row["started_on"])
        hid = self.households.get(key)
        self.with_household.append(hid is None)
        if hid is None:
            self.new_households.append(
                {
                    "household_number": row["household_number"],
                    "symbol": row["symbol"],
                    "householder": row["householder"],
                    "started_on": row["started_on"],
                    "ended_on": row["ended_on"],
                }
            )
            hid = self.households[key] = -len(self.new_households)
        self.new.append(
            {
                "nhi_household_id": hid,
                "addressee_number": row["addressee_number"],
                "insured_number": row["insured_number"],
                "branch": row["branch"],
                "qualified_on": row["qualified_on"],
                "disqualified_on": row["disqualified_on"],
                "copay_percent": row["copay_percent"],
                "recorded_at": utcnow(),
            }
        )

    def store(self) -> None:
        # the new households first: their members need their ids
        ids, households = _insert(self.town, NhiHousehold, self.new_households)
        for member in self.new:
            if member["nhi_household_id"] < 0:
                member["nhi_household_id"] = ids[-member["nhi_household_id"] - 1]
        _, members = _insert(self.town, NhiMember, self.new)
        # journalled in file order, each new household just before its first member
        new_households = iter(households)
        changes: list[dict[str, Any]] = []
        for member, with_household in zip(members, self.with_household, strict=True):
            if with_household:
                changes.append(next(new_households))
            changes.append(member)
        _journal(self.town, changes)
        self.new, self.new_households, self.with_household = [], [], []


#: The natural key of each simple layout: a stored row with the same key and other content
#: is a conflict, refused like any bad row.
NATURAL_KEYS: dict[Any, tuple[str, ...]] = {
    ResidentTaxAssessment: ("addressee_number", "fiscal_year"),
    PropertyTaxAssessment: ("addressee_number", "fiscal_year"),
    LightVehicleTaxAssessment: ("addressee_number", "fiscal_year", "plate_number"),
    SealRegistration: ("registration_number",),
}


def _simple(model: Any, cols: tuple[Col, ...]) -> Callable[[Town, list[dict[str, Any]]], _Chunk]:
    key = NATURAL_KEYS[model]

    class Simple(_Chunk):
        def __init__(self, town: Town, rows: list[dict[str, Any]]) -> None:
            super().__init__(town, rows)
            #: natural keys stored, or added by this chunk
            self.taken: set[tuple[Any, ...]] = set()
            firsts = {r[key[0]] for r in rows}
            if firsts:
                wanted = {tuple(r[k] for k in key) for r in rows}
                stmt = select(*(getattr(model, k) for k in key)).where(
                    getattr(model, key[0]).in_(firsts)
                )
                self.taken = {tuple(t) for t in town.session.execute(stmt)} & wanted

        def add(self, row: dict[str, Any]) -> None:
            natural = tuple(row[k] for k in key)
            if natural in self.taken:
                named = "、".join(f"{k}={row[k]}" for k in key)
                raise LookupError(f"{named} は既に別の内容で登録されています")
            values = {c.attr: row[c.attr] for c in cols}
            if model is SealRegistration:
                values["abolition_reason"] = values["abolition_reason"] or None
            self.taken.add(natural)
            self.new.append({**values, "recorded_at": utcnow()})

    Simple.model = model
    return Simple


class _NonResidentChunk(_Chunk):
    """住登外者: each gets its 宛名番号 (a ``persons`` row) and its ``non_residents`` row; a
    宛名番号 the town already uses (a resident's, or a 住登外者 stored differently) is bad."""

    model = NonResident

    def __init__(self, town: Town, rows: list[dict[str, Any]]) -> None:
        super().__init__(town, rows)
        wanted = {str(r["addressee_number"]) for r in rows}
        self.taken: set[str] = set(
            town.session.scalars(
                select(Person.addressee_number).where(Person.addressee_number.in_(wanted))
            )
        )

    def add(self, row: dict[str, Any]) -> None:
        number = str(row["addressee_number"])
        try:
            validate_numbered(number, "宛名番号")
        except InvalidIdentifierError as e:
            raise LookupError(str(e)) from e
        if number in self.taken:
            raise LookupError(f"宛名番号 {number} は既に別の内容で登録されています")
        if row["kind"] not in ("person", "corporation"):
            raise LookupError("区分は person（個人）か corporation（法人）です")
        if row["reason"] not in REASONS:
            raise LookupError(f"住登外の理由「{row['reason']}」は一覧にありません")
        if not str(row["name"]).strip():
            raise LookupError("氏名又は名称は必須です")
        if row["kind"] == "corporation":
            try:
                check_corporate_number(str(row["corporate_number"]))
            except LgcloudError as e:
                raise LookupError(e.message) from e
        elif row["corporate_number"]:
            raise LookupError("個人に法人番号は登録できません")
        self.taken.add(number)
        self.new.append(
            {
                **row,
                "corporate_number": row["corporate_number"] or None,
                "name_key": folding.name_key(str(row["name"])),
                "kana_key": folding.kana_key(str(row["kana"])),
                "recorded_at": utcnow(),
            }
        )

    def store(self) -> None:
        if not self.new:
            return
        persons = [
            {"addressee_number": r["addressee_number"], "created_event_id": None} for r in self.new
        ]
        self.town.session.execute(insert(Person), persons)
        self.town.session.execute(insert(NonResident), self.new)
        _journal(
            self.town,
            [{"table": "persons", "op": "insert", "row": p} for p in persons]
            + [
                {
                    "table": "non_residents",
                    "op": "insert",
                    "row": {k: jsonable(v) for k, v in r.items()},
                }
                for r in self.new
            ],
        )
        self.new = []


#: What checks and adds the new rows of a chunk of each layout.
_CHUNKS: dict[str, Callable[[Town, list[dict[str, Any]]], _Chunk]] = {
    "non_residents": _NonResidentChunk,
    "resident_taxes": _simple(ResidentTaxAssessment, RESIDENT_TAX),
    "property_taxes": _simple(PropertyTaxAssessment, PROPERTY_TAX),
    "light_vehicle_taxes": _simple(LightVehicleTaxAssessment, LIGHT_VEHICLE_TAX),
    "installments": _InstallmentChunk,
    "payments": _PaymentChunk,
    "nhi": _NhiChunk,
    "seals": _simple(SealRegistration, SEALS),
}

#: Import order: what a later file refers to comes first.
ORDER = (
    "non_residents",
    "resident_taxes",
    "property_taxes",
    "light_vehicle_taxes",
    "installments",
    "payments",
    "nhi",
    "seals",
)


def export_all(
    town: Town,
    ctx: RequestContext,
    out_dir: Path,
    *,
    encoding: str = "utf-8",
    on_progress: Callable[[str, int], None] | None = None,
    cp932_variant: Cp932Variant = "ibm",
) -> dict[str, int]:
    """Write every layout into ``out_dir``; returns the row count of each. ``on_progress``
    is called with each file's name and row count when it is written.

    With ``encoding="cp932"`` the files share one gaiji table, written (even when empty)
    as ``out_dir/gaiji.csv``, so a user-defined code means the same in every file;
    ``cp932_variant`` chooses the codes (codec.Cp932Variant: as Windows writes them by
    default).
    """
    if encoding not in ENCODINGS:
        raise LgcloudError(f"出力の文字コードは utf-8 か cp932 です: {encoding}")
    out_dir.mkdir(parents=True, exist_ok=True)
    gaiji = export_table(cp932_variant, glyph_names(town)) if encoding == "cp932" else None
    counts = {}
    for name in ORDER:
        with (out_dir / f"{name}.csv").open("wb") as f:
            counts[name] = write_layout(town, ctx, name, f, encoding=encoding, gaiji=gaiji)
        if on_progress is not None:
            on_progress(name, counts[name])
    if gaiji is not None:
        gaiji.write(out_dir / GAIJI_CSV)
    return counts


def to_text(town: Town, ctx: RequestContext, name: str) -> str:
    buf = io.StringIO()
    export_layout(town, ctx, name, buf)
    return buf.getvalue()
