"""The dated parameters of 税務 (``lgcloud.parameters``): rates, per-capita amounts,
deductions, exemption points and the 軽自動車税 amounts, each with the law and article it
comes from. A tax reads them as of its 賦課期日: 1 January of the fiscal year for 個人住民税
(地方税法 第318条) and 固定資産税 (第359条), 1 April for 軽自動車税 (第463条の19).

``rates_from`` turns the values of one day into the ``TaxRates`` the pure rules take;
``shipped_rates`` gives the values lgcloud ships (no town: the generator and the tests of
the rules)."""

from __future__ import annotations

from datetime import date
from functools import cache

from lgcloud.parameters.registry import declare, shipped_on
from lgcloud.parameters.rules import Entry, Parameters, Spec
from lgcloud.taxation.domain import VEHICLE_CLASSES, TaxRates

MUNICIPAL_RATE = "taxation.municipal_rate_percent"
PREFECTURAL_RATE = "taxation.prefectural_rate_percent"
PER_CAPITA_MUNICIPAL = "taxation.per_capita_municipal"
PER_CAPITA_PREFECTURAL = "taxation.per_capita_prefectural"
FOREST_ENVIRONMENT_TAX = "taxation.forest_environment_tax"
BASIC_DEDUCTION = "taxation.basic_deduction"
SPOUSE_DEDUCTION = "taxation.spouse_deduction"
DEPENDENT_DEDUCTION = "taxation.dependent_deduction"
ADJUSTMENT_CREDIT = "taxation.adjustment_credit"
PROPERTY_RATE = "taxation.property_rate_per_mille"
LAND_EXEMPTION = "taxation.land_exemption"
BUILDING_EXEMPTION = "taxation.building_exemption"
#: 軽自動車税 (種別割) per vehicle class: ``taxation.light_vehicle_<slug>``
LIGHT_VEHICLE = {slug: f"taxation.light_vehicle_{slug}" for slug in VEHICLE_CLASSES}

_HEISEI_16 = date(2004, 1, 1)  # the earliest 賦課期日 lgcloud ships values for
_RECONSTRUCTION = (
    "東日本大震災からの復興に関し地方公共団体が実施する防災のための施策に必要な財源の確保に係る"
    "地方税の臨時特例に関する法律 第2条（平成26〜令和5年度 +500円）"
)


def _one(key: str, label: str, kind: str, *entries: Entry) -> None:
    declare(Spec(key, label, kind, entries))


