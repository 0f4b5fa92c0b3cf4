"""The same domain code on a real PostgreSQL server started by the test suite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from conftest import FAMILY_WIFE, TODAY, PgServer, make_ctx, record_family
from lgcloud.audit import service as audit_service
from lgcloud.continuity.models import JournalEntry
from lgcloud.core.errors import RuleViolationError
from lgcloud.db.base import TownBase
from lgcloud.generate.town import generate_town
from lgcloud.register import queries
from lgcloud.register.domain import (
    EventKind,
    Removal,
)
from lgcloud.register.service import record_event
from lgcloud.tenancy.platform import Platform

PG_TOWN = "153079"
GEN_TOWN = "155811"


@pytest.fixture
def pg_platform(
    tmp_path: Path, pg_server: PgServer, request: pytest.FixtureRequest
) -> Iterator[Platform]:
    p = Platform(tmp_path / "data")
    suffix = abs(hash(request.node.name)) % 10**8
    p.create_town(PG_TOWN, "聖籠町", url=pg_server.create_database(f"t{PG_TOWN}_{suffix}"))
    yield p
    p.dispose()


def test_town_database_is_postgresql_and_matches_models(pg_platform: Platform) -> None:
    engine = pg_platform.town_engine(PG_TOWN)
    assert engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), TownBase.metadata)
    assert diff == []


def test_life_events_search_history_and_audit_on_postgresql(pg_platform: Platform) -> None:
    ctx = make_ctx(PG_TOWN)
    family = record_family(pg_platform, PG_TOWN, "髙橋")
    head, wife, child = family["head"], family["wife"], family["child"]
    household = family["household"]
    with pg_platform.town(PG_TOWN) as town, pytest.raises(RuleViolationError):
        # the head leaves and nobody is named head: refused, nothing written
        record_event(
            town,
            ctx,
            Removal(kind=EventKind.DEATH, effective_date=date(2021, 1, 1), members=[head]),
            today=TODAY,
        )
    with pg_platform.town(PG_TOWN) as town:
        record_event(
            town,
            ctx,
            Removal(
                kind=EventKind.DEATH,
                effective_date=date(2021, 1, 1),
                members=[head],
                relationships={wife: "世帯主"},
            ),
            today=TODAY,
        )
    with pg_platform.town(PG_TOWN) as town:
        for q in ("高橋", "髙橋", "たかはし", "ﾀｶﾊｼ"):
            assert {p.addressee_number for p in queries.search(town, q)} == {child}
        assert {p.addressee_number for p in queries.search(town, "高橋", include_removed=True)} == {
            head,
            child,
        }
        assert queries.get_person(town, wife).name == FAMILY_WIFE
        assert [
            p.addressee_number for p in queries.household_on(town, household, date(2016, 1, 1))
        ] == [head, wife]
        assert len(queries.household_on(town, household, date(2020, 12, 31))) == 3
        assert queries.residents_at_address_on(town, "大字諏訪山1番地", date(2020, 6, 1)) == []
        assert len(queries.residents_at_address_on(town, "大字諏訪山1番地", date(2020, 5, 31))) == 3
        assert audit_service.verify(town.session).ok
        seqs = list(town.session.scalars(select(JournalEntry.seq).order_by(JournalEntry.seq)))
        assert seqs == list(range(1, len(seqs) + 1))
        assert len(seqs) == 4  # the refused event wrote nothing


def test_generator_on_postgresql(tmp_path: Path, pg_server: PgServer) -> None:
    p = Platform(tmp_path / "data")
    p.create_town(GEN_TOWN, "関川村", url=pg_server.create_database("gen_155811"))
    summary = generate_town(p, GEN_TOWN, residents=500, seed=5, today=TODAY)
    assert summary.residents == 500
    with p.town(GEN_TOWN) as town:
        assert audit_service.verify(town.session).ok
        assert town.session.scalar(select(func.count()).select_from(JournalEntry)) >= 2
        assert queries.search(town, "サ")
    p.dispose()
