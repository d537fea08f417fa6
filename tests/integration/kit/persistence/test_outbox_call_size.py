"""A receiver too slow for a full batch still gets every event: calls shrink until they fit.

Measured under load: a batch call of 100 events ran out of its 10 s every time,
was retried whole, and the outbox never drained (events "late", forever).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
import pytest
from customs.events.v1 import event_delivery_service_pb2 as events_pb2

from customs_kit.db import Database
from customs_kit.outbox import OutboxRelay

METHOD = "/test.sink.v1.SinkService/IngestThingEvent"
#: What applying one event costs the receiver: a call of 100 takes 5 s, of 10 half a second.
SECONDS_PER_EVENT = 0.05
CALL_TIMEOUT = 1.0


@dataclass
class SlowBatchReceiver:
    """A real gRPC server whose batch ingest takes a fixed time per event."""

    port: int = 0
    applied: set[str] = field(default_factory=set)
    call_sizes: list[int] = field(default_factory=list)
    expected: int = 0
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    async def ingest_batch(
        self, request: events_pb2.IngestEventBatchRequest, context: grpc.aio.ServicerContext
    ) -> events_pb2.IngestEventBatchResponse:
        self.call_sizes.append(len(request.events))
        await asyncio.sleep(SECONDS_PER_EVENT * len(request.events))
        self.applied.update(event.event_id for event in request.events)
        if len(self.applied) >= self.expected:
            self.complete.set()
        return events_pb2.IngestEventBatchResponse(
            results=[events_pb2.EventResult(event_id=e.event_id) for e in request.events]
        )


@pytest.fixture
async def receiver() -> AsyncIterator[SlowBatchReceiver]:
    receiver = SlowBatchReceiver()
    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "customs.events.v1.EventDeliveryService",
        {
            "IngestEventBatch": grpc.unary_unary_rpc_method_handler(
                receiver.ingest_batch,
                request_deserializer=events_pb2.IngestEventBatchRequest.FromString,
                response_serializer=events_pb2.IngestEventBatchResponse.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
    receiver.port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield receiver
    await server.stop(grace=None)


async def test_a_receiver_too_slow_for_a_full_batch_gets_every_event_in_smaller_calls(
    database: Database, receiver: SlowBatchReceiver
) -> None:
    event_ids = [f"event-{n:03}" for n in range(100)]
    receiver.expected = len(event_ids)
    async with database.unit_of_work() as uow:
        for event_id in event_ids:
            uow.outbox.add("sink", METHOD, b"payload", event_id)
        await uow.commit()

    async with grpc.aio.insecure_channel(f"127.0.0.1:{receiver.port}") as channel:
        relay = OutboxRelay(
            database,
            {"sink": channel},
            lambda: (("authorization", "Bearer service-token"),),
            call_timeout=CALL_TIMEOUT,
            backoff_base=0.05,
            backoff_cap=0.2,
            poll_interval=0.2,
        )
        await relay.start()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(receiver.complete.wait(), timeout=60)
        finally:
            await relay.stop()

    assert receiver.applied == set(event_ids)
    assert receiver.call_sizes[0] == 100
    # Every call that fits the timeout is at most what the receiver manages in it.
    assert min(receiver.call_sizes) * SECONDS_PER_EVENT < CALL_TIMEOUT
