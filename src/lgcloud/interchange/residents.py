"""residents.csv (住民記録) import and export, in the layout of docs/interchange.md.

Import is safe: rows are validated one by one while the file streams into a temporary
staging table (memory stays bounded whatever the file's size), then the whole-file rules
(unique 宛名番号, one 世帯主 per household, one address per household, what the town
already holds) are checked in SQL. By default a file imports completely or not at all; with
``partial`` valid households are imported and every rejected row is reported. Rows already
stored identically are skipped, so importing the same file twice changes nothing the second
time. The import is one audited, journalled write.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    exists,
    func,
    insert,
    or_,
    select,
    true,
)

from lgcloud.core.clock import today_jst
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import LgcloudError
from lgcloud.core.ids import InvalidIdentifierError, validate_resident_code
from lgcloud.interchange.codec import (
    Cp932Variant,
    EncodingError,
    GaijiError,
    GaijiTable,
    decode_lines,
    detect_encoding,
    encode_cp932,
    export_table,
    user_defined_codes,
)
from lgcloud.register import crosstown
from lgcloud.register.domain import (
    EVENT_LABELS,
    FOREIGN_FIELDS,
    HEAD,
    RELATIONSHIPS,
    EventKind,
    PersonState,
    Sex,
    Status,
    foreign_resident_problem,
    holds_identity,
)
from lgcloud.register.glyphs import glyph_names, glyphs_of, keep_imported_names
from lgcloud.register.models import District, Household, NumberSequence, Person, PersonVersion
from lgcloud.register.printable import unprintable_in
from lgcloud.register.service import state_of, version_values
from lgcloud.tenancy.platform import Platform, Town
from lgcloud.trail.journal import (
    BulkWriter,
    check_writable,
    finish_write,
    journal_only,
)

COLUMNS = (
    "宛名番号",
    "世帯番号",
    "住民票コード",
    "漢字氏名",
    "カナ氏名",
    "生年月日",
    "性別",
    "続柄",
    "住所",
    "方書",
    "郵便番号",
    "行政区",
    "住民日",
    "住定日",
    "届出日",
    "異動事由",
    "消除日",
    "消除事由",
    "転入前住所",
    "本籍",
    "筆頭者",
    # 外国人住民 (第30条の45): blank for Japanese nationals
    *FOREIGN_FIELDS.values(),
)
#: the residents.csv column of each printed field (register.printable.PRINTED_FIELDS)
PRINTED_COLUMNS = {"氏名": "漢字氏名"}

REQUIRED = (
    "宛名番号",
    "世帯番号",
    "漢字氏名",
    "生年月日",
    "性別",
    "続柄",
    "住所",
    "住民日",
    "住定日",
)

#: 異動事由 text → event kind. Every label of ``EVENT_LABELS`` (the vocabulary, 世帯変更
#: included) reads back to its own kind and is written back unchanged; ``国内転入`` is
#: accepted as another name of 転入 and written back as 転入 (docs/interchange.md).
EVENT_BY_LABEL: dict[str, EventKind] = {label: kind for kind, label in EVENT_LABELS.items()}
EVENT_BY_LABEL |= {
    "国内転入": EventKind.DOMESTIC_MOVE_IN,
    "": EventKind.INITIAL_LOAD,
}
SEX = {"1": Sex.MALE, "2": Sex.FEMALE, "男": Sex.MALE, "女": Sex.FEMALE}
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ImportRefusedError(LgcloudError):
    """The file was refused as a whole; nothing stored was changed."""

    def __init__(self, message: str, rejections: list[Rejection] | None = None) -> None:
        super().__init__(message)
        self.rejections = rejections or []


@dataclass(frozen=True)
class Rejection:
    row: int  # 1-based line number of the record's first line in the file (header is row 1)
    column: str
    reason: str


@dataclass
class ImportResult:
    rows: int = 0
    imported: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    encoding: str = ""
    sha256: str = ""
    #: current residents' fields no installed font prints (row, column, message): imported
    #: all the same, unless the import is ``strict`` (then they are rejections)
    unprintable: list[Rejection] = field(default_factory=list)
    #: people of this import whose 住民票コード or 個人番号 another hosted town also holds
    #: (each one a 処理待ち item of the register, in both towns)
    shared_across_towns: int = 0


def _date(value: str, column: str) -> date:
    if not DATE_RE.fullmatch(value):
        raise ValueError(f"{column} は YYYY-MM-DD で書いてください: 「{value}」")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{column} の日付がありえない日付です: 「{value}」") from None


class _RowError(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def parse_row(values: dict[str, str], today: date) -> PersonState:
    """One CSV record → the person's current state; raises _RowError naming the column."""

    def get(col: str) -> str:
        return values.get(col, "")

    for col in REQUIRED:
        if not get(col).strip():
            raise _RowError(col, f"{col} は必須です")
    for col in ("宛名番号", "世帯番号"):
        if not (get(col).isdigit() and get(col).isascii()):
            raise _RowError(col, f"{col} は数字です: 「{get(col)}」")
        if len(get(col)) > 10:
            raise _RowError(col, f"{col} は10桁までです: 「{get(col)}」")
    code = get("住民票コード")
    if code:
        try:
            validate_resident_code(code)
        except InvalidIdentifierError as e:
            raise _RowError("住民票コード", str(e)) from e
    if get("性別") not in SEX:
        raise _RowError("性別", f"性別は 1, 2, 男, 女 のいずれかです: 「{get('性別')}」")
    if get("続柄") not in RELATIONSHIPS:
        raise _RowError("続柄", f"続柄「{get('続柄')}」は使えません")
    postal = get("郵便番号")
    if postal and not re.fullmatch(r"[0-9]{7}", postal):
        raise _RowError("郵便番号", f"郵便番号は数字7桁です: 「{postal}」")
    event_label = get("異動事由")
    if event_label not in EVENT_BY_LABEL:
        raise _RowError("異動事由", f"異動事由「{event_label}」は使えません")
    dates: dict[str, date | None] = {}
    expiry = FOREIGN_FIELDS["stay_expires_on"]
    for col in ("生年月日", "住民日", "住定日", "届出日", "消除日", expiry):
        raw = get(col)
        if not raw:
            dates[col] = None
            continue
        try:
            dates[col] = _date(raw, col)
        except ValueError as e:
            raise _RowError(col, str(e)) from e
    birth, since, settled = dates["生年月日"], dates["住民日"], dates["住定日"]
    assert birth is not None
    assert since is not None
    assert settled is not None
    removed_on = dates["消除日"]
    event = EVENT_BY_LABEL[event_label]
    if not since <= settled <= today:
        raise _RowError("住定日", "住民日 ≤ 住定日 ≤ 今日 になっていません")
    if event is EventKind.BIRTH and birth != since:
        raise _RowError("住民日", "出生による住民日は生年月日と同じです")
    if birth > since:
        raise _RowError("住民日", "住民日が生年月日より前です")
    if removed_on is not None and removed_on < settled:
        raise _RowError("消除日", "消除日が住定日より前です")
    if bool(removed_on) != bool(get("消除事由")):
        raise _RowError("消除事由", "消除日と消除事由は両方とも書くか、両方とも空欄にします")
    state = PersonState(
        addressee_number=get("宛名番号"),
        status=Status.REMOVED if removed_on else Status.RESIDENT,
        name=get("漢字氏名"),
        kana=get("カナ氏名"),
        birth_date=birth,
        sex=SEX[get("性別")],
        resident_code=code or None,
        household_number=get("世帯番号"),
        relationship=get("続柄"),
        address=get("住所"),
        address_detail=get("方書"),
        postal_code=postal,
        district=get("行政区"),
        resident_since=since,
        settled_on=settled,
        notified_on=dates["届出日"],
        last_event=event,
        valid_from=removed_on or settled,
        removed_on=removed_on,
        removal_reason=get("消除事由") or None,
        previous_address=get("転入前住所") or None,
        honseki=get("本籍") or None,
        hittousha=get("筆頭者") or None,
        nationality=get("国籍・地域") or None,
        foreign_category=get("第30条45規定区分") or None,
        residence_status=get("在留資格") or None,
        stay_expires_on=dates[expiry],
        residence_card_number=get("在留カード等番号") or None,
    )
    problem = foreign_resident_problem(state)
    if problem is not None:
        attr, message = problem
        raise _RowError(FOREIGN_FIELDS.get(attr, "本籍"), message)
    return state


