"""Alembic environment for the platform database; run through lgcloud.db.migrate."""

from __future__ import annotations

from alembic import context

from lgcloud.continuity import models as continuity_models  # noqa: F401  (its tables)
from lgcloud.schema import PlatformBase

target_metadata = PlatformBase.metadata
connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
