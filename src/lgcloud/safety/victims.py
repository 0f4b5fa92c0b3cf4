"""被災者台帳: the disasters a town supports its victims after, the damage survey of each
household's home (住家の被害認定), and what a り災証明書 prints (the certificate itself is
issued, signed and verified like every other: ``certificates.service``, kind
``disaster``).

The category of damage follows from the 損害割合 the surveyor measured, through the dated
thresholds of ``safety.parameters`` as they stood on the day of the survey
(``domain.damage_category``). A later survey of the same home (二次調査 after a 一次調査, or a
再調査 the household asked for) supersedes the earlier one, which is kept: the ledger
shows the current one, the history all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from lgcloud.certificates.service import DOCUMENT_BODIES, CertificateKind
from lgcloud.core.clock import today_jst, utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.core.wareki import to_wareki
from lgcloud.parameters.queries import parameters_on
from lgcloud.register import queries as register_queries
from lgcloud.register.domain import HEAD, PersonState, Status
from lgcloud.register.models import Household
from lgcloud.safety.domain import (
    DamageCategory,
    DamageThresholds,
    RebuildMethod,
    SupportAmounts,
    SupportKind,
    damage_category,
    support_amount,
)
from lgcloud.safety.models import DamageSurvey, Disaster, SupportGrant
from lgcloud.safety.parameters import (
    ADD_BUILD,
    ADD_BUILD_MEDIUM,
    ADD_RENT,
    ADD_RENT_MEDIUM,
    ADD_REPAIR,
    ADD_REPAIR_MEDIUM,
    BASIC_DESTROYED,
    BASIC_LARGE_HALF,
    DESTROYED_MIN,
    HALF_MIN,
    LARGE_HALF_MIN,
    MEDIUM_HALF_MIN,
    SEMI_HALF_MIN,
    SINGLE_RATE,
    SUPPORT,
    THRESHOLDS,
)
from lgcloud.tenancy.platform import Town
from lgcloud.trail.journal import finish_write

ROUNDS = ("一次調査", "二次調査", "再調査")


def open_disaster(
    town: Town, ctx: RequestContext, code: str, name: str, occurred_on: date
) -> Disaster:
    """Open a disaster's 被災者台帳 (its code is the town's own, e.g. ``2026-01``)."""
    code, name = code.strip(), name.strip()
    if not code or len(code) > 20:
        raise RuleViolationError("災害の番号は 1〜20 文字です", field="code")
    if not name or len(name) > 120:
        raise RuleViolationError("災害名は 1〜120 文字です", field="name")
    if occurred_on > today_jst():
        raise RuleViolationError("発災日が未来の日付です", field="occurred_on")
    s = town.session
    if s.scalar(select(Disaster.id).where(Disaster.code == code)) is not None:
        raise RuleViolationError(f"災害 {code} はすでにあります", field="code")
    disaster = Disaster(
        code=code,
        name=name,
        occurred_on=occurred_on,
        opened_at=utcnow(),
        opened_by=ctx.actor.label[:80],
    )
    s.add(disaster)
    s.flush()
    finish_write(
        s,
        ctx,
        "safety_disaster_opened",
        detail={"code": code, "name": name, "occurred_on": occurred_on.isoformat()},
    )
    return disaster


def disaster(town: Town, code: str) -> Disaster:
    found = town.session.scalar(select(Disaster).where(Disaster.code == code))
    if found is None:
        raise NotFoundError(f"災害 {code} はありません")
    return found


def _thresholds(town: Town, day: date) -> DamageThresholds:
    p = parameters_on(town, day, *THRESHOLDS)
    return DamageThresholds(
        destroyed=p.rate(DESTROYED_MIN),
        large_half=p.rate(LARGE_HALF_MIN),
        medium_half=p.rate(MEDIUM_HALF_MIN),
        half=p.rate(HALF_MIN),
        semi_half=p.rate(SEMI_HALF_MIN),
    )


def _members(town: Town, household_number: str, on: date) -> list[PersonState]:
    return register_queries.household_on(town, household_number, on)


def record_survey(
    town: Town,
    ctx: RequestContext,
    disaster_code: str,
    household_number: str,
    damage_percent: str,
    surveyed_on: date,
    surveyor: str,
    *,
    survey_round: str = "一次調査",
    note: str = "",
) -> DamageSurvey:
    """Record the survey of household ``household_number``'s home: its 損害割合 in percent
    as the surveyor wrote it (``"42.5"``), the category from the thresholds in force on
    ``surveyed_on``. The household must have lived in the town on the disaster's date;
    a previous survey of the same home for the same disaster is superseded. Audited,
    naming every member of the household on the disaster's date."""
    d = disaster(town, disaster_code)
    if survey_round not in ROUNDS:
        raise RuleViolationError("調査は " + "・".join(ROUNDS) + " のどれかです", field="round")
    if surveyed_on < d.occurred_on:
        raise RuleViolationError("調査日が発災日より前です", field="surveyed_on")
    if surveyed_on > today_jst():
        raise RuleViolationError("調査日が未来の日付です", field="surveyed_on")
    if not surveyor.strip() or len(surveyor) > 80 or len(note) > 400:
        raise RuleViolationError("調査者（80 字まで）を入力してください", field="surveyor")
    try:
        ratio = Decimal(damage_percent.strip().rstrip("%")) / 100
    except InvalidOperation:
        raise RuleViolationError(
            f"損害割合は % の数で入力してください: 「{damage_percent}」", field="damage_ratio"
        ) from None
    category = damage_category(ratio, _thresholds(town, surveyed_on))
    s = town.session
    if s.get(Household, household_number) is None:
        raise NotFoundError(f"世帯 {household_number} はありません")
    members = _members(town, household_number, d.occurred_on)
    if not members:
        raise RuleViolationError(
            f"世帯 {household_number} は発災日 {to_wareki(d.occurred_on)} にこの町村にいません",
            field="household_number",
        )
    for earlier in s.scalars(
        select(DamageSurvey).where(
            DamageSurvey.disaster_id == d.id,
            DamageSurvey.household_number == household_number,
            DamageSurvey.current.is_(True),
        )
    ):
        earlier.current = False
    head = next((m for m in members if m.relationship == HEAD), members[0])
    survey = DamageSurvey(
        disaster_id=d.id,
        household_number=household_number,
        address=(head.address + (head.address_detail or ""))[:200],
        damage_ratio=str(ratio.normalize()),
        category=category.value,
        surveyed_on=surveyed_on,
        survey_round=survey_round,
        surveyor=surveyor.strip(),
        note=note.strip(),
        current=True,
        recorded_at=utcnow(),
        recorded_by=ctx.actor.label[:80],
    )
    s.add(survey)
    s.flush()
    finish_write(
        s,
        ctx,
        "safety_damage_surveyed",
        subjects=[m.addressee_number for m in members],
        detail={
            "disaster": d.code,
            "household": household_number,
            "damage_ratio": survey.damage_ratio,
            "category": category.value,
            "round": survey_round,
        },
    )
    return survey


