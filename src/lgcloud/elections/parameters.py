"""The dated parameters of 選挙人名簿管理 (``lgcloud.parameters``): shipped values with the
law and article each comes from."""

from __future__ import annotations

from datetime import date

from lgcloud.parameters.registry import declare
from lgcloud.parameters.rules import Entry, Spec

VOTING_AGE = "elections.voting_age"
RESIDENCE_MONTHS = "elections.residence_months"
STRIKE_OFF_MONTHS = "elections.strike_off_months"
REGISTRATION_MONTHS = "elections.registration_months"
REGISTRATION_DAY = "elections.registration_day"
POLLING_HOURS = "elections.polling_hours"

declare(
    Spec(
        VOTING_AGE,
        "選挙権を有する年齢",
        "years",
        (
            Entry(
                "20",
                date(1950, 5, 1),
                date(2016, 6, 19),
                source="公職選挙法 第9条第1項（昭和25年法律第100号、制定時）",
            ),
            Entry(
                "18",
                date(2016, 6, 19),
                source="公職選挙法 第9条第1項（平成27年法律第43号により改正、平成28年6月19日施行）",
            ),
        ),
    )
)
declare(
    Spec(
        RESIDENCE_MONTHS,
        "名簿登録に必要な住民基本台帳への記録期間",
        "months",
        (Entry("3", date(1950, 5, 1), source="公職選挙法 第21条第1項（引き続き3箇月以上）"),),
    )
)
declare(
    Spec(
        STRIKE_OFF_MONTHS,
        "転出表示者を抹消するまでの期間",
        "months",
        (
            Entry(
                "4",
                date(1950, 5, 1),
                source="公職選挙法 第28条第2号（住所を有しなくなつた日後4箇月）",
            ),
        ),
    )
)
declare(
    Spec(
        REGISTRATION_MONTHS,
        "定時登録を行う月（基準日はその月の1日）",
        "text",
        (
            Entry(
                "3,6,9,12",
                date(2016, 6, 19),
                source="公職選挙法 第22条第1項（毎年3月、6月、9月及び12月）",
            ),
        ),
    )
)
declare(
    Spec(
        REGISTRATION_DAY,
        "定時登録の登録日（登録月の日）",
        "int",
        (Entry("2", date(2016, 6, 19), source="公職選挙法施行令 第3条（登録月の2日）"),),
    )
)
declare(
    Spec(
        POLLING_HOURS,
        "投票時間（入場券に印刷）",
        "text",
        (Entry("午前7時から午後8時まで", date(1998, 6, 1), source="公職選挙法 第40条第1項"),),
    )
)
