"""納税通知書 in bulk: one notice per taxpayer of a tax and fiscal year, with its 期別 and
納期限, sent to the taxpayer's 送付先 for 税務 when one is in force (addressees), else to
their own address — a 住登外者 (a former resident who still owes) included. Produced here,
printed by ``lgcloud.notices``."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select, true

from lgcloud.addressees.queries import mail_to
from lgcloud.core.wareki import to_wareki
from lgcloud.notices.domain import Notice
from lgcloud.register.models import PersonVersion
from lgcloud.taxation.labels import TAX_LABELS
from lgcloud.taxation.models import TaxInstallment
from lgcloud.tenancy.platform import Town


def tax_notices(town: Town, tax: str, fiscal_year: int, today: date) -> list[Notice]:
    """Every taxpayer of ``tax`` (resident / property / light_vehicle) in ``fiscal_year``."""
    label = TAX_LABELS[tax]
    rows = town.session.execute(
        select(
            TaxInstallment.addressee_number,
            TaxInstallment.period,
            TaxInstallment.due_date,
            TaxInstallment.amount,
        )
        .where(TaxInstallment.tax_kind == tax, TaxInstallment.fiscal_year == fiscal_year)
        .order_by(TaxInstallment.addressee_number, TaxInstallment.period)
    ).all()
    by_person: dict[str, list[tuple[int, date, int]]] = defaultdict(list)
    for number, period, due, amount in rows:
        by_person[number].append((period, due, amount))
    districts: dict[str, str] = dict(
        town.session.execute(
            select(PersonVersion.addressee_number, PersonVersion.district).where(
                PersonVersion.is_current == true(),
                PersonVersion.addressee_number.in_(list(by_person)),
            )
        )
        .tuples()
        .all()
    )
    year = to_wareki(date(fiscal_year, 4, 1)).split("年")[0]
    out = []
    for number, lines in by_person.items():
        to = mail_to(town, number, "taxation", today)
        total = sum(a for _, _, a in lines)
        out.append(
            Notice(
                addressee_number=number,
                to_name=to.name,
                to_address=to.address,
                to_postal_code=to.postal_code,
                district=districts.get(number) or "",
                to_is_send_address=to.is_send_address,
                title=f"{year}年度 {label} 納税通知書",
                lines=(
                    f"{year}年度の{label}の税額は {total:,} 円です。",
                    "各期の納期限までに納めてください。",
                ),
                table_head=("期別", "納期限", "税額（円）"),
                table_rows=tuple(
                    (f"第{p}期", to_wareki(due), f"{amount:,}") for p, due, amount in lines
                ),
            )
        )
    return out