def _amounts(town: Town, day: date) -> SupportAmounts:
    p = parameters_on(town, day, *SUPPORT)
    return SupportAmounts(
        basic_destroyed=p.int(BASIC_DESTROYED),
        basic_large_half=p.int(BASIC_LARGE_HALF),
        add_build=p.int(ADD_BUILD),
        add_repair=p.int(ADD_REPAIR),
        add_rent=p.int(ADD_RENT),
        add_build_medium=p.int(ADD_BUILD_MEDIUM),
        add_repair_medium=p.int(ADD_REPAIR_MEDIUM),
        add_rent_medium=p.int(ADD_RENT_MEDIUM),
        single_rate=p.rate(SINGLE_RATE),
    )


GRANT_STATES = ("申請中", "支給決定", "不支給")


def apply_support(
    town: Town,
    ctx: RequestContext,
    disaster_code: str,
    household_number: str,
    kind: str,
    method: str | None,
    applied_on: date,
) -> SupportGrant:
    """A household applies for 被災者生活再建支援金: the amount follows from its current
    survey, its size on the disaster's date and the law's amounts on the day applied
    (``domain.support_amount``). One application of each kind per household and disaster
    (a 加算支援金 once, whatever the method). Audited, naming the household."""
    d = disaster(town, disaster_code)
    try:
        support_kind = SupportKind(kind)
        rebuild = RebuildMethod(method) if method else None
    except ValueError:
        raise RuleViolationError(
            "支援金は 基礎支援金・加算支援金、再建の方法は 建設・購入・補修・賃借 です",
            field="kind",
        ) from None
    if not d.occurred_on <= applied_on <= today_jst():
        raise RuleViolationError("申請日は発災日から今日までの日付です", field="applied_on")
    s = town.session
    survey = s.scalar(
        select(DamageSurvey).where(
            DamageSurvey.disaster_id == d.id,
            DamageSurvey.household_number == household_number,
            DamageSurvey.current.is_(True),
        )
    )
    if survey is None:
        raise RuleViolationError(
            "この世帯の住家の被害認定（調査）がまだありません", field="household_number"
        )
    if s.scalar(
        select(SupportGrant.id).where(
            SupportGrant.disaster_id == d.id,
            SupportGrant.household_number == household_number,
            SupportGrant.kind == support_kind.value,
            SupportGrant.status != "不支給",
        )
    ):
        raise RuleViolationError(
            f"この世帯の{support_kind.value}の申請はすでにあります", field="kind"
        )
    members = _members(town, household_number, d.occurred_on)
    amount = support_amount(
        DamageCategory(survey.category),
        len(members),
        support_kind,
        rebuild,
        _amounts(town, applied_on),
    )
    grant = SupportGrant(
        disaster_id=d.id,
        household_number=household_number,
        survey_id=survey.id,
        kind=support_kind.value,
        method=rebuild.value if rebuild else None,
        members=len(members),
        amount_yen=amount,
        applied_on=applied_on,
        status="申請中",
        decided_on=None,
        note="",
        recorded_at=utcnow(),
        recorded_by=ctx.actor.label[:80],
    )
    s.add(grant)
    s.flush()
    finish_write(
        s,
        ctx,
        "safety_support_applied",
        subjects=[m.addressee_number for m in members],
        detail={
            "disaster": d.code,
            "household": household_number,
            "kind": grant.kind,
            "method": grant.method,
            "amount_yen": amount,
            "category": survey.category,
        },
    )
    return grant


