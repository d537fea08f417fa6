"""A service's Alembic history creates the kit's tables and matches its models."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from customs_kit.migrations import (
    assert_models_match_migrations,
    downgrade_migrations,
    run_migrations,
)


async def _tables(url: str) -> dict[str, Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: {
                    name: {
                        "pk": inspect(sync).get_pk_constraint(name)["name"],
                        "indexes": {index["name"] for index in inspect(sync).get_indexes(name)},
                    }
                    for name in inspect(sync).get_table_names()
                }
            )
    finally:
        await engine.dispose()


async def test_upgrade_creates_the_kit_tables_with_conventional_names(
    kit_database_url: str, migrations: str
) -> None:
    run_migrations(kit_database_url, migrations)

    tables = await _tables(kit_database_url)

    assert {"outbox_events", "inbox_events", "idempotency_keys", "change_feed", "widgets"} <= set(
        tables
    )
    assert tables["inbox_events"]["pk"] == "pk_inbox_events"
    assert tables["idempotency_keys"]["pk"] == "pk_idempotency_keys"
    assert "ix_outbox_events_pending" in tables["outbox_events"]["indexes"]
    assert "ix_change_feed_kind_key_revision" in tables["change_feed"]["indexes"]


async def test_upgrade_down_and_up_again_leaves_the_same_schema(
    kit_database_url: str, migrations: str
) -> None:
    run_migrations(kit_database_url, migrations)
    first = await _tables(kit_database_url)

    downgrade_migrations(kit_database_url, migrations)
    assert set(await _tables(kit_database_url)) <= {"alembic_version"}

    run_migrations(kit_database_url, migrations)
    assert await _tables(kit_database_url) == first


def test_models_match_migrations(
    kit_database_url: str, migrations: str, schema: dict[str, Any]
) -> None:
    assert_models_match_migrations(kit_database_url, migrations, schema["metadata"])


def test_a_model_without_migration_is_reported(
    kit_database_url: str, migrations: str, schema: dict[str, Any]
) -> None:
    from sqlalchemy import Column, Integer, Table

    metadata = schema["metadata"]
    Table("gadgets", metadata, Column("id", Integer, primary_key=True))

    with pytest.raises(AssertionError, match="gadgets"):
        assert_models_match_migrations(kit_database_url, migrations, metadata)
