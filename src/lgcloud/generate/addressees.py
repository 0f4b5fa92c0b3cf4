"""Synthetic 団体内統合宛名 for a generated town (pure: rows built in memory; the caller
bulk-inserts them with the town's other rows).

* 住登外者: owners of land in the town who live elsewhere (市町村外の資産所有者; about one
  per 70 residents), each assessed 固定資産税 on their land, some with a resident 納税管理人;
  and corporations (法人, about one per 250 residents: a 法人番号 with its check digit, an
  office in the town or outside) assessed on land and buildings.
* Per business area (税務): 口座振替 accounts for about a third of the 固定資産税 payers,
  and a 送付先 for some elderly taxpayers (notices to a child living elsewhere).

Their own random stream, so adding them changed nothing else of a generated town."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from lgcloud.addressees.domain import corporate_check_digit
from lgcloud.core.dates import age_on
from lgcloud.core.ids import format_numbered, is_issuable_sequence
from lgcloud.generate import names_data as nd
from lgcloud.generate.finance import FinanceRows, add_installments
from lgcloud.register import folding
from lgcloud.register.domain import PersonState, Sex
from lgcloud.taxation.domain import property_tax, property_tax_due_dates
from lgcloud.taxation.parameters import assessment_day, shipped_rates

#: residents per non-resident landowner, per corporation
PER_LANDOWNER = 70
PER_CORPORATION = 250
CORPORATE_FORMS = ("株式会社", "有限会社", "合同会社")
CORPORATE_TRADES = (
    ("建設", "ケンセツ"),
    ("農産", "ノウサン"),
    ("商店", "ショウテン"),
    ("運輸", "ウンユ"),
    ("工業", "コウギョウ"),
    ("不動産", "フドウサン"),
)
FORM_KANA = {
    "株式会社": "カブシキガイシャ",
    "有限会社": "ユウゲンガイシャ",
    "合同会社": "ゴウドウガイシャ",
}
#: 全銀協 bank codes of banks a rural town's residents use (a few, for realism only)
BANKS = (("0140", "第四北越銀行"), ("0542", "大光銀行"), ("9900", "ゆうちょ銀行"), ("2190", "JA"))


@dataclass
class AddresseeRows:
    persons: list[dict[str, Any]] = field(default_factory=list)
    non_residents: list[dict[str, Any]] = field(default_factory=list)
    next_seq: int = 1


def build_addressees(
    rng: random.Random,
    residents: list[PersonState],
    finance: FinanceRows,
    today: date,
    now: datetime,
    *,
    next_seq: int,
    districts: list[str],
) -> AddresseeRows:
    """住登外者 (numbered from ``next_seq``, the register's next 宛名番号) with their 固定資産税
    added to ``finance``, and the residents' 口座 and 送付先 (``area_contacts`` rows of
    ``finance``)."""
    out = AddresseeRows(next_seq=next_seq)

    def number() -> str:
        while not is_issuable_sequence(out.next_seq):
            out.next_seq += 1
        n = format_numbered(out.next_seq)
        out.next_seq += 1
        return n

    def elsewhere() -> str:
        return f"{rng.choice(nd.PREFECTURES_FOR_MOVES)}{rng.randint(1, 40)}番{rng.randint(1, 20)}号"

    def postal() -> str:
        return f"{rng.randrange(10**6, 10**7):07d}"

    fiscal_years = (
        (today.year - 1, today.year) if today.month >= 4 else (today.year - 2, today.year - 1)
    )
    residents_by_age = [p for p in residents if age_on(p.birth_date, today) >= 20]

    # -------------------------------------------------------- non-resident landowners
    for _ in range(max(1, len(residents) // PER_LANDOWNER)):
        fam = rng.choices(nd.FAMILY_NAMES, weights=[f.weight for f in nd.FAMILY_NAMES])[0]
        sex = rng.choice((Sex.MALE, Sex.FEMALE))
        names = nd.GIVEN_NAMES_MALE if sex is Sex.MALE else nd.GIVEN_NAMES_FEMALE
        given = rng.choice([g for g in names if g.era in ("old", "mid")])
        born = date(rng.randint(1935, 1985), rng.randint(1, 12), rng.randint(1, 28))
        n = number()
        name, kana = f"{fam.kanji}\u3000{given.kanji}", f"{fam.reading}\u3000{given.reading}"
        out.persons.append({"addressee_number": n})
        out.non_residents.append(
            {
                "addressee_number": n,
                "kind": "person",
                "name": name,
                "kana": kana,
                "name_key": folding.name_key(name),
                "kana_key": folding.kana_key(kana),
                "birth_date": born,
                "sex": int(sex),
                "corporate_number": None,
                "address": elsewhere(),
                "address_detail": "",
                "postal_code": postal(),
                "reason": "市町村外の資産所有者",
                "recorded_at": now,
            }
        )
        land = rng.randrange(200_000, 6_000_000, 1000)  # 田畑・山林: no 住宅用地の特例
        for fy in fiscal_years:
            tax = property_tax(land, 0, shipped_rates(assessment_day(fy, "property")))
            aid = finance.add(
                "property_tax_assessments",
                {
                    "addressee_number": n,
                    "fiscal_year": fy,
                    "land_parcels": rng.randint(1, 8),
                    "land_assessed_value": land,
                    "land_tax_base": land,
                    "buildings": 0,
                    "building_assessed_value": 0,
                    "building_tax_base": 0,
                    "total_tax": tax,
                    "assessed_on": date(fy, 4, 1),
                    "recorded_at": now,
                },
            )
            add_installments(
                finance, rng, today, now, "property", aid, n, fy, tax, property_tax_due_dates(fy)
            )
        if residents_by_age and rng.random() < 0.25:  # a relative in the town manages it
            manager = rng.choice(residents_by_age)
            finance.add(
                "area_contacts",
                _contact(
                    n,
                    "proxy",
                    today,
                    now,
                    proxy=manager.addressee_number,
                    proxy_role="administrator",
                ),
            )

    # --------------------------------------------------------------------- corporations
    for _ in range(max(1, len(residents) // PER_CORPORATION)):
        fam = rng.choices(nd.FAMILY_NAMES, weights=[f.weight for f in nd.FAMILY_NAMES])[0]
        form = rng.choice(CORPORATE_FORMS)
        trade, trade_kana = rng.choice(CORPORATE_TRADES)
        base12 = f"{rng.randrange(10**11, 10**12):012d}"
        n = number()
        name = f"{form}{fam.kanji}{trade}"
        kana = f"{FORM_KANA[form]}{fam.reading}{trade_kana}"
        local = rng.random() < 0.6
        district = rng.choice(districts) if districts else ""
        out.persons.append({"addressee_number": n})
        out.non_residents.append(
            {
                "addressee_number": n,
                "kind": "corporation",
                "name": name,
                "kana": kana,
                "name_key": folding.name_key(name),
                "kana_key": folding.kana_key(kana),
                "birth_date": None,
                "sex": None,
                "corporate_number": f"{corporate_check_digit(base12)}{base12}",
                "address": f"大字{district}{rng.randint(1, 4000)}番地" if local else elsewhere(),
                "address_detail": "",
                "postal_code": postal(),
                "reason": "法人",
                "recorded_at": now,
            }
        )
        land = rng.randrange(2_000_000, 40_000_000, 1000)
        building = rng.randrange(3_000_000, 60_000_000, 1000)
        for fy in fiscal_years:
            total = property_tax(land, building, shipped_rates(assessment_day(fy, "property")))
            aid = finance.add(
                "property_tax_assessments",
                {
                    "addressee_number": n,
                    "fiscal_year": fy,
                    "land_parcels": rng.randint(1, 4),
                    "land_assessed_value": land,
                    "land_tax_base": land,
                    "buildings": rng.randint(1, 3),
                    "building_assessed_value": building,
                    "building_tax_base": building,
                    "total_tax": total,
                    "assessed_on": date(fy, 4, 1),
                    "recorded_at": now,
                },
            )
            add_installments(
                finance, rng, today, now, "property", aid, n, fy, total, property_tax_due_dates(fy)
            )
        if rng.random() < 0.7:
            finance.add("area_contacts", _account(rng, n, kana[:60], today, now))

    # ------------------------------------------- residents' 口座振替 and 送付先 (税務)
    payers = sorted(
        {r["addressee_number"] for r in finance.tables.get("property_tax_assessments", [])}
        & {p.addressee_number for p in residents}
    )
    by_number = {p.addressee_number: p for p in residents}
    for payer in payers:
        p = by_number[payer]
        if rng.random() < 0.35:
            finance.add(
                "area_contacts",
                _account(rng, payer, p.kana.replace("\u3000", " ")[:60], today, now),
            )
        if age_on(p.birth_date, today) >= 80 and rng.random() < 0.15:
            child = p.name.split("\u3000")[0] + "\u3000" + rng.choice(nd.GIVEN_NAMES_MALE).kanji
            finance.add(
                "area_contacts",
                _contact(
                    payer,
                    "mailing",
                    today,
                    now,
                    send_name=child,
                    send_address=elsewhere(),
                    send_postal_code=postal(),
                ),
            )
    return out


def _contact(number: str, what: str, today: date, now: datetime, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "addressee_number": number,
        "area": "taxation",
        "what": what,
        "send_name": None,
        "send_address": None,
        "send_postal_code": None,
        "proxy": None,
        "proxy_role": None,
        "purpose": None,
        "bank_code": None,
        "branch_code": None,
        "account_type": None,
        "account_number": None,
        "holder_kana": None,
        "valid_from": date(today.year - 1, 4, 1),
        "valid_to": None,
        "recorded_at": now,
    }
    row.update(values)
    return row


def _account(
    rng: random.Random, number: str, holder_kana: str, today: date, now: datetime
) -> dict[str, Any]:
    bank, _ = rng.choice(BANKS)
    return _contact(
        number,
        "account",
        today,
        now,
        purpose="debit",
        bank_code=bank,
        branch_code=f"{rng.randrange(1, 999):03d}",
        account_type="1",
        account_number=f"{rng.randrange(10**6, 10**7):07d}",
        holder_kana=holder_kana,
    )
