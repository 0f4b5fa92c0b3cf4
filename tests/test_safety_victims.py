"""被災者台帳 and り災証明書 (issue 18, item 3): the damage category from the 損害割合 and the
dated thresholds, surveys superseded and kept, and the certificate issued and verified like
every other."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import TODAY, TOWN_A, make_ctx
from lgcloud.audit.models import AuditEntry
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.generate.town import generate_town
from lgcloud.register.domain import HEAD
from lgcloud.register.models import PersonVersion
from lgcloud.safety import victims
from lgcloud.safety.domain import (
    DamageCategory,
    DamageThresholds,
    RebuildMethod,
    SupportAmounts,
    SupportKind,
    damage_category,
    support_amount,
)
from lgcloud.safety.models import DamageSurvey
from lgcloud.tenancy.platform import Platform

STORM = date(2026, 11, 20)
SHIPPED = DamageThresholds(
    Decimal("0.50"), Decimal("0.40"), Decimal("0.30"), Decimal("0.20"), Decimal("0.10")
)


@pytest.mark.parametrize(
    ("ratio", "category"),
    [
        ("1", DamageCategory.DESTROYED),
        ("0.50", DamageCategory.DESTROYED),
        ("0.4999", DamageCategory.LARGE_HALF),
        ("0.40", DamageCategory.LARGE_HALF),
        ("0.3999", DamageCategory.MEDIUM_HALF),
        ("0.30", DamageCategory.MEDIUM_HALF),
        ("0.2999", DamageCategory.HALF),
        ("0.20", DamageCategory.HALF),
        ("0.1999", DamageCategory.SEMI_HALF),
        ("0.10", DamageCategory.SEMI_HALF),
        ("0.0999", DamageCategory.BELOW_SEMI_HALF),
        ("0", DamageCategory.BELOW_SEMI_HALF),
    ],
)
def test_the_category_follows_the_damage_ratio(ratio: str, category: DamageCategory) -> None:
    assert damage_category(Decimal(ratio), SHIPPED) is category


@pytest.mark.parametrize("ratio", ["-0.01", "1.01", "42.5"])
def test_a_ratio_outside_zero_to_one_is_refused(ratio: str) -> None:
    with pytest.raises(RuleViolationError) as refused:
        damage_category(Decimal(ratio), SHIPPED)
    assert refused.value.field == "damage_ratio"


@pytest.fixture
def town(platform: Platform) -> Platform:
    generate_town(platform, TOWN_A, residents=200, seed=31, today=TODAY)
    with platform.town(TOWN_A) as t:
        victims.open_disaster(t, make_ctx(), "2026-01", "令和8年11月豪雨", STORM)
    return platform


def _household(platform: Platform) -> tuple[str, list[str], str]:
    """A household of two or more current residents: (number, members, head's name)."""
    with platform.read_town(TOWN_A) as t:
        rows = t.session.execute(
            select(PersonVersion.household_number, PersonVersion.addressee_number)
            .where(PersonVersion.is_current, PersonVersion.status == "resident")
            .where(PersonVersion.resident_since < STORM)
            .order_by(PersonVersion.household_number, PersonVersion.addressee_number)
        ).all()
        by: dict[str, list[str]] = {}
        for h, n in rows:
            by.setdefault(h, []).append(n)
        number = next(h for h, ms in by.items() if len(ms) >= 2)
        head = t.session.scalar(
            select(PersonVersion.name).where(
                PersonVersion.household_number == number,
                PersonVersion.is_current,
                PersonVersion.relationship == HEAD,
            )
        )
        return number, by[number], head or ""


def test_a_survey_is_recorded_superseded_and_kept(town: Platform) -> None:
    number, members, head = _household(town)
    with town.town(TOWN_A) as t:
        first = victims.record_survey(
            t, make_ctx(), "2026-01", number, "35", date(2026, 11, 22), "調査班A"
        )
        assert first.category == "中規模半壊"
    with town.town(TOWN_A) as t:  # the household asked for a 二次調査
        second = victims.record_survey(
            t,
            make_ctx(),
            "2026-01",
            number,
            "41.5%",
            date(2026, 11, 29),
            "調査班B",
            survey_round="二次調査",
        )
        assert second.category == "大規模半壊"
    with town.read_town(TOWN_A) as t:
        (line,) = victims.victim_ledger(t, "2026-01")
        surveys = t.session.scalars(select(DamageSurvey)).all()
        entries = t.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "safety_damage_surveyed")
        ).all()
    assert (line.category, line.survey_round, line.surveys) == ("大規模半壊", "二次調査", 2)
    assert (line.head, line.members) == (head, len(members))
    assert [s.current for s in surveys] == [False, True]
    assert len(entries) == 2 and set(entries[0].subjects) == set(members)


