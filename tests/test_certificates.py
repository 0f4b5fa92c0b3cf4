"""Certificates: content read back from the PDF against the register, omitted fields really
absent, the as-of time on every page, issuance history, audit, and verification."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from conftest import TODAY, TOWN_A, cli_env, make_ctx, make_platform
from lgcloud.audit import service as audit_service
from lgcloud.certificates import service as cert
from lgcloud.certificates.render import UnprintableCharacterError
from lgcloud.certificates.service import CertificateKind
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.core.wareki import format_datetime_jst, to_wareki
from lgcloud.generate.town import generate_town
from lgcloud.insurance.models import NhiMember
from lgcloud.insurance.service import nhi_status
from lgcloud.register import queries
from lgcloud.register.domain import HEAD, Correction, CorrectionFields
from lgcloud.register.models import PersonVersion
from lgcloud.register.service import record_event
from lgcloud.seals.models import SealRegistration
from lgcloud.taxation.models import ResidentTaxAssessment
from lgcloud.taxation.service import installments_of
from lgcloud.tenancy.platform import Platform

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 12:00 JST


@pytest.fixture(scope="module")
def town_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    p = make_platform(Path(tmp_path_factory.mktemp("certs")) / "data")
    generate_town(p, TOWN_A, residents=400, seed=7, today=TODAY)
    yield p
    p.dispose()


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def flat(text: str) -> str:
    """Text without the spaces and line breaks layout inserts."""
    return re.sub(r"\s+", "", text)


def _issue(
    p: Platform, kind: CertificateKind, person: str | None, **options: object
) -> cert.IssuedCertificate:
    return cert.issue_certificate(
        p, make_ctx(TOWN_A), kind, addressee_number=person, options=dict(options), now=NOW
    )


def _households(p: Platform) -> list[list[PersonVersion]]:
    """Current residents by household, oldest records first."""
    with p.town(TOWN_A) as town:
        rows = list(
            town.session.scalars(
                select(PersonVersion)
                .where(PersonVersion.is_current.is_(True), PersonVersion.status == "resident")
                # oldest versions first: people no earlier test of the module has changed
                # (row order is not insertion order on PostgreSQL)
                .order_by(PersonVersion.id)
            )
        )
    by: dict[str, list[PersonVersion]] = {}
    for r in rows:
        by.setdefault(r.household_number, []).append(r)
    return list(by.values())


def _household_with(p: Platform, size: int) -> list[PersonVersion]:
    return next(m for m in _households(p) if len(m) >= size)


def test_resident_certificate_household_form(town_platform: Platform) -> None:
    members = _household_with(town_platform, 3)
    head = next(m for m in members if m.relationship == HEAD)
    c = _issue(town_platform, CertificateKind.RESIDENT, head.addressee_number)
    texts = pages_text(c.pdf)
    whole = flat("".join(texts))
    assert "住民票の写し" in whole
    for m in members:
        assert flat(m.name) in whole
        assert flat(to_wareki(m.birth_date)) in whole
        assert m.relationship in whole
    assert flat(head.address) in whole
    # omitted by default
    for m in members:
        assert m.resident_code and m.resident_code not in whole
        assert m.individual_number and m.individual_number not in whole
    assert "本籍" not in whole and "住民票コード" not in whole and "個人番号" not in whole
    # as-of time on every page, 認証文 once, on the last page
    as_of = flat(format_datetime_jst(c.data_as_of))
    assert all(as_of in flat(t) for t in texts)
    assert sum("原本と相違ない" in flat(t) for t in texts) == 1
    assert "原本と相違ない" in flat(texts[-1])
    assert c.verification_code in whole


def test_resident_certificate_options(town_platform: Platform) -> None:
    members = _household_with(town_platform, 2)
    head = next(m for m in members if m.relationship == HEAD)
    c = _issue(
        town_platform,
        CertificateKind.RESIDENT,
        head.addressee_number,
        form="individual",
        include_head_and_relationship=False,
        include_resident_code=True,
        include_individual_number=True,
    )
    whole = flat("".join(pages_text(c.pdf)))
    assert "個人票" in whole
    assert flat(head.name) in whole
    others = [m for m in members if m.addressee_number != head.addressee_number]
    assert all(flat(m.name) not in whole for m in others)
    assert "世帯主" not in whole and "続柄" not in whole
    assert head.resident_code and head.resident_code in whole
    assert head.individual_number and head.individual_number in whole


def test_foreign_resident_items_only_when_asked(town_platform: Platform) -> None:
    """A foreign resident's 国籍・地域 and 在留資格 (recorded by a correction here) print only
    when asked for; 本籍 is never printed for them."""
    members = _household_with(town_platform, 2)
    spouse = next(m for m in members if m.relationship != HEAD)
    with town_platform.town(TOWN_A) as town:
        record_event(
            town,
            make_ctx(TOWN_A),
            Correction(
                effective_date=TODAY,
                member=spouse.addressee_number,
                fields=CorrectionFields(
                    nationality="フィリピン",
                    foreign_category="中長期在留者",
                    residence_status="日本人の配偶者等",
                    stay_expires_on=date(2028, 3, 31),
                    residence_card_number="AB12345678CD",
                ),
                reason="在留カードによる記載",
            ),
            today=TODAY,
        )
    number = spouse.addressee_number
    plain = flat("".join(pages_text(_issue(town_platform, CertificateKind.RESIDENT, number).pdf)))
    assert "国籍" not in plain and "フィリピン" not in plain
    c = _issue(
        town_platform,
        CertificateKind.RESIDENT,
        number,
        include_foreign_items=True,
        include_honseki=True,
    )
    whole = flat("".join(pages_text(c.pdf)))
    for text in ("国籍・地域", "フィリピン", "中長期在留者", "日本人の配偶者等", "AB12345678CD"):
        assert text in whole, text
    assert flat(to_wareki(date(2028, 3, 31))) in whole
    # the household's Japanese members keep their 本籍 line; the foreign member has none
    assert whole.count("国籍・地域") == 1


def test_many_people_continue_on_further_pages(town_platform: Platform) -> None:
    members = _household_with(town_platform, 4)
    head = next(m for m in members if m.relationship == HEAD)
    c = _issue(
        town_platform,
        CertificateKind.RESIDENT,
        head.addressee_number,
        include_honseki=True,
        include_resident_code=True,
        include_individual_number=True,
        include_removed=True,
    )
    texts = pages_text(c.pdf)
    assert c.pages == len(texts)
    assert all(flat(format_datetime_jst(c.data_as_of)) in flat(t) for t in texts)
    assert "原本と相違ない" in flat(texts[-1])


def test_removed_resident_needs_include_removed(town_platform: Platform) -> None:
    with town_platform.town(TOWN_A) as town:
        removed = town.session.scalar(
            select(PersonVersion).where(
                PersonVersion.is_current.is_(True), PersonVersion.status == "removed"
            )
        )
    assert removed is not None
    with pytest.raises(RuleViolationError):
        _issue(town_platform, CertificateKind.RESIDENT, removed.addressee_number, form="individual")
    c = _issue(
        town_platform,
        CertificateKind.RESIDENT,
        removed.addressee_number,
        form="individual",
        include_removed=True,
    )
    whole = flat("".join(pages_text(c.pdf)))
    assert flat(removed.name) in whole
    assert removed.removal_reason and removed.removal_reason in whole


def test_income_and_payment_certificates(town_platform: Platform) -> None:
    with town_platform.town(TOWN_A) as town:
        a = town.session.scalar(
            select(ResidentTaxAssessment).where(
                ResidentTaxAssessment.fiscal_year == 2026, ResidentTaxAssessment.total_tax > 0
            )
        )
        assert a is not None
        person = queries.get_person(town, a.addressee_number)
        lines = installments_of(town, a.addressee_number, 2026)
    c = _issue(town_platform, CertificateKind.INCOME_TAX, a.addressee_number, fiscal_year=2026)
    whole = flat("".join(pages_text(c.pdf)))
    assert "所得・課税証明書" in whole and "令和8年度" in whole
    assert flat(person.name) in whole
    for value in (a.total_income, a.taxable_income, a.total_tax, a.income_levy_municipal):
        assert f"{value:,}" in whole
    p = _issue(town_platform, CertificateKind.TAX_PAYMENT, a.addressee_number, fiscal_year=2026)
    whole = flat("".join(pages_text(p.pdf)))
    assert "納税証明書" in whole
    for line in lines:
        assert flat(to_wareki(line.due_date)) in whole
    assert f"{sum(x.outstanding for x in lines):,}" in whole
    with pytest.raises(NotFoundError):
        _issue(town_platform, CertificateKind.INCOME_TAX, a.addressee_number, fiscal_year=2010)


def test_nhi_documents(town_platform: Platform) -> None:
    with town_platform.town(TOWN_A) as town:
        member = town.session.scalar(select(NhiMember))
        assert member is not None
        status = nhi_status(town, member.addressee_number, TODAY)
        person = queries.get_person(town, member.addressee_number)
    assert status is not None
    card = _issue(town_platform, CertificateKind.NHI_CARD, member.addressee_number)
    reader = PdfReader(io.BytesIO(card.pdf))
    w, h = (float(x) * 25.4 / 72 for x in reader.pages[0].mediabox[2:])
    assert (round(w), round(h)) == (91, 55)  # card size
    whole = flat("".join(pages_text(card.pdf)))
    assert "資格確認書" in whole and flat(person.name) in whole
    assert status.symbol in whole and status.insured_number in whole
    notice = _issue(town_platform, CertificateKind.NHI_NOTICE, member.addressee_number)
    whole = flat("".join(pages_text(notice.pdf)))
    assert "資格情報のお知らせ" in whole and f"{status.copay_percent // 10}割" in whole


def test_seal_certificate(town_platform: Platform) -> None:
    with town_platform.town(TOWN_A) as town:
        reg = town.session.scalar(select(SealRegistration))
        assert reg is not None
        person = queries.get_person(town, reg.addressee_number)
    c = _issue(town_platform, CertificateKind.SEAL, reg.addressee_number)
    whole = flat("".join(pages_text(c.pdf)))
    assert (
        "印鑑登録証明書" in whole
        and reg.registration_number in whole
        and flat(person.name) in whole
    )
    page = PdfReader(io.BytesIO(c.pdf)).pages[0]
    assert list(page.images), "the seal impression is embedded as an image"


def test_all_residents_pdf_and_csv(town_platform: Platform) -> None:
    c = _issue(town_platform, CertificateKind.ALL_RESIDENTS, None)
    texts = pages_text(c.pdf)
    whole = flat("".join(texts))
    with town_platform.town(TOWN_A) as town:
        people = cert.all_residents(town)
    data = cert.all_residents_csv(town_platform, make_ctx(TOWN_A), today=TODAY).decode("utf-8-sig")
    assert len(people) == 400
    assert all(flat(p.addressee_number) in whole for p in people)
    assert all(flat(format_datetime_jst(c.data_as_of)) in flat(t) for t in texts)
    lines = data.strip().split("\r\n")
    assert lines[0].startswith("行政区,世帯番号,宛名番号,氏名")
    assert len(lines) == 401
    districts = [line.split(",")[0] for line in lines[1:]]
    assert districts == sorted(districts)


def test_unprintable_name_is_refused_before_printing(town_platform: Platform) -> None:
    person = _household_with(town_platform, 1)[0]
    with town_platform.town(TOWN_A) as town:
        record_event(
            town,
            make_ctx(TOWN_A),
            Correction(
                effective_date=TODAY,
                member=person.addressee_number,
                fields=CorrectionFields(name="\U0001f600\u3000太郎"),
                reason="試験",
            ),
            today=TODAY,
        )
    with pytest.raises(UnprintableCharacterError) as e:
        _issue(town_platform, CertificateKind.RESIDENT, person.addressee_number, form="individual")
    assert "U+1F600" in e.value.message
    assert person.addressee_number in e.value.message


def test_issuance_history_and_audit(town_platform: Platform) -> None:
    person = _household_with(town_platform, 1)[0]
    c = _issue(town_platform, CertificateKind.RESIDENT, person.addressee_number, form="individual")
    with town_platform.town(TOWN_A) as town:
        history = cert.issuance_history(town, person.addressee_number)
        lines = audit_service.who_viewed(town.session, person.addressee_number)
        assert audit_service.verify(town.session).ok
    assert history[0].issue_number == c.issue_number
    assert history[0].clerk_name == make_ctx(TOWN_A).actor.name
    assert any(x.action == "certificate_issued" for x in lines)


def test_verification_detects_any_change(town_platform: Platform) -> None:
    person = _household_with(town_platform, 1)[0]
    c = _issue(town_platform, CertificateKind.RESIDENT, person.addressee_number, form="individual")
    other = _issue(
        town_platform, CertificateKind.RESIDENT, person.addressee_number, form="individual"
    )
    with town_platform.town(TOWN_A) as town:
        info = cert.verification_info(town, c.verification_code)
        assert info.kind == "住民票の写し"
        assert cert.verify_pdf(town, c.verification_code, c.pdf)
        # one byte changed
        tampered = bytearray(c.pdf)
        tampered[len(tampered) // 2] ^= 0x01
        assert not cert.verify_pdf(town, c.verification_code, bytes(tampered))
        # one character of the visible text changed (the issue number digits)
        number = c.issue_number.encode()
        assert not cert.verify_pdf(
            town, c.verification_code, c.pdf.replace(b"%PDF-1.7", b"%PDF-1.6", 1)
        )
        assert number  # the issue number is not ASCII in the PDF stream; the byte test covers it
        # a different certificate's PDF does not match this code
        assert not cert.verify_pdf(town, c.verification_code, other.pdf)
        with pytest.raises(NotFoundError):
            cert.verification_info(town, "153079-0000-0000-0000")


def test_public_verify_page_and_upload(town_platform: Platform) -> None:
    from fastapi.testclient import TestClient  # noqa: PLC0415

    from lgcloud.web.app import create_app  # noqa: PLC0415

    person = _household_with(town_platform, 1)[0]
    c = _issue(town_platform, CertificateKind.RESIDENT, person.addressee_number, form="individual")
    with TestClient(create_app(town_platform)) as client:
        page = client.get(f"/verify/{c.verification_code.lower()}")  # typed in lower case
        assert page.status_code == 200
        assert "住民票の写し" in page.text
        assert "聖籠町" in page.text
        assert person.name not in page.text  # no personal data on the public page
        assert person.addressee_number not in page.text
        ok = client.post(
            f"/verify/{c.verification_code}", files={"pdf": ("a.pdf", c.pdf, "application/pdf")}
        )
        assert "一致: このPDFは発行した証明書と同一です" in ok.text
        tampered = bytearray(c.pdf)
        tampered[len(tampered) // 3] ^= 0x20
        assert bytes(tampered) != c.pdf
        bad = client.post(
            f"/verify/{c.verification_code}",
            files={"pdf": ("a.pdf", bytes(tampered), "application/pdf")},
        )
        assert "不一致" in bad.text
        assert client.get("/verify/999999-0000-0000-0000").status_code == 404
        assert client.get("/verify/153079-0000-0000-0000").status_code == 404


def test_an_oversized_verify_upload_is_refused_before_it_is_read(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stranger's 100 MB was read in full before the size was checked (issue 15)."""
    from fastapi.testclient import TestClient  # noqa: PLC0415

    from lgcloud.certificates import routes  # noqa: PLC0415
    from lgcloud.web.app import create_app  # noqa: PLC0415

    def never(*_a: object, **_k: object) -> None:
        raise AssertionError("the handler ran")

    monkeypatch.setattr(routes, "_info", never)
    big = b"%PDF-" + b"0" * (routes.MAX_VERIFY_BODY + 1)
    with TestClient(create_app(platform)) as client:
        r = client.post(
            f"/verify/{TOWN_A}-0000-0000-0000", files={"pdf": ("a.pdf", big, "application/pdf")}
        )
    assert r.status_code == 413