def row_of(s: PersonState) -> list[str]:
    """A person's current state as a residents.csv record (the inverse of parse_row)."""
    return [
        s.addressee_number,
        s.household_number,
        s.resident_code or "",
        s.name,
        s.kana,
        s.birth_date.isoformat(),
        str(int(s.sex)),
        s.relationship,
        s.address,
        s.address_detail,
        s.postal_code,
        s.district,
        s.resident_since.isoformat(),
        s.settled_on.isoformat(),
        s.notified_on.isoformat() if s.notified_on else "",
        "" if s.last_event is EventKind.INITIAL_LOAD else EVENT_LABELS[s.last_event],
        s.removed_on.isoformat() if s.removed_on else "",
        s.removal_reason or "",
        s.previous_address or "",
        s.honseki or "",
        s.hittousha or "",
        s.nationality or "",
        s.foreign_category or "",
        s.residence_status or "",
        s.stay_expires_on.isoformat() if s.stay_expires_on else "",
        s.residence_card_number or "",
    ]


# ------------------------------------------------------------------------------- export


def _current_states(town: Town) -> Iterator[PersonState]:
    stmt = (
        select(*PersonVersion.__table__.columns)
        .where(PersonVersion.is_current == true())
        .order_by(PersonVersion.addressee_number)
        .execution_options(yield_per=5000)
    )
    for row in town.session.execute(stmt):
        yield state_of(row)


