"""被災者台帳 and り災証明書 (issue 18, item 3): the damage category from the 損害割合 and the
dated thresholds, surveys superseded and kept, and the certificate issued and verified like
every other."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from conftest import TODAY, TOWN_A, make_ctx
from lgcloud.audit.models import AuditEntry
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.generate.town import generate_town
from lgcloud.register.domain import HEAD
from lgcloud.register.models import PersonVersion
from lgcloud.safety import victims
from lgcloud.safety.domain import DamageCategory, DamageThresholds, damage_category
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
