"""The engine every service gets: UTC timestamps, SQLite tuned for concurrency, traced SQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from customs_kit.db import Database, is_unique_violation, utcnow


async def test_timestamps_come_back_as_the_same_instant_in_utc(
    database: Database, schema: dict[str, Any]
) -> None:
    widgets = schema["metadata"].tables["widgets"]
    created = datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    async with database.unit_of_work() as uow:
        await uow.session.execute(insert(widgets).values(name="bolt", created_at=created))
        await uow.commit()

    async with database.session_factory() as session:
        stored = await session.scalar(select(widgets.c.created_at))
        later = await session.scalar(
            select(func.count())
            .select_from(widgets)
            .where(widgets.c.created_at > datetime(2025, 3, 1, 7, 30, tzinfo=UTC))
        )

    assert stored == created
    assert stored is not None
    assert stored.tzinfo == UTC
    assert later == 1


async def test_a_naive_timestamp_is_refused(database: Database, schema: dict[str, Any]) -> None:
    widgets = schema["metadata"].tables["widgets"]
    async with database.unit_of_work() as uow:
        with pytest.raises(StatementError, match="naive datetime"):
            await uow.session.execute(
                insert(widgets).values(name="bolt", created_at=datetime(2025, 3, 1, 9, 30))
            )


async def test_a_unique_violation_is_recognised_by_its_constraint(
    database: Database, schema: dict[str, Any]
) -> None:
    widgets = schema["metadata"].tables["widgets"]
    async with database.unit_of_work() as uow:
        await uow.session.execute(insert(widgets).values(name="bolt", created_at=utcnow()))
        await uow.commit()

    async with database.unit_of_work() as uow:
        with pytest.raises(IntegrityError) as raised:
            await uow.session.execute(insert(widgets).values(name="bolt", created_at=utcnow()))

    assert is_unique_violation(raised.value, "uq_widgets_name")
    if database.dialect == "postgresql":
        assert not is_unique_violation(raised.value, "pk_widgets")


async def test_concurrent_read_then_write_units_of_work_all_commit(
    database: Database, schema: dict[str, Any]
) -> None:
    widgets = schema["metadata"].tables["widgets"]

    async def add_next() -> None:
        async with database.unit_of_work() as uow:
            count = await uow.session.scalar(select(func.count()).select_from(widgets))
            await asyncio.sleep(0.01)
            await uow.session.execute(
                insert(widgets).values(name=f"widget-{count}-{id(uow)}", created_at=utcnow())
            )
            await uow.commit()

    await asyncio.gather(*(add_next() for _ in range(20)))

    async with database.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(widgets)) == 20


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        async with database.session_factory() as session:
            journal = await session.scalar(text("PRAGMA journal_mode"))
            foreign_keys = await session.scalar(text("PRAGMA foreign_keys"))
    finally:
        await database.dispose()

    assert (journal, foreign_keys) == ("wal", 1)


async def test_every_database_traces_its_sql(kit_database_url: str) -> None:
    exporters = []
    databases = []
    for _ in range(2):
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        exporters.append(exporter)
        databases.append(Database(kit_database_url, tracer_provider=provider))
    try:
        for database in databases:
            async with database.session_factory() as session:
                await session.execute(text("SELECT 1"))
    finally:
        for database in databases:
            await database.dispose()

    for exporter in exporters:
        statements = [span.attributes or {} for span in exporter.get_finished_spans()]
        assert any("SELECT 1" in str(attributes.get("db.statement")) for attributes in statements)


async def test_reads_do_not_wait_for_a_writer(database: Database, schema: dict[str, Any]) -> None:
    widgets = schema["metadata"].tables["widgets"]
    async with database.unit_of_work() as uow:
        await uow.session.execute(insert(widgets).values(name="bolt", created_at=utcnow()))
        await uow.commit()
    async with database.unit_of_work() as writer:
        # A write transaction in progress: on SQLite it holds the write lock.
        await writer.session.execute(insert(widgets).values(name="nut", created_at=utcnow()))

        async def read() -> list[str]:
            async with database.unit_of_work(read_only=True) as reader:
                return list(await reader.session.scalars(select(widgets.c.name)))

        # On SQLite a unit of work that takes the lock would wait for busy_timeout (5 s).
        assert await asyncio.wait_for(read(), timeout=2) == ["bolt"]


async def test_a_read_only_unit_of_work_cannot_commit(database: Database) -> None:
    async with database.unit_of_work(read_only=True) as reader:
        with pytest.raises(RuntimeError, match="read-only"):
            await reader.commit()
