"""Decisions arriving in batches (IngestEventBatch): each applied once, on its own."""

from __future__ import annotations

import grpc
import pytest
from customs.events.v1 import event_delivery_service_pb2 as events_pb2
from customs.events.v1 import event_delivery_service_pb2_grpc as events_grpc
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from exam_reports_support import Client, create_office, decision_event
from google.rpc import code_pb2

from customs_kit.auth import Role
from customs_kit.testing.services import RunningService, SigningKeys

INGEST_DECISION = "/customs.exam_reports.v1.ExamReportsService/IngestDecisionEvent"


def envelope(request: pb2.IngestDecisionEventRequest) -> events_pb2.EventEnvelope:
    return events_pb2.EventEnvelope(
        event_id=request.event_id, method=INGEST_DECISION, payload=request.SerializeToString()
    )


async def ingest(
    service: RunningService, keys: SigningKeys, *envelopes: events_pb2.EventEnvelope
) -> list[tuple[str, int]]:
    response = await events_grpc.EventDeliveryServiceStub(service.channel).IngestEventBatch(
        events_pb2.IngestEventBatchRequest(events=envelopes),
        metadata=keys.metadata(Role.SERVICE, subject="scoring"),
    )
    return [(result.event_id, result.code) for result in response.results]


async def declarations(client: Client) -> list[str]:
    listed = await client.supervisor.ListExaminations(pb2.ListExaminationsRequest())
    return sorted(task.declaration_number for task in listed.examinations)


async def test_a_redelivered_batch_opens_no_second_task(
    client: Client, service: RunningService, test_keys: SigningKeys
) -> None:
    await create_office(client)
    first = decision_event(declaration_number="DCL-1")
    second = decision_event(declaration_number="DCL-2")

    answers = [
        await ingest(service, test_keys, envelope(first), envelope(second)),
        # A lost answer makes the relay send the batch again, maybe with more events.
        await ingest(service, test_keys, envelope(second), envelope(first), envelope(first)),
    ]

    assert answers == [
        [(first.event_id, code_pb2.OK), (second.event_id, code_pb2.OK)],
        [
            (second.event_id, code_pb2.OK),
            (first.event_id, code_pb2.OK),
            (first.event_id, code_pb2.OK),
        ],
    ]
    assert await declarations(client) == ["DCL-1", "DCL-2"]


async def test_each_event_of_a_batch_is_validated_and_refused_on_its_own(
    client: Client, service: RunningService, test_keys: SigningKeys
) -> None:
    await create_office(client)
    good = decision_event(declaration_number="DCL-1")
    unknown_office = decision_event(declaration_number="DCL-2", office="offices/NOWHERE")
    invalid = decision_event(declaration_number="DCL-3")
    invalid.source_service = "criteria"
    other_rpc = events_pb2.EventEnvelope(
        event_id="e-4",
        method="/customs.exam_reports.v1.ExamReportsService/CreateOffice",
        payload=b"",
    )

    answers = await ingest(
        service,
        test_keys,
        envelope(unknown_office),
        envelope(invalid),
        other_rpc,
        events_pb2.EventEnvelope(event_id="e-5", method=INGEST_DECISION, payload=b"\xff\xff"),
        envelope(good),
    )

    assert answers == [
        (unknown_office.event_id, code_pb2.FAILED_PRECONDITION),
        (invalid.event_id, code_pb2.INVALID_ARGUMENT),
        ("e-4", code_pb2.UNIMPLEMENTED),
        ("e-5", code_pb2.INVALID_ARGUMENT),
        (good.event_id, code_pb2.OK),
    ]
    assert await declarations(client) == ["DCL-1"]


async def test_only_services_deliver_batches(
    client: Client, service: RunningService, test_keys: SigningKeys
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as officer:
        await events_grpc.EventDeliveryServiceStub(service.channel).IngestEventBatch(
            events_pb2.IngestEventBatchRequest(events=[envelope(decision_event())]),
            metadata=test_keys.metadata(Role.OFFICER),
        )

    assert officer.value.code() == grpc.StatusCode.PERMISSION_DENIED
