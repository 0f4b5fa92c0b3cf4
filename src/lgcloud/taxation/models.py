"""Tax tables in a town's database.

Every assessment is split into installments (期別); payments (収納) are recorded against an
installment; what is outstanding (滞納) is the installment's amount minus its payments.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lgcloud.db.base import TownBase, UTCDateTime


class ResidentTaxAssessment(TownBase):
    """個人住民税 (市町村民税・道府県民税) of one person for one fiscal year, in yen."""

    __tablename__ = "resident_tax_assessments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    addressee_number: Mapped[str] = mapped_column(ForeignKey("persons.addressee_number"))
    fiscal_year: Mapped[int] = mapped_column(Integer)  # 年度 (taxes income of fiscal_year - 1)
    salary_revenue: Mapped[int] = mapped_column(Integer, default=0)  # 給与収入
    salary_income: Mapped[int] = mapped_column(Integer, default=0)  # 給与所得
    pension_revenue: Mapped[int] = mapped_column(Integer, default=0)  # 公的年金等収入
    pension_income: Mapped[int] = mapped_column(Integer, default=0)  # 公的年金等所得
    business_income: Mapped[int] = mapped_column(Integer, default=0)  # 事業所得
    agriculture_income: Mapped[int] = mapped_column(Integer, default=0)  # 農業所得
    other_income: Mapped[int] = mapped_column(Integer, default=0)  # その他の所得
    total_income: Mapped[int] = mapped_column(Integer)  # 総所得金額
    social_insurance_deduction: Mapped[int] = mapped_column(Integer, default=0)  # 社会保険料控除
    spouse_deduction: Mapped[int] = mapped_column(Integer, default=0)  # 配偶者控除
    dependents_deduction: Mapped[int] = mapped_column(Integer, default=0)  # 扶養控除
    basic_deduction: Mapped[int] = mapped_column(Integer, default=0)  # 基礎控除
    other_deductions: Mapped[int] = mapped_column(Integer, default=0)  # その他の控除
    total_deductions: Mapped[int] = mapped_column(Integer)  # 所得控除合計
    taxable_income: Mapped[int] = mapped_column(Integer)  # 課税標準額 (1,000円未満切捨て)
    income_levy_municipal: Mapped[int] = mapped_column(Integer)  # 所得割額 (市町村民税)
    income_levy_prefectural: Mapped[int] = mapped_column(Integer)  # 所得割額 (道府県民税)
    per_capita_municipal: Mapped[int] = mapped_column(Integer)  # 均等割額 (市町村民税)
    per_capita_prefectural: Mapped[int] = mapped_column(Integer)  # 均等割額 (道府県民税)
    forest_environment_tax: Mapped[int] = mapped_column(Integer, default=0)  # 森林環境税
    total_tax: Mapped[int] = mapped_column(Integer)  # 年税額
    collection_method: Mapped[str] = mapped_column(String(20))  # ordinary | special (特別徴収)
    dependents: Mapped[int] = mapped_column(Integer, default=0)  # 扶養人数
    assessed_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ux_resident_tax_person_year", "addressee_number", "fiscal_year", unique=True),
    )


class PropertyTaxAssessment(TownBase):
    """固定資産税 of one taxpayer for one fiscal year (land and buildings in the town)."""

    __tablename__ = "property_tax_assessments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    addressee_number: Mapped[str] = mapped_column(ForeignKey("persons.addressee_number"))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    land_parcels: Mapped[int] = mapped_column(Integer, default=0)
    land_assessed_value: Mapped[int] = mapped_column(Integer, default=0)  # 土地評価額
    land_tax_base: Mapped[int] = mapped_column(Integer, default=0)  # 土地課税標準額
    buildings: Mapped[int] = mapped_column(Integer, default=0)
    building_assessed_value: Mapped[int] = mapped_column(Integer, default=0)  # 家屋評価額
    building_tax_base: Mapped[int] = mapped_column(Integer, default=0)  # 家屋課税標準額
    total_tax: Mapped[int] = mapped_column(Integer)  # 年税額 (1.4%)
    assessed_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ux_property_tax_person_year", "addressee_number", "fiscal_year", unique=True),
    )


class LightVehicleTaxAssessment(TownBase):
    """軽自動車税 (種別割) of one vehicle for one fiscal year."""

    __tablename__ = "light_vehicle_tax_assessments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    addressee_number: Mapped[str] = mapped_column(ForeignKey("persons.addressee_number"))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    vehicle_class: Mapped[str] = mapped_column(String(40))  # 車種区分
    plate_number: Mapped[str] = mapped_column(String(40))  # 標識番号
    total_tax: Mapped[int] = mapped_column(Integer)
    assessed_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_light_vehicle_person_year", "addressee_number", "fiscal_year"),)


class TaxInstallment(TownBase):
    """期別: one installment of an assessment, with its due date (納期限)."""

    __tablename__ = "tax_installments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tax_kind: Mapped[str] = mapped_column(String(20))  # resident | property | light_vehicle
    assessment_id: Mapped[int] = mapped_column(Integer)
    addressee_number: Mapped[str] = mapped_column(ForeignKey("persons.addressee_number"))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    period: Mapped[int] = mapped_column(Integer)  # 期 (1-based)
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index(
            "ux_tax_installments_assessment_period",
            "tax_kind",
            "assessment_id",
            "period",
            unique=True,
        ),
        Index("ix_tax_installments_person_year", "addressee_number", "fiscal_year"),
    )


class TaxPayment(TownBase):
    """収納: a payment received against an installment."""

    __tablename__ = "tax_payments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    installment_id: Mapped[int] = mapped_column(ForeignKey("tax_installments.id"))
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20))  # counter | bank | convenience | transfer
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_tax_payments_installment", "installment_id"),)
