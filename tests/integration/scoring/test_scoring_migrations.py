"""The scoring database schema: Alembic history and models agree, and it can be rebuilt."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from customs_kit.migrations import (
    assert_models_match_migrations,
    downgrade_migrations,
    run_migrations,
)
from scoring.adapters.orm import metadata
from scoring.entrypoints.server import MIGRATIONS


async def _schema(url: str) -> dict[str, set[str]]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: {
                    table: {index["name"] or "" for index in inspect(sync).get_indexes(table)}
                    for table in inspect(sync).get_table_names()
                }
            )
    finally:
        await engine.dispose()


async def test_migrations_go_up_down_and_up_again(database_url: str) -> None:
    run_migrations(database_url, MIGRATIONS)
    first = await _schema(database_url)

    downgrade_migrations(database_url, MIGRATIONS)
    assert set(await _schema(database_url)) <= {"alembic_version"}

    run_migrations(database_url, MIGRATIONS)
    assert await _schema(database_url) == first
    assert {"assessments", "rules_journal", "outbox_events", "inbox_events"} <= set(first)


def test_the_models_match_the_migrations(database_url: str) -> None:
    assert_models_match_migrations(database_url, MIGRATIONS, metadata)
