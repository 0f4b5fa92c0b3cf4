"""The pull API for systems outside lgcloud: changes in commit order with only the granted
items, resumable from a cursor (also inside one large journal entry), scoped by token to
datasets and to the token's town (another town's data unreachable), refused without a valid
token, audited per call."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import TODAY, TOWN_A, TOWN_B, make_ctx, record_family
from lgcloud.audit.models import AuditEntry
from lgcloud.core.errors import RuleViolationError
from lgcloud.datalink.datasets import check_grant
from lgcloud.datalink.service import create_client, revoke_client, token_town
from lgcloud.register.domain import AddressIn, MoveWithin
from lgcloud.register.service import record_event
from lgcloud.tenancy.platform import Platform
from lgcloud.web.app import create_app

URL = "/api/linkage/v1/{}/changes"


def grant(platform: Platform, town_code: str, name: str, grants: dict[str, list[str]]) -> str:
    with platform.town(town_code) as town:
        return create_client(town, make_ctx(town_code), name, grants)


def pull(c: TestClient, token: str, dataset: str = "residents", **params: Any) -> Any:
    return c.get(URL.format(dataset), params=params, headers={"Authorization": f"Bearer {token}"})


def test_grants_name_known_datasets_and_items_only() -> None:
    assert check_grant({"residents": ["name"]}) == {"residents": ["addressee_number", "name"]}
    for bad, field in (
        ({}, "datasets"),
        ({"taxes": ["x"]}, "datasets"),
        ({"residents": ["individual_number"]}, "items"),  # 個人番号 is never given out
        ({"residents": ["resident_code"]}, "items"),
        ({"seals": ["image_png"]}, "items"),
        ({"residents": []}, "items"),
    ):
        with pytest.raises(RuleViolationError) as e:
            check_grant(bad)
        assert e.value.field == field
    assert token_town("lk.153079.abcdefghijklmnopqrstuvwxyz") == "153079"
    assert token_town("lk.15307.abcdefghijklmnopqrstuvwxyz") is None


def test_changes_in_order_with_granted_items_resumable_and_audited(platform: Platform) -> None:
    family = record_family(platform, TOWN_A, "連携")  # 3 events: move in, birth, move within
    token = grant(
        platform, TOWN_A, "福祉システム", {"residents": ["name", "address", "is_current"]}
    )
    c = TestClient(create_app(platform))
    first = pull(c, token)
    assert first.status_code == 200, first.text
    body = first.json()
    seqs = [ch["seq"] for ch in body["changes"]]
    assert seqs == sorted(seqs) and not body["more"]
    assert {tuple(sorted(ch["row"])) for ch in body["changes"]} == {
        ("address", "addressee_number", "is_current", "name")
    }
    # move in (2 inserts), birth (1 insert), move within (3 closed + 3 new)
    assert [ch["op"] for ch in body["changes"]].count("insert") == 6
    assert len(body["changes"]) == 9
    current = {
        ch["row"]["addressee_number"]: ch["row"]["address"]
        for ch in body["changes"]
        if ch["row"]["is_current"]
    }
    assert current[family["head"]] == "大字亀塚2番地"

    # paging: two at a time gives the same changes, in the same order
    seen: list[str] = []
    after = "0"
    while True:
        page = pull(c, token, after=after, limit=2).json()
        seen += [ch["cursor"] for ch in page["changes"]]
        after = page["next_after"]
        if not page["more"]:
            break
    assert seen == [ch["cursor"] for ch in body["changes"]]
    assert pull(c, token, after=body["next_after"]).json()["changes"] == []

    # a new change comes after the cursor the system stored
    with platform.town(TOWN_A) as town:
        record_event(
            town,
            make_ctx(),
            MoveWithin(
                effective_date=date(2026, 11, 1),
                members=[family["head"], family["wife"], family["child"]],
                address=AddressIn(address="大字蓮野3番地"),
            ),
            today=TODAY,
        )
    fresh = pull(c, token, after=body["next_after"]).json()["changes"]
    assert len(fresh) == 6 and {ch["row"]["address"] for ch in fresh if ch["op"] == "insert"} == {
        "大字蓮野3番地"
    }

    with platform.read_town(TOWN_A) as town:
        calls = town.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "export_linkage").order_by(AuditEntry.seq)
        ).all()
    assert calls and calls[0].clerk_name == "system:福祉システム"
    assert set(calls[0].subjects) == {family["head"], family["wife"], family["child"]}
    assert calls[0].detail["dataset"] == "residents" and calls[0].detail["count"] == 9


def test_scope_other_towns_and_bad_tokens_are_refused(platform: Platform) -> None:
    record_family(platform, TOWN_A, "範囲")
    b_family = record_family(platform, TOWN_B, "他町")
    token_a = grant(platform, TOWN_A, "福祉", {"residents": ["name"]})
    c = TestClient(create_app(platform))
    assert pull(c, token_a, "seals").status_code == 403  # not granted
    assert pull(c, token_a, "nothing").status_code == 403
    assert pull(c, "").status_code == 401
    assert c.get(URL.format("residents")).status_code == 401
    forged = token_a.replace(f"lk.{TOWN_A}.", f"lk.{TOWN_B}.")  # another town's data
    assert pull(c, forged).status_code == 401
    assert pull(c, token_a[:-1] + ("A" if token_a[-1] != "A" else "B")).status_code == 401
    assert pull(c, "lk.999999.abcdefghijklmnopqrstuvwxyz").status_code == 401  # not hosted
    names = {ch["row"]["name"] for ch in pull(c, token_a).json()["changes"]}
    assert names and not names & {"他町\u3000太郎", "他町\u3000一郎"}
    assert b_family  # town B has data; none of it came back
    assert pull(c, token_a, after="x").status_code == 422
    with platform.town(TOWN_A) as town:
        revoke_client(town, make_ctx(), "福祉")
    assert pull(c, token_a).status_code == 401
