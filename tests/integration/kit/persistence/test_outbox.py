"""Events added in a unit of work reach the receiving service through the relay."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest
from opentelemetry.instrumentation.grpc import aio_client_interceptors
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import select

from customs_kit.db import Database, OutboxEvent
from customs_kit.dead_letters import list_dead_letters, retry_dead_letters
from customs_kit.errors import FailedPrecondition, NotFound
from customs_kit.outbox import OutboxRelay

#: The ``sink`` fixture's receiver (``conftest.Sink``).
Sink = Any

TOKEN = (("authorization", "Bearer service-token"),)
Tracing = tuple[TracerProvider, InMemorySpanExporter]


async def eventually(condition: Callable[[], bool | Awaitable[bool]], within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await _holds(condition):
        if loop.time() > deadline:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.02)


async def _holds(condition: Callable[[], bool | Awaitable[bool]]) -> bool:
    result = condition()
    return await result if inspect.isawaitable(result) else bool(result)


@pytest.fixture
async def channel(sink: Sink, tracing: Tracing) -> AsyncIterator[grpc.aio.Channel]:
    provider, _ = tracing
    async with grpc.aio.insecure_channel(
        f"127.0.0.1:{sink.port}", interceptors=aio_client_interceptors(tracer_provider=provider)
    ) as channel:
        yield channel


def relay_for(
    database: Database,
    channel: grpc.aio.Channel,
    tracing: Tracing,
    *,
    poll_interval: float = 30.0,
    batch_size: int = 100,
    lease_seconds: float | None = None,
) -> OutboxRelay:
    return OutboxRelay(
        database,
        {"sink": channel},
        lambda: TOKEN,
        tracer_provider=tracing[0],
        poll_interval=poll_interval,
        batch_size=batch_size,
        lease_seconds=lease_seconds,
    )


async def add_event(database: Database, event_id: str, method: str, payload: bytes) -> None:
    async with database.unit_of_work() as uow:
        uow.outbox.add("sink", method, payload, event_id)
        await uow.commit()


async def rows(database: Database) -> list[OutboxEvent]:
    async with database.session_factory() as session:
        return list((await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))).all())


async def test_a_committed_event_is_delivered_at_once_with_token_and_idempotency_key(
    database: Database, sink: Sink, channel: grpc.aio.Channel, tracing: Tracing
) -> None:
    relay = relay_for(database, channel, tracing)
    await relay.start()
    try:
        # The relay polls only every 30 s: delivery within 5 s means the commit woke it.
        await add_event(database, "event-1", sink.method, b"first")
        await add_event(database, "event-2", sink.method, b"second")
        await eventually(lambda: len(sink.received) == 2)
    finally:
        await relay.stop()

    assert sink.payloads == [b"first", b"second"]
    _, metadata = sink.received[0]
    assert metadata["authorization"] == "Bearer service-token"
    assert metadata["idempotency-key"] == "event-1"
    delivered = await rows(database)
    assert all(row.delivered_at is not None and row.attempts == 1 for row in delivered)


async def test_a_failing_receiver_is_retried_until_it_accepts(
    database: Database, sink: Sink, channel: grpc.aio.Channel, tracing: Tracing
) -> None:
    sink.failures_left = 2
    relay = relay_for(database, channel, tracing)
    await relay.start()
    try:
        await add_event(database, "event-1", sink.method, b"payload")
        await eventually(lambda: len(sink.received) == 1)
    finally:
        await relay.stop()

    assert sink.attempts == 3
    [row] = await rows(database)
    assert row.attempts == 3
    assert row.delivered_at is not None
    assert row.last_error is None


async def test_a_refused_event_is_dead_lettered_at_once_counted_and_delivered_when_retried(
    database: Database, sink: Sink, channel: grpc.aio.Channel, tracing: Tracing
) -> None:
    sink.failures_left = 1
    sink.failure_code = grpc.StatusCode.INVALID_ARGUMENT
    reader = InMemoryMetricReader()
    relay = OutboxRelay(
        database,
        {"sink": channel},
        lambda: TOKEN,
        tracer_provider=tracing[0],
        meter_provider=MeterProvider(metric_readers=[reader]),
        poll_interval=0.05,
    )
    await relay.start()
    try:
        await add_event(database, "event-1", sink.method, b"payload")
        await add_event(database, "event-2", sink.method, b"fine")
        await eventually(lambda: len(sink.received) == 1)
        await eventually(_has_error(database))
        # Polled every 50 ms: a dead letter is not tried again by itself.
        await asyncio.sleep(0.3)
        assert sink.attempts == 2
        [dead] = await list_dead_letters(database, destination=None, after_id=0, limit=10)
        assert (dead.event_id, dead.attempts) == ("event-1", 1)
        assert dead.error == "INVALID_ARGUMENT: receiver not ready"
        assert _dead_lettered_count(reader) == 1

        await retry_dead_letters(database, ["event-1"])
        await eventually(lambda: len(sink.received) == 2)
    finally:
        await relay.stop()

    assert sink.payloads == [b"fine", b"payload"]
    assert await list_dead_letters(database, destination=None, after_id=0, limit=10) == []
    assert all(row.delivered_at is not None for row in await rows(database))


def _dead_lettered_count(reader: InMemoryMetricReader) -> int:
    data = reader.get_metrics_data()
    assert data is not None
    return sum(
        int(point.value)
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "customs.outbox.dead_lettered"
        for point in metric.data.data_points  # type: ignore[union-attr]
    )


async def test_only_a_dead_lettered_event_can_be_retried(database: Database, sink: Sink) -> None:
    await add_event(database, "event-1", sink.method, b"pending")

    with pytest.raises(FailedPrecondition) as refused:
        await retry_dead_letters(database, ["event-1"])
    with pytest.raises(NotFound):
        await retry_dead_letters(database, ["no-such-event"])

    assert refused.value.reason == "NOT_DEAD_LETTERED"
    assert [v.subject for v in refused.value.violations] == ["events/event-1"]


def _has_error(database: Database) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return any(row.last_error for row in await rows(database))

    return check


async def test_the_delivery_continues_the_trace_of_the_change(
    database: Database, sink: Sink, channel: grpc.aio.Channel, tracing: Tracing
) -> None:
    provider, exporter = tracing
    with provider.get_tracer("test").start_as_current_span("assess declaration") as cause:
        await add_event(database, "event-1", sink.method, b"payload")
    cause_context = cause.get_span_context()
    relay = relay_for(database, channel, tracing)
    await relay.start()
    try:
        await eventually(lambda: len(sink.received) == 1)
    finally:
        await relay.stop()

    [relay_span] = [s for s in exporter.get_finished_spans() if s.name.startswith("outbox relay")]
    assert relay_span.name == f"outbox relay {sink.method}"
    assert relay_span.kind == SpanKind.PRODUCER
    assert relay_span.context.trace_id == cause_context.trace_id
    assert relay_span.parent is not None
    assert relay_span.parent.span_id == cause_context.span_id
    assert relay_span.attributes is not None
    assert relay_span.attributes["customs.event_id"] == "event-1"
    assert relay_span.attributes["customs.destination"] == "sink"
    # The receiver gets the same trace through the instrumented channel.
    _, metadata = sink.received[0]
    assert metadata["traceparent"].split("-")[1] == format(cause_context.trace_id, "032x")


async def test_an_event_of_a_rolled_back_unit_of_work_is_never_delivered(
    database: Database, sink: Sink, channel: grpc.aio.Channel, tracing: Tracing
) -> None:
    relay = relay_for(database, channel, tracing, poll_interval=0.05)
    await relay.start()
    try:
        with pytest.raises(RuntimeError):
            await failing_handler(database, sink.method)
        async with database.unit_of_work() as uow:
            uow.outbox.add("sink", sink.method, b"also never", "event-2")
            await uow.rollback()
        await add_event(database, "event-3", sink.method, b"committed")
        await eventually(lambda: len(sink.received) == 1)
        await asyncio.sleep(0.2)
    finally:
        await relay.stop()

    assert sink.payloads == [b"committed"]
    assert [row.event_id for row in await rows(database)] == ["event-3"]


async def test_events_stored_before_a_crash_are_delivered_by_the_next_relay(
    database: Database,
    kit_database_url: str,
    sink: Sink,
    channel: grpc.aio.Channel,
    tracing: Tracing,
) -> None:
    async with grpc.aio.insecure_channel("127.0.0.1:1") as nowhere:
        # What the crashed relay had claimed when it died is retried once its lease ends.
        crashed = relay_for(database, nowhere, tracing, lease_seconds=0.5)
        await crashed.start()
        await add_event(database, "event-1", sink.method, b"one")
        await add_event(database, "event-2", sink.method, b"two")
        await eventually(lambda: _all_attempted(database))
        # A crash: the relay's task dies without stop() cleaning anything up.
        task = crashed._task
        assert task is not None
        task.cancel()
    await database.dispose()

    restarted = Database(kit_database_url)
    relay = relay_for(restarted, channel, tracing)
    await relay.start()
    try:
        await eventually(lambda: len(sink.received) == 2)
    finally:
        await relay.stop()
        await restarted.dispose()
    assert sorted(sink.payloads) == [b"one", b"two"]


async def failing_handler(database: Database, method: str) -> None:
    async with database.unit_of_work() as uow:
        uow.outbox.add("sink", method, b"never", "event-1")
        raise RuntimeError("the handler failed")


async def _all_attempted(database: Database) -> bool:
    found = await rows(database)
    return len(found) == 2 and all(row.attempts > 0 for row in found)


async def test_two_relays_on_one_database_deliver_each_event_once(
    database: Database,
    kit_database_url: str,
    sink: Sink,
    channel: grpc.aio.Channel,
    tracing: Tracing,
) -> None:
    sink.delay = 0.01
    other = Database(kit_database_url)
    relays = [
        relay_for(database, channel, tracing, poll_interval=0.05, batch_size=5),
        relay_for(other, channel, tracing, poll_interval=0.05, batch_size=5),
    ]
    async with database.unit_of_work() as uow:
        for number in range(30):
            uow.outbox.add("sink", sink.method, str(number).encode(), f"event-{number}")
        await uow.commit()
    for relay in relays:
        await relay.start()
    try:
        await eventually(lambda: len(sink.received) >= 30)
        await asyncio.sleep(0.2)
    finally:
        for relay in relays:
            await relay.stop()
        await other.dispose()

    assert sorted(sink.payloads, key=int) == [str(number).encode() for number in range(30)]


async def test_stop_lets_the_delivery_in_flight_finish(
    database: Database, sink: Sink, channel: grpc.aio.Channel, tracing: Tracing
) -> None:
    sink.delay = 0.3
    relay = relay_for(database, channel, tracing)
    await relay.start()
    await add_event(database, "event-1", sink.method, b"slow")
    await eventually(lambda: sink.attempts == 1)

    await relay.stop()

    [row] = await rows(database)
    assert row.delivered_at is not None
    assert sink.payloads == [b"slow"]
