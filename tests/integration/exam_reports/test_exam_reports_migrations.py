"""The exam-reports Alembic history: reversible, and exactly what the models describe."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from customs_kit.migrations import (
    assert_models_match_migrations,
    downgrade_migrations,
    run_migrations,
)
from exam_reports.adapters.orm import metadata
from exam_reports.entrypoints.server import MIGRATIONS


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


async def test_migrations_go_up_down_and_up_again_to_the_same_schema(database_url: str) -> None:
    run_migrations(database_url, MIGRATIONS)
    first = await _schema(database_url)
    assert {
        "offices",
        "examinations",
        "exam_reports",
        "overrides",
        "attachments",
        "attachment_chunks",
        "intelligence_notes",
        "intelligence_note_subjects",
        "inbox_events",
        "outbox_events",
    } <= set(first)
    assert "approve_time" in first["exam_reports"]

    downgrade_migrations(database_url, MIGRATIONS)
    assert set(await _schema(database_url)) <= {"alembic_version"}

    run_migrations(database_url, MIGRATIONS)
    assert await _schema(database_url) == first


def test_the_models_match_the_migrations(database_url: str) -> None:
    assert_models_match_migrations(database_url, MIGRATIONS, metadata)