def test_a_survey_is_refused_with_the_field_at_fault(town: Platform) -> None:
    number, _, _ = _household(town)
    cases = [
        ({"damage_percent": "百"}, "damage_ratio"),
        ({"damage_percent": "120"}, "damage_ratio"),
        ({"surveyed_on": date(2026, 11, 1)}, "surveyed_on"),
        ({"surveyed_on": date(2099, 1, 1)}, "surveyed_on"),
        ({"surveyor": " "}, "surveyor"),
        ({"survey_round": "三次調査"}, "round"),
    ]
    for change, field in cases:
        args = {"damage_percent": "35", "surveyed_on": date(2026, 11, 22), "surveyor": "調査班A"}
        round_ = change.pop("survey_round", "一次調査")
        args |= change
        with town.town(TOWN_A) as t, pytest.raises(RuleViolationError) as refused:
            victims.record_survey(
                t,
                make_ctx(),
                "2026-01",
                number,
                survey_round=str(round_),
                **args,  # type: ignore[arg-type]
            )
        assert refused.value.field == field, change
    with town.town(TOWN_A) as t, pytest.raises(NotFoundError):
        victims.record_survey(t, make_ctx(), "2099-99", number, "35", date(2026, 11, 22), "調査班A")
    with town.town(TOWN_A) as t, pytest.raises(RuleViolationError, match="すでにあります"):
        victims.open_disaster(t, make_ctx(), "2026-01", "重複", STORM)
    with town.read_town(TOWN_A) as t:
        assert t.session.scalars(select(DamageSurvey)).all() == []


def test_a_disaster_certificate_is_issued_and_verifies(town: Platform) -> None:
    from lgcloud.certificates.service import (  # noqa: PLC0415
        CertificateKind,
        issue_certificate,
        verify_pdf,
    )
    from pdf_tools import extract_text  # noqa: PLC0415

    number, members, head = _household(town)
    applicant = members[-1]
    with pytest.raises(RuleViolationError, match="被害認定"):  # no survey yet
        issue_certificate(
            town, make_ctx(), CertificateKind.DISASTER, addressee_number=applicant,
            options={"disaster": "2026-01"},
        )  # fmt: skip
    with town.town(TOWN_A) as t:
        victims.record_survey(t, make_ctx(), "2026-01", number, "55", date(2026, 11, 22), "班A")
    cert = issue_certificate(
        town,
        make_ctx(),
        CertificateKind.DISASTER,
        addressee_number=applicant,
        options={"disaster": "2026-01"},
    )
    text = "".join(extract_text(cert.pdf).split()).replace("\u3000", "")
    assert "り災証明書" in text and "全壊" in text and "令和8年11月豪雨" in text
    assert head.replace("\u3000", "") in text
    with town.read_town(TOWN_A) as t:
        assert verify_pdf(t, cert.verification_code, cert.pdf)
        (entry,) = t.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "certificate_issued")
        ).all()
        assert set(entry.subjects) == set(members)  # the household it names
    with pytest.raises(RuleViolationError):
        issue_certificate(
            town, make_ctx(), CertificateKind.DISASTER, addressee_number=applicant,
            options={"disaster": ""},
        )  # fmt: skip


