"""Alembic environment for the town database; run through lgcloud.db.migrate."""

from __future__ import annotations

from alembic import context

from lgcloud.schema import TownBase

target_metadata = TownBase.metadata
connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
