"""The same domain code on a real PostgreSQL server started by the test suite."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from conftest import FAMILY_WIFE, TODAY, PgServer, add_clerks, make_ctx, record_family, run_export
from lgcloud.audit import service as audit_service
from lgcloud.audit.models import AuditEntry
from lgcloud.core.errors import RuleViolationError
from lgcloud.db.base import TownBase
from lgcloud.generate.town import generate_town
from lgcloud.onboarding import onboard_town
from lgcloud.register import queries
from lgcloud.register.domain import (
    EventKind,
    Removal,
)
from lgcloud.register.models import PersonVersion
from lgcloud.register.service import record_event
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.models import JournalEntry

PG_TOWN = "153079"
GEN_TOWN = "155811"


@pytest.fixture
def pg_platform(
    tmp_path: Path, pg_server: PgServer, request: pytest.FixtureRequest
) -> Iterator[Platform]:
    p = Platform(tmp_path / "data")
    suffix = abs(hash(request.node.name)) % 10**8
    onboard_town(p, PG_TOWN, "聖籠町", url=pg_server.create_database(f"t{PG_TOWN}_{suffix}"))
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
    onboard_town(p, GEN_TOWN, "関川村", url=pg_server.create_database("gen_155811"))
    summary = generate_town(p, GEN_TOWN, residents=500, seed=5, today=TODAY)
    assert summary.residents == 500
    with p.town(GEN_TOWN) as town:
        assert audit_service.verify(town.session).ok
        assert town.session.scalar(select(func.count()).select_from(JournalEntry)) >= 2
        assert queries.search(town, "サ")
    p.dispose()


def test_the_centre_runs_on_postgresql_with_a_database_per_town(
    tmp_path: Path, pg_server: PgServer, request: pytest.FixtureRequest
) -> None:
    """``LGCLOUD_DATABASE_URL``: the platform database on the server, and each town onboarded
    (by the API of Platform and by ``lgcloud init-town``) in a database of its own there;
    the counter works on it through the web app (login, search, view, certificate, an
    export job in its child process), and the audit chain holds."""
    from fastapi.testclient import TestClient  # noqa: PLC0415
    from typer.testing import CliRunner  # noqa: PLC0415

    from lgcloud.auth.roles import Role  # noqa: PLC0415
    from lgcloud.cli import app as cli  # noqa: PLC0415
    from lgcloud.web.app import create_app  # noqa: PLC0415

    name = f"centre{abs(hash(request.node.name)) % 10**8}"
    url = pg_server.create_database(name)
    p = Platform(tmp_path / "data", database_url=url)
    try:
        assert p.engine.dialect.name == "postgresql"
        onboard_town(p, PG_TOWN, "聖籠町", prefecture="新潟県")
        engine = p.town_engine(PG_TOWN)
        assert engine.dialect.name == "postgresql"
        assert engine.url.database == f"{name}_{PG_TOWN}"
        assert not (tmp_path / "data" / "towns" / f"{PG_TOWN}.sqlite").exists()
        generate_town(p, PG_TOWN, residents=120, seed=3, today=TODAY)
        password = "centre-pg-password-1"
        add_clerks(
            p,
            PG_TOWN,
            {"1001": [Role.COUNTER_CLERK, Role.BUSINESS_STAFF], "9001": [Role.IT_OFFICER]},
            password,
        )
        with TestClient(create_app(p)) as c:

            def login(staff: str) -> dict[str, str]:
                r = c.post(
                    "/api/login",
                    json={"town_code": PG_TOWN, "staff_number": staff, "password": password},
                )
                assert r.status_code == 200, r.text
                return {"Authorization": f"Bearer {r.headers['x-session-token']}"}

            clerk = login("1001")
            found = c.get("/api/persons", params={"q": "ア"}, headers=clerk).json()
            assert found
            number = found[0]["addressee_number"]
            assert c.get(f"/api/persons/{number}", headers=clerk).status_code == 200
            pdf = c.post(
                "/api/certificates",
                json={"kind": "resident", "addressee_number": number},
                headers=clerk,
            )
            assert pdf.status_code == 200
            assert pdf.content.startswith(b"%PDF")
            c.headers.update(login("9001"))
            exported = run_export(c, "residents")
            assert exported.status_code == 200, exported.text
            with p.read_town(PG_TOWN) as town:  # every person, 除票 included
                people = town.session.scalar(
                    select(func.count()).select_from(PersonVersion).where(PersonVersion.is_current)
                )
            assert exported.content.decode("utf-8").count("\r\n") == 1 + (people or 0)
        with p.read_town(PG_TOWN) as town:
            report = audit_service.verify(town.session)
            assert report.ok
            actions = {
                a for (a,) in town.session.execute(select(AuditEntry.action).distinct()).all()
            }
        assert {"login", "search", "view_person", "certificate_issued"} <= actions
        assert "export_residents" in actions
        # the CLI on the same centre: init-town makes the next town's database on the server
        env = {"LGCLOUD_DATABASE_URL": url, "LGCLOUD_DATA_DIR": str(tmp_path / "data")}
        runner = CliRunner()
        made = runner.invoke(cli, ["init-town", GEN_TOWN, "関川村"], env=env)
        assert made.exit_code == 0, made.output
        listed = runner.invoke(cli, ["towns"], env=env)
        assert GEN_TOWN in listed.output and PG_TOWN in listed.output
        other = Platform(tmp_path / "data", database_url=url)
        try:
            assert other.town_engine(GEN_TOWN).url.database == f"{name}_{GEN_TOWN}"
        finally:
            other.dispose()
    finally:
        p.dispose()


def test_a_database_server_outage_is_503_and_the_counter_resumes_after_it(
    tmp_path: Path,
) -> None:
    """The centre's PostgreSQL server goes away (as during a switchover to its standby, or
    a restart): counter requests get 503 with Retry-After and a Japanese message, never a
    500; when the server is back the same process serves again (stale pooled connections
    are replaced: pool_pre_ping)."""
    from html import escape  # noqa: PLC0415

    from fastapi.testclient import TestClient  # noqa: PLC0415

    from lgcloud.auth.roles import Role  # noqa: PLC0415
    from lgcloud.db.pgserver import throwaway_server  # noqa: PLC0415
    from lgcloud.web.admission import DATABASE_UNAVAILABLE  # noqa: PLC0415
    from lgcloud.web.app import create_app  # noqa: PLC0415

    with throwaway_server() as server:
        p = Platform(tmp_path / "data", database_url=server.create_database("centre"))
        onboard_town(p, PG_TOWN, "聖籠町", prefecture="新潟県", recovery_key=False)
        add_clerks(p, PG_TOWN, {"1001": [Role.COUNTER_CLERK]}, "outage-password-1")
        family = record_family(p, PG_TOWN, "髙橋")
        with TestClient(create_app(p)) as c:
            r = c.post(
                "/api/login",
                json={
                    "town_code": PG_TOWN,
                    "staff_number": "1001",
                    "password": "outage-password-1",
                },
            )
            assert r.status_code == 200, r.text
            auth = {"Authorization": f"Bearer {r.headers['x-session-token']}"}
            assert c.get(f"/api/persons/{family['head']}", headers=auth).status_code == 200
            server.stop("immediate")  # as if its machine died
            for path in (f"/api/persons/{family['head']}", "/api/persons?q=タカハシ"):
                r = c.get(path, headers=auth)
                assert r.status_code == 503, r.text
                assert r.headers["retry-after"] == "5"
                assert r.json()["detail"] == DATABASE_UNAVAILABLE
            page = c.get(f"/persons/{family['head']}", headers=auth)
            assert page.status_code == 503 and escape(DATABASE_UNAVAILABLE) in page.text
            assert "データベースに接続できません" in page.text
            server.start()
            r = c.get(f"/api/persons/{family['head']}", headers=auth)
            assert r.status_code == 200, r.text
            assert c.get("/api/persons?q=タカハシ", headers=auth).status_code == 200
        p.dispose()


def test_a_switchover_to_the_standby_loses_no_acknowledged_change(tmp_path: Path) -> None:
    """The centre on a primary with a synchronous streaming standby (as Patroni runs it in
    synchronous mode), reached by a multi-host URL that asks for the read-write server.
    The primary dies; until the standby is promoted the counter gets 503, never a 500;
    then the same process serves from the new primary, every change acknowledged before
    the failure is there, and new changes are recorded."""
    from fastapi.testclient import TestClient  # noqa: PLC0415
    from sqlalchemy import text  # noqa: PLC0415

    from lgcloud.auth.roles import Role  # noqa: PLC0415
    from lgcloud.db.engine import make_engine  # noqa: PLC0415
    from lgcloud.db.pgserver import standby_of, throwaway_server  # noqa: PLC0415
    from lgcloud.web.app import create_app  # noqa: PLC0415

    password = "switchover-password-1"
    with throwaway_server() as primary:
        primary.create_database("centre")
        with standby_of(primary) as standby:
            admin = make_engine(primary.admin_url)
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("ALTER SYSTEM SET synchronous_standby_names = '*'"))
                c.execute(text("SELECT pg_reload_conf()"))
                deadline = time.monotonic() + 30
                while c.scalar(text("SELECT count(*) FROM pg_stat_replication "
                                    "WHERE sync_state = 'sync'")) != 1:  # fmt: skip
                    assert time.monotonic() < deadline, "the standby did not become synchronous"
                    time.sleep(0.1)
            admin.dispose()
            url = (
                f"postgresql+psycopg://{primary.superuser}@/centre"
                f"?host={primary.socket_dir}:{primary.port}"
                f"&host={standby.socket_dir}:{standby.port}&target_session_attrs=read-write"
            )
            p = Platform(tmp_path / "data", database_url=url)
            onboard_town(p, PG_TOWN, "聖籠町", prefecture="新潟県", recovery_key=False)
            add_clerks(p, PG_TOWN, {"1001": [Role.COUNTER_CLERK, Role.BUSINESS_STAFF]}, password)
            with TestClient(create_app(p)) as c:
                r = c.post(
                    "/api/login",
                    json={"town_code": PG_TOWN, "staff_number": "1001", "password": password},
                )
                assert r.status_code == 200, r.text
                auth = {"Authorization": f"Bearer {r.headers['x-session-token']}"}
                before = record_family(p, PG_TOWN, "髙橋")  # acknowledged: committed
                primary.stop("immediate")  # the primary's machine dies
                r = c.get(f"/api/persons/{before['head']}", headers=auth)
                assert r.status_code == 503, r.text  # no primary yet: refused, not 500
                standby.promote()
                deadline = time.monotonic() + 30
                while (
                    r := c.get(f"/api/persons/{before['head']}", headers=auth)
                ).status_code == 503:
                    assert time.monotonic() < deadline, r.text
                    time.sleep(0.2)
                assert r.status_code == 200, r.text
                assert r.json()["person"]["addressee_number"] == before["head"]
                after = record_family(p, PG_TOWN, "佐藤")  # written on the new primary
                found = c.get(f"/api/persons/{after['head']}", headers=auth)
                assert found.status_code == 200, found.text
            p.dispose()