def test_a_new_threshold_applies_to_surveys_from_its_date(town: Platform) -> None:
    """The 運用指針 changes: the town sets 半壊 from 25 % from 2026-11-25; a survey before
    that date keeps the old threshold, one after it takes the new."""
    from lgcloud.parameters.service import set_parameter  # noqa: PLC0415
    from lgcloud.safety.parameters import HALF_MIN  # noqa: PLC0415

    number, _, _ = _household(town)
    with town.town(TOWN_A) as t:
        set_parameter(
            t,
            make_ctx(),
            HALF_MIN,
            "0.25",
            effective_from=date(2026, 11, 25),
            today=TODAY,
            source="運用指針の改定（試験）",
            reason="試験",
        )
    with town.town(TOWN_A) as t:
        before = victims.record_survey(
            t, make_ctx(), "2026-01", number, "22", date(2026, 11, 24), "班A"
        )
        assert before.category == "半壊"
    with town.town(TOWN_A) as t:
        after = victims.record_survey(
            t, make_ctx(), "2026-01", number, "22", date(2026, 11, 26), "班A", survey_round="再調査"
        )
        assert after.category == "準半壊"


# ------------------------------------------------------------ 被災者生活再建支援金

AMOUNTS = SupportAmounts(
    1_000_000, 500_000, 2_000_000, 1_000_000, 500_000, 1_000_000, 500_000, 250_000, Decimal("0.75")
)


@pytest.mark.parametrize(
    ("category", "members", "kind", "method", "yen"),
    [
        (DamageCategory.DESTROYED, 3, SupportKind.BASIC, None, 1_000_000),
        (DamageCategory.DESTROYED, 1, SupportKind.BASIC, None, 750_000),
        (DamageCategory.LARGE_HALF, 2, SupportKind.BASIC, None, 500_000),
        (DamageCategory.LARGE_HALF, 1, SupportKind.BASIC, None, 375_000),
        (DamageCategory.DESTROYED, 4, SupportKind.ADDITION, RebuildMethod.BUILD, 2_000_000),
        (DamageCategory.LARGE_HALF, 2, SupportKind.ADDITION, RebuildMethod.REPAIR, 1_000_000),
        (DamageCategory.DESTROYED, 1, SupportKind.ADDITION, RebuildMethod.RENT, 375_000),
        (DamageCategory.MEDIUM_HALF, 2, SupportKind.ADDITION, RebuildMethod.BUILD, 1_000_000),
        (DamageCategory.MEDIUM_HALF, 2, SupportKind.ADDITION, RebuildMethod.REPAIR, 500_000),
        (DamageCategory.MEDIUM_HALF, 1, SupportKind.ADDITION, RebuildMethod.RENT, 187_500),
    ],
)
def test_the_support_follows_the_damage_the_rebuilding_and_the_household(
    category: DamageCategory,
    members: int,
    kind: SupportKind,
    method: RebuildMethod | None,
    yen: int,
) -> None:
    assert support_amount(category, members, kind, method, AMOUNTS) == yen


@pytest.mark.parametrize(
    ("category", "kind", "method", "field"),
    [
        (DamageCategory.MEDIUM_HALF, SupportKind.BASIC, None, "kind"),  # no 基礎支援金
        (DamageCategory.HALF, SupportKind.ADDITION, RebuildMethod.REPAIR, "kind"),
        (DamageCategory.DESTROYED, SupportKind.ADDITION, None, "method"),
        (DamageCategory.DESTROYED, SupportKind.BASIC, RebuildMethod.BUILD, "method"),
    ],
)
def test_support_that_the_law_does_not_give_is_refused(
    category: DamageCategory, kind: SupportKind, method: RebuildMethod | None, field: str
) -> None:
    with pytest.raises(RuleViolationError) as refused:
        support_amount(category, 2, kind, method, AMOUNTS)
    assert refused.value.field == field