def export_residents(
    town: Town,
    ctx: RequestContext,
    out: IO[bytes],
    *,
    encoding: str = "utf-8",
    gaiji_out: IO[str] | None = None,
    on_progress: Callable[[int], None] | None = None,
    cp932_variant: Cp932Variant = "ibm",
) -> int:
    """Write every person (current and removed) as residents.csv; returns the row count.
    ``on_progress`` is called with the rows written so far, every 1,000 rows.

    ``encoding`` is "utf-8" (no BOM) or "cp932"; for cp932 each character gets the code
    ``cp932_variant`` chooses (as Windows writes it by default: 髙 0xFBFC), and every
    character Shift_JIS cannot hold exactly (IVS sequences, 𠮷, …; with ``jis`` also the
    NEC and IBM extensions) is written as a user-defined code listed in ``gaiji_out``
    (gaiji.csv, with its MJ文字図形名), so the round trip is exact. Audited as an export.
    """
    if encoding not in ("utf-8", "cp932"):
        raise LgcloudError(f"出力の文字コードは utf-8 か cp932 です: {encoding}")
    if encoding == "cp932" and gaiji_out is None:
        raise LgcloudError("cp932 で出力するには外字表 (gaiji.csv) の出力先が必要です")
    gaiji = export_table(cp932_variant, glyph_names(town)) if encoding == "cp932" else GaijiTable()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")

    def emit(record: list[str] | tuple[str, ...]) -> None:
        writer.writerow(record)
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        out.write(text.encode("utf-8") if encoding == "utf-8" else encode_cp932(text, gaiji))

    emit(COLUMNS)
    count = 0
    numbers: list[str] = []
    for state in _current_states(town):
        emit(row_of(state))
        numbers.append(state.addressee_number)
        count += 1
        if on_progress is not None and count % 1000 == 0:
            on_progress(count)
    if gaiji_out is not None:
        gaiji.write(gaiji_out)
    town.audit(
        ctx,
        "export_residents",
        subjects=numbers,
        detail={
            "format": "residents.csv",
            "encoding": encoding,
            "rows": count,
            "gaiji": len(gaiji),
        },
    )
    return count


# ------------------------------------------------------------------------------- import

_STAGING = MetaData()
STAGING = Table(
    "import_staging",
    _STAGING,
    Column("row_no", Integer, primary_key=True),
    Column("addressee_number", String(10)),
    Column("household_number", String(10)),
    Column("is_resident", Integer),
    Column("is_head", Integer),
    Column("address_key", Text),
    Column("payload", Text),  # the parsed record (CSV text of row_of), re-parsed at insert
    Column("birth", Date),
    Column("resident_code", String(11)),  # only where the row keeps it from others
    # the whole-file checks join on these (without them a check is quadratic in the file)
    Index("ix_import_staging_addressee", "addressee_number"),
    Index("ix_import_staging_household", "household_number"),
    Index("ix_import_staging_resident_code", "resident_code"),
    prefixes=["TEMPORARY"],
)


