"""Apply Alembic migrations to a town or platform database (per town, at creation and upgrade)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

Schema = Literal["town", "platform"]
#: the migration scripts: beside the package's other modules, above this layer, since
#: their environment loads every business area's models (lgcloud.schema); found by path
MIGRATIONS = Path(__file__).parent.parent / "migrations"


def alembic_config(schema: Schema) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS / schema))
    return cfg


def upgrade(engine: Engine, schema: Schema, revision: str = "head") -> None:
    """Bring ``engine``'s database to ``revision`` (default: the newest)."""
    cfg = alembic_config(schema)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(schema: Schema) -> str | None:
    return ScriptDirectory.from_config(alembic_config(schema)).get_current_head()