def test_a_household_applies_and_is_granted(town: Platform) -> None:
    number, members, _ = _household(town)
    with town.town(TOWN_A) as t:
        victims.record_survey(t, make_ctx(), "2026-01", number, "45", date(2026, 11, 22), "班A")
    with town.town(TOWN_A) as t:
        basic = victims.apply_support(
            t, make_ctx(), "2026-01", number, "基礎支援金", None, date(2026, 11, 30)
        )
        addition = victims.apply_support(
            t, make_ctx(), "2026-01", number, "加算支援金", "補修", date(2026, 11, 30)
        )
        assert (basic.amount_yen, addition.amount_yen) == (500_000, 1_000_000)  # 大規模半壊
        assert basic.members == len(members)
    with town.town(TOWN_A) as t, pytest.raises(RuleViolationError, match="すでにあります"):
        victims.apply_support(
            t, make_ctx(), "2026-01", number, "基礎支援金", None, date(2026, 12, 1)
        )
    with town.town(TOWN_A) as t:
        victims.decide_support(t, make_ctx(), basic.id, True, date(2026, 12, 2))
    with town.town(TOWN_A) as t, pytest.raises(RuleViolationError, match="理由"):
        victims.decide_support(t, make_ctx(), addition.id, False, date(2026, 12, 2))
    with town.read_town(TOWN_A) as t:
        (line,) = victims.victim_ledger(t, "2026-01")
        audits = t.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("safety_support_%"))
        ).all()
    assert (line.granted_yen, line.applied_yen) == (500_000, 1_000_000)
    assert sorted(audits) == ["safety_support_applied"] * 2 + ["safety_support_decided"]