def decide_support(
    town: Town, ctx: RequestContext, grant_id: int, granted: bool, decided_on: date, note: str = ""
) -> SupportGrant:
    """支給決定 or 不支給 of an application (still 申請中); audited."""
    s = town.session
    grant = s.get(SupportGrant, grant_id)
    if grant is None:
        raise NotFoundError("その申請はありません")
    if grant.status != "申請中":
        raise RuleViolationError(f"この申請はすでに{grant.status}です", field="grant")
    if decided_on < grant.applied_on or decided_on > today_jst():
        raise RuleViolationError("決定日は申請日から今日までの日付です", field="decided_on")
    if not granted and not note.strip():
        raise RuleViolationError("不支給の理由を入力してください", field="note")
    grant.status = "支給決定" if granted else "不支給"
    grant.decided_on = decided_on
    grant.note = note.strip()[:400]
    finish_write(
        s,
        ctx,
        "safety_support_decided",
        subjects=[],
        detail={"grant": grant.id, "household": grant.household_number, "status": grant.status},
    )
    return grant


@dataclass(frozen=True)
class HouseholdDamage:
    """A line of the 被災者台帳: a household, its home and the current survey."""

    household_number: str
    head: str
    members: int
    address: str
    category: str
    damage_ratio: str
    surveyed_on: date
    survey_round: str
    surveys: int  # how many surveys of this home (the earlier ones superseded)
    granted_yen: int = 0  # 支援金 decided (支給決定)
    applied_yen: int = 0  # 支援金 still 申請中