_one(
    MUNICIPAL_RATE,
    "市町村民税所得割の税率（%）",
    "int",
    Entry("6", date(2007, 1, 1), source="地方税法 第314条の3第1項（標準税率、平成19年度から）"),
)
_one(
    PREFECTURAL_RATE,
    "道府県民税所得割の税率（%）",
    "int",
    Entry("4", date(2007, 1, 1), source="地方税法 第35条第1項（標準税率、平成19年度から）"),
)
_one(
    PER_CAPITA_MUNICIPAL,
    "市町村民税均等割（円）",
    "yen",
    Entry("3000", _HEISEI_16, date(2014, 1, 1), source="地方税法 第310条（標準税率）"),
    Entry("3500", date(2014, 1, 1), date(2024, 1, 1), source=_RECONSTRUCTION),
    Entry("3000", date(2024, 1, 1), source="地方税法 第310条（標準税率）"),
)
_one(
    PER_CAPITA_PREFECTURAL,
    "道府県民税均等割（円）",
    "yen",
    Entry("1000", _HEISEI_16, date(2014, 1, 1), source="地方税法 第38条（標準税率）"),
    Entry("1500", date(2014, 1, 1), date(2024, 1, 1), source=_RECONSTRUCTION),
    Entry("1000", date(2024, 1, 1), source="地方税法 第38条（標準税率）"),
)
_one(
    FOREST_ENVIRONMENT_TAX,
    "森林環境税（円、均等割と併せて賦課）",
    "yen",
    Entry(
        "0",
        _HEISEI_16,
        date(2024, 1, 1),
        source="森林環境税及び森林環境譲与税に関する法律 附則（令和6年度から課税）",
    ),
    Entry("1000", date(2024, 1, 1), source="森林環境税及び森林環境譲与税に関する法律 第4条"),
)
_one(
    BASIC_DEDUCTION,
    "住民税の基礎控除（円、合計所得2,400万円以下）",
    "yen",
    Entry(
        "330000", _HEISEI_16, date(2021, 1, 1), source="地方税法 第314条の2第2項（令和2年度分まで）"
    ),
    Entry("430000", date(2021, 1, 1), source="地方税法 第314条の2第2項（令和3年度分から）"),
)
_one(
    SPOUSE_DEDUCTION,
    "住民税の配偶者控除（円、一般）",
    "yen",
    Entry("330000", _HEISEI_16, source="地方税法 第314条の2第1項第10号"),
)
_one(
    DEPENDENT_DEDUCTION,
    "住民税の扶養控除（円、一般）",
    "yen",
    Entry("330000", _HEISEI_16, source="地方税法 第314条の2第1項第11号"),
)
_one(
    ADJUSTMENT_CREDIT,
    "調整控除（円、合計課税所得200万円以下の最小額で近似）",
    "yen",
    Entry(
        "2500", date(2007, 1, 1), source="地方税法 第314条の6第1号（簡略化: 人的控除差5万円 × 5%）"
    ),
)
_one(
    PROPERTY_RATE,
    "固定資産税の税率（‰）",
    "int",
    Entry("14", _HEISEI_16, source="地方税法 第350条第1項（標準税率 1.4%）"),
)
_one(
    LAND_EXEMPTION,
    "固定資産税の免税点・土地（円）",
    "yen",
    Entry("300000", _HEISEI_16, source="地方税法 第351条"),
)
_one(
    BUILDING_EXEMPTION,
    "固定資産税の免税点・家屋（円）",
    "yen",
    Entry("200000", _HEISEI_16, source="地方税法 第351条"),
)
_LIGHT_VEHICLE_AMOUNTS = {
    "moped50": "2000",
    "moped125": "2400",
    "light_two_wheel": "3600",
    "kei_passenger": "10800",
    "kei_cargo": "5000",
    "small_special_farm": "2000",
}
#: before 平成28年度 (地方税法 第444条 as it was until 平成27年度分)
_LIGHT_VEHICLE_BEFORE_2016 = {
    "moped50": "1000",
    "moped125": "1600",
    "light_two_wheel": "2400",
    "kei_passenger": "7200",
    "kei_cargo": "4000",
    "small_special_farm": "1600",
}
for _slug, _amount in _LIGHT_VEHICLE_AMOUNTS.items():
    _one(
        LIGHT_VEHICLE[_slug],
        f"軽自動車税（種別割）: {VEHICLE_CLASSES[_slug]}（円）",
        "yen",
        Entry(
            _LIGHT_VEHICLE_BEFORE_2016[_slug],
            _HEISEI_16,
            date(2016, 4, 1),
            source="地方税法 第444条（標準税率、平成27年度分まで）",
        ),
        Entry(_amount, date(2016, 4, 1), source="地方税法 第463条の15（標準税率、平成28年度から）"),
    )

KEYS = (
    MUNICIPAL_RATE,
    PREFECTURAL_RATE,
    PER_CAPITA_MUNICIPAL,
    PER_CAPITA_PREFECTURAL,
    FOREST_ENVIRONMENT_TAX,
    BASIC_DEDUCTION,
    SPOUSE_DEDUCTION,
    DEPENDENT_DEDUCTION,
    ADJUSTMENT_CREDIT,
    PROPERTY_RATE,
    LAND_EXEMPTION,
    BUILDING_EXEMPTION,
    *LIGHT_VEHICLE.values(),
)


def assessment_day(fiscal_year: int, tax: str) -> date:
    """The 賦課期日 a tax's amounts are read on: 1 April for 軽自動車税, else 1 January."""
    return date(fiscal_year, 4, 1) if tax == "light_vehicle" else date(fiscal_year, 1, 1)


def rates_from(p: Parameters) -> TaxRates:
    return TaxRates(
        municipal_rate_percent=p.int(MUNICIPAL_RATE),
        prefectural_rate_percent=p.int(PREFECTURAL_RATE),
        per_capita_municipal=p.int(PER_CAPITA_MUNICIPAL),
        per_capita_prefectural=p.int(PER_CAPITA_PREFECTURAL),
        forest_environment_tax=p.int(FOREST_ENVIRONMENT_TAX),
        basic_deduction=p.int(BASIC_DEDUCTION),
        spouse_deduction=p.int(SPOUSE_DEDUCTION),
        dependent_deduction=p.int(DEPENDENT_DEDUCTION),
        adjustment_credit=p.int(ADJUSTMENT_CREDIT),
        property_rate_per_mille=p.int(PROPERTY_RATE),
        land_exemption=p.int(LAND_EXEMPTION),
        building_exemption=p.int(BUILDING_EXEMPTION),
        light_vehicle={VEHICLE_CLASSES[slug]: p.int(key) for slug, key in LIGHT_VEHICLE.items()},
    )


@cache
def shipped_rates(day: date) -> TaxRates:
    """The values lgcloud ships, as of ``day`` (no operator's entries: pure; cached, the
    generator asks for them per taxpayer)."""
    return rates_from(shipped_on(day, *KEYS))
