"""The audit_referral migrations build exactly the schema the models describe."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from audit_referral.adapters.orm import metadata
from customs_kit.migrations import (
    assert_models_match_migrations,
    downgrade_migrations,
    run_migrations,
)

_MIGRATIONS = "audit_referral:migrations"


async def _schema(url: str) -> dict[str, set[str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: {
                    table: {column["name"] for column in inspect(sync).get_columns(table)}
                    | {index["name"] or "" for index in inspect(sync).get_indexes(table)}
                    for table in inspect(sync).get_table_names()
                }
            )
    finally:
        await engine.dispose()


async def test_migrations_go_up_down_and_up_to_the_same_schema(database_url: str) -> None:
    run_migrations(database_url, _MIGRATIONS)
    first = await _schema(database_url)

    downgrade_migrations(database_url, _MIGRATIONS)
    emptied = await _schema(database_url)
    run_migrations(database_url, _MIGRATIONS)

    assert {"referrals", "audit_cases", "audit_findings", "inbox_events", "outbox_events"} <= set(
        first
    )
    assert set(emptied) <= {"alembic_version"}
    assert await _schema(database_url) == first


def test_the_models_match_the_migrations(database_url: str) -> None:
    assert_models_match_migrations(database_url, _MIGRATIONS, metadata)