def victim_ledger(town: Town, disaster_code: str) -> list[HouseholdDamage]:
    """The 被災者台帳 of a disaster: every surveyed household with its current survey."""
    d = disaster(town, disaster_code)
    s = town.session
    counts: dict[str, int] = {}
    current: dict[str, DamageSurvey] = {}
    for survey in s.scalars(
        select(DamageSurvey).where(DamageSurvey.disaster_id == d.id).order_by(DamageSurvey.id)
    ):
        counts[survey.household_number] = counts.get(survey.household_number, 0) + 1
        if survey.current:
            current[survey.household_number] = survey
    granted: dict[str, int] = {}
    applied: dict[str, int] = {}
    for g in s.scalars(select(SupportGrant).where(SupportGrant.disaster_id == d.id)):
        if g.status == "支給決定":
            granted[g.household_number] = granted.get(g.household_number, 0) + g.amount_yen
        elif g.status == "申請中":
            applied[g.household_number] = applied.get(g.household_number, 0) + g.amount_yen
    lines = []
    households = register_queries.households_on(town, current, d.occurred_on)
    for number in sorted(current):
        survey = current[number]
        members = households[number]
        head = next((m for m in members if m.relationship == HEAD), None)
        lines.append(
            HouseholdDamage(
                number,
                head.name if head else "",
                len(members),
                survey.address,
                survey.category,
                survey.damage_ratio,
                survey.surveyed_on,
                survey.survey_round,
                counts[number],
                granted.get(number, 0),
                applied.get(number, 0),
            )
        )
    return lines


def certificate_body(
    town: Town, addressee_number: str, disaster_code: str
) -> tuple[dict[str, Any], list[str]]:
    """(what a り災証明書 prints, the people it names) for the household the applicant
    ``addressee_number`` belonged to on the disaster's date, from its current survey. An
    applicant of no surveyed household is refused (the survey comes first)."""
    d = disaster(town, disaster_code)
    state = next(
        (
            st
            for st, valid_to in register_queries.history(town, addressee_number)
            if st.valid_from <= d.occurred_on and (valid_to is None or d.occurred_on < valid_to)
        ),
        None,
    )
    if state is None or state.status is not Status.RESIDENT:
        raise RuleViolationError(
            f"宛名番号 {addressee_number} の人は発災日にこの町村の住民ではありません",
            field="addressee_number",
        )
    survey = town.session.scalar(
        select(DamageSurvey).where(
            DamageSurvey.disaster_id == d.id,
            DamageSurvey.household_number == state.household_number,
            DamageSurvey.current.is_(True),
        )
    )
    if survey is None:
        raise RuleViolationError(
            "この世帯の住家の被害認定（調査）がまだありません。調査を記録してから交付します",
            field="addressee_number",
        )
    members = _members(town, state.household_number, d.occurred_on)
    head = next((m for m in members if m.relationship == HEAD), state)
    category = DamageCategory(survey.category)
    body = {
        "disaster": {"name": d.name, "occurred_on": to_wareki(d.occurred_on)},
        "applicant": state.name,
        "head": head.name,
        "address": survey.address,
        "members": [m.name for m in members],
        "category": category.value,
        "surveyed_on": to_wareki(survey.surveyed_on),
        "survey_round": survey.survey_round,
    }
    return body, [m.addressee_number for m in members]


def _disaster_certificate(
    town: Town, addressee_number: str, options: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    return certificate_body(town, addressee_number, str(options["disaster"]))


DOCUMENT_BODIES[CertificateKind.DISASTER] = _disaster_certificate


__all__ = [
    "GRANT_STATES",
    "ROUNDS",
    "HouseholdDamage",
    "apply_support",
    "certificate_body",
    "decide_support",
    "disaster",
    "open_disaster",
    "record_survey",
    "victim_ledger",
]
