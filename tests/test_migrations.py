"""The Alembic migrations build exactly the schema the SQLAlchemy models describe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, inspect, text
from sqlalchemy.exc import IntegrityError

from conftest import TOWN_A, TOWN_B
from lgcloud.continuity import models as continuity_models  # noqa: F401  (its tables)
from lgcloud.db import migrate
from lgcloud.db.engine import make_engine, sqlite_url
from lgcloud.schema import PlatformBase, TownBase
from lgcloud.tenancy.platform import Platform

# SQLite files themselves (copies, replicas, town nodes, migrations on files): the
# PostgreSQL pass of ./scripts/test leaves these out
pytestmark = pytest.mark.sqlite_only


def _diff(engine: Engine, metadata: MetaData) -> list[Any]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(ctx, metadata))


def _reflected(engine: Engine, metadata: MetaData) -> dict[str, Any]:
    """Columns, keys, indexes and foreign keys as the database has them."""
    insp = inspect(engine)
    out: dict[str, Any] = {}
    for table in metadata.tables:
        out[table] = {
            "columns": {c["name"]: c["nullable"] for c in insp.get_columns(table)},
            "pk": sorted(insp.get_pk_constraint(table)["constrained_columns"]),
            "indexes": {
                i["name"]: (tuple(i["column_names"]), bool(i["unique"]))
                for i in insp.get_indexes(table)
            },
            "fks": sorted(
                (tuple(fk["constrained_columns"]), fk["referred_table"])
                for fk in insp.get_foreign_keys(table)
            ),
        }
    return out


def _declared(metadata: MetaData) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, table in metadata.tables.items():
        out[name] = {
            "columns": {c.name: c.nullable for c in table.columns},
            "pk": sorted(c.name for c in table.primary_key.columns),
            "indexes": {
                i.name: (tuple(c.name for c in i.columns), bool(i.unique)) for i in table.indexes
            },
            "fks": sorted(((fk.parent.name,), fk.column.table.name) for fk in table.foreign_keys),
        }
    return out


def _unique_columns(engine: Engine, table: str) -> set[tuple[str, ...]]:
    insp = inspect(engine)
    return {tuple(u["column_names"]) for u in insp.get_unique_constraints(table)}


@pytest.mark.parametrize("code", [TOWN_A, TOWN_B])
def test_town_database_matches_the_models(platform: Platform, code: str) -> None:
    engine = platform.town_engine(code)
    assert _diff(engine, TownBase.metadata) == []
    assert _reflected(engine, TownBase.metadata) == _declared(TownBase.metadata)
    assert ("staff_number",) in _unique_columns(engine, "clerks")
    assert ("name",) in _unique_columns(engine, "districts")
    assert migrate.current_revision(engine) == migrate.head_revision("town")


def test_platform_database_matches_the_models(platform: Platform) -> None:
    assert _diff(platform.engine, PlatformBase.metadata) == []
    assert _reflected(platform.engine, PlatformBase.metadata) == _declared(PlatformBase.metadata)
    assert migrate.current_revision(platform.engine) == migrate.head_revision("platform")


def test_town_and_platform_tables_are_separate(platform: Platform) -> None:
    town_tables = set(inspect(platform.town_engine(TOWN_A)).get_table_names())
    platform_tables = set(inspect(platform.engine).get_table_names())
    assert set(TownBase.metadata.tables) <= town_tables
    assert set(PlatformBase.metadata.tables) <= platform_tables
    assert not set(PlatformBase.metadata.tables) & town_tables  # no sessions in a town file
    assert not set(TownBase.metadata.tables) & platform_tables  # no residents centrally


def test_town_database_uses_wal_and_foreign_keys(platform: Platform) -> None:
    for engine in (platform.town_engine(TOWN_A), platform.engine):
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    # and foreign keys are enforced, not just declared
    with pytest.raises(IntegrityError), platform.town_engine(TOWN_A).begin() as conn:
        conn.execute(
            text("INSERT INTO persons (addressee_number, created_event_id) VALUES ('1', 999999)")
        )


@pytest.mark.parametrize(("schema", "metadata"), [("town", TownBase), ("platform", PlatformBase)])
def test_downgrade_and_upgrade_again(tmp_path: Path, schema: migrate.Schema, metadata: Any) -> None:
    engine = make_engine(sqlite_url(str(tmp_path / f"{schema}.sqlite")))
    try:
        migrate.upgrade(engine, schema)
        cfg = migrate.alembic_config(schema)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(engine, schema)
        assert _diff(engine, metadata.metadata) == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("schema", ["town", "platform"])
def test_the_declared_head_is_alembics(schema: migrate.Schema) -> None:
    """The shortcut that skips alembic for a database already at the newest revision reads
    the newest from the scripts itself: it must be alembic's."""
    assert migrate.declared_head(schema) == migrate.head_revision(schema)


def test_a_database_at_the_newest_revision_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alembic import command  # noqa: PLC0415

    from lgcloud.db.engine import make_engine, sqlite_url  # noqa: PLC0415

    engine = make_engine(sqlite_url(str(tmp_path / "p.sqlite")))
    migrate.upgrade(engine, "platform")
    calls: list[str] = []
    monkeypatch.setattr(command, "upgrade", lambda cfg, revision: calls.append(revision))
    migrate.upgrade(engine, "platform")
    assert calls == []  # at the newest: alembic not run
    with engine.begin() as conn:  # an older marker: alembic decides again
        conn.execute(text("UPDATE alembic_version SET version_num = 'b7cf444e5a13'"))
    migrate.upgrade(engine, "platform")
    assert calls == ["head"]
    engine.dispose()
