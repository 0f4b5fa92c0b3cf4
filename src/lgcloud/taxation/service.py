"""Tax write functions (one per kind of change) and the statements certificates read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from lgcloud.addressees.queries import addressee
from lgcloud.core.clock import utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.parameters.queries import parameters_on
from lgcloud.taxation import parameters
from lgcloud.taxation.domain import (
    IncomeDeclaration,
    TaxRates,
    compute_resident_tax,
    light_vehicle_due_dates,
    property_tax,
    property_tax_due_dates,
    resident_tax_due_dates,
    resident_tax_unit,
    split_installments,
)
from lgcloud.taxation.models import (
    LightVehicleTaxAssessment,
    PropertyTaxAssessment,
    ResidentTaxAssessment,
    TaxInstallment,
    TaxPayment,
)
from lgcloud.tenancy.platform import Town
from lgcloud.trail.journal import finish_write

Assessment = ResidentTaxAssessment | PropertyTaxAssessment | LightVehicleTaxAssessment


def rates_on(town: Town, fiscal_year: int, tax: str) -> TaxRates:
    """The tax's legal rates and amounts as of its 賦課期日 (dated parameters: the town's
    operator may have set a value from some day on)."""
    day = parameters.assessment_day(fiscal_year, tax)
    return parameters.rates_from(parameters_on(town, day, *parameters.KEYS))


def _record_assessment(
    town: Town,
    ctx: RequestContext,
    kind: str,
    a: Assessment,
    dues: list[date],
    unit: int | None = None,
) -> None:
    """The tail every assessment shares: the row, its installments (期別: the total split
    over the due dates, ``unit`` rounding the later ones), and the audited write."""
    town.session.add(a)
    town.session.flush()
    for period, due, amount in split_installments(a.total_tax, dues, unit=unit):
        town.session.add(
            TaxInstallment(
                tax_kind=kind,
                assessment_id=a.id,
                addressee_number=a.addressee_number,
                fiscal_year=a.fiscal_year,
                period=period,
                due_date=due,
                amount=amount,
            )
        )
    finish_write(
        town.session,
        ctx,
        "tax_assessed",
        subjects=[a.addressee_number],
        detail={"tax": kind, "fiscal_year": a.fiscal_year, "total": a.total_tax},
    )


def assess_resident_tax(
    town: Town,
    ctx: RequestContext,
    addressee_number: str,
    declaration: IncomeDeclaration,
    *,
    collection_method: str = "ordinary",
    assessed_on: date,
) -> ResidentTaxAssessment:
    """Assess 個人住民税 for one person and year, with its installments (audited)."""
    addressee(town, addressee_number)  # a resident, former resident or 住登外者
    exists = town.session.scalar(
        select(ResidentTaxAssessment.id).where(
            ResidentTaxAssessment.addressee_number == addressee_number,
            ResidentTaxAssessment.fiscal_year == declaration.fiscal_year,
        )
    )
    if exists is not None:
        raise RuleViolationError(
            f"{declaration.fiscal_year}年度の個人住民税は既に課税されています", field="fiscal_year"
        )
    t = compute_resident_tax(declaration, rates_on(town, declaration.fiscal_year, "resident"))
    a = ResidentTaxAssessment(
        addressee_number=addressee_number,
        fiscal_year=declaration.fiscal_year,
        salary_revenue=declaration.salary_revenue,
        salary_income=t.salary_income,
        pension_revenue=declaration.pension_revenue,
        pension_income=t.pension_income,
        business_income=declaration.business_income,
        agriculture_income=declaration.agriculture_income,
        other_income=declaration.other_income,
        total_income=t.total_income,
        social_insurance_deduction=t.social_insurance_deduction,
        spouse_deduction=t.spouse_deduction,
        dependents_deduction=t.dependents_deduction,
        basic_deduction=t.basic_deduction,
        other_deductions=0,
        total_deductions=t.total_deductions,
        taxable_income=t.taxable_income,
        income_levy_municipal=t.income_levy_municipal,
        income_levy_prefectural=t.income_levy_prefectural,
        per_capita_municipal=t.per_capita_municipal,
        per_capita_prefectural=t.per_capita_prefectural,
        forest_environment_tax=t.forest_environment_tax,
        total_tax=t.total_tax,
        collection_method=collection_method,
        dependents=declaration.dependents,
        assessed_on=assessed_on,
        recorded_at=utcnow(),
    )
    dues = resident_tax_due_dates(declaration.fiscal_year, collection_method)
    _record_assessment(town, ctx, "resident", a, dues, resident_tax_unit(collection_method))
    return a


def assess_property_tax(
    town: Town,
    ctx: RequestContext,
    addressee_number: str,
    *,
    fiscal_year: int,
    land_parcels: int,
    land_assessed_value: int,
    land_tax_base: int,
    buildings: int,
    building_assessed_value: int,
    building_tax_base: int,
    assessed_on: date,
) -> PropertyTaxAssessment:
    """Assess 固定資産税 for one taxpayer and year, with its four installments (audited)."""
    addressee(town, addressee_number)  # a resident, former resident or 住登外者
    exists = town.session.scalar(
        select(PropertyTaxAssessment.id).where(
            PropertyTaxAssessment.addressee_number == addressee_number,
            PropertyTaxAssessment.fiscal_year == fiscal_year,
        )
    )
    if exists is not None:
        raise RuleViolationError(
            f"{fiscal_year}年度の固定資産税は既に課税されています", field="fiscal_year"
        )
    total = property_tax(land_tax_base, building_tax_base, rates_on(town, fiscal_year, "property"))
    a = PropertyTaxAssessment(
        addressee_number=addressee_number,
        fiscal_year=fiscal_year,
        land_parcels=land_parcels,
        land_assessed_value=land_assessed_value,
        land_tax_base=land_tax_base,
        buildings=buildings,
        building_assessed_value=building_assessed_value,
        building_tax_base=building_tax_base,
        total_tax=total,
        assessed_on=assessed_on,
        recorded_at=utcnow(),
    )
    _record_assessment(town, ctx, "property", a, property_tax_due_dates(fiscal_year))
    return a


def assess_light_vehicle_tax(
    town: Town,
    ctx: RequestContext,
    addressee_number: str,
    *,
    fiscal_year: int,
    vehicle_class: str,
    plate_number: str,
    assessed_on: date,
) -> LightVehicleTaxAssessment:
    """Assess 軽自動車税 for one vehicle and year (audited)."""
    addressee(town, addressee_number)  # a resident, former resident or 住登外者
    amounts = rates_on(town, fiscal_year, "light_vehicle").light_vehicle
    if vehicle_class not in amounts:
        raise RuleViolationError(f"車種区分「{vehicle_class}」は使えません", field="vehicle_class")
    total = amounts[vehicle_class]
    a = LightVehicleTaxAssessment(
        addressee_number=addressee_number,
        fiscal_year=fiscal_year,
        vehicle_class=vehicle_class,
        plate_number=plate_number,
        total_tax=total,
        assessed_on=assessed_on,
        recorded_at=utcnow(),
    )
    _record_assessment(town, ctx, "light_vehicle", a, light_vehicle_due_dates(fiscal_year))
    return a


def _paid(town: Town, installment_id: int) -> int:
    return int(
        town.session.scalar(
            select(func.coalesce(func.sum(TaxPayment.amount), 0)).where(
                TaxPayment.installment_id == installment_id
            )
        )
        or 0
    )


def record_payment(
    town: Town,
    ctx: RequestContext,
    installment_id: int,
    *,
    paid_on: date,
    amount: int,
    channel: str = "counter",
) -> TaxPayment:
    """収納: record a payment against one installment; more than is outstanding is refused."""
    # FOR NO KEY UPDATE on PostgreSQL: what the update needs, and no wait for an import
    # trying rows that reference this installment (FOR KEY SHARE)
    inst = town.session.get(TaxInstallment, installment_id, with_for_update={"key_share": True})
    if inst is None:
        raise NotFoundError("該当する期別はありません")
    if amount <= 0:
        raise RuleViolationError("納付額は1円以上です", field="amount")
    outstanding = inst.amount - _paid(town, installment_id)
    if amount > outstanding:
        raise RuleViolationError(
            f"納付額 {amount:,}円 が未納額 {outstanding:,}円 を超えています", field="amount"
        )
    payment = TaxPayment(
        installment_id=installment_id,
        paid_on=paid_on,
        amount=amount,
        channel=channel,
        recorded_at=utcnow(),
    )
    town.session.add(payment)
    town.session.flush()
    finish_write(
        town.session,
        ctx,
        "tax_payment",
        subjects=[inst.addressee_number],
        detail={"installment_id": installment_id, "amount": amount},
    )
    return payment


@dataclass(frozen=True)
class InstallmentLine:
    tax_kind: str
    fiscal_year: int
    period: int
    due_date: date
    levied: int
    paid: int

    @property
    def outstanding(self) -> int:
        return self.levied - self.paid


def installments_of(town: Town, addressee_number: str, fiscal_year: int) -> list[InstallmentLine]:
    """Every installment of a person for a fiscal year: levied, paid, outstanding."""
    installments = list(
        town.session.scalars(
            select(TaxInstallment)
            .where(
                TaxInstallment.addressee_number == addressee_number,
                TaxInstallment.fiscal_year == fiscal_year,
            )
            .order_by(TaxInstallment.tax_kind, TaxInstallment.period)
        )
    )
    # Sum only this person's payments (an aggregate over all payments is what made a 納税証明
    # take 300 ms on a 30,000-resident town).
    sums = town.session.execute(
        select(TaxPayment.installment_id, func.sum(TaxPayment.amount))
        .where(TaxPayment.installment_id.in_([i.id for i in installments]))
        .group_by(TaxPayment.installment_id)
    )
    paid: dict[int, int] = {installment: int(total) for installment, total in sums}
    return [
        InstallmentLine(
            i.tax_kind, i.fiscal_year, i.period, i.due_date, i.amount, int(paid.get(i.id, 0))
        )
        for i in installments
    ]


def resident_tax_of(
    town: Town, addressee_number: str, fiscal_year: int
) -> ResidentTaxAssessment | None:
    return town.session.scalar(
        select(ResidentTaxAssessment).where(
            ResidentTaxAssessment.addressee_number == addressee_number,
            ResidentTaxAssessment.fiscal_year == fiscal_year,
        )
    )
