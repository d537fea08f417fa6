"""A relayed event is applied once, however often it is delivered."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from customs_kit.db import Database, utcnow
from customs_kit.inbox import DuplicateEvent, apply_once
from customs_kit.uow import UnitOfWork


class ApplyEvent:
    """An event handler whose effect is one widget row per application."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.table = schema["metadata"].tables["widgets"]
        self.applied = 0
        self.pause = 0.0

    async def __call__(self, uow: UnitOfWork) -> None:
        self.applied += 1
        await uow.session.execute(
            insert(self.table).values(name=f"widget-{self.applied}", created_at=utcnow())
        )
        await asyncio.sleep(self.pause)

    async def count(self, database: Database) -> int:
        async with database.session_factory() as session:
            return int(await session.scalar(select(func.count()).select_from(self.table)) or 0)


@pytest.fixture
def apply_event(schema: dict[str, Any]) -> ApplyEvent:
    return ApplyEvent(schema)


async def test_a_recorded_event_is_seen_once_committed(database: Database) -> None:
    async with database.unit_of_work() as uow:
        assert not await uow.inbox.seen("event-1")
        await uow.inbox.record("event-1", "scoring")
        await uow.commit()

    async with database.unit_of_work() as uow:
        assert await uow.inbox.seen("event-1")
        assert not await uow.inbox.seen("event-2")


async def test_an_event_recorded_in_a_rolled_back_unit_of_work_is_not_seen(
    database: Database,
) -> None:
    async with database.unit_of_work() as uow:
        await uow.inbox.record("event-1", "scoring")

    async with database.unit_of_work() as uow:
        assert not await uow.inbox.seen("event-1")


async def test_recording_an_event_twice_is_a_duplicate(database: Database) -> None:
    async with database.unit_of_work() as uow:
        await uow.inbox.record("event-1", "scoring")
        await uow.commit()

    async with database.unit_of_work() as uow:
        with pytest.raises(DuplicateEvent):
            await uow.inbox.record("event-1", "scoring")


async def test_a_redelivered_event_is_applied_once(
    database: Database, apply_event: ApplyEvent
) -> None:
    first = await apply_once(database, "event-1", "scoring", apply_event)
    second = await apply_once(database, "event-1", "scoring", apply_event)

    assert (first, second) == (True, False)
    assert await apply_event.count(database) == 1


async def test_concurrent_deliveries_of_an_event_apply_it_once(
    database: Database, apply_event: ApplyEvent
) -> None:
    apply_event.pause = 0.2

    outcomes = await asyncio.gather(
        *(apply_once(database, "event-1", "scoring", apply_event) for _ in range(2))
    )

    assert sorted(outcomes) == [False, True]
    assert apply_event.applied == 1
    assert await apply_event.count(database) == 1


async def test_a_failed_application_can_be_retried(
    database: Database, apply_event: ApplyEvent
) -> None:
    async def failing(uow: UnitOfWork) -> None:
        await apply_event(uow)
        raise RuntimeError("criteria unavailable")

    with pytest.raises(RuntimeError):
        await apply_once(database, "event-1", "scoring", failing)
    applied = await apply_once(database, "event-1", "scoring", apply_event)

    assert applied
    assert await apply_event.count(database) == 1
