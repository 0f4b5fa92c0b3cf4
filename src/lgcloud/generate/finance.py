"""Synthetic taxes, collections, health insurance and seal registrations for a generated
town (pure: rows built in memory from the current residents; the caller bulk-inserts them).

Profiles are plausible for a small rural town: salaried workers (特別徴収), farmers and
self-employed (普通徴収), pensioners; most households own their house and a light vehicle;
about a quarter of residents are in 国民健康保険; most payments arrive on time, a few are
late or outstanding (滞納).
"""

from __future__ import annotations

import io
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache, partial
from typing import Any

from lgcloud.certificates.render import FONT_PATH
from lgcloud.core.dates import age_on, anniversary, fiscal_year_of
from lgcloud.insurance.domain import copay_percent
from lgcloud.insurance.parameters import shipped_copay_rules
from lgcloud.register.domain import HEAD, PersonState
from lgcloud.taxation.domain import (
    VEHICLE_CLASSES,
    IncomeDeclaration,
    compute_resident_tax,
    light_vehicle_due_dates,
    property_tax,
    property_tax_due_dates,
    resident_tax_due_dates,
    resident_tax_unit,
    split_installments,
)
from lgcloud.taxation.parameters import assessment_day, shipped_rates


@dataclass
class FinanceRows:
    """Rows per table, in insertion order (ids assigned here: the town is empty)."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    _ids: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, table: str, row: dict[str, Any]) -> int:
        self._ids[table] += 1
        row = {"id": self._ids[table], **row}
        self.tables[table].append(row)
        return int(row["id"])


@cache
def seal_image(family_name: str) -> bytes:
    """A round red seal impression with the family name, drawn once per name (PNG)."""
    from PIL import Image, ImageDraw, ImageFont  # noqa: PLC0415  (only the generator needs it)

    from lgcloud.register.folding import strip_variation_selectors  # noqa: PLC0415

    size = 160
    img = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(img)
    red = (200, 30, 30, 255)
    draw.ellipse((6, 6, size - 6, size - 6), outline=red, width=8)
    text = strip_variation_selectors(family_name)[:3]
    try:
        font: Any = ImageFont.truetype(str(FONT_PATH), size=int(size * 0.7 / max(1, len(text))))
    except OSError:
        font = ImageFont.load_default()
    step = (size - 40) / max(1, len(text))
    for i, ch in enumerate(text):  # vertical, top to bottom, like a 認印
        draw.text((size / 2, 20 + step * (i + 0.5)), ch, fill=red, font=font, anchor="mm")
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def vehicle_tax(fiscal_year: int, vehicle_class: str) -> int:
    """軽自動車税 of a class, from the amounts lgcloud ships for that year."""
    return shipped_rates(assessment_day(fiscal_year, "light_vehicle")).light_vehicle[vehicle_class]


def add_installments(
    out: FinanceRows,
    rng: random.Random,
    today: date,
    now: datetime,
    kind: str,
    assessment_id: int,
    person: str,
    fy: int,
    total: int,
    dues: list[date],
    unit: int | None = None,
) -> None:
    """A tax's 期別 and, for those already due, how each was paid (most on time, a few late,
    partly or not at all: 滞納)."""
    for period, due, amount in split_installments(total, dues, unit=unit):
        inst_id = out.add(
            "tax_installments",
            {
                "tax_kind": kind,
                "assessment_id": assessment_id,
                "addressee_number": person,
                "fiscal_year": fy,
                "period": period,
                "due_date": due,
                "amount": amount,
            },
        )
        if due >= today:
            continue
        r = rng.random()
        if r < 0.90:
            paid_on, paid = due - timedelta(days=rng.randrange(0, 20)), amount
        elif r < 0.95:
            paid_on, paid = due + timedelta(days=rng.randrange(10, 120)), amount
        elif r < 0.97:
            paid_on, paid = due + timedelta(days=rng.randrange(5, 60)), amount // 2
        else:
            continue  # 滞納: nothing paid
        if paid_on > today:
            continue
        out.add(
            "tax_payments",
            {
                "installment_id": inst_id,
                "paid_on": paid_on,
                "amount": paid,
                "channel": rng.choice(("bank", "convenience", "transfer", "counter")),
                "recorded_at": now,
            },
        )


def build_finance(
    rng: random.Random,
    residents: list[PersonState],
    today: date,
    *,
    town_code: str,
    seal_images: Callable[[str], bytes] = seal_image,
) -> FinanceRows:
    out = FinanceRows()
    now = datetime.now(UTC)
    fy_now = fiscal_year_of(today)
    years = (fy_now - 1, fy_now)
    by_household: dict[str, list[PersonState]] = defaultdict(list)
    for p in residents:
        by_household[p.household_number].append(p)

    # ------------------------------------------------------------ income profile per person
    profile: dict[str, tuple[str, int]] = {}
    for p in residents:
        age = age_on(p.birth_date, today)
        r = rng.random()
        if age < 18:
            profile[p.addressee_number] = ("none", 0)
        elif age < 65:
            if r < 0.62:
                profile[p.addressee_number] = ("salary", int(rng.lognormvariate(15.0, 0.45)))
            elif r < 0.74:
                profile[p.addressee_number] = (
                    "agriculture",
                    rng.randrange(300_000, 4_000_000, 1000),
                )
            elif r < 0.80:
                profile[p.addressee_number] = ("business", rng.randrange(500_000, 6_000_000, 1000))
            else:
                profile[p.addressee_number] = ("none", 0)
        else:
            profile[p.addressee_number] = ("pension", rng.randrange(600_000, 3_200_000, 1000))

    installments = partial(add_installments, out, rng, today, now)

    # ------------------------------------------------------------------ resident tax
    for fy in years:
        year_end = date(fy - 1, 12, 31)
        for members in by_household.values():
            for p in members:
                if age_on(p.birth_date, year_end) < 16 or p.resident_since > date(fy, 1, 1):
                    continue  # 賦課期日 (1月1日) に住所がない人には課税しない
                kind, amount = profile[p.addressee_number]
                dependents = 0
                spouse = False
                if p.relationship == HEAD:
                    for m in members:
                        if m is p:
                            continue
                        m_age = age_on(m.birth_date, year_end)
                        m_kind, _ = profile[m.addressee_number]
                        if m.relationship in ("妻", "夫") and m_kind == "none":
                            spouse = True
                        elif (
                            m_age >= 16 and m_kind == "none" and m.relationship not in ("妻", "夫")
                        ):
                            dependents += 1
                decl = IncomeDeclaration(
                    fiscal_year=fy,
                    age_at_year_end=age_on(p.birth_date, year_end),
                    salary_revenue=amount if kind == "salary" else 0,
                    pension_revenue=amount if kind == "pension" else 0,
                    business_income=amount if kind == "business" else 0,
                    agriculture_income=amount if kind == "agriculture" else 0,
                    social_insurance=amount * 14 // 100
                    if kind in ("salary", "business", "agriculture")
                    else amount // 10,
                    has_spouse_deduction=spouse,
                    dependents=dependents,
                )
                t = compute_resident_tax(decl, shipped_rates(assessment_day(fy, "resident")))
                method = "special" if kind == "salary" else "ordinary"
                aid = out.add(
                    "resident_tax_assessments",
                    {
                        "addressee_number": p.addressee_number,
                        "fiscal_year": fy,
                        "salary_revenue": decl.salary_revenue,
                        "salary_income": t.salary_income,
                        "pension_revenue": decl.pension_revenue,
                        "pension_income": t.pension_income,
                        "business_income": decl.business_income,
                        "agriculture_income": decl.agriculture_income,
                        "other_income": 0,
                        "total_income": t.total_income,
                        "social_insurance_deduction": t.social_insurance_deduction,
                        "spouse_deduction": t.spouse_deduction,
                        "dependents_deduction": t.dependents_deduction,
                        "basic_deduction": t.basic_deduction,
                        "other_deductions": 0,
                        "total_deductions": t.total_deductions,
                        "taxable_income": t.taxable_income,
                        "income_levy_municipal": t.income_levy_municipal,
                        "income_levy_prefectural": t.income_levy_prefectural,
                        "per_capita_municipal": t.per_capita_municipal,
                        "per_capita_prefectural": t.per_capita_prefectural,
                        "forest_environment_tax": t.forest_environment_tax,
                        "total_tax": t.total_tax,
                        "collection_method": method,
                        "dependents": dependents,
                        "assessed_on": date(fy, 6, 1),
                        "recorded_at": now,
                    },
                )
                installments(
                    "resident",
                    aid,
                    p.addressee_number,
                    fy,
                    t.total_tax,
                    resident_tax_due_dates(fy, method),
                    resident_tax_unit(method),
                )

    # --------------------------------------------- fixed-asset and light-vehicle taxes
    plates = 0
    for members in by_household.values():
        head = next((m for m in members if m.relationship == HEAD), members[0])
        owns_home = rng.random() < 0.78
        land = rng.randrange(800_000, 12_000_000, 1000) if owns_home else 0
        building = rng.randrange(300_000, 9_000_000, 1000) if owns_home else 0
        parcels = rng.randint(1, 6) if owns_home else 0
        cars = [
            rng.choice(list(VEHICLE_CLASSES.values()))
            for _ in range(rng.choice((0, 1, 1, 2, 2, 3)))
        ]
        for fy in years:
            if owns_home:
                base_land = land // 6  # 小規模住宅用地の特例 (1/6)
                total = property_tax(
                    base_land, building, shipped_rates(assessment_day(fy, "property"))
                )
                aid = out.add(
                    "property_tax_assessments",
                    {
                        "addressee_number": head.addressee_number,
                        "fiscal_year": fy,
                        "land_parcels": parcels,
                        "land_assessed_value": land,
                        "land_tax_base": base_land,
                        "buildings": 1,
                        "building_assessed_value": building,
                        "building_tax_base": building,
                        "total_tax": total,
                        "assessed_on": date(fy, 4, 1),
                        "recorded_at": now,
                    },
                )
                installments(
                    "property", aid, head.addressee_number, fy, total, property_tax_due_dates(fy)
                )
            for i, vehicle in enumerate(cars):
                plate = f"新潟 {580 + i} あ {(plates + i) % 10000:04d}"
                aid = out.add(
                    "light_vehicle_tax_assessments",
                    {
                        "addressee_number": head.addressee_number,
                        "fiscal_year": fy,
                        "vehicle_class": vehicle,
                        "plate_number": plate,
                        "total_tax": vehicle_tax(fy, vehicle),
                        "assessed_on": date(fy, 4, 1),
                        "recorded_at": now,
                    },
                )
                installments(
                    "light_vehicle",
                    aid,
                    head.addressee_number,
                    fy,
                    vehicle_tax(fy, vehicle),
                    light_vehicle_due_dates(fy),
                )
        plates += len(cars)

    # -------------------------------------------------------------- health insurance
    copay = shipped_copay_rules(today)
    late_elder_age = copay.late_elder_age
    insured_number = 0
    for household, members in by_household.items():
        head = next((m for m in members if m.relationship == HEAD), members[0])
        head_kind, _ = profile[head.addressee_number]
        if head_kind == "salary" or age_on(head.birth_date, today) >= late_elder_age:
            continue  # 被用者保険 or 後期高齢者医療
        insured = [
            m
            for m in members
            if age_on(m.birth_date, today) < late_elder_age
            and profile[m.addressee_number][0] != "salary"
        ]
        if not insured:
            continue
        started = max(
            *(m.resident_since for m in insured), today - timedelta(days=365 * rng.randint(1, 15))
        )
        hid = out.add(
            "nhi_households",
            {
                "household_number": household,
                "symbol": f"{town_code[:2]}-{town_code[2:5]}",
                "householder": head.addressee_number,
                "started_on": started,
                "ended_on": None,
            },
        )
        insured_number += 1
        for branch, m in enumerate(insured, start=1):
            qualified = max(started, m.birth_date)
            out.add(
                "nhi_members",
                {
                    "nhi_household_id": hid,
                    "addressee_number": m.addressee_number,
                    "insured_number": f"{insured_number:07d}",
                    "branch": f"{branch:02d}",
                    "qualified_on": qualified,
                    "disqualified_on": None,
                    "copay_percent": copay_percent(m.birth_date, today, copay),
                    "recorded_at": now,
                },
            )

    # ----------------------------------------------------------------- seal registrations
    for p in residents:
        if age_on(p.birth_date, today) < 20 or rng.random() > 0.55:
            continue
        earliest = max(p.resident_since, anniversary(p.birth_date, 15))
        registered = earliest + timedelta(days=rng.randrange(max(1, (today - earliest).days)))
        out.add(
            "seal_registrations",
            {
                "registration_number": f"{len(out.tables['seal_registrations']) + 1:08d}",
                "addressee_number": p.addressee_number,
                "image_png": seal_images(p.name.split("\u3000")[0]),
                "registered_on": registered,
                "abolished_on": None,
                "abolition_reason": None,
                "recorded_at": now,
            },
        )
    return out