class _RecordLines:
    """The lines handed to the csv reader, remembering those of the record being read: the
    csv module says what went wrong in a record but not in which field, so the field is
    found again from them (:func:`_field_of_fault`)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.record: list[str] = []

    def __iter__(self) -> _RecordLines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.record.append(line)
        return line


def csv_records(lines: Iterator[str], name: str) -> Iterator[tuple[int, list[str]]]:
    """(line number of the record's first line, fields) of each CSV record of file ``name``,
    streaming (RFC 4180, strict); a record that is not CSV refuses the file, naming it, the
    line and the column (the first record is taken as the header that names the columns;
    every interchange reader: residents.csv, the layouts, evacuees.csv)."""
    source = _RecordLines(lines)
    reader = csv.reader(source, strict=True)
    header: list[str] | None = None
    while True:
        start = reader.line_num + 1
        source.record = []
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            reason = _csv_fault(str(e), start, reader.line_num)
            column = ""
            if header is not None:  # a fault in the header itself names no column
                index = _field_of_fault("".join(source.record))
                column = header[index] if index < len(header) else f"{index + 1} 列目"
            where = f"{start} 行目 {column}" if column else f"{start} 行目"
            raise ImportRefusedError(
                f"{name}: {where}: {reason}", [Rejection(start, column, reason)]
            ) from e
        if header is None:
            header = [h.strip().lstrip("\ufeff") for h in fields]
        yield start, fields


def _field_of_fault(record: str) -> int:
    """The 0-based index of the field in which a strict reading of ``record`` (the text of
    one CSV record, as far as the reader got) fails: a quote never closed, something other
    than a comma after a closing quote, or a line end inside an unquoted field. Written by
    hand because the csv module reports the fault without its position; it follows the
    module's strict RFC 4180 reading (a quote opens a field only at its start)."""
    field, at_start, quoted, closed = 0, True, False, False
    i = 0
    while i < len(record):
        c = record[i]
        if quoted:
            if c == '"':
                if record.startswith('"', i + 1):
                    i += 2  # a doubled quote inside a quoted field
                    continue
                quoted, closed = False, True
        elif c == ",":
            field, at_start, closed = field + 1, True, False
            i += 1
            continue
        elif c in "\r\n":
            if record[i:].strip("\r\n"):
                return field  # a line end inside the record, outside quotes
        elif closed:
            return field  # text after the closing quote
        elif c == '"' and at_start:
            quoted = True
        at_start = False
        i += 1
    return field  # the record ended inside this field (a quote left open)


def column_at(
    path: Path, line: int | None, byte_offset: int | None, header: list[str] | None
) -> str:
    """The header's name of the column that byte ``byte_offset`` of physical ``line`` falls
    in (the commas before it outside quotes, counted on the raw bytes: an encoding error is
    met before the line can be decoded, so the csv module cannot say), or "" when unknown.
    Without ``header`` (the fault was met before it was read) the file's first line is
    read as the header, as far as it decodes."""
    if not line or byte_offset is None or (header is None and line == 1):
        return ""  # a fault in the header line itself: it names no column
    start = 0
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if header is None:
                for codec in ("utf-8-sig", "cp932"):
                    try:
                        header = next(csv.reader([raw.decode(codec).rstrip("\r\n")]))
                        break
                    except (UnicodeDecodeError, csv.Error, StopIteration):
                        continue
                header = [h.strip() for h in header or []]
            if number == line:
                before = raw[: max(0, byte_offset - start)]
                commas, quoted = 0, False
                for b in before:
                    if b == 0x22:  # "
                        quoted = not quoted
                    elif b == 0x2C and not quoted:  # ,
                        commas += 1
                return header[commas] if commas < len(header) else ""
            start += len(raw)
    return ""


def _csv_fault(error: str, start: int, last: int) -> str:
    """The csv module's complaint about the record that starts on line ``start`` (and was
    read up to line ``last``), in Japanese with a hint that fits it."""
    if error.startswith("unexpected end of data"):
        if last > start:  # the record ran on to the end of the file: a quote left open
            return (
                f'{start} 行目で始まる引用符 (") が閉じられないまま、ファイルの最後 '
                f"({last} 行目) まで続いています。{start} 行目の引用符を確かめてください"
            )
        return "行が途中で切れています (引用符が閉じていません)。最後の行を確かめてください"
    if "expected after" in error:
        return (
            '引用符 (") で囲んだ項目の後に区切りのカンマがありません '
            '(項目の中の " は "" と二つ重ねて書きます)'
        )
    if "field larger than field limit" in error:
        return "項目が長すぎます (引用符が閉じられていない可能性があります)"
    if "new-line character seen in unquoted field" in error:
        return "引用符で囲んでいない項目に改行があります"
    return f"CSV として読めません ({error})"


def import_residents(
    platform: Platform,
    ctx: RequestContext,
    path: Path,
    *,
    encoding: str | None = None,
    gaiji_path: Path | None = None,
    partial: bool = False,
    today: date | None = None,
    on_progress: Callable[[int], None] | None = None,
    strict: bool = False,
) -> ImportResult:
    """Import residents.csv into town ``ctx.town_code``. See the module docstring for the
    guarantees.

    Nothing of it holds the town's write lock for long: the file is staged and checked in
    a read-only transaction (the staging table is the connection's own temporary table),
    then the accepted households are written in short transactions of about
    :data:`WRITE_CHUNK` records each (the number series first, so no life event recorded
    meanwhile takes a number the file uses), and a last one records the import's audit
    entry."""
    check_writable(ctx, "import_residents")  # before any work
    today = today or today_jst()
    name = path.name
    result = ImportResult()
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    result.sha256 = digest.hexdigest()
    size = path.stat().st_size
    if size == 0:
        raise ImportRefusedError(f"{name}: 空のファイルです")
    with path.open("rb") as f:
        head = f.read(1 << 16)
    try:
        # an all-ASCII head is decided later, at the first non-ASCII line (decode_lines)
        result.encoding = encoding or (detect_encoding(head) if not head.isascii() else "")
    except EncodingError as e:
        column = column_at(path, e.line_number, e.byte_offset, None)
        where = f" ({column}の列)" if column else ""
        raise ImportRefusedError(
            f"{name}: {e}{where}", [Rejection(e.line_number or 0, column, str(e))]
        ) from e
    gaiji = GaijiTable.load(gaiji_path) if gaiji_path is not None else None
    with platform.read_town(ctx.town_code) as town:
        conn = town.session.connection()
        if conn.dialect.name == "sqlite":
            # the staging table and its indexes outgrow SQLite's default 2 MB page cache
            # at ~50,000 rows, and then every check pays for the pages it re-reads: 64 MB
            # for this connection while it imports (measured: a re-import of 100,000 rows
            # 13.7 → 12.4 s); given back to the pool at SQLite's default
            conn.exec_driver_sql("PRAGMA cache_size=-65536")
        STAGING.create(conn)
        try:
            skip = _stage_and_check(
                town, path, result, gaiji, today, on_progress, partial=partial, strict=strict
            )
            _insert(platform, town, ctx, skip, result, name, today, gaiji)
        finally:
            STAGING.drop(conn)
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA cache_size=-2000")
    if result.imported:
        # a 住民票コード or 個人番号 another hosted town holds: an item in both towns
        # (written after the import, each town's own short transaction; crosstown's doc)
        scanned = crosstown.scan(platform, {ctx.town_code: ctx}, today=today)
        result.shared_across_towns = scanned.raised.get(ctx.town_code, 0)
    return result


def _stage_and_check(
    town: Town,
    path: Path,
    result: ImportResult,
    gaiji: GaijiTable | None,
    today: date,
    on_progress: Callable[[int], None] | None,
    *,
    partial: bool,
    strict: bool = False,
) -> set[int]:
    """Stage and check the whole file; returns the rows to skip (refused with ``partial``),
    or refuses the file."""
    name = path.name
    conn = town.session.connection()
    rejected, unstaged_households = _stage(town, path, result, gaiji, today, on_progress)
    if strict:  # names no font prints are refused, not only listed
        rejected += result.unprintable
        unstaged_households |= set(
            conn.execute(
                select(STAGING.c.household_number).where(
                    STAGING.c.row_no.in_({r.row for r in result.unprintable})
                )
            ).scalars()
        )
    rejected += _check_whole_file(town, unstaged_households)
    rejected_rows = {r.row for r in rejected}
    # a household with any rejected row is rejected whole (the register's rules are
    # about households, and half a household cannot be imported); rows refused before
    # staging name their household themselves
    bad_households = unstaged_households | (
        set(
            conn.execute(
                select(STAGING.c.household_number).where(STAGING.c.row_no.in_(rejected_rows))
            ).scalars()
        )
        if rejected_rows
        else set()
    )
    if bad_households and partial:  # all or nothing: the file is refused anyway, and
        # its first error should be a row's own, not a consequence for its household
        for row_no, hh in conn.execute(
            select(STAGING.c.row_no, STAGING.c.household_number).where(
                STAGING.c.household_number.in_(bad_households),
                STAGING.c.row_no.not_in(rejected_rows),
            )
        ):
            rejected.append(
                Rejection(
                    row_no,
                    "世帯番号",
                    f"同じ世帯 {hh} の他の行が受け付けられなかったため取り込みません",
                )
            )
    rejected.sort(key=lambda r: (r.row, r.column))
    result.rejected = rejected
    if rejected and not partial:
        raise ImportRefusedError(
            f"{name}: {len(rejected)} 件の誤りがあるため、何も取り込みませんでした "
            f"(最初の誤り: {rejected[0].row} 行目 {rejected[0].column}: {rejected[0].reason})",
            rejected,
        )
    return {r.row for r in rejected}


def _stage(
    town: Town,
    path: Path,
    result: ImportResult,
    gaiji: GaijiTable | None,
    today: date,
    on_progress: Callable[[int], None] | None,
) -> tuple[list[Rejection], set[str]]:
    conn = town.session.connection()
    rejected: list[Rejection] = []
    # households of rows refused here (not staged), as far as their 世帯番号 can be read
    households: set[str] = set()
    glyphs = set(glyphs_of(town))  # the town's 外字: printable although no font draws them

    def household_of(fields: list[str]) -> None:
        if header is not None and "世帯番号" in header:
            i = header.index("世帯番号")
            if i < len(fields) and fields[i].strip():
                households.add(fields[i].strip())

    batch: list[dict[str, Any]] = []
    header: list[str] | None = None
    with path.open("rb") as f:
        # unknown gaiji stay in the text so each is reported with its row and column
        lines = decode_lines(f, result.encoding or None, gaiji, unknown_gaiji="keep")
        try:
            for line_no, fields in csv_records(lines, path.name):
                if header is None:
                    header = _check_header(fields, path.name)
                    continue
                result.rows += 1
                unknown = [
                    (col, code)
                    for col, value in zip(header, fields, strict=False)
                    for code in user_defined_codes(value)
                ]
                if unknown:
                    rejected.extend(
                        Rejection(line_no, col, f"外字 {code} が外字表 (gaiji.csv) にありません")
                        for col, code in unknown
                    )
                    household_of(fields)
                    continue
                if len(fields) != len(header):
                    household_of(fields)
                    rejected.append(
                        Rejection(
                            line_no,
                            "",
                            f"列の数が見出しと違います ({len(fields)} 列、"
                            f"見出しは {len(header)} 列)",
                        )
                    )
                    continue
                try:
                    state = parse_row(dict(zip(header, fields, strict=True)), today)
                except _RowError as e:
                    rejected.append(Rejection(line_no, e.column, e.reason))
                    household_of(fields)
                    continue
                for u in unprintable_in([state], glyphs):
                    result.unprintable.append(
                        Rejection(line_no, PRINTED_COLUMNS.get(u.field, u.field), u.message)
                    )
                batch.append(
                    {
                        "row_no": line_no,
                        "addressee_number": state.addressee_number,
                        "household_number": state.household_number,
                        "is_resident": int(state.is_resident),
                        "is_head": int(state.relationship == HEAD),
                        "address_key": "\x1f".join(
                            (state.address, state.address_detail, state.postal_code, state.district)
                        ),
                        "payload": _pack(row_of(state)),
                        "birth": state.birth_date,
                        "resident_code": state.resident_code
                        if holds_identity(state.status, state.removal_reason)
                        else None,
                    }
                )
                if len(batch) >= 2000:
                    conn.execute(insert(STAGING), batch)
                    batch.clear()
                    if on_progress:
                        on_progress(result.rows)
        except GaijiError as e:
            line = e.line_number or 0
            column = column_at(path, e.line_number, e.byte_offset, header)
            where = f" {column}" if column else ""
            raise ImportRefusedError(
                f"{path.name}: {line} 行目{where}: 外字 {e.code} が外字表 (gaiji.csv) にありません",
                [Rejection(line, column, f"外字 {e.code} が外字表にありません")],
            ) from e
        except EncodingError as e:
            column = column_at(path, e.line_number, e.byte_offset, header)
            where = f" ({column}の列)" if column else ""
            raise ImportRefusedError(
                f"{path.name}: {e}{where}",
                [Rejection(e.line_number or 0, column, str(e))],
            ) from e
        result.encoding = lines.encoding or result.encoding or "utf-8"
    if batch:
        conn.execute(insert(STAGING), batch)
    if header is None:
        raise ImportRefusedError(f"{path.name}: 見出し行がありません")
    if result.rows == 0:
        raise ImportRefusedError(f"{path.name}: 見出し行だけでデータ行がありません")
    return rejected, households


def _check_header(fields: list[str], name: str) -> list[str]:
    header = [f.strip() for f in fields]
    unknown = [c for c in header if c not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    problems = []
    if unknown:
        problems.append(f"知らない列: {', '.join(unknown)}")
    if missing:
        problems.append(f"必須の列がありません: {', '.join(missing)}")
    if duplicated:
        problems.append(f"列が重複しています: {', '.join(duplicated)}")
    if problems:
        raise ImportRefusedError(
            f"{name}: 1 行目 (見出し): " + "。".join(problems),
            [
                Rejection(1, c, p)
                for c, p in zip(unknown + missing + duplicated, problems * 3, strict=False)
            ],
        )
    return header


def _pack(record: list[str]) -> str:
    return json.dumps(record, ensure_ascii=False)


def _unpack(text: str) -> list[str]:
    values: list[str] = json.loads(text)
    return values


def _check_whole_file(town: Town, refused_households: set[str]) -> list[Rejection]:
    """Rules across rows, in SQL over the staging table (bounded memory). The household
    rules skip households with a row already refused (that row is the fault: its household
    is refused with it, and a head refused for a bad date is not "no head")."""
    conn = town.session.connection()
    s = STAGING.c
    out: list[Rejection] = []
    dup = (
        select(s.addressee_number).group_by(s.addressee_number).having(func.count() > 1).subquery()
    )
    for row_no, number in conn.execute(
        select(s.row_no, s.addressee_number).where(
            s.addressee_number.in_(select(dup.c.addressee_number))
        )
    ):
        out.append(
            Rejection(row_no, "宛名番号", f"宛名番号 {number} がファイルの中で重複しています")
        )
    heads = (
        select(
            s.household_number,
            func.sum(s.is_head).label("heads"),
            func.count(func.distinct(s.address_key)).label("addresses"),
        )
        .where(s.is_resident == 1)
        .group_by(s.household_number)
        .subquery()
    )
    faulty: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for row_no, hh, is_head, address_key in conn.execute(
        select(s.row_no, s.household_number, s.is_head, s.address_key)
        .join(heads, heads.c.household_number == s.household_number)
        .where(s.is_resident == 1, (heads.c.heads != 1) | (heads.c.addresses != 1))
        .order_by(s.row_no)
    ):
        if hh not in refused_households:
            faulty[hh].append((row_no, is_head, address_key))
    for hh, members in faulty.items():
        out += _household_faults(hh, members)
    out += _shared_resident_codes(conn)
    # what the town already holds: an existing 宛名番号 must be identical (then it is skipped).
    # Every query here joins from the staging table to an index of the town's tables (or of
    # the staging table), so a re-import costs what the first import did, growing with the
    # file (issue 14: an IN list of every number and unindexed joins made it quadratic)
    v = PersonVersion.__table__.c
    current_version = and_(v.addressee_number == s.addressee_number, v.is_current == true())
    for r in conn.execute(
        select(s.row_no, s.payload, *PersonVersion.__table__.columns).join(
            PersonVersion.__table__, current_version
        )
    ):
        if _pack(row_of(state_of(r))) != r.payload:
            out.append(
                Rejection(
                    r.row_no,
                    "宛名番号",
                    f"宛名番号 {r.addressee_number} は既に別の内容で登録されています",
                )
            )
    # a household number the town already uses for other people cannot be reused
    used = conn.execute(
        select(s.row_no, s.household_number)
        .join(Household.__table__, Household.__table__.c.number == s.household_number)
        .where(~exists(select(v.id).where(current_version)))
    ).all()
    for row_no, hh in used:
        out.append(Rejection(row_no, "世帯番号", f"世帯番号 {hh} は既にこの町村で使われています"))
    return out


def _household_faults(hh: str, members: list[tuple[int, int, str]]) -> list[Rejection]:
    """One message per fault of a household's current members ((row, is head, address),
    in file order), on the row at fault: a second 世帯主 (the first one stands), a household
    with none (on its first row), a member whose address is not the head's."""
    out: list[Rejection] = []
    heads = [row for row, is_head, _ in members if is_head]
    for row in heads[1:]:
        out.append(
            Rejection(
                row,
                "続柄",
                f"世帯 {hh} の世帯主は既に {heads[0]} 行目にいます (世帯主は一世帯に一人です)",
            )
        )
    if not heads:
        out.append(Rejection(members[0][0], "続柄", f"世帯 {hh} に世帯主がいません (一人必要です)"))
    reference_row, _, address = next(
        (m for m in members if m[1]), members[0]
    )  # the head's address, else the first member's
    for row, _, key in members:
        if key != address:
            out.append(
                Rejection(
                    row,
                    "住所",
                    f"世帯 {hh} の住所が {reference_row} 行目の世帯主と一致しません"
                    if heads
                    else f"世帯 {hh} の住所が {reference_row} 行目と一致しません",
                )
            )
    return out


def _shared_resident_codes(conn: Connection) -> list[Rejection]:
    """A 住民票コード given to two people: a later row of the file repeating an earlier
    row's (the later row is at fault), or a row carrying the code of another person the
    town holds (resident or dead, :func:`~lgcloud.register.domain.holds_identity`)."""
    s = STAGING.c
    out: list[Rejection] = []
    firsts = (
        select(s.resident_code, func.min(s.row_no).label("first_row"))
        .where(s.resident_code.is_not(None))
        .group_by(s.resident_code)
        .having(func.count() > 1)
        .subquery()
    )
    for row_no, code, first_row in conn.execute(
        select(s.row_no, s.resident_code, firsts.c.first_row)
        .join(firsts, firsts.c.resident_code == s.resident_code)
        .where(s.row_no != firsts.c.first_row)
    ):
        out.append(
            Rejection(
                row_no,
                "住民票コード",
                f"住民票コード {code} は {first_row} 行目の人と同じです (一人に一つの番号です)",
            )
        )
    v = PersonVersion.__table__.c
    for row_no, code, number in conn.execute(
        select(s.row_no, s.resident_code, v.addressee_number)
        .join(
            PersonVersion.__table__,
            and_(v.resident_code == s.resident_code, v.is_current == true()),
        )
        .where(
            v.addressee_number != s.addressee_number,
            or_(
                v.status == Status.RESIDENT.value,
                v.removal_reason == EVENT_LABELS[EventKind.DEATH],
            ),
        )
    ):
        out.append(
            Rejection(
                row_no,
                "住民票コード",
                f"住民票コード {code} は既にこの町村の宛名番号 {number} の人に記録されています",
            )
        )
    return out


#: person versions written per short transaction (whole households; a few ms each)
WRITE_CHUNK = 1000


class _Chunks:
    """The accepted rows of an import, written a chunk of whole households at a time, each
    in its own short transaction with its audit entry naming its people."""

    def __init__(
        self, platform: Platform, ctx: RequestContext, name: str, existing: set[str]
    ) -> None:
        self.platform = platform
        self.ctx = ctx
        self.name = name
        self.existing = existing
        self.persons: list[dict[str, Any]] = []
        self.versions: list[dict[str, Any]] = []
        self.households: list[dict[str, Any]] = []
        self.districts: list[dict[str, Any]] = []
        self.numbers: list[str] = []  # the people of the chunk, for its audit entry

    def flush(self) -> None:
        if not self.numbers and not self.households and not self.districts:
            return
        with self.platform.town(self.ctx.town_code) as town:
            conn = town.session.connection()
            taken = set(
                conn.execute(
                    select(Person.addressee_number).where(Person.addressee_number.in_(self.numbers))
                ).scalars()
            )
            if taken - self.existing:
                raise ImportRefusedError(
                    f"{self.name}: 取り込み中に宛名番号 {sorted(taken - self.existing)[0]} "
                    "が別の処理で登録されました。ここまでの世帯は取り込まれています。"
                    "同じファイルをもう一度取り込むと、残りを取り込みます"
                )
            bulk = BulkWriter(town.session, "import_residents", self.ctx.request_id)
            bulk.insert("districts", self.districts)
            bulk.insert("households", self.households)
            bulk.insert("persons", self.persons)
            bulk.insert("person_versions", self.versions)
            # one audit entry per chunk names its people (who-viewed finds an import), so
            # memory does not grow with the file
            finish_write(
                town.session,
                self.ctx,
                "import_residents_rows",
                subjects=self.numbers,
                detail={"file": self.name, "people": len(self.numbers)},
            )
        for part in (self.districts, self.households, self.persons, self.versions, self.numbers):
            part.clear()


def _reserve_numbers(platform: Platform, ctx: RequestContext, staged: Town) -> None:
    """Move the number series past the file's numbers before anything is inserted, so a
    life event recorded while the import runs never issues a number the file uses (10-digit
    numbers are lgcloud's own format: sequence + check digit)."""
    conn = staged.session.connection()
    s = STAGING.c
    highest = {
        sequence: conn.scalar(select(func.max(column)).where(func.length(column) == 10))
        for sequence, column in (
            ("addressee", s.addressee_number),
            ("household", s.household_number),
        )
    }
    with platform.town(ctx.town_code) as town:
        for sequence, number in highest.items():
            if number is None or not str(number).isdigit():
                continue
            seq = town.session.get(NumberSequence, sequence, with_for_update=True)
            if seq is not None and seq.next_value <= int(str(number)[:9]):
                seq.next_value = int(str(number)[:9]) + 1
        journal_only(town.session, "import_residents", ctx.request_id)


def _insert(
    platform: Platform,
    staged: Town,
    ctx: RequestContext,
    skip: set[int],
    result: ImportResult,
    name: str,
    today: date,
    gaiji: GaijiTable | None = None,
) -> None:
    """Insert the accepted rows that are not already stored identically, reading them from
    ``staged`` (the read-only transaction holding the staging table) and writing them in
    short transactions; the last one keeps the MJ names of the file's ``gaiji`` table."""
    conn = staged.session.connection()
    s = STAGING.c
    # only the staged numbers the town already holds (identical rows: the others were
    # rejected), so memory follows the overlap, not the size of the file
    existing = set(
        conn.execute(
            select(s.addressee_number).where(
                s.addressee_number.in_(select(PersonVersion.addressee_number))
            )
        ).scalars()
    )
    known_districts = set(conn.execute(select(District.__table__.c.name)).scalars())
    _reserve_numbers(platform, ctx, staged)
    chunks = _Chunks(platform, ctx, name, existing)
    imported = 0
    # In household order, so a household's rows are together: whether its row must be
    # inserted is decided at its first row, from the database as the import found it (no
    # set of every household number in the file or the town is held; numbers are reserved
    # above, so no other write creates the file's households meanwhile). The export orders
    # by 宛名番号, so the order of insertion changes nothing a user sees.
    hh = Household.__table__.c
    stored = exists().where(hh.number == s.household_number)
    previous_household: str | None = None
    rows = conn.execute(
        select(s.row_no, s.addressee_number, s.payload, stored).order_by(
            s.household_number, s.row_no
        )
    )
    for row_no, number, payload, household_stored in rows:
        if row_no in skip:
            continue
        if number in existing:  # stored already, identical (checked): not parsed again
            result.unchanged += 1
            continue
        state = parse_row(dict(zip(COLUMNS, _unpack(payload), strict=True)), today)
        if state.household_number != previous_household:
            if len(chunks.versions) >= WRITE_CHUNK:  # a chunk ends between households
                chunks.flush()
            if not household_stored:
                chunks.households.append(
                    {
                        "number": state.household_number,
                        "created_on": state.resident_since,
                        "created_event_id": None,
                    }
                )
        previous_household = state.household_number
        chunks.numbers.append(number)
        imported += 1
        if state.district and state.district not in known_districts:
            known_districts.add(state.district)
            chunks.districts.append({"name": state.district, "kana": ""})
        chunks.persons.append({"addressee_number": number, "created_event_id": None})
        chunks.versions.extend(_versions_of(state))
    chunks.flush()
    result.imported = imported
    with platform.town(ctx.town_code) as town:
        if gaiji is not None:  # the MJ names the file's gaiji table gave: kept for exports
            keep_imported_names(town, {e.text: e.mj_name for e in gaiji if e.mj_name})
        finish_write(
            town.session,
            ctx,
            "import_residents",
            detail={
                "file": name,
                "sha256": result.sha256,
                "rows": result.rows,
                "imported": result.imported,
                "unchanged": result.unchanged,
                "rejected": len(result.rejected),
                "encoding": result.encoding,
            },
        )


def _versions_of(state: PersonState) -> list[dict[str, Any]]:
    """The version rows of an imported person: one, or for a 除票 the record before removal
    and then the 除票 itself."""

    def version(values: dict[str, Any], no: int, valid_to: date | None) -> dict[str, Any]:
        current = valid_to is None
        extra = {"version_no": no, "valid_to": valid_to, "is_current": current, "event_id": None}
        return {**values, **extra}

    if state.removed_on is None:
        return [version(version_values(state), 1, None)]
    before = {
        **version_values(state),
        "status": Status.RESIDENT.value,
        "removed_on": None,
        "removal_reason": None,
        "valid_from": state.settled_on,
    }
    return [version(before, 1, state.removed_on), version(version_values(state), 2, None)]


def write_rejections(rejections: list[Rejection], out: IO[str]) -> None:
    """rejected.csv: 行番号,列,理由 (UTF-8)."""
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["行番号", "列", "理由"])
    for r in rejections:
        w.writerow([r.row, r.column, r.reason])
