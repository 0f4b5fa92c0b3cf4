"""Bulk notices: the print order (郵便番号 / 行政区) and split; a run of 納税通知書 rendered to
PDFs (read back independently with pypdf), each notice recorded against its addressee and
audited, the 送付先 honoured, a 住登外者 included, and a notice the font cannot print set aside
as a 処理待ち item instead of printed wrong; the ``lgcloud tax notices`` command."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import TODAY, TOWN_A, cli_env, make_ctx, record_family
from lgcloud.addressees.domain import NonResidentIn
from lgcloud.addressees.service import register_non_resident, set_mailing_address
from lgcloud.audit.models import AuditEntry
from lgcloud.cli import app as cli
from lgcloud.core.errors import RuleViolationError
from lgcloud.notices.domain import Notice, order, split, split_by_district
from lgcloud.notices.models import NoticeRun, NoticeSent
from lgcloud.notices.service import issue_notices
from lgcloud.taxation.notices import tax_notices
from lgcloud.taxation.service import assess_light_vehicle_tax
from lgcloud.tenancy.platform import Platform
from lgcloud.worklist.queries import tasks
from pdf_tools import extract_text


def notice(n: str, postal: str, district: str = "", name: str = "宛名\u3000太郎") -> Notice:
    return Notice(n, name, "新潟県聖籠町1番地", postal, district, False, "通知書")


def test_order_by_postal_code_or_district_and_split() -> None:
    ns = [notice("3", "9570102", "蓮野"), notice("1", "", "諏訪山"), notice("2", "9570101", "蓮野")]
    assert [n.addressee_number for n in order(ns, "postal_code")] == ["2", "3", "1"]
    by_district = order(ns, "district")
    assert [n.district for n in by_district] == ["蓮野", "蓮野", "諏訪山"]
    assert [len(f) for f in split(by_district, 2)] == [2, 1]
    assert [[n.district for n in f] for f in split_by_district(by_district, 5)] == [
        ["蓮野", "蓮野"],
        ["諏訪山"],
    ]
    for bad in (0, 2001):
        with pytest.raises(RuleViolationError):
            split(ns, bad)
    with pytest.raises(RuleViolationError):
        order(ns, "name")


def _taxpayers(platform: Platform) -> dict[str, str]:
    """Three taxpayers of 軽自動車税 2026: the head (送付先 for 税務 in Tokyo), the wife, and a
    住登外者 (a former resident who still owns a vehicle here); the wife's plate is fine, the
    住登外者's name has a character the font cannot draw."""
    family = record_family(platform, TOWN_A, "納税")
    with platform.town(TOWN_A) as town:
        former = register_non_resident(
            town,
            make_ctx(),
            NonResidentIn(
                kind="person",
                name="転出\u3000\U0001f600子",  # an emoji: no glyph in IPAmj明朝
                address="東京都千代田区千代田1番1号",
                postal_code="1000001",
                reason="転出者（課税・収納）",
            ),
            today=TODAY,
        )
    with platform.town(TOWN_A) as town:
        set_mailing_address(
            town,
            make_ctx(),
            family["head"],
            area="taxation",
            name="納税\u3000太郎",
            address="東京都港区芝公園1番1号",
            postal_code="1050011",
            valid_from=date(2026, 4, 1),
        )
    for number in (family["head"], family["wife"], former):
        with platform.town(TOWN_A) as town:
            assess_light_vehicle_tax(
                town,
                make_ctx(),
                number,
                fiscal_year=2026,
                vehicle_class="軽四輪 乗用・自家用",
                plate_number="新潟 580 あ 12-34",
                assessed_on=date(2026, 4, 1),
            )
    return {"head": family["head"], "wife": family["wife"], "former": former}


def test_a_run_of_tax_notices_is_printed_recorded_and_audited(
    platform: Platform, tmp_path: Path
) -> None:
    people = _taxpayers(platform)
    with platform.read_town(TOWN_A) as town:
        notices = tax_notices(town, "light_vehicle", 2026, TODAY)
    assert {n.addressee_number for n in notices} == set(people.values())
    seen: list[tuple[int, int]] = []
    result = issue_notices(
        platform,
        make_ctx(),
        area="taxation",
        kind="tax_notice_light_vehicle",
        title="令和8年度 軽自動車税 納税通知書",
        notices=notices,
        sort_by="postal_code",
        per_file=1,
        out_dir=tmp_path,
        today=TODAY,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert result.printed == 2 and list(result.set_aside) == [people["former"]]
    assert seen == [(1, 2), (2, 2)] and len(result.files) == 2
    texts = [extract_text(p.read_bytes()).replace(" ", "") for p in result.files]
    assert all(len(PdfReader(p).pages) == 1 for p in result.files)
    # 郵便番号順: the head's 送付先 in Tokyo (105…) comes before the wife's own address (957…)
    assert "東京都港区芝公園1番1号" in texts[0] and "納税" in texts[0]
    assert "令和8年度" in texts[1] and "納期限" in texts[1]
    # each notice names its file and its position in it (for the printer's checks)
    assert f"{result.code}-0011" in texts[0] and f"{result.code}-0021" in texts[1]
    with platform.read_town(TOWN_A) as town:
        run = town.session.scalars(select(NoticeRun)).one()
        sent = town.session.scalars(select(NoticeSent).order_by(NoticeSent.file_no)).all()
        issued = town.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "notices_issued").order_by(AuditEntry.seq)
        ).all()
        waiting = tasks(town, "taxation", today=TODAY)
    assert (run.planned, run.printed, run.finished_at is not None) == (3, 2, True)
    assert [(s.addressee_number, s.file_no, s.to_send_address) for s in sent] == [
        (people["head"], 1, True),
        (people["wife"], 2, False),
    ]
    assert [e.subjects for e in issued] == [[people["head"]], [people["wife"]]]
    assert [(t.kind, t.addressee_number) for t in waiting] == [
        ("notice_set_aside", people["former"])
    ]
    assert "U+1F600" in waiting[0].summary or "\U0001f600" in waiting[0].summary


def test_tax_notices_command(platform: Platform, tmp_path: Path) -> None:
    _taxpayers(platform)
    out = tmp_path / "out"
    result = CliRunner(env=cli_env(platform)).invoke(
        cli,
        [
            "tax",
            "notices",
            "--town",
            TOWN_A,
            "--fiscal-year",
            "2026",
            "--tax",
            "light_vehicle",
            "--out-dir",
            str(out),
            "--sort",
            "district",
            "--data-dir",
            str(platform.data_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 通（" in result.output and "処理待ちにしたもの: 1 通" in result.output
    assert len(list(out.glob("*.pdf"))) >= 1
