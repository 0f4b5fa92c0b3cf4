"""The synthetic-town generator: deterministic, exact, realistic, consistent, audited."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import TODAY, TOWN_A, TOWN_B, make_platform
from lgcloud.addressees.domain import check_corporate_number
from lgcloud.addressees.models import AreaContact, NonResident
from lgcloud.audit import service as audit_service
from lgcloud.audit.models import AuditEntry
from lgcloud.cli import app as cli_app
from lgcloud.core.errors import RuleViolationError
from lgcloud.core.ids import validate_numbered
from lgcloud.generate import names_data as nd
from lgcloud.generate.town import Summary, TownGenerator, build_histories, generate_town
from lgcloud.onboarding import onboard_town
from lgcloud.register.domain import HEAD, Status
from lgcloud.register.models import Household, NumberSequence, Person, PersonVersion
from lgcloud.taxation.models import PropertyTaxAssessment
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.models import JournalEntry

N = 500
SEED = 3
VARIANT_CHARS = {ch for forms in nd.VARIANT_FORMS.values() for ch in forms}


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _has_variant(name: str) -> bool:
    return any(0xE0100 <= ord(ch) <= 0xE01EF or ch in VARIANT_CHARS for ch in name)


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, Summary]]:
    platform = make_platform(Path(tmp_path_factory.mktemp("generate")) / "data")
    onboard_town(platform, TOWN_A, "聖籠町", kana="セイロウマチ", prefecture="新潟県")
    summary = generate_town(platform, TOWN_A, residents=N, seed=SEED, today=TODAY)
    yield platform, summary
    platform.dispose()


@pytest.fixture(scope="module")
def versions(town: tuple[Platform, Summary]) -> list[PersonVersion]:
    platform, _ = town
    with platform.town(TOWN_A) as t:
        return list(
            t.session.scalars(
                select(PersonVersion).order_by(
                    PersonVersion.addressee_number, PersonVersion.version_no
                )
            )
        )


def _current(versions: list[PersonVersion], status: Status | None = None) -> list[PersonVersion]:
    return [v for v in versions if v.is_current and (status is None or v.status == status.value)]


def _histories(versions: list[PersonVersion]) -> dict[str, list[PersonVersion]]:
    out: dict[str, list[PersonVersion]] = defaultdict(list)
    for v in versions:
        out[v.addressee_number].append(v)
    return out


# --------------------------------------------------------------------------- determinism


def _snapshot(tmp: Path, code: str, seed: int, residents: int, today: date) -> dict[str, Any]:
    platform = make_platform(tmp)
    try:
        generate_town(platform, code, residents=residents, seed=seed, today=today)
        with platform.town(code) as t:
            columns = [c.key for c in PersonVersion.__table__.columns]
            rows = [
                tuple(getattr(v, c) for c in columns)
                for v in t.session.scalars(select(PersonVersion).order_by(PersonVersion.id))
            ]
            households = [
                (h.number, h.created_on)
                for h in t.session.scalars(select(Household).order_by(Household.number))
            ]
        return {"versions": rows, "households": households}
    finally:
        platform.dispose()


def test_same_seed_and_date_give_the_same_town(tmp_path: Path) -> None:
    first = _snapshot(tmp_path / "1", TOWN_B, 42, 150, TODAY)
    second = _snapshot(tmp_path / "2", TOWN_B, 42, 150, TODAY)
    assert first["versions"]
    assert first == second


def test_different_seed_gives_a_different_town(tmp_path: Path) -> None:
    first = _snapshot(tmp_path / "1", TOWN_B, 42, 150, TODAY)
    other = _snapshot(tmp_path / "2", TOWN_B, 43, 150, TODAY)
    assert first["versions"] != other["versions"]
    names = {row[PersonVersion.__table__.columns.keys().index("name")] for row in first["versions"]}
    other_names = {
        row[PersonVersion.__table__.columns.keys().index("name")] for row in other["versions"]
    }
    assert names != other_names


# --------------------------------------------------------------------------- the register


def test_exact_resident_count(
    town: tuple[Platform, Summary], versions: list[PersonVersion]
) -> None:
    platform, summary = town
    assert summary.residents == N
    assert len(_current(versions, Status.RESIDENT)) == N
    assert len(_current(versions, Status.REMOVED)) == summary.removed
    assert len(versions) == summary.versions
    with platform.town(TOWN_A) as t:
        assert t.session.scalar(select(func.count()).select_from(Household)) == summary.households
        # every 宛名番号: the register's people and the 住登外者 (test_addressees_are_generated)
        persons = t.session.scalar(select(func.count()).select_from(Person))
        assert persons == len(_current(versions)) + summary.non_residents


def test_addressees_are_generated(town: tuple[Platform, Summary]) -> None:
    """住登外者 (landowners elsewhere, corporations with a valid 法人番号) with their 固定資産税,
    and 口座・送付先・納税管理人 of the 税務 area, all pointing at existing 宛名番号."""
    platform, summary = town
    with platform.read_town(TOWN_A) as t:
        others = t.session.scalars(select(NonResident)).all()
        taxed = set(t.session.scalars(select(PropertyTaxAssessment.addressee_number)))
        contacts = t.session.scalars(select(AreaContact)).all()
        numbers = set(t.session.scalars(select(Person.addressee_number)))
        next_seq = t.session.get(NumberSequence, "addressee")
    assert len(others) == summary.non_residents > 0
    assert {o.kind for o in others} == {"person", "corporation"}
    for o in others:
        validate_numbered(o.addressee_number)
        assert o.addressee_number in taxed  # each owns land here
        if o.kind == "corporation":
            check_corporate_number(o.corporate_number or "")
            assert o.birth_date is None and o.reason == "法人"
        else:
            assert o.corporate_number is None and o.reason == "市町村外の資産所有者"
    assert "account" in {c.what for c in contacts} <= {"account", "mailing", "proxy"}
    assert all(c.addressee_number in numbers for c in contacts)
    assert all(c.proxy in numbers for c in contacts if c.what == "proxy")
    assert next_seq is not None
    assert max(int(n[:-1]) for n in numbers) < next_seq.next_value  # no number issued twice


@pytest.mark.parametrize("residents", [1, 2, 7, 33])
def test_exact_count_for_small_towns(residents: int) -> None:
    gen = TownGenerator(TOWN_A, 9, TODAY)
    history, *_ = build_histories(gen, residents)
    current = [s for s, to in history if to is None and s.status is Status.RESIDENT]
    assert len(current) == residents


def test_variant_kanji_and_ivs(
    town: tuple[Platform, Summary], versions: list[PersonVersion]
) -> None:
    _, summary = town
    residents = _current(versions, Status.RESIDENT)
    variant = [v for v in residents if _has_variant(v.name)]
    assert len(variant) == summary.variant_people
    assert summary.variant_people >= 0.02 * N
    everyone = _current(versions)
    assert any(any(0xE0100 <= ord(ch) <= 0xE01EF for ch in v.name) for v in everyone), "no IVS"
    # names are stored as generated: the search key differs, the name keeps its variant
    assert all(v.name_key != v.name.replace("\u3000", "") for v in variant)


def test_households_satisfy_the_invariants(versions: list[PersonVersion]) -> None:
    members: dict[str, list[PersonVersion]] = defaultdict(list)
    for v in _current(versions, Status.RESIDENT):
        members[v.household_number].append(v)
    assert members
    for number, people in members.items():
        heads = [p for p in people if p.relationship == HEAD]
        assert len(heads) == 1, f"household {number}: {len(heads)} heads"
        assert len({(p.address, p.address_detail) for p in people}) == 1, number
        assert len({(p.postal_code, p.district) for p in people}) == 1, number
    sizes = Counter(len(p) for p in members.values())
    assert sizes[1] > 0  # single households (many elderly) ...
    assert max(sizes) >= 4  # ... and multi-generation ones


def test_every_history_is_contiguous(versions: list[PersonVersion]) -> None:
    for number, history in _histories(versions).items():
        assert [v.version_no for v in history] == list(range(1, len(history) + 1)), number
        assert [v.is_current for v in history] == [False] * (len(history) - 1) + [True]
        assert history[-1].valid_to is None
        for before, after in pairwise(history):
            assert before.valid_to == after.valid_from, number
        for v in history:
            assert v.birth_date <= v.resident_since <= v.settled_on <= TODAY, number


def test_removed_people_by_death_and_move_out(versions: list[PersonVersion]) -> None:
    removed = _current(versions, Status.REMOVED)
    reasons = Counter(v.removal_reason for v in removed)
    assert reasons["死亡"] > 0
    assert reasons["転出"] > 0
    assert set(reasons) <= {"死亡", "転出", "国外転出"}
    histories = _histories(versions)
    for v in removed:
        assert v.removed_on is not None
        assert v.removed_on < TODAY
        assert len(histories[v.addressee_number]) >= 2  # was a resident before the 除票
        if v.removal_reason == "死亡":
            assert v.last_event == "death"
        else:
            assert v.destination_address


def test_born_here_moved_in_and_moved_within(versions: list[PersonVersion]) -> None:
    histories = _histories(versions)
    first_events = Counter(h[0].last_event for h in histories.values())
    assert first_events["birth"] > 0
    assert first_events["domestic_move_in"] > 0
    for h in histories.values():
        if h[0].last_event == "birth":
            assert h[0].resident_since == h[0].birth_date
        else:
            assert h[0].last_event in ("domestic_move_in", "foreign_move_in")
            assert h[0].previous_address
    movers = [
        (h[i - 1], h[i])
        for h in histories.values()
        for i in range(1, len(h))
        if h[i].last_event == "move_within"
    ]
    assert movers, "nobody moved within the town (転居)"
    for before, after in movers:
        assert before.address != after.address
        assert after.settled_on == after.valid_from
        assert after.resident_since == before.resident_since


def test_ages_on_the_reference_date(versions: list[PersonVersion]) -> None:
    residents = _current(versions, Status.RESIDENT)
    ages = [_age(v.birth_date, TODAY) for v in residents]
    assert min(ages) >= 0
    assert max(ages) <= 110
    assert any(a < 15 for a in ages)
    assert any(a >= 90 for a in ages)


def test_an_ageing_population() -> None:
    """Share aged 65+ in an ageing rural range, over a large sample (less seed noise)."""
    total = old = 0
    for code in ("153079", "154059", "155811"):
        history, *_ = build_histories(TownGenerator(code, 1, TODAY), 4000)
        for state, valid_to in history:
            if valid_to is None and state.status is Status.RESIDENT:
                total += 1
                old += _age(state.birth_date, TODAY) >= 65
    assert total == 12000
    assert 0.25 <= old / total <= 0.5, old / total


def test_summary_counts_match_the_database(
    town: tuple[Platform, Summary], versions: list[PersonVersion]
) -> None:
    _, summary = town
    residents = _current(versions, Status.RESIDENT)
    assert summary.aged_65_plus == sum(_age(v.birth_date, TODAY) >= 65 for v in residents)
    assert 0.0 < summary.aged_65_plus / N < 1.0


def test_journal_and_audit(town: tuple[Platform, Summary], versions: list[PersonVersion]) -> None:
    platform, _ = town
    with platform.town(TOWN_A) as t:
        journal = list(t.session.scalars(select(JournalEntry).order_by(JournalEntry.seq)))
        assert journal
        assert [j.seq for j in journal] == list(range(1, len(journal) + 1))
        images = [c for j in journal for c in j.changes if c["table"] == "person_versions"]
        assert {c["op"] for c in images} == {"insert_many"}
        assert sum(len(c["rows"]) for c in images) == len(versions)
        report = audit_service.verify(t.session)
        assert report.ok, report.problems
        loads = list(
            t.session.scalars(select(AuditEntry).where(AuditEntry.action == "initial_load"))
        )
    assert len(loads) == 1
    assert loads[0].detail["residents"] == N
    assert loads[0].detail["seed"] == SEED


def test_generating_into_a_populated_town_is_refused(town: tuple[Platform, Summary]) -> None:
    platform, summary = town
    with pytest.raises(RuleViolationError, match="既に住民"):
        generate_town(platform, TOWN_A, residents=10, seed=SEED + 1, today=TODAY)
    with platform.town(TOWN_A) as t:
        count = t.session.scalar(
            select(func.count())
            .select_from(PersonVersion)
            .where(PersonVersion.is_current.is_(True), PersonVersion.status == "resident")
        )
    assert count == summary.residents


def test_zero_residents_is_refused(tmp_path: Path) -> None:
    platform = make_platform(tmp_path)
    try:
        with pytest.raises(RuleViolationError):
            generate_town(platform, TOWN_B, residents=0, seed=1, today=TODAY)
    finally:
        platform.dispose()


# --------------------------------------------------------------------------- CLI


@pytest.mark.sqlite_only  # the command line makes a centre of its own in tmp_path
def test_cli_generate(tmp_path: Path) -> None:
    runner = CliRunner()
    args = [
        "generate",
        "--town",
        "155811",
        "--residents",
        "200",
        "--seed",
        "3",
        "--today",
        "2026-11-23",
        "--data-dir",
        str(tmp_path),
    ]
    result = runner.invoke(cli_app, args)
    assert result.exit_code == 0, result.output
    assert "200 residents" in " ".join(result.output.split())

    platform = make_platform(tmp_path)
    try:
        (hosted,) = platform.towns()
        assert hosted.code == "155811"
        assert hosted.name == "関川村"
        with platform.town("155811") as t:
            residents = t.session.scalar(
                select(func.count())
                .select_from(PersonVersion)
                .where(PersonVersion.is_current.is_(True), PersonVersion.status == "resident")
            )
        assert residents == 200
    finally:
        platform.dispose()

    again = runner.invoke(cli_app, args)
    assert again.exit_code == 2
    assert "既に住民" in " ".join((again.output + (again.stderr or "")).split())
