"""The dated parameters of 国民健康保険 (``lgcloud.parameters``)."""

from __future__ import annotations

from datetime import date

from lgcloud.insurance.domain import CopayRules
from lgcloud.parameters.registry import declare, shipped_on
from lgcloud.parameters.rules import Entry, Parameters, Spec

NOTIFICATION_DAYS = "insurance.notification_days"
GENERAL_PERCENT = "insurance.copay_percent"
PRESCHOOL_PERCENT = "insurance.copay_percent_preschool"
ELDER_AGE = "insurance.elder_copay_age"
ELDER_PERCENT = "insurance.copay_percent_elder"
LATE_ELDER_AGE = "insurance.late_elder_age"
COPAY_KEYS = (GENERAL_PERCENT, PRESCHOOL_PERCENT, ELDER_AGE, ELDER_PERCENT, LATE_ELDER_AGE)
_H20 = date(2008, 4, 1)  # 高齢者の医療の確保に関する法律 and 第42条 as amended, in force

declare(
    Spec(
        NOTIFICATION_DAYS,
        "国保の資格取得・喪失の届出期間（日）",
        "days",
        (
            Entry(
                "14",
                date(1959, 1, 1),
                source="国民健康保険法施行規則 第2条（資格取得）・第11条（資格喪失）",
            ),
        ),
    )
)

declare(
    Spec(
        GENERAL_PERCENT,
        "一部負担金の割合（%）",
        "int",
        (Entry("30", _H20, source="国民健康保険法 第42条第1項第1号"),),
    )
)
declare(
    Spec(
        PRESCHOOL_PERCENT,
        "一部負担金の割合・義務教育就学前（%）",
        "int",
        (Entry("20", _H20, source="国民健康保険法 第42条第1項第2号"),),
    )
)
declare(
    Spec(
        ELDER_AGE,
        "一部負担金が高齢者の割合になる年齢（その月の翌月から）",
        "years",
        (Entry("70", _H20, source="国民健康保険法 第42条第1項第3号"),),
    )
)
declare(
    Spec(
        ELDER_PERCENT,
        "一部負担金の割合・70歳以上75歳未満（%）",
        "int",
        (
            Entry(
                "10",
                _H20,
                date(2014, 4, 1),
                source="国民健康保険法 第42条第1項第3号（平成26年3月まで軽減特例で1割）",
            ),
            Entry("20", date(2014, 4, 1), source="国民健康保険法 第42条第1項第3号"),
        ),
    )
)
declare(
    Spec(
        LATE_ELDER_AGE,
        "後期高齢者医療に移る年齢（国保の資格を失う）",
        "years",
        (Entry("75", _H20, source="高齢者の医療の確保に関する法律 第50条第1号"),),
    )
)


def copay_rules(p: Parameters) -> CopayRules:
    return CopayRules(
        general_percent=p.int(GENERAL_PERCENT),
        preschool_percent=p.int(PRESCHOOL_PERCENT),
        elder_age=p.int(ELDER_AGE),
        elder_percent=p.int(ELDER_PERCENT),
        late_elder_age=p.int(LATE_ELDER_AGE),
    )


def shipped_copay_rules(day: date) -> CopayRules:
    """The values lgcloud ships, as of ``day`` (no town: the generator, the rules' tests)."""
    return copay_rules(shipped_on(day, *COPAY_KEYS))