def test_issue_through_the_api_and_the_cli(town_platform: Platform, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient  # noqa: PLC0415
    from typer.testing import CliRunner  # noqa: PLC0415

    from lgcloud.auth.roles import Role  # noqa: PLC0415
    from lgcloud.auth.service import create_clerk  # noqa: PLC0415
    from lgcloud.cli import app as cli  # noqa: PLC0415
    from lgcloud.web.app import create_app  # noqa: PLC0415

    # a household whose names all print (an earlier test of the module gives one an emoji)
    person = next(
        m[0]
        for m in _households(town_platform)
        if all(all(ord(c) < 0x1F000 for c in x.name) for x in m)
    )
    with town_platform.town(TOWN_A) as town:
        create_clerk(
            town,
            make_ctx(TOWN_A),
            staff_number="C900",
            name="窓口\u3000試験",
            roles={Role.COUNTER_CLERK},
            password="counter-pass-900",
        )
    with TestClient(create_app(town_platform)) as client:
        login = client.post(
            "/api/login",
            json={"town_code": TOWN_A, "staff_number": "C900", "password": "counter-pass-900"},
        )
        auth = {"Authorization": f"Bearer {login.headers['X-Session-Token']}"}
        r = client.post(
            "/api/certificates",
            headers=auth,
            json={"kind": "resident", "addressee_number": person.addressee_number},
        )
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pdf"
        assert r.content.startswith(b"%PDF")
        code = r.headers["X-Verification-Code"]
        assert flat(person.name) in flat("".join(pages_text(r.content)))
        history = client.get(
            f"/api/persons/{person.addressee_number}/issuances", headers=auth
        ).json()
        assert history[0]["verification_code"] == code
        assert history[0]["clerk_name"] == "窓口\u3000試験"
        bad = client.post(
            "/api/certificates",
            headers=auth,
            json={
                "kind": "resident",
                "addressee_number": person.addressee_number,
                "options": {"no_such_option": True},
            },
        )
        assert bad.status_code == 422
    out = tmp_path / "jumin.pdf"
    result = CliRunner(env=cli_env(town_platform)).invoke(
        cli,
        [
            "issue",
            "--town",
            TOWN_A,
            "--kind",
            "resident",
            "--person",
            person.addressee_number,
            "--option",
            "form=individual",
            "--out",
            str(out),
            "--data-dir",
            str(town_platform.data_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    assert "照合番号" in result.output
    refused = CliRunner(env=cli_env(town_platform)).invoke(
        cli,
        [
            "issue",
            "--town",
            TOWN_A,
            "--kind",
            "seal",
            "--person",
            "9999999999",
            "--out",
            str(tmp_path / "x.pdf"),
            "--data-dir",
            str(town_platform.data_dir),
        ],
    )
    assert refused.exit_code == 2


def test_all_residents_csv_neutralises_formulas(platform: Platform) -> None:
    """A spreadsheet must not run a cell as a formula (=, +, -, @ at the start)."""
    generate_town(platform, TOWN_A, residents=20, seed=3, today=TODAY)
    with platform.town(TOWN_A) as town:
        person = town.session.scalar(
            select(PersonVersion).where(
                PersonVersion.is_current.is_(True), PersonVersion.status == "resident"
            )
        )
        assert person is not None
        fields = CorrectionFields(name='=HYPERLINK("http://x")\u3000太郎', kana="@カナ")
        event = Correction(
            effective_date=TODAY, member=person.addressee_number, fields=fields, reason="試験"
        )
        record_event(town, make_ctx(TOWN_A), event, today=TODAY)
    data = cert.all_residents_csv(platform, make_ctx(TOWN_A), today=TODAY).decode("utf-8-sig")
    assert "'=HYPERLINK" in data
    assert "'@カナ" in data
    assert ",=HYPERLINK" not in data
