"""Apply Alembic migrations to a town or platform database (per town, at creation and upgrade)."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

# alembic is imported where it is used: it costs ~0.2 s, and most commands never migrate

Schema = Literal["town", "platform"]
#: the migration scripts: beside the package's other modules, above this layer, since
#: their environment loads every business area's models (lgcloud.schema); found by path
MIGRATIONS = Path(__file__).parent.parent / "migrations"


def alembic_config(schema: Schema) -> Config:
    from alembic.config import Config  # noqa: PLC0415

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS / schema))
    return cfg


_REVISION_RE = re.compile(r'^(down_)?revision\s*=\s*(?:"([0-9a-f]+)"|None)\s*$', re.M)


@functools.cache
def declared_head(schema: Schema) -> str | None:
    """The newest revision of ``schema``, read from the scripts' ``revision`` and
    ``down_revision`` lines: the one no other script follows. Hand-written on purpose: it
    decides in a millisecond that a database needs nothing, where alembic costs ~0.3 s to
    import and run, on every command (issue 14: a command's start). None (so alembic
    decides) unless the history is one straight line."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / schema / "versions").glob("*.py"):
        found = {bool(down): rev for down, rev in _REVISION_RE.findall(script.read_text())}
        if False not in found:
            return None
        revisions.add(found[False])
        if found.get(True):
            parents.add(found[True])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and len(parents) == len(revisions) - 1 else None


def _stored_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:  # no table yet: a new database
        return None


def upgrade(engine: Engine, schema: Schema, revision: str = "head") -> None:
    """Bring ``engine``'s database to ``revision`` (default: the newest); a database already
    at the newest is left alone without loading alembic."""
    if revision == "head" and (head := declared_head(schema)) and _stored_revision(engine) == head:
        return
    from alembic import command  # noqa: PLC0415

    cfg = alembic_config(schema)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(schema: Schema) -> str | None:
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    return ScriptDirectory.from_config(alembic_config(schema)).get_current_head()
