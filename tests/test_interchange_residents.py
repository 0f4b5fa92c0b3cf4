"""residents.csv: faithful export, safe import, and every bad input refused with nothing lost."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from conftest import TODAY, TOWN_A, TOWN_B, follow_journal, make_ctx, make_platform
from lgcloud.audit import service as audit_service
from lgcloud.audit.models import AuditEntry
from lgcloud.core.ids import with_resident_check_digit
from lgcloud.generate.town import generate_town
from lgcloud.interchange.residents import (
    COLUMNS,
    ImportRefusedError,
    export_residents,
    import_residents,
    write_rejections,
)
from lgcloud.onboarding import onboard_town
from lgcloud.register.domain import (
    EVENT_LABELS,
    FOREIGN_CATEGORIES,
    FOREIGN_FIELDS,
    HEAD,
    RELATIONSHIPS,
    AddressIn,
    EventKind,
    MoveIn,
    NewPerson,
    Sex,
)
from lgcloud.register.models import PersonVersion
from lgcloud.register.service import record_event
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.models import JournalEntry

HEADER = ",".join(COLUMNS)


def export_bytes(p: Platform, code: str, encoding: str = "utf-8") -> tuple[bytes, str]:
    out = io.BytesIO()
    gaiji = io.StringIO()
    with p.town(code) as town:
        export_residents(
            town,
            make_ctx(code),
            out,
            encoding=encoding,
            gaiji_out=gaiji if encoding == "cp932" else None,
        )
    return out.getvalue(), gaiji.getvalue()


def counts(p: Platform, code: str) -> tuple[int, int, int]:
    with p.town(code) as town:
        s = town.session
        return (
            s.scalar(select(func.count()).select_from(PersonVersion)) or 0,
            s.scalar(select(func.max(AuditEntry.seq))) or 0,
            s.scalar(select(func.max(JournalEntry.seq))) or 0,
        )


def do_import(p: Platform, code: str, path: Path, **kw: object):  # type: ignore[no-untyped-def]
    return import_residents(p, make_ctx(code), path, today=TODAY, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    p = make_platform(Path(tmp_path_factory.mktemp("src")) / "data")
    generate_town(p, TOWN_A, residents=600, seed=21, today=TODAY)
    yield p
    p.dispose()


@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_generated_town_round_trips_byte_identical(
    source: Platform, tmp_path: Path, encoding: str
) -> None:
    first, gaiji = export_bytes(source, TOWN_A, encoding)
    path = tmp_path / "residents.csv"
    path.write_bytes(first)
    gaiji_path = None
    if encoding == "cp932":
        assert gaiji.count("\n") > 1, "variant kanji and IVS names need gaiji codes"
        gaiji_path = tmp_path / "gaiji.csv"
        gaiji_path.write_text(gaiji, encoding="utf-8")
    fresh = make_platform(tmp_path / "fresh")
    onboard_town(fresh, TOWN_B, "出雲崎町")
    result = do_import(fresh, TOWN_B, path, gaiji_path=gaiji_path)
    assert result.rejected == []
    assert result.imported == result.rows > 600  # residents and 除票
    second, gaiji2 = export_bytes(fresh, TOWN_B, encoding)
    assert second == first
    assert gaiji2 == gaiji
    # the town keeps working after joining by import: new numbers do not collide
    with fresh.town(TOWN_B) as town:
        moved_in = record_event(
            town,
            make_ctx(TOWN_B),
            MoveIn(
                kind=EventKind.DOMESTIC_MOVE_IN,
                effective_date=TODAY,
                previous_address="新潟県新潟市",
                address=AddressIn(address="大字新住所1番地"),
                persons=[
                    NewPerson(
                        name="新規\u3000太郎",
                        birth_date=date(1990, 1, 1),
                        sex=Sex.MALE,
                        relationship="世帯主",
                    )
                ],
            ),
            today=TODAY,
        )
    assert moved_in.new_households
    with fresh.town(TOWN_B) as town:
        assert audit_service.verify(town.session).ok
    fresh.dispose()


def test_same_file_twice_changes_nothing(source: Platform, tmp_path: Path) -> None:
    data, _ = export_bytes(source, TOWN_A)
    path = tmp_path / "residents.csv"
    path.write_bytes(data)
    fresh = make_platform(tmp_path / "fresh")
    onboard_town(fresh, TOWN_B, "出雲崎町")
    first = do_import(fresh, TOWN_B, path)
    before = counts(fresh, TOWN_B)[0]
    again = do_import(fresh, TOWN_B, path)
    assert again.imported == 0
    assert again.unchanged == first.imported
    assert counts(fresh, TOWN_B)[0] == before
    fresh.dispose()


@pytest.mark.sqlite_only  # the replica starts as a copy of the town's SQLite file
def test_import_is_audited_per_person_and_replicates(source: Platform, tmp_path: Path) -> None:
    """Every imported person is a subject of an audit entry (in chunks, so memory does not
    grow with the file), and a replica following the journal ends equal to the town."""
    import sqlite3  # noqa: PLC0415

    from lgcloud.audit.service import verify, who_viewed  # noqa: PLC0415
    from lgcloud.continuity.digests import database_digests  # noqa: PLC0415

    data, _ = export_bytes(source, TOWN_A)
    path = tmp_path / "residents.csv"
    path.write_bytes(data)
    fresh = make_platform(tmp_path / "fresh")
    onboard_town(fresh, TOWN_B, "出雲崎町")
    db = tmp_path / "fresh" / "towns" / f"{TOWN_B}.sqlite"
    replica = tmp_path / "replica.sqlite"
    src, dst = sqlite3.connect(db), sqlite3.connect(replica)
    src.backup(dst)
    src.close()
    dst.close()
    result = do_import(fresh, TOWN_B, path)
    with fresh.town(TOWN_B) as town:
        numbers = town.session.scalars(select(PersonVersion.addressee_number).limit(5)).all()
        for n in numbers:
            assert [x.action for x in who_viewed(town.session, n)] == ["import_residents_rows"]
        assert verify(town.session).ok
    assert result.imported > 0
    follow_journal(fresh.town_engine(TOWN_B), replica, TOWN_B, tmp_path)
    fresh.dispose()
    assert database_digests(replica) == database_digests(db)


# ------------------------------------------------------------- property: faithful round trip

NAME_CHARS = st.sampled_from(
    [
        *list("山田高橋佐藤斎渡辺鈴木太郎花子一二三アイウエオかきくけこ"),
        "\u9ad9",
        "\ufa11",
        "\u9f4b",
        "\u908a",
        "\U00020bb7",
        "\u845b\U000e0102",
        "\u8fbb\U000e0102",
        "\u9089\U000e0119",
        ",",
        '"',
        "\n",
        "\r\n",
        " ",
        "'",
        "ー",
    ]
)
TEXT = st.lists(NAME_CHARS, min_size=1, max_size=6).map("".join).filter(lambda t: t.strip() != "")


#: the vocabulary of 異動事由 a file may carry, each written back as it came (blank is an
#: initial load; 初期登録 and 国内転入 are other names, written back as blank and 転入)
EVENT_VOCABULARY = [label for label in EVENT_LABELS.values() if label != "初期登録"] + [""]
REMOVAL_REASONS = ["死亡", "転出", "国外転出", "職権消除"]


@st.composite
def registers(draw: st.DrawFn) -> list[list[str]]:
    """Registers drawn over the whole vocabulary of every coded column: 異動事由, 続柄,
    性別, 消除事由, 住民票コード (valid, one per person), the foreign-resident items."""
    rows: list[list[str]] = []
    n_households = draw(st.integers(1, 4))
    number = 100
    for h in range(n_households):
        address = draw(TEXT)
        detail = draw(st.one_of(st.just(""), TEXT))
        district = draw(st.one_of(st.just(""), TEXT))  # a household shares its 行政区
        for m in range(draw(st.integers(1, 3))):
            number += 1
            birth = date(
                1950 + draw(st.integers(0, 60)), draw(st.integers(1, 12)), draw(st.integers(1, 28))
            )
            event = draw(st.sampled_from(EVENT_VOCABULARY), label="異動事由")
            since = (
                birth
                if event == "出生"
                else birth.replace(year=birth.year + draw(st.integers(0, 10)))
            )
            removed, reason = "", ""
            if m > 0 and draw(st.booleans()):  # a removed member (除票); the head stays
                removed = min(since + timedelta(days=draw(st.integers(0, 3000))), TODAY).isoformat()
                reason = draw(st.sampled_from(REMOVAL_REASONS), label="消除事由")
            code = (
                with_resident_check_digit(f"{7_000_000_000 + number}")
                if draw(st.booleans())
                else ""
            )
            rows.append(
                [
                    f"{number:010d}"[-10:],
                    f"{900 + h:010d}",
                    code,
                    draw(TEXT),
                    draw(st.one_of(st.just(""), TEXT)),
                    birth.isoformat(),
                    draw(st.sampled_from(["1", "2"])),
                    HEAD if m == 0 else draw(st.sampled_from(RELATIONSHIPS[1:]), label="続柄"),
                    address,
                    detail,
                    "",
                    district,
                    since.isoformat(),
                    since.isoformat(),
                    "",
                    event,
                    removed,
                    reason,
                    draw(st.one_of(st.just(""), TEXT)),
                    *person_items(draw),
                ]
            )
    return rows


def person_items(draw: st.DrawFn) -> list[str]:
    """本籍, 筆頭者, then the foreign-resident columns: a Japanese national or a foreign
    resident (no 本籍), with any text in the free-text items."""
    if not draw(st.booleans()):
        return [draw(st.one_of(st.just(""), TEXT)), draw(st.one_of(st.just(""), TEXT)), *[""] * 5]
    category = draw(st.sampled_from(FOREIGN_CATEGORIES))
    card = draw(st.sampled_from(["", "AB12345678CD"]))
    status, expiry = "", ""
    if category == "中長期在留者":
        status = draw(st.sampled_from(["技能実習2号ロ", "永住者"]))
        expiry = "" if status == "永住者" else "2028-03-31"
    elif category != "特別永住者":
        card = ""  # no residence card outside 中長期在留者 and 特別永住者
        if category in ("一時庇護許可者", "仮滞在許可者"):
            expiry = draw(st.sampled_from(["", "2027-01-31"]))
    return ["", "", draw(TEXT), category, status, expiry, card]


def _csv_bytes(rows: list[list[str]]) -> bytes:
    import csv  # noqa: PLC0415

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(COLUMNS)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


@settings(
    max_examples=12,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(rows=registers())
def test_export_import_export_is_identical(rows: list[list[str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "residents.csv"
        path.write_bytes(_csv_bytes(rows))
        p = make_platform(Path(tmp) / "data")
        onboard_town(p, TOWN_A, "聖籠町")
        result = do_import(p, TOWN_A, path)
        assert result.rejected == []
        utf8, _ = export_bytes(p, TOWN_A)
        assert utf8 == _csv_bytes(sorted(rows, key=lambda r: r[0]))
        sjis, gaiji = export_bytes(p, TOWN_A, "cp932")
        (Path(tmp) / "sjis.csv").write_bytes(sjis)
        (Path(tmp) / "gaiji.csv").write_text(gaiji, encoding="utf-8")
        p2 = make_platform(Path(tmp) / "data2")
        p2.create_town(TOWN_B, "出雲崎町")
        r2 = do_import(p2, TOWN_B, Path(tmp) / "sjis.csv", gaiji_path=Path(tmp) / "gaiji.csv")
        assert r2.rejected == []
        assert export_bytes(p2, TOWN_B)[0] == utf8
        p.dispose()
        p2.dispose()


def test_every_event_label_and_code_comes_back_as_it_came(tmp_path: Path) -> None:
    """One household per 異動事由 of the vocabulary (世帯変更 among them: it came back as
    世帯主変更), each with a 住民票コード: the export is the file, byte for byte."""
    rows = []
    for i, label in enumerate(EVENT_VOCABULARY, start=1):
        since = "1980-05-06" if label == "出生" else "2001-02-03"
        rows.append(
            [
                f"{i * 10:010d}",
                f"{5000 + i:010d}",
                with_resident_check_digit(f"{6_000_000_000 + i}"),
                "山田\u3000太郎",
                "",
                "1980-05-06",
                "1",
                HEAD,
                f"大字諏訪山{i}番地",
                *[""] * 3,
                since,
                since,
                "",
                label,
                *[""] * 3,
                *[""] * 2,
                *[""] * len(FOREIGN_FIELDS),
            ]
        )
    with tempfile.TemporaryDirectory() as tmp:
        p = make_platform(Path(tmp) / "data")
        onboard_town(p, TOWN_A, "聖籠町")
        path = tmp_path / "residents.csv"
        path.write_bytes(_csv_bytes(rows))
        assert do_import(p, TOWN_A, path).rejected == []
        assert export_bytes(p, TOWN_A)[0] == _csv_bytes(rows)
        p.dispose()


# ------------------------------------------------------------------------------ bad input

GOOD = [
    [
        "0000000011",
        "0000000501",
        "",
        "山田\u3000太郎",
        "ヤマダ\u3000タロウ",
        "1970-01-02",
        "1",
        "世帯主",
        "大字諏訪山1番地",
        "",
        "",
        "",
        "2000-04-01",
        "2000-04-01",
        "",
        "転入",
        "",
        "",
        "",
        "",
        "",
    ],
    [
        "0000000029",
        "0000000501",
        "",
        "山田\u3000花子",
        "ヤマダ\u3000ハナコ",
        "1972-03-04",
        "2",
        "妻",
        "大字諏訪山1番地",
        "",
        "",
        "",
        "2000-04-01",
        "2000-04-01",
        "",
        "転入",
        "",
        "",
        "",
        "",
        "",
    ],
]
#: the foreign-resident columns (国籍・地域 … 在留カード等番号), blank for Japanese nationals
GOOD = [[*row, *[""] * len(FOREIGN_FIELDS)] for row in GOOD]


def _refused(platform: Platform, path: Path, *fragments: str, **kw: object) -> ImportRefusedError:
    before = counts(platform, TOWN_A)
    with pytest.raises(ImportRefusedError) as e:
        do_import(platform, TOWN_A, path, **kw)
    for f in fragments:
        assert f in e.value.message, (f, e.value.message)
    assert counts(platform, TOWN_A) == before, "nothing stored may change"
    return e.value


def _write(
    tmp_path: Path, rows: list[list[str]], header: list[str] | None = None, encoding: str = "utf-8"
) -> Path:
    import csv  # noqa: PLC0415

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header or COLUMNS)
    w.writerows(rows)
    path = tmp_path / "in.csv"
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def test_good_file_imports(platform: Platform, tmp_path: Path) -> None:
    r = do_import(platform, TOWN_A, _write(tmp_path, GOOD))
    assert (r.imported, r.rejected) == (2, [])


def test_wrong_and_mixed_encoding(platform: Platform, tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD, encoding="cp932")
    _refused(platform, path, "in.csv", encoding="utf-8")
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(
        _write(tmp_path, GOOD[:1]).read_bytes() + ",".join(GOOD[1]).encode("cp932") + b"\r\n"
    )
    _refused(platform, mixed, "mixed.csv")


def test_missing_and_unknown_columns(platform: Platform, tmp_path: Path) -> None:
    header = [c for c in COLUMNS if c != "生年月日"]
    rows = [[v for c, v in zip(COLUMNS, r, strict=True) if c != "生年月日"] for r in GOOD]
    _refused(platform, _write(tmp_path, rows, header), "必須の列がありません", "生年月日")
    header = [*COLUMNS, "趣味"]
    _refused(platform, _write(tmp_path, [[*r, "釣り"] for r in GOOD], header), "知らない列", "趣味")


def test_duplicate_addressee_number(platform: Platform, tmp_path: Path) -> None:
    rows = [GOOD[0], ["0000000011", *GOOD[1][1:]]]
    e = _refused(platform, _write(tmp_path, rows), "重複")
    assert {r.row for r in e.rejections} >= {2, 3}
    assert all(r.column in ("宛名番号", "世帯番号") for r in e.rejections)


def _with_code(row: list[str], code: str) -> list[str]:
    return [*row[:2], code, *row[3:]]


def test_resident_code_check_digit_and_duplicates(platform: Platform, tmp_path: Path) -> None:
    """A wrong check digit, a code twice in one file (the later row is at fault), a code
    another person of the town holds: each refused on its row and column."""
    code, other = "12345678903", "98765432103"
    e = _refused(
        platform,
        _write(tmp_path, [_with_code(GOOD[0], "12345678901"), GOOD[1]]),
        "検査数字",
    )
    assert [(r.row, r.column) for r in e.rejections] == [(2, "住民票コード")]
    e = _refused(
        platform,
        _write(tmp_path, [_with_code(GOOD[0], code), _with_code(GOOD[1], code)]),
        "2 行目の人と同じ",
    )
    assert [(r.row, r.column) for r in e.rejections] == [(3, "住民票コード")]
    with platform.town(TOWN_A) as town:
        record_event(
            town,
            make_ctx(TOWN_A),
            MoveIn(
                kind=EventKind.DOMESTIC_MOVE_IN,
                effective_date=date(2020, 1, 1),
                previous_address="新潟市",
                address=AddressIn(address="大字東港1番地"),
                persons=[
                    NewPerson(
                        name="佐藤\u3000健",
                        birth_date=date(1960, 1, 1),
                        sex=Sex.MALE,
                        relationship=HEAD,
                        resident_code=other,
                    )
                ],
            ),
            today=TODAY,
        )
    e = _refused(
        platform,
        _write(tmp_path, [GOOD[0], _with_code(GOOD[1], other)]),
        "既にこの町村の宛名番号",
    )
    assert [(r.row, r.column) for r in e.rejections] == [(3, "住民票コード")]


#: the codes Windows (code page 932) gives the two characters its NEC-selected and IBM
#: extensions both hold, written by hand: this test's writer does not use the codec
WINDOWS_CODES = {"髙": b"\xfb\xfc", "﨑": b"\xfa\xb1"}


def _as_windows_writes(rows: list[list[str]]) -> bytes:
    """An independent writer: CSV by hand (no field here needs quoting), each character
    encoded on its own, 髙 and 﨑 as Windows writes them."""
    lines = [",".join(COLUMNS), *(",".join(r) for r in rows)]
    text = "\r\n".join(lines) + "\r\n"
    return b"".join(WINDOWS_CODES.get(c) or c.encode("cp932") for c in text)


def test_a_cp932_file_as_windows_writes_it_comes_back_byte_identical(
    platform: Platform, tmp_path: Path
) -> None:
    rows = [
        [*GOOD[0][:3], "髙橋\u3000太郎", *GOOD[0][4:]],
        [*GOOD[1][:3], "山﨑\u3000花子", *GOOD[1][4:]],
    ]
    data = _as_windows_writes(rows)
    assert b"\xfb\xfc" in data and b"\xfa\xb1" in data
    path = tmp_path / "windows.csv"
    path.write_bytes(data)
    assert do_import(platform, TOWN_A, path).imported == 2
    out, gaiji = export_bytes(platform, TOWN_A, "cp932")
    assert out == data
    assert gaiji.splitlines() == ["外字コード,MJ文字図形名,対応文字"]  # nothing needed one


def test_gaiji_table_names_each_character_by_its_mj_name(
    platform: Platform, tmp_path: Path
) -> None:
    rows = [[*GOOD[0][:3], "葛\U000e0102西\u3000𠮷", *GOOD[0][4:]], GOOD[1]]
    do_import(platform, TOWN_A, _write(tmp_path, rows))
    _, gaiji = export_bytes(platform, TOWN_A, "cp932")
    assert gaiji.splitlines()[1:] == ["F040,MJ022335,葛\U000e0102", "F041,MJ032129,𠮷"]


def test_impossible_dates(platform: Platform, tmp_path: Path) -> None:
    rows = [[*GOOD[0][:5], "1970-02-30", *GOOD[0][6:]], GOOD[1]]
    e = _refused(platform, _write(tmp_path, rows), "生年月日", "ありえない日付")
    assert e.rejections[0].row == 2
    assert e.rejections[0].column == "生年月日"


def test_household_faults_are_on_the_member_at_fault(platform: Platform, tmp_path: Path) -> None:
    """One message per fault, on the row at fault: the second 世帯主 (not the first), a
    household without one (its first row), the member living elsewhere (not the head)."""
    rows = [GOOD[0], [*GOOD[1][:7], "世帯主", *GOOD[1][8:]]]
    e = _refused(platform, _write(tmp_path, rows), "世帯主は既に 2 行目")
    assert [(r.row, r.column) for r in e.rejections] == [(3, "続柄")]
    rows = [[*GOOD[0][:7], "同居人", *GOOD[0][8:]], GOOD[1]]
    e = _refused(platform, _write(tmp_path, rows), "世帯主がいません")
    assert [(r.row, r.column) for r in e.rejections] == [(2, "続柄")]
    rows = [GOOD[0], [*GOOD[1][:8], "大字諏訪山2番地", *GOOD[1][9:]]]
    e = _refused(platform, _write(tmp_path, rows), "2 行目の世帯主と一致しません")
    assert [(r.row, r.column) for r in e.rejections] == [(3, "住所")]


def test_an_error_on_a_head_adds_no_household_errors(platform: Platform, tmp_path: Path) -> None:
    rows = [[*GOOD[0][:5], "1970-02-30", *GOOD[0][6:]], GOOD[1]]
    e = _refused(platform, _write(tmp_path, rows), "生年月日")
    assert [(r.row, r.column) for r in e.rejections] == [(2, "生年月日")]


def test_resident_day_before_birth_names_the_resident_day(
    platform: Platform, tmp_path: Path
) -> None:
    rows = [[*GOOD[0][:5], "2001-01-01", *GOOD[0][6:]], GOOD[1]]
    e = _refused(platform, _write(tmp_path, rows), "住民日が生年月日より前")
    assert [(r.row, r.column) for r in e.rejections] == [(2, "住民日")]


def test_gaiji_absent_from_table(platform: Platform, tmp_path: Path) -> None:
    text = "\r\n".join([HEADER, ",".join(GOOD[0]), ",".join(GOOD[1])]) + "\r\n"
    data = text.encode("cp932").replace("太郎".encode("cp932"), b"\xf0\x41" + "郎".encode("cp932"))
    path = tmp_path / "gaiji-missing.csv"
    path.write_bytes(data)
    table = tmp_path / "gaiji.csv"
    table.write_text("外字コード,MJ文字図形名,対応文字\nF040,,髙\n", encoding="utf-8")
    e = _refused(platform, path, "F041", "2 行目", gaiji_path=table, encoding="cp932")
    assert (e.rejections[0].row, e.rejections[0].column) == (2, "漢字氏名")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "空のファイル"),
        ((HEADER + "\r\n").encode("utf-8"), "データ行がありません"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "in.csv"),
    ],
    ids=["empty", "header only", "binary"],
)
def test_empty_header_only_and_binary_files(
    platform: Platform, tmp_path: Path, content: bytes, fragment: str
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    _refused(platform, path, fragment)


def test_truncated_last_line(platform: Platform, tmp_path: Path) -> None:
    data = _write(tmp_path, GOOD).read_bytes()
    # cut inside the last record's 住所 and leave a quote open (on a character boundary)
    cut = data[: data.rfind("大字".encode())] + b'"unterminated'
    path = tmp_path / "cut.csv"
    path.write_bytes(cut)
    _refused(platform, path, "3 行目")


def test_partial_import_writes_rejected_rows(platform: Platform, tmp_path: Path) -> None:
    other = [
        [
            "0000000037",
            "0000000502",
            "",
            "佐藤\u3000一郎",
            "",
            "1960-13-01",
            "1",
            "世帯主",
            "大字真野2番地",
            "",
            "",
            "",
            "2000-04-01",
            "2000-04-01",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            *[""] * len(FOREIGN_FIELDS),
        ],
    ]
    path = _write(tmp_path, [*GOOD, *other])
    with pytest.raises(ImportRefusedError):
        do_import(platform, TOWN_A, path)
    r = do_import(platform, TOWN_A, path, partial=True)
    assert r.imported == 2
    assert [(x.row, x.column) for x in r.rejected] == [(4, "生年月日")]
    out = io.StringIO()
    write_rejections(r.rejected, out)
    assert out.getvalue().splitlines()[1].startswith("4,生年月日,")


def test_large_file_streams(platform: Platform, tmp_path: Path) -> None:
    rows = []
    for i in range(6000):
        number = f"{1000 + i:010d}"
        rows.append(
            [
                number,
                number,
                "",
                f"試験\u3000{i}",
                "",
                "1980-01-01",
                "1",
                "世帯主",
                f"大字試験{i}番地",
                "",
                "",
                "試験区",
                "2000-04-01",
                "2000-04-01",
                "",
                "転入",
                "",
                "",
                "",
                "",
                "",
                *[""] * len(FOREIGN_FIELDS),
            ]
        )
    r = do_import(platform, TOWN_A, _write(tmp_path, rows))
    assert r.imported == 6000


def _foreign(row: list[str], **items: str) -> list[str]:
    """``row`` as a foreign resident: no 本籍/筆頭者, the given foreign-resident items."""
    out = dict(zip(COLUMNS, row, strict=True)) | {"本籍": "", "筆頭者": ""} | items
    return [out[c] for c in COLUMNS]


VIETNAMESE = {
    "国籍・地域": "ベトナム",
    "第30条45規定区分": "中長期在留者",
    "在留資格": "技能実習2号ロ",
    "在留期間等の満了の日": "2027-06-30",
    "在留カード等番号": "AB12345678CD",
}


def test_foreign_resident_round_trips(platform: Platform, tmp_path: Path) -> None:
    rows = [GOOD[0], _foreign(GOOD[1], **VIETNAMESE)]
    r = do_import(platform, TOWN_A, _write(tmp_path, rows))
    assert r.rejected == [] and r.imported == 2
    with platform.town(TOWN_A) as town:
        v = town.session.scalar(
            select(PersonVersion).where(PersonVersion.addressee_number == "0000000029")
        )
        assert v is not None
        assert (v.nationality, v.residence_status, v.stay_expires_on) == (
            "ベトナム",
            "技能実習2号ロ",
            date(2027, 6, 30),
        )
    assert export_bytes(platform, TOWN_A)[0] == _write(tmp_path, rows).read_bytes()


@pytest.mark.parametrize(
    ("items", "column", "fragment"),
    [
        ({"国籍・地域": "ベトナム"}, "第30条45規定区分", "区分が必要"),
        ({**VIETNAMESE, "第30条45規定区分": "観光客"}, "第30条45規定区分", "のいずれか"),
        ({**VIETNAMESE, "在留資格": ""}, "在留資格", "在留資格が必要"),
        ({**VIETNAMESE, "在留資格": "研究者"}, "在留資格", "使えません"),
        ({**VIETNAMESE, "在留カード等番号": "12345"}, "在留カード等番号", "英字2桁"),
        (
            {**VIETNAMESE, "在留期間等の満了の日": "2027-02-30"},
            "在留期間等の満了の日",
            "ありえない",
        ),
        ({**VIETNAMESE, "本籍": "新潟県聖籠町"}, "本籍", "本籍・筆頭者を記載しません"),
        ({"在留資格": "永住者"}, "在留資格", "日本国籍"),
        (
            {"国籍・地域": "韓国", "第30条45規定区分": "特別永住者", "在留資格": "永住者"},
            "在留資格",
            "特別永住者",
        ),
    ],
)
def test_bad_foreign_resident_items_are_refused(
    platform: Platform, tmp_path: Path, items: dict[str, str], column: str, fragment: str
) -> None:
    row = dict(zip(COLUMNS, GOOD[1], strict=True)) | items
    e = _refused(platform, _write(tmp_path, [GOOD[0], [row[c] for c in COLUMNS]]), "3 行目")
    assert [(x.row, x.column) for x in e.rejections] == [(3, column)]
    assert fragment in e.rejections[0].reason


@pytest.mark.sqlite_only  # the command line makes a second centre of its own (init-town)
def test_cli_export_and_import(source: Platform, tmp_path: Path) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415

    from lgcloud.cli import app as cli  # noqa: PLC0415

    runner = CliRunner()
    out = tmp_path / "sjis.csv"
    r = runner.invoke(
        cli,
        [
            "export",
            "residents",
            "--town",
            TOWN_A,
            "--out",
            str(out),
            "--encoding",
            "cp932",
            "--data-dir",
            str(source.data_dir),
        ],
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "gaiji.csv").exists()
    target = tmp_path / "target"
    assert (
        runner.invoke(cli, ["init-town", TOWN_B, "出雲崎町", "--data-dir", str(target)]).exit_code
        == 0
    )
    r = runner.invoke(
        cli,
        [
            "import",
            "residents",
            "--town",
            TOWN_B,
            str(out),
            "--gaiji",
            str(tmp_path / "gaiji.csv"),
            "--data-dir",
            str(target),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "0 rejected" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    rejected = tmp_path / "rejected.csv"
    r = runner.invoke(
        cli,
        [
            "import",
            "residents",
            "--town",
            TOWN_B,
            str(bad),
            "--rejected",
            str(rejected),
            "--data-dir",
            str(target),
        ],
    )
    assert r.exit_code == 2
    assert "空のファイル" in r.output


def test_encoding_faults_name_line_and_column(platform: Platform, tmp_path: Path) -> None:
    """Bytes that are not text are refused on their line and in their column (found on the
    raw bytes: the line cannot be decoded), in Japanese."""
    good = _write(tmp_path, GOOD, encoding="cp932").read_bytes()
    head, first, second = good.split(b"\r\n")[:3]
    name = COLUMNS.index("漢字氏名")
    fields = second.split(b",")
    fields[name] = fields[name][:2] + b"\x81"  # a cp932 lead byte without its trail byte
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\r\n".join([head, first, b",".join(fields)]) + b"\r\n")
    e = _refused(platform, bad, "3 行目", "漢字氏名の列", encoding="cp932")
    assert [(r.row, r.column) for r in e.rejections] == [(3, "漢字氏名")]
    fields = second.split(b",")
    fields[COLUMNS.index("住所")] += b"\x00"
    bad.write_bytes(b"\r\n".join([head, first, b",".join(fields)]) + b"\r\n")
    e = _refused(platform, bad, "NUL", "住所の列")
    assert [(r.row, r.column) for r in e.rejections] == [(3, "住所")]


@pytest.mark.parametrize(
    ("column", "damage", "row", "words"),
    [
        # a quote opened in the middle of the file runs on to its end
        ("漢字氏名", lambda v: '"' + v, 2, "2 行目で始まる引用符"),
        # text after the closing quote
        ("住所", lambda v: f'"{v}"番地', 2, "区切りのカンマがありません"),
        # on the last record: the quote is never closed
        ("続柄", lambda v: '"' + v, 3, "引用符が閉じていません"),
    ],
)
def test_malformed_csv_names_line_and_column(
    platform: Platform,
    tmp_path: Path,
    column: str,
    damage: Callable[[str], str],
    row: int,
    words: str,
) -> None:
    """A record the csv reader refuses names the line it starts on and the column at fault
    (the reader itself does not say which), in Japanese."""
    rows = [list(GOOD[0]), list(GOOD[1])]
    target = rows[row - 2]
    index = COLUMNS.index(column)
    target[index] = damage(target[index])
    lines = [",".join(COLUMNS), *(",".join(r) for r in rows)]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    e = _refused(platform, bad, f"{row} 行目 {column}:", words)
    assert [(r.row, r.column) for r in e.rejections] == [(row, column)]
