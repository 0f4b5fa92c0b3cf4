"""A generated town's electoral roll: its 投票区 (the town's 行政区 grouped, about one
投票区 per 1,500 residents, each with a 投票所 named after its first 行政区), the roll as of
the last 定時登録 (previewed and fixed through the service, as a 選管 would), and an
upcoming election whose 期日前投票 has begun, with a 期日前投票所 and one station per 投票区.
Used by the demo (``lgcloud demo``) so the 選挙 screens have something to show."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import select, true

from lgcloud.core.context import Actor, RequestContext
from lgcloud.elections import service
from lgcloud.register.models import PersonVersion
from lgcloud.tenancy.platform import Platform

RESIDENTS_PER_POLLING_DISTRICT = 1500


def last_regular_reference(today: date) -> date:
    """The last 定時登録 基準日 (3/6/9/12月1日) on or before ``today``."""
    months = [m for m in (3, 6, 9, 12) if (m, 1) <= (today.month, today.day)]
    return date(today.year, months[-1], 1) if months else date(today.year - 1, 12, 1)


def build_elections(platform: Platform, code: str, today: date) -> dict[str, int]:
    ctx = RequestContext(code, Actor(None, "generator", ""), node=platform.node)
    with platform.read_town(code) as town:
        sizes = Counter(
            town.session.scalars(
                select(PersonVersion.district).where(
                    PersonVersion.is_current == true(), PersonVersion.status == "resident"
                )
            )
        )
    districts = sorted(d for d in sizes if d)
    count = max(1, round(sum(sizes.values()) / RESIDENTS_PER_POLLING_DISTRICT))
    groups: list[list[str]] = [[] for _ in range(min(count, max(1, len(districts))))]
    for i, d in enumerate(districts):  # neighbouring 行政区 (in table order) together
        groups[i * len(groups) // max(1, len(districts))].append(d)
    with platform.town(code) as town:
        for i, members in enumerate(groups, start=1):
            place = f"{members[0]}公民館" if members else "役場"
            service.set_polling_district(town, ctx, f"{i:02d}", f"第{i}投票区", place)
            for d in members:
                service.set_polling_area(town, ctx, d, f"{i:02d}")
        service.set_polling_area(town, ctx, "大字", "01")  # an address without a 行政区
    run = service.preview_registration(platform, ctx, reference_date=last_regular_reference(today))
    fixed = service.fix_registration(platform, ctx, run.code)
    with platform.town(code) as town:
        service.create_election(
            town,
            ctx,
            code="demo",
            name="町長選挙",
            national=False,
            polling_day=today + timedelta(days=10),
            reference_date=today - timedelta(days=3),
            registration_date=today - timedelta(days=2),
            early_from=today - timedelta(days=1),
        )
        service.add_station(
            town, ctx, "demo", code="E", name="期日前投票所（役場）", polling_codes=[]
        )
        for i in range(1, len(groups) + 1):
            service.add_station(
                town, ctx, "demo", code=f"{i:02d}", name=f"第{i}投票所", polling_codes=[f"{i:02d}"]
            )
    return {"polling_districts": len(groups), "electors": fixed.to_register}
