"""The compliance database's Alembic history: complete, reversible, and true to the models."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from compliance.adapters.orm import metadata
from compliance.entrypoints.server import MIGRATIONS
from customs_kit.migrations import (
    assert_models_match_migrations,
    downgrade_migrations,
    run_migrations,
)


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    return set(names) - {"alembic_version"}


async def test_migrations_go_up_down_and_up_again(database_url: str) -> None:
    run_migrations(database_url, MIGRATIONS)
    assert await _tables(database_url) == set(metadata.tables)

    downgrade_migrations(database_url, MIGRATIONS)
    assert await _tables(database_url) == set()

    run_migrations(database_url, MIGRATIONS)
    assert await _tables(database_url) == set(metadata.tables)


def test_the_models_match_the_migrations(database_url: str) -> None:
    assert_models_match_migrations(database_url, MIGRATIONS, metadata)
