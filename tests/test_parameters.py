"""Dated legal parameters: which value holds on a day (pure), the operator's change from a
date (audited, refused in the past or malformed), a rule that reads its parameter applying
a change from next April and not before, and the operator's page and commands."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import TOWN_A, TOWN_B, add_clerks, cli_env, make_ctx, page_client
from conftest import png_impression as png
from lgcloud.audit.models import AuditEntry
from lgcloud.auth.roles import Role
from lgcloud.cli import app as cli
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.parameters.queries import parameters_on, timeline
from lgcloud.parameters.rules import Entry, Spec, entry_on, parse
from lgcloud.parameters.service import set_parameter
from lgcloud.register.domain import HEAD, AddressIn, EventKind, MoveIn, NewPerson, Sex
from lgcloud.register.service import record_event
from lgcloud.seals.parameters import MIN_AGE
from lgcloud.seals.service import register_seal
from lgcloud.tenancy.platform import Platform
from lgcloud.web.app import create_app

SPEC = Spec(
    "test.age",
    "試験の年齢",
    "years",
    (
        Entry("20", date(2000, 4, 1), date(2022, 4, 1), source="旧法 第1条"),
        Entry("18", date(2022, 4, 1), source="新法 第1条"),
    ),
)
TODAY = date(2026, 12, 7)  # the suite's "today" for set_parameter (the register's is conftest's)
NEXT_APRIL = date(2027, 4, 1)


# --------------------------------------------------------------------------- pure


def test_the_entry_that_began_last_holds_and_an_operator_wins_a_tie() -> None:
    assert entry_on(SPEC, [], date(2022, 3, 31)).value == "20"
    assert entry_on(SPEC, [], date(2022, 4, 1)).value == "18"
    local = Entry("16", NEXT_APRIL, source="条例", by_operator=True)
    assert entry_on(SPEC, [local], date(2027, 3, 31)).value == "18"
    assert entry_on(SPEC, [local], NEXT_APRIL).value == "16"
    same_day = Entry("17", date(2022, 4, 1), source="条例", by_operator=True)
    assert entry_on(SPEC, [same_day], date(2023, 1, 1)).value == "17"
    limited = Entry("19", date(2030, 1, 1), date(2030, 2, 1), source="特例", by_operator=True)
    assert entry_on(SPEC, [limited], date(2030, 1, 31)).value == "19"
    assert entry_on(SPEC, [limited], date(2030, 2, 1)).value == "18"  # back to the law
    with pytest.raises(NotFoundError):
        entry_on(SPEC, [], date(1999, 1, 1))


def test_values_are_parsed_by_kind_and_shipped_values_must_cite_their_law() -> None:
    assert parse("years", "18") == 18
    assert str(parse("rate", "0.06")) == "0.06"
    for kind, text in (("years", "十八"), ("yen", "1.5"), ("rate", "x"), ("days", "-1")):
        with pytest.raises(RuleViolationError):
            parse(kind, text)
    with pytest.raises(ValueError, match="cites its law"):
        Spec("test.x", "x", "int", (Entry("1", date(2000, 1, 1)),))
    with pytest.raises(ValueError, match="unknown kind"):
        Spec("test.y", "y", "percent")


# --------------------------------------------------------------------------- the service


def _set(platform: Platform, value: str, start: date, **kw: object) -> None:
    with platform.town(TOWN_A) as town:
        set_parameter(
            town,
            make_ctx(),
            MIN_AGE,
            value,
            effective_from=start,
            today=TODAY,
            source=str(kw.get("source", "聖籠町印鑑条例 第2条（令和8年改正）")),
            reason=str(kw.get("reason", "条例改正")),
        )


def _twins(platform: Platform) -> list[str]:
    """A parent and twins born 2011-12-01 (15 on both 2027-03-31 and 2027-04-01)."""
    with platform.town(TOWN_A) as town:
        r = record_event(
            town,
            make_ctx(),
            MoveIn(
                kind=EventKind.DOMESTIC_MOVE_IN,
                effective_date=date(2015, 4, 1),
                previous_address="東京都千代田区千代田1番1号",
                address=AddressIn(address="聖籠町大字諏訪山1番地"),
                persons=[
                    NewPerson(
                        name="双子\u3000母",
                        birth_date=date(1980, 1, 1),
                        sex=Sex.FEMALE,
                        relationship=HEAD,
                    ),
                    *(
                        NewPerson(
                            name=f"双子\u3000{n}",
                            birth_date=date(2011, 12, 1),
                            sex=Sex.MALE,
                            relationship="子",
                        )
                        for n in ("一郎", "二郎")
                    ),
                ],
            ),
            today=TODAY,
        )
    return list(r.subjects[1:])


def test_a_change_from_next_april_applies_from_then_and_not_before(platform: Platform) -> None:
    """The town raises the age of 印鑑登録 to 16 from 2027-04-01: a 15-year-old registers
    on 31 March, the same-aged twin is refused on 1 April; the other town is untouched."""
    first, second = _twins(platform)
    _set(platform, "16", NEXT_APRIL)
    with platform.read_town(TOWN_A) as town:
        assert parameters_on(town, date(2027, 3, 31), MIN_AGE).int(MIN_AGE) == 15
        assert parameters_on(town, NEXT_APRIL, MIN_AGE).int(MIN_AGE) == 16
        assert [e.value for e in timeline(town, MIN_AGE)] == ["15", "16"]
    with platform.read_town(TOWN_B) as town:
        assert parameters_on(town, NEXT_APRIL, MIN_AGE).int(MIN_AGE) == 15

    def register(person: str, on: date) -> None:
        with platform.town(TOWN_A) as town:
            register_seal(town, make_ctx(), person, image_png=png(), registered_on=on)

    register(first, date(2027, 3, 31))
    with pytest.raises(RuleViolationError, match="16歳未満の人は印鑑登録できません"):
        register(second, NEXT_APRIL)
    register(second, date(2027, 3, 31))  # the day before, the law of that day


def test_a_change_is_audited_and_refused_in_the_past_or_malformed(platform: Platform) -> None:
    _set(platform, "16", NEXT_APRIL, reason="条例改正（議決第12号）")
    with platform.read_town(TOWN_A) as town:
        entry = town.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "parameter_set")
        ).one()
    assert entry.detail["key"] == MIN_AGE and entry.detail["effective_from"] == "2027-04-01"
    assert entry.detail["reason"] == "条例改正（議決第12号）"
    refusals = [
        ({"value": "16", "start": date(2026, 12, 6)}, "effective_from"),  # yesterday
        ({"value": "十六", "start": NEXT_APRIL}, "value"),
        ({"value": "16", "start": NEXT_APRIL, "source": " "}, "source"),
        ({"value": "16", "start": NEXT_APRIL, "reason": ""}, "reason"),
    ]
    for kw, field in refusals:
        with pytest.raises(RuleViolationError) as e:
            _set(platform, str(kw.pop("value")), kw.pop("start"), **kw)  # type: ignore[arg-type]
        assert e.value.field == field
    with platform.town(TOWN_A) as town, pytest.raises(NotFoundError):
        set_parameter(
            town,
            make_ctx(),
            "seals.nothing",
            "1",
            effective_from=NEXT_APRIL,
            today=TODAY,
            source="x",
            reason="x",
        )
    with platform.read_town(TOWN_A) as town:
        assert [e.value for e in timeline(town, MIN_AGE)] == ["15", "16"]


# --------------------------------------------------------------------------- page and commands


def test_the_parameters_page_lists_sets_and_refuses_next_to_the_field(platform: Platform) -> None:
    add_clerks(
        platform, TOWN_A, {"I1": {Role.IT_OFFICER}, "C1": {Role.COUNTER_CLERK}}, "pw-parameters-1"
    )
    app = create_app(platform)

    def login(staff: str) -> TestClient:
        return page_client(app, staff, "pw-parameters-1")

    it = login("I1")
    page = it.get("/parameters")
    assert page.status_code == 200
    assert 'data-testid="value-seals.min_age">15<' in page.text
    assert "印鑑登録証明事務処理要領" in page.text and 'href="/parameters"' in page.text
    assert login("C1").get("/parameters").status_code == 403
    form = {
        "key": MIN_AGE,
        "value": "x",
        "effective_from": "2099-04-01",
        "source": "条例",
        "reason": "改正",
    }
    bad = it.post("/parameters", data=form)
    assert bad.status_code == 422 and 'data-testid="error-value"' in bad.text
    ok = it.post("/parameters", data={**form, "value": "16"})
    assert ok.status_code == 303
    page = it.get(ok.headers["location"]).text
    assert "seals.min_age の値を設定しました" in page and "2099-04-01〜: 16（町村）" in page
    assert 'data-testid="value-seals.min_age">15<' in page  # not yet


def test_params_commands_list_show_and_set(platform: Platform) -> None:
    runner = CliRunner(env=cli_env(platform))
    base = ["--town", TOWN_A, "--data-dir", str(platform.data_dir)]

    def run(*args: str) -> str:
        result = runner.invoke(cli, ["params", *args, *base])
        assert result.exit_code == 0, result.output
        return result.output

    assert "seals.min_age" in run("list") and "15" in run("list", "--on", "2027-04-01")
    out = run(
        "set",
        "--key",
        MIN_AGE,
        "--value",
        "16",
        "--from",
        "2099-04-01",
        "--source",
        "条例 第2条",
        "--reason",
        "改正",
    )
    assert "seals.min_age = 16" in out
    assert "16" in run("list", "--on", "2099-04-01").split("seals.min_age", 1)[1].split("\n")[0]
    assert "町村" in run("show", "--key", MIN_AGE)
    refused = runner.invoke(
        cli,
        [
            "params",
            "set",
            "--key",
            MIN_AGE,
            "--value",
            "16",
            "--from",
            "2000-01-01",
            "--source",
            "x",
            "--reason",
            "x",
            *base,
        ],
    )
    assert refused.exit_code == 2 and "適用開始日は今日以降" in refused.output
