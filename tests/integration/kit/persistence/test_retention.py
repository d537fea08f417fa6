"""Expired rows of the kit's tables are deleted; whatever may still be needed is kept."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import insert, select, update

from customs_kit.db import Database, IdempotencyKey, OutboxEvent, utcnow
from customs_kit.idempotency import run_idempotent
from customs_kit.outbox import OutboxRelay
from customs_kit.retention import Pruned, RetentionPruner

Sink = Any
Tracing = tuple[TracerProvider, InMemorySpanExporter]

METHOD = "/test.retention.v1.RetentionService/Create"
DAY = timedelta(days=1)


def pruner(database: Database, *, batch_size: int = 1_000, **options: Any) -> RetentionPruner:
    return RetentionPruner(
        database,
        outbox_retention=options.pop("outbox_retention", 7 * DAY),
        idempotency_retention=options.pop("idempotency_retention", 7 * DAY),
        batch_size=batch_size,
        batch_pause=0.0,
        **options,
    )


async def add_outbox_event(
    database: Database, event_id: str, *, age: timedelta, delivered_after: timedelta | None
) -> None:
    """An event created ``age`` ago and delivered ``delivered_after`` that (None: pending)."""
    created = utcnow() - age
    async with database.session_factory.begin() as session:
        await session.execute(
            insert(OutboxEvent).values(
                event_id=event_id,
                destination="sink",
                method="/test.sink.v1.SinkService/Ingest",
                payload=event_id.encode(),
                created_at=created,
                attempts=0 if delivered_after is None else 1,
                next_attempt_at=created,
                delivered_at=None if delivered_after is None else created + delivered_after,
            )
        )


async def eventually(condition: Callable[[], Awaitable[bool]], within: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await condition():
        if loop.time() > deadline:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.02)


async def outbox_event_ids(database: Database) -> set[str]:
    async with database.session_factory() as session:
        return set((await session.scalars(select(OutboxEvent.event_id))).all())


async def idempotency_request_ids(database: Database) -> set[str]:
    async with database.session_factory() as session:
        return set((await session.scalars(select(IdempotencyKey.request_id))).all())


async def test_old_delivered_events_are_deleted_recent_and_undelivered_ones_kept(
    database: Database,
) -> None:
    await add_outbox_event(database, "old-delivered", age=30 * DAY, delivered_after=DAY)
    # Created long ago but delivered only recently: kept until its delivery is old.
    await add_outbox_event(database, "late-delivered", age=30 * DAY, delivered_after=28 * DAY)
    await add_outbox_event(database, "recent-delivered", age=DAY, delivered_after=timedelta(0))
    await add_outbox_event(database, "old-undelivered", age=365 * DAY, delivered_after=None)
    await add_outbox_event(database, "old-dead-letter", age=365 * DAY, delivered_after=None)
    async with database.session_factory.begin() as session:
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.event_id == "old-dead-letter")
            .values(dead_lettered_at=utcnow() - 364 * DAY, last_error="INVALID_ARGUMENT: bad")
        )

    pruned = await pruner(database).prune_once()

    assert pruned == Pruned(outbox_events=1, idempotency_keys=0)
    assert await outbox_event_ids(database) == {
        "late-delivered",
        "recent-delivered",
        "old-undelivered",
        "old-dead-letter",
    }


def _message_types() -> tuple[type[Message], type[Message]]:
    file = descriptor_pb2.FileDescriptorProto(
        name="test_retention.proto", package="test.retention.v1", syntax="proto3"
    )
    request = file.message_type.add(name="CreateRequest")
    request.field.add(
        name="request_id", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING
    )
    response = file.message_type.add(name="CreateResponse")
    response.field.add(name="run", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT64)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return (
        message_factory.GetMessageClass(
            pool.FindMessageTypeByName("test.retention.v1.CreateRequest")
        ),
        message_factory.GetMessageClass(
            pool.FindMessageTypeByName("test.retention.v1.CreateResponse")
        ),
    )


class Create:
    """An idempotent call whose response says which run of the work produced it."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.request_type, self.response_type = _message_types()
        self.runs = 0

    async def __call__(self, request_id: str) -> int:
        async def work(_uow: Any) -> Message:
            self.runs += 1
            return self.response_type(run=self.runs)

        response: Any = await run_idempotent(
            self.database,
            METHOD,
            self.request_type(request_id=request_id),
            work,
            self.response_type,
        )
        return int(response.run)


