"""安否確認: read a shelter's evacuees.csv, match it against the register, write matches.csv.

The file is read streaming (UTF-8 or cp932, via :func:`lgcloud.interchange.codec.decode_lines`)
and each row is matched as it is read; matches.csv is written to a temporary file beside
``out`` and moved into place only when the whole input was accepted, so a refused file
leaves ``out`` untouched. The run is one audited operation, ``export_evacuee_matches``,
naming every person proposed (一致 or 候補): it is allowed on a read-only
disaster-recovery copy, where this matching is needed most.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import tempfile
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select, true

from lgcloud.core.clock import today_jst
from lgcloud.core.context import RequestContext
from lgcloud.interchange.codec import EncodingError, decode_lines
from lgcloud.interchange.residents import ImportRefusedError, Rejection, csv_records
from lgcloud.register.domain import Status
from lgcloud.register.models import PersonVersion
from lgcloud.safety.matching import (
    COLUMNS,
    OUTPUT_COLUMNS,
    Evacuee,
    Match,
    ResidentIndex,
    ResidentRecord,
    Verdict,
    read_evacuee,
)
from lgcloud.tenancy.platform import Platform, Town
from lgcloud.trail.journal import check_writable, finish_write

ACTION = "export_evacuee_matches"


@dataclass
class MatchReport:
    """What a run did: counts per 判定, and rows people should look at."""

    rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # 判定 → rows
    subjects: list[str] = field(default_factory=list)  # 宛名番号 proposed (一致 or 候補)
    #: (受付番号, reason) of rows that could not be interpreted or had unreadable fields
    notes: list[tuple[str, str]] = field(default_factory=list)
    sha256: str = ""
    out_sha256: str = ""
    residents: int = 0  # current residents matched against
    former: int = 0  # former residents (除票) matched against
    #: (受付番号, 宛名番号, standing) of rows matched (一致) to someone who is not a
    #: resident: 転出済, 死亡, or not yet a resident on the reference date
    standings: list[tuple[str, str, str]] = field(default_factory=list)
    as_of: date | None = None  # the reference date of ages and residence


def load_residents(town: Town, *, born_on: Collection[date] | None = None) -> list[ResidentRecord]:
    """Everyone the town's register knows: current residents and 除票 (moved out, dead,
    removed ex officio), each as of their current version with their stored search keys.
    A shelter lists people, not residents: someone who moved out last month or died since
    the list was written must be found and said so (``ResidentRecord.standing``). With
    ``born_on``, only the people born on those days."""
    pv = PersonVersion
    stmt = (
        select(
            pv.addressee_number,
            pv.name_key,
            pv.given_name_key,
            pv.kana_key,
            pv.given_kana_key,
            pv.birth_date,
            pv.sex,
            pv.address,
            pv.address_detail,
            pv.status,
            pv.removal_reason,
            pv.removed_on,
            pv.destination_address,
            pv.resident_since,
        )
        .where(pv.is_current == true())
        .order_by(pv.addressee_number)
        .execution_options(yield_per=5000)
    )
    if born_on is not None:  # only the people born on these days
        stmt = stmt.where(pv.birth_date.in_(list(born_on)))
    return [
        ResidentRecord(
            number=r.addressee_number,
            name_key=r.name_key,
            given_name_key=r.given_name_key,
            kana_key=r.kana_key,
            given_kana_key=r.given_kana_key,
            birth=r.birth_date,
            sex=r.sex,
            address=r.address + (r.address_detail or ""),
            removal_reason=""
            if r.status == Status.RESIDENT.value
            else (r.removal_reason or "除票"),
            removed_on=r.removed_on,
            destination=r.destination_address or "",
            resident_since=r.resident_since,
        )
        for r in town.session.execute(stmt)
    ]


def _refuse(name: str, row: int, column: str, reason: str) -> ImportRefusedError:
    where = f"{row} 行目" + (f" {column}" if column else "")
    return ImportRefusedError(f"{name}: {where}: {reason}", [Rejection(row, column, reason)])


def _check_header(fields: list[str], name: str) -> list[str]:
    header = [f.strip() for f in fields]
    for column in header:
        if column not in COLUMNS:
            raise _refuse(name, 1, column, f"知らない列です: 「{column}」")
    for column in header:
        if header.count(column) > 1:
            raise _refuse(name, 1, column, f"列が重複しています: 「{column}」")
    if "受付番号" not in header:
        raise _refuse(name, 1, "受付番号", "受付番号の列がありません")
    return header


def read_evacuees(path: Path, *, encoding: str | None = None) -> Iterator[Evacuee]:
    """The rows of evacuees.csv, streaming; refuses the file (ImportRefusedError naming
    file, row and column) for what makes it unusable as a whole."""
    return (evacuee for _, evacuee in read_rows(path, encoding=encoding))


def read_rows(
    path: Path, *, encoding: str | None = None
) -> Iterator[tuple[dict[str, str], Evacuee]]:
    """:func:`read_evacuees` with each row as written (column → text) beside it."""
    name = path.name
    if path.stat().st_size == 0:
        raise _refuse(name, 1, "", "空のファイルです (見出し行もありません)")
    seen: dict[str, int] = {}
    with path.open("rb") as f:
        # a gaiji without a table stays in the text: it cannot match, but the row is kept
        header: list[str] | None = None
        try:
            lines = decode_lines(f, encoding, None, unknown_gaiji="keep")
            for start, fields in csv_records(lines, name):
                if header is None:
                    header = _check_header(fields, name)
                    continue
                if not any(v.strip() for v in fields):
                    continue  # a blank line
                if len(fields) > len(header):
                    raise _refuse(
                        name,
                        start,
                        "",
                        f"列の数が見出しより多いです ({len(fields)} 列、見出しは {len(header)} 列)",
                    )
                values = dict(zip(header, fields, strict=False))  # short rows: blanks
                receipt = values.get("受付番号", "").strip()
                if not receipt:
                    raise _refuse(name, start, "受付番号", "受付番号が空です")
                if receipt in seen:
                    raise _refuse(
                        name,
                        start,
                        "受付番号",
                        f"受付番号 {receipt} が重複しています ({seen[receipt]} 行目と同じ)",
                    )
                seen[receipt] = start
                yield values, read_evacuee(receipt, start, values)
        except EncodingError as e:
            raise _refuse(name, e.line_number or 0, "", str(e)) from e
        if header is None:
            raise _refuse(name, 1, "", "見出し行がありません")


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file (hex), read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def match_file(
    town: Town,
    path: Path,
    out: Path,
    *,
    encoding: str | None = None,
    today: date | None = None,
) -> MatchReport:
    """Match ``path`` against everyone ``town``'s register knows (residents and 除票) and
    write matches.csv to ``out`` (UTF-8, CRLF, header). ``today`` is the reference date —
    the disaster's, given as ``--as-of`` — for ages and for who was a resident; the day
    of the run by default. Only reads the town: run it in a read-only transaction
    (``Platform.read_town``) so that matching a long list never holds the write lock.
    Not audited by itself: :func:`record_matches` is the audited act."""
    people = load_residents(town)
    as_of = today or today_jst()
    index = ResidentIndex.build(people, as_of)
    former = sum(1 for r in people if r.removal_reason)
    report = MatchReport(
        sha256=file_sha256(path), residents=len(people) - former, former=former, as_of=as_of
    )
    counts: Counter[str] = Counter()
    proposed: set[str] = set()
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(OUTPUT_COLUMNS)
        for evacuee in read_evacuees(path, encoding=encoding):
            result: Match = index.match(evacuee)
            writer.writerow(result.row())
            report.rows += 1
            counts[result.verdict.value] += 1
            if result.verdict is not Verdict.NONE:
                proposed.update(result.candidates)
            if result.standing:
                report.standings.append((evacuee.receipt, result.number, result.standing))
            if not evacuee.interpretable:
                report.notes.append((evacuee.receipt, result.reason))
            report.notes.extend((evacuee.receipt, note) for note in evacuee.notes)
    report.counts = {v.value: counts.get(v.value, 0) for v in Verdict}
    report.subjects = sorted(proposed)
    report.out_sha256 = file_sha256(out)
    return report


def record_matches(
    town: Town, ctx: RequestContext, report: MatchReport, path: Path, out: Path
) -> None:
    """The audited act: one entry naming every resident proposed (一致 or 候補)."""
    finish_write(
        town.session,
        ctx,
        ACTION,
        subjects=report.subjects,
        detail={
            "file": path.name,
            "sha256": report.sha256,
            "out": out.name,
            "out_sha256": report.out_sha256,
            "rows": report.rows,
            **report.counts,
            "residents": report.residents,
            "former_residents": report.former,
            "as_of": report.as_of.isoformat() if report.as_of else None,
        },
    )


@contextlib.contextmanager
def _scratch(out: Path) -> Iterator[Path]:
    """A temporary file beside ``out``, removed unless the caller moved it into place."""
    fd, name = tempfile.mkstemp(prefix=".matches-", suffix=".csv", dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def match_evacuees(
    town: Town,
    ctx: RequestContext,
    path: Path,
    out: Path,
    *,
    encoding: str | None = None,
    today: date | None = None,
) -> MatchReport:
    """Match and audit in ``town``'s one transaction (tests, benchmarks, small lists).
    ``out`` is written only when the whole file was accepted. Long lists on a live town:
    :func:`match_evacuees_in`, which holds no write lock while matching."""
    check_writable(ctx, ACTION)  # before any work (always allowed: an export)
    with _scratch(out) as tmp:
        report = match_file(town, path, tmp, encoding=encoding, today=today)
        record_matches(town, ctx, report, path, out)
        tmp.replace(out)
    return report


def match_evacuees_in(
    platform: Platform,
    code: str,
    ctx: RequestContext,
    path: Path,
    out: Path,
    *,
    encoding: str | None = None,
    today: date | None = None,
) -> MatchReport:
    """Match in a read-only transaction (other clerks' writes never wait for it), then
    record the audit entry in a short write transaction; ``out`` appears only after that
    entry is committed, so no matches.csv exists without its audit entry."""
    check_writable(ctx, ACTION)
    with _scratch(out) as tmp:
        with platform.read_town(code) as town:
            report = match_file(town, path, tmp, encoding=encoding, today=today)
        with platform.town(code) as town:
            record_matches(town, ctx, report, path, out)
        tmp.replace(out)
    return report