def test_the_commands(town: Platform, tmp_path: Path) -> None:
    """disaster → survey → victims → support → grant → the certificate, as an operator."""
    from typer.testing import CliRunner  # noqa: PLC0415

    from conftest import cli_env  # noqa: PLC0415
    from lgcloud.cli import app  # noqa: PLC0415

    number, members, _ = _household(town)
    runner = CliRunner(env={**cli_env(town), "COLUMNS": "240"})  # the ledger's wide table
    base = ["--town", TOWN_A, "--data-dir", str(town.data_dir)]

    def run(*args: str) -> str:
        r = runner.invoke(app, [*args[:2], *base, *args[2:]])
        assert r.exit_code == 0, r.output
        return r.output

    assert "災害を登録しました" in run(
        "safety", "disaster", "--code", "2026-02", "--name", "地震", "--occurred-on", "2026-11-21"
    )
    out = run(
        "safety", "survey", "--disaster", "2026-02", "--household", number,
        "--damage", "52", "--surveyed-on", "2026-11-25", "--surveyor", "班C",
    )  # fmt: skip
    assert "全壊" in out
    out = run(
        "safety", "support", "--disaster", "2026-02", "--household", number,
        "--kind", "基礎支援金", "--applied-on", "2026-11-28",
    )  # fmt: skip
    assert "1,000,000 円" in out
    application = out.split("申請 ", 1)[1].split(":", 1)[0]
    assert "支給決定" in run("safety", "grant", application, "--decided-on", "2026-11-30")
    assert "決定 1,000,000 円" in run("safety", "victims", "--disaster", "2026-02")
    pdf = tmp_path / "risai.pdf"
    r = runner.invoke(
        app,
        ["issue", *base, "--kind", "disaster", "--person", members[0],
         "--option", "disaster=2026-02", "--out", str(pdf)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert pdf.read_bytes().startswith(b"%PDF")
    me, others = _someone_with_family(town)
    out = run(
        "safety", "identify", "--name", me.name, "--birth", me.birth_date.isoformat(),
        "--member", others[0],
    )  # fmt: skip
    assert f"確認できました: 宛名番号 {me.addressee_number}" in out
    r = runner.invoke(
        app, ["safety", "identify", *base, "--name", me.name, "--birth", str(me.birth_date)]
    )
    assert r.exit_code == 1 and "確認できません" in r.output
    r = runner.invoke(app, ["safety", "survey", *base, "--disaster", "2026-02",
                            "--household", number, "--damage", "x", "--surveyed-on",
                            "2026-11-25", "--surveyor", "班C"])  # fmt: skip
    assert r.exit_code == 2 and "損害割合" in r.output


# ------------------------------------------------------------ identity without papers


def _someone_with_family(platform: Platform) -> tuple[PersonVersion, list[str]]:
    """A current resident living with others: (their version, the others' names)."""
    number, members, _ = _household(platform)
    with platform.read_town(TOWN_A) as t:
        versions = t.session.scalars(
            select(PersonVersion).where(
                PersonVersion.household_number == number, PersonVersion.is_current
            )
        ).all()
        t.session.expunge_all()
    me = next(v for v in versions if v.addressee_number == members[0])
    return me, [v.name for v in versions if v.addressee_number != me.addressee_number]


def test_identity_is_confirmed_by_the_address_or_a_member_of_the_household(
    town: Platform,
) -> None:
    from lgcloud.safety.identity import ACTION, check_identity  # noqa: PLC0415

    me, others = _someone_with_family(town)
    birth = me.birth_date.isoformat()
    with town.town(TOWN_A) as t:
        by_address = check_identity(t, make_ctx(), name=me.name, birth=birth, address=me.address)
        by_member = check_identity(t, make_ctx(), name=me.name, birth=birth, members=others[:1])
        bare = check_identity(t, make_ctx(), name=me.name, birth=birth, members=["他人 太郎"])
        stranger = check_identity(t, make_ctx(), name="旅人 太郎", birth="1901-01-01")
    assert (by_address.confirmed, by_address.number) == (True, me.addressee_number)
    assert by_member.confirmed and [ok for _, ok, _ in by_member.checks] == [True, False, True]
    # a name and a birthday are what a stranger could know: not enough
    assert not bare.confirmed and bare.number == me.addressee_number
    assert "住所か同じ世帯の人の名前が必要" in bare.reason
    assert not stranger.confirmed and stranger.number == ""
    with town.read_town(TOWN_A) as t:
        entries = t.session.scalars(select(AuditEntry).where(AuditEntry.action == ACTION)).all()
    assert len(entries) == 4
    assert entries[0].subjects == [me.addressee_number] and entries[3].subjects == []
    with town.town(TOWN_A) as t, pytest.raises(RuleViolationError) as refused:
        check_identity(t, make_ctx(), name=me.name, birth="昭和99年1月1日")
    assert refused.value.field == "birth"


def test_the_ledger_names_each_households_own_members(town: Platform) -> None:
    """Several households surveyed: each line's head and size are its own (one query)."""
    from lgcloud.register.queries import household_on  # noqa: PLC0415

    with town.read_town(TOWN_A) as t:
        numbers = sorted(
            set(
                t.session.scalars(
                    select(PersonVersion.household_number).where(
                        PersonVersion.is_current,
                        PersonVersion.status == "resident",
                        PersonVersion.resident_since < STORM,
                    )
                )
            )
        )[:4]
    with town.town(TOWN_A) as t:
        for n in numbers:
            victims.record_survey(t, make_ctx(), "2026-01", n, "25", date(2026, 11, 22), "班")
    with town.read_town(TOWN_A) as t:
        lines = victims.victim_ledger(t, "2026-01")
        expected = {n: household_on(t, n, STORM) for n in numbers}
    assert [x.household_number for x in lines] == numbers
    for x in lines:
        members = expected[x.household_number]
        heads = [m.name for m in members if m.relationship == HEAD]
        assert (x.members, x.head) == (len(members), heads[0] if heads else "")
