"""Migrations on both databases: upgrade from empty to head, downgrade one step, upgrade again; the migrated
schema matches the models (no pending autogenerate diff)."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

import centrex.db.models  # noqa: F401
from centrex.db import migrate
from centrex.db.base import Base
from tests.conftest import ThrowawayDatabase


def _tables_and_diff(url: str) -> tuple[set[str], list[object]]:
    async def run() -> tuple[set[str], list[object]]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:

                def check(sync_conn: object) -> tuple[set[str], list[object]]:
                    tables = set(inspect(sync_conn).get_table_names())
                    ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})  # type: ignore[arg-type]
                    return tables, list(compare_metadata(ctx, Base.metadata))

                return await conn.run_sync(check)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@pytest.mark.integration
def test_upgrade_downgrade_upgrade(fresh_database: ThrowawayDatabase) -> None:
    url = fresh_database.url
    migrate.upgrade(url)
    head = migrate.head_revision()
    assert migrate.current_revision(url) == head
    tables, diff = _tables_and_diff(url)
    assert {"tenants", "extensions", "api_keys", "outbox_events", "audit_entries"} <= tables
    assert diff == [], f"models and migrations disagree: {diff}"
    migrate.downgrade(url, "-1")
    assert migrate.current_revision(url) != head
    migrate.upgrade(url)
    assert migrate.current_revision(url) == head