async def age_idempotency_key(database: Database, request_id: str, age: timedelta) -> None:
    async with database.session_factory.begin() as session:
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.request_id == request_id)
            .values(created_at=utcnow() - age)
        )


async def test_old_idempotency_keys_are_deleted_and_recent_ones_still_answer_retries(
    database: Database,
) -> None:
    create = Create(database)
    assert await create("old") == 1
    assert await create("recent") == 2
    await age_idempotency_key(database, "old", 8 * DAY)
    await age_idempotency_key(database, "recent", 6 * DAY)

    pruned = await pruner(database).prune_once()

    assert pruned == Pruned(outbox_events=0, idempotency_keys=1)
    assert await idempotency_request_ids(database) == {"recent"}
    # A retry inside the retention gets the stored response; the work does not run again.
    assert await create("recent") == 2
    assert create.runs == 2
    # Past it the request id is forgotten, so a repeat runs as a new request.
    assert await create("old") == 3


async def test_more_expired_rows_than_one_batch_are_all_deleted(database: Database) -> None:
    create = Create(database)
    for number in range(7):
        await add_outbox_event(database, f"old-{number}", age=30 * DAY, delivered_after=DAY)
        await create(f"old-{number}")
        await age_idempotency_key(database, f"old-{number}", 30 * DAY)
    await add_outbox_event(database, "pending", age=30 * DAY, delivered_after=None)
    await create("recent")

    pruned = await pruner(database, batch_size=3).prune_once()

    assert pruned == Pruned(outbox_events=7, idempotency_keys=7)
    assert await outbox_event_ids(database) == {"pending"}
    assert await idempotency_request_ids(database) == {"recent"}


async def test_the_background_task_prunes_soon_after_start_and_stops_promptly(
    database: Database,
) -> None:
    await add_outbox_event(database, "old-delivered", age=30 * DAY, delivered_after=DAY)
    task = pruner(database, first_run_after=0.05, interval=3600.0)

    async def pruned() -> bool:
        return not await outbox_event_ids(database)

    await task.start()
    try:
        await eventually(pruned, within=5)
    finally:
        async with asyncio.timeout(2):
            await task.stop()

    assert await outbox_event_ids(database) == set()


async def test_pruning_beside_a_running_relay_deletes_only_delivered_events(
    database: Database, sink: Sink, tracing: Tracing
) -> None:
    # No retention at all: every event is deleted the moment it counts as
    # delivered, the harshest case for a relay claiming the same table.
    eager = pruner(database, outbox_retention=timedelta(0), batch_size=5)
    stop = asyncio.Event()
    sent = {f"{number}".encode() for number in range(60)}

    async def all_delivered_and_pruned() -> bool:
        return set(sink.payloads) == sent and not await outbox_event_ids(database)

    async def prune_continuously() -> None:
        while not stop.is_set():
            await eager.prune_once()
            await asyncio.sleep(0.01)

    async with grpc.aio.insecure_channel(f"127.0.0.1:{sink.port}") as channel:
        relay = OutboxRelay(
            database,
            {"sink": channel},
            lambda: (),
            tracer_provider=tracing[0],
            poll_interval=0.05,
            batch_size=10,
        )
        await relay.start()
        pruning = asyncio.create_task(prune_continuously())
        try:
            for payload in sorted(sent):
                async with database.unit_of_work() as uow:
                    uow.outbox.add("sink", sink.method, payload, f"event-{payload.decode()}")
                    await uow.commit()
            await eventually(all_delivered_and_pruned, within=15)
        finally:
            stop.set()
            await pruning
            await relay.stop()

    assert set(sink.payloads) == sent


@pytest.mark.parametrize("batch_size", [0, -1])
async def test_a_batch_must_delete_something(database: Database, batch_size: int) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        pruner(database, batch_size=batch_size)
