"""庁内データ連携: every register event kind that an area follows reaches it in the register's
own transaction (seals: 抹消 on removal; 国保: a 処理待ち item), kinds it does not follow
leave it alone, a refusal in one area's rule is queued for that area while the register
change goes on (and the journal holds nothing the refusal undid), any other failure rolls
the register change back; the 処理待ち list is settled by an audited act."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import TODAY, TOWN_A, add_clerks, make_ctx, record_family
from conftest import png_impression as png
from lgcloud.audit.models import AuditEntry
from lgcloud.auth.roles import Role
from lgcloud.core.errors import RuleViolationError
from lgcloud.insurance.service import enroll_household
from lgcloud.register import linkage
from lgcloud.register.domain import (
    AddressIn,
    Birth,
    EventKind,
    HeadChange,
    HouseholdSplit,
    MoveIn,
    MoveWithin,
    NewPerson,
    Removal,
    Sex,
    Status,
)
from lgcloud.register.queries import get_person
from lgcloud.register.service import AnyEvent, EventResult, record_event
from lgcloud.seals.queries import active_seal, seal_records
from lgcloud.seals.service import register_seal
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.models import JournalEntry
from lgcloud.web.app import create_app
from lgcloud.worklist.models import PendingTask
from lgcloud.worklist.queries import tasks
from lgcloud.worklist.service import settle_task

DAY = date(2026, 11, 20)


def record(platform: Platform, event: AnyEvent) -> EventResult:
    with platform.town(TOWN_A) as town:
        return record_event(town, make_ctx(), event, today=TODAY)


@pytest.fixture
def family(platform: Platform) -> dict[str, str]:
    """A family of three (head, wife, child born 2018) in 国保 since 2020, the head with a
    registered seal."""
    people = record_family(platform, TOWN_A, "連携")
    with platform.town(TOWN_A) as town:
        enroll_household(
            town,
            make_ctx(),
            household_number=get_person(town, people["head"]).household_number,
            householder=people["head"],
            members=[people["head"], people["wife"], people["child"]],
            qualified_on=date(2020, 6, 1),
        )
        register_seal(
            town, make_ctx(), people["head"], image_png=png(), registered_on=date(2021, 1, 4)
        )
    # the family's own 転入 raised 国保 items (nhi_entry): the tests look at what comes after
    with platform.read_town(TOWN_A) as town:
        SEEN[0] = max(town.session.scalars(select(PendingTask.id)), default=0)
    return people


SEEN = [0]  # the last 処理待ち item raised while the family was set up


def open_tasks(platform: Platform, area: str) -> list[Any]:
    """The area's open items raised after the family's setup."""
    with platform.read_town(TOWN_A) as town:
        return [t for t in tasks(town, area, today=TODAY) if t.id > SEEN[0]]


def last_life_event_detail(platform: Platform) -> dict[str, Any]:
    with platform.read_town(TOWN_A) as town:
        entry = town.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "life_event")
            .order_by(AuditEntry.seq.desc())
        ).first()
    assert entry is not None
    return dict(entry.detail)


REMOVALS = {
    EventKind.DEATH: "死亡",
    EventKind.DOMESTIC_MOVE_OUT: "転出",
    EventKind.FOREIGN_MOVE_OUT: "転出",
    EventKind.EX_OFFICIO_REMOVAL: "職権",
}


@pytest.mark.parametrize("kind", list(REMOVALS))
def test_a_removal_reaches_seals_and_insurance_in_the_same_transaction(
    platform: Platform, family: dict[str, str], kind: EventKind
) -> None:
    head, wife = family["head"], family["wife"]
    with platform.read_town(TOWN_A) as town:
        journal_before = town.session.scalar(
            select(JournalEntry.seq).order_by(JournalEntry.seq.desc())
        )
    record(
        platform,
        Removal(
            kind=kind,
            effective_date=DAY,
            members=[head],
            destination_address=""
            if kind in (EventKind.DEATH, EventKind.EX_OFFICIO_REMOVAL)
            else "東京都港区",
            relationships={wife: "世帯主"},
        ),
    )
    with platform.read_town(TOWN_A) as town:
        assert get_person(town, head).status is Status.REMOVED
        assert active_seal(town, head) is None
        (ended,) = seal_records(town, head)
        assert (ended.abolished_on, ended.abolition_reason) == (DAY, REMOVALS[kind])
        journal = list(
            town.session.scalars(
                select(JournalEntry).where(JournalEntry.seq > (journal_before or 0))
            )
        )
    assert len(journal) == 1  # one transaction: the removal, the 抹消 and the 処理待ち item
    tables = {c["table"] for c in journal[0].changes}
    assert {"person_versions", "seal_registrations", "pending_tasks"} <= tables
    loss = [t for t in open_tasks(platform, "insurance") if t.kind == "nhi_loss"]
    assert [(t.addressee_number, t.proposal["disqualified_on"]) for t in loss] == [
        (head, "2026-11-21")  # 国保法 第8条: the day after
    ]
    assert loss[0].due_on == date(2026, 12, 7)  # 14 days (insurance.notification_days)
    linked = last_life_event_detail(platform)["linked"]
    assert set(linked) == {"insurance", "seals"}


def test_entry_birth_and_household_changes_reach_insurance(
    platform: Platform, family: dict[str, str]
) -> None:
    moved_in = record(
        platform,
        MoveIn(
            kind=EventKind.DOMESTIC_MOVE_IN,
            effective_date=DAY,
            persons=[
                NewPerson(
                    name="転入\u3000一郎",
                    birth_date=date(1990, 1, 1),
                    sex=Sex.MALE,
                    relationship="世帯主",
                )
            ],
            address=AddressIn(address="聖籠町大字蓮野3番地"),
            previous_address="新潟市",
        ),
    )
    head = get_head_household(platform, family["head"])
    born = record(
        platform,
        Birth(
            effective_date=DAY,
            household_number=head,
            person=NewPerson(
                name="連携\u3000次郎", birth_date=DAY, sex=Sex.MALE, relationship="子"
            ),
        ),
    )
    record(
        platform,
        HeadChange(
            effective_date=DAY,
            household_number=head,
            relationships={family["wife"]: "世帯主", family["head"]: "夫"},
        ),
    )
    kinds = {(t.kind, t.addressee_number) for t in open_tasks(platform, "insurance")}
    assert ("nhi_entry", moved_in.subjects[0]) in kinds
    assert ("nhi_birth", born.subjects[0]) in kinds
    assert ("nhi_household", family["wife"]) in kinds
    assert ("nhi_household", family["head"]) in kinds
    # the newcomer's household is not insured: a birth there would raise nothing
    assert not open_tasks(platform, "seals")


def get_head_household(platform: Platform, head: str) -> str:
    with platform.read_town(TOWN_A) as town:
        return get_person(town, head).household_number


def test_kinds_an_area_does_not_follow_leave_it_alone(
    platform: Platform, family: dict[str, str]
) -> None:
    record(
        platform,
        MoveWithin(
            effective_date=DAY,
            members=[family["head"], family["wife"], family["child"]],
            address=AddressIn(address="聖籠町大字蓮野3番地"),
        ),
    )
    assert open_tasks(platform, "insurance") == [] and open_tasks(platform, "seals") == []
    with platform.read_town(TOWN_A) as town:
        assert active_seal(town, family["head"]) is not None
    assert "linked" not in last_life_event_detail(platform)


def _break_seals(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    linkage.followers()  # every area loaded
    real = linkage._FOLLOWERS["seals"]

    def react(town: Any, ctx: Any, change: Any) -> list[str]:
        real.react(town, ctx, change)  # the 抹消 is written …
        raise error  # … and then the rule refuses

    monkeypatch.setitem(
        linkage._FOLLOWERS, "seals", linkage.Follower("seals", real.label, real.kinds, react)
    )


def test_a_refusal_in_one_area_is_queued_for_it_and_the_register_change_goes_on(
    platform: Platform, family: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_seals(monkeypatch, RuleViolationError("印影の記録が壊れています"))
    head = family["head"]
    record(
        platform,
        Removal(
            kind=EventKind.DEATH,
            effective_date=DAY,
            members=[head],
            relationships={family["wife"]: "世帯主"},
        ),
    )
    with platform.read_town(TOWN_A) as town:
        assert get_person(town, head).status is Status.REMOVED  # the register change went on
        assert active_seal(town, head) is not None  # the area's own write was undone
        last = town.session.scalars(select(JournalEntry).order_by(JournalEntry.seq.desc())).first()
    assert last is not None
    assert "seal_registrations" not in {c["table"] for c in last.changes}  # nor journaled
    (failed,) = open_tasks(platform, "seals")
    assert failed.kind == "linkage_failed" and "印影の記録が壊れています" in failed.summary
    assert [t.kind for t in open_tasks(platform, "insurance")] == ["nhi_loss"]  # others went on


def test_any_other_failure_rolls_the_register_change_back(
    platform: Platform, family: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_seals(monkeypatch, RuntimeError("disk full"))
    with pytest.raises(RuntimeError):
        record(
            platform,
            Removal(
                kind=EventKind.DEATH,
                effective_date=DAY,
                members=[family["head"]],
                relationships={family["wife"]: "世帯主"},
            ),
        )
    with platform.read_town(TOWN_A) as town:
        assert get_person(town, family["head"]).status is Status.RESIDENT
        assert town.session.scalars(select(PendingTask).where(PendingTask.id > SEEN[0])).all() == []


def test_settling_an_item_is_audited_and_the_page_lists_and_settles(
    platform: Platform, family: dict[str, str]
) -> None:
    record(
        platform,
        HouseholdSplit(
            effective_date=DAY, members=[family["child"]], relationships={family["child"]: "世帯主"}
        ),
    )
    (item,) = open_tasks(platform, "insurance")
    with platform.town(TOWN_A) as town, pytest.raises(RuleViolationError) as e:
        settle_task(town, make_ctx(), item.code, area="insurance", outcome="dismissed", note=" ")
    assert e.value.field == "note"

    add_clerks(
        platform, TOWN_A, {"S1": {Role.BUSINESS_STAFF}, "C1": {Role.COUNTER_CLERK}}, "pw-worklist-1"
    )
    app = create_app(platform)
    c = TestClient(app, follow_redirects=False)
    assert (
        c.post(
            "/login", data={"town_code": TOWN_A, "staff_number": "S1", "password": "pw-worklist-1"}
        ).status_code
        == 303
    )
    page = c.get("/worklist?area=insurance")
    assert page.status_code == 200 and f'data-task="{item.code}"' in page.text
    with platform.read_town(TOWN_A) as town:
        waiting = len(tasks(town, "insurance", today=TODAY))  # with the family's own 転入
    # （n） or （n・期限超過 m）: the page counts overdue items against the real date
    assert f"国民健康保険（{waiting}" in page.text and 'href="/worklist"' in page.text
    done = c.post(
        f"/worklist/{item.code}",
        data={"area": "insurance", "outcome": "done", "note": "世帯変更済み"},
    )
    assert done.status_code == 303
    assert f'data-task="{item.code}"' not in c.get(done.headers["location"]).text
    again = c.post(
        f"/worklist/{item.code}", data={"area": "insurance", "outcome": "done", "note": ""}
    )
    assert again.status_code == 422 and "既に処理されています" in again.text
    counter = TestClient(app, follow_redirects=False)
    counter.post(
        "/login", data={"town_code": TOWN_A, "staff_number": "C1", "password": "pw-worklist-1"}
    )
    assert counter.get("/worklist").status_code == 403
    with platform.read_town(TOWN_A) as town:
        settled = town.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "task_settled")
        ).one()
    assert settled.detail == {
        "task": item.code,
        "area": "insurance",
        "kind": "nhi_household",
        "outcome": "done",
    }
