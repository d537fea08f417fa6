"""Scoring's RED/YELLOW decisions arrive through the outbox and open examination tasks."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from customs.common.v1 import selectivity_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from customs.exam_reports.v1 import examination_pb2
from exam_reports_support import (
    Client,
    create_office,
    decision_event,
    error_details,
    reason,
    violated_fields,
)

from customs_kit.auth import Role


async def _all_tasks(client: Client) -> list[examination_pb2.Examination]:
    response = await client.supervisor.ListExaminations(pb2.ListExaminationsRequest())
    return list(response.examinations)


async def test_a_red_decision_opens_one_task_with_its_instructions_and_level(
    client: Client,
) -> None:
    await create_office(client)
    event = decision_event(
        instructions=("Tunnel the container half-height from the left.", "Weigh ten cartons."),
        criteria=("criteria/cigarettes-2402", "criteria/new-importers"),
    )

    response = await client.scoring.IngestDecisionEvent(event)

    assert not response.duplicate
    task = (
        await client.supervisor.GetExamination(pb2.GetExaminationRequest(name=response.examination))
    ).examination
    assert task.declaration_number == "DCL-0001"
    assert task.declaration_version == 1
    assert task.office == "offices/PORT1"
    assert task.channel == selectivity_pb2.CHANNEL_RED
    assert task.examination_level == selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT
    assert list(task.examiner_instructions) == [
        "Tunnel the container half-height from the left.",
        "Weigh ten cartons.",
    ]
    assert list(task.matched_criteria) == ["criteria/cigarettes-2402", "criteria/new-importers"]
    assert task.reason == examination_pb2.EXAMINATION_REASON_CRITERIA
    assert task.importer.number == "IMP-77"
    assert task.broker.display_name == "Fast Brokers"
    assert task.carrier.number == "CAR-9"
    assert [d.code for d in task.documents_to_check] == ["CERT-ORIGIN"]
    assert task.assessment == event.decision.assessment
    assert task.decide_time == event.decision.decide_time
    # Nobody is on shift at the office, so the task waits for an officer.
    assert task.state == examination_pb2.EXAMINATION_STATE_UNASSIGNED
    assert task.assigned_officer == ""
    assert task.etag
    assert await _all_tasks(client) == [task]


async def test_the_same_event_delivered_three_times_opens_one_task(client: Client) -> None:
    await create_office(client)
    event = decision_event()

    first = await client.scoring.IngestDecisionEvent(event)
    second = await client.scoring.IngestDecisionEvent(event)
    third = await client.scoring.IngestDecisionEvent(event)

    assert [first.duplicate, second.duplicate, third.duplicate] == [False, True, True]
    assert first.examination == second.examination == third.examination != ""
    assert [task.name for task in await _all_tasks(client)] == [first.examination]


async def test_concurrent_deliveries_of_one_event_open_one_task(client: Client) -> None:
    await create_office(client)
    event = decision_event()

    responses = await asyncio.gather(*(client.scoring.IngestDecisionEvent(event) for _ in range(3)))

    assert sorted(response.duplicate for response in responses) == [False, True, True]
    assert len({response.examination for response in responses}) == 1
    assert len(await _all_tasks(client)) == 1


async def test_a_random_yellow_decision_opens_a_document_review_marked_random(
    client: Client,
) -> None:
    await create_office(client)
    event = decision_event(
        channel=selectivity_pb2.CHANNEL_YELLOW,
        level=selectivity_pb2.EXAMINATION_LEVEL_UNSPECIFIED,
        criteria=(),
        random_selection=True,
    )

    response = await client.scoring.IngestDecisionEvent(event)

    task = (
        await client.supervisor.GetExamination(pb2.GetExaminationRequest(name=response.examination))
    ).examination
    assert task.channel == selectivity_pb2.CHANNEL_YELLOW
    assert task.examination_level == selectivity_pb2.EXAMINATION_LEVEL_UNSPECIFIED
    assert task.random_selection
    assert task.reason == examination_pb2.EXAMINATION_REASON_RANDOM


async def test_a_green_or_blue_decision_is_refused_and_opens_nothing(client: Client) -> None:
    await create_office(client)

    for channel in (selectivity_pb2.CHANNEL_GREEN, selectivity_pb2.CHANNEL_BLUE):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await client.scoring.IngestDecisionEvent(
                decision_event(channel=channel, level=selectivity_pb2.EXAMINATION_LEVEL_UNSPECIFIED)
            )

        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "decision.channel" in violated_fields(raised.value)
    assert await _all_tasks(client) == []


async def test_a_malformed_event_id_is_refused_naming_the_field(client: Client) -> None:
    await create_office(client)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.scoring.IngestDecisionEvent(decision_event(event_id="not-a-uuid"))

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = error_details(raised.value)["BadRequest"].field_violations
    assert [(v.field, v.description.split(":")[0]) for v in violations] == [
        ("event_id", "string.uuid")
    ]


async def test_a_decision_for_an_unknown_office_is_refused_and_can_be_redelivered(
    client: Client,
) -> None:
    event = decision_event(office="offices/NOWHERE")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.scoring.IngestDecisionEvent(event)
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(raised.value) == "UNKNOWN_OFFICE"

    await create_office(client, "NOWHERE")
    redelivered = await client.scoring.IngestDecisionEvent(event)
    assert not redelivered.duplicate
    assert redelivered.examination


async def test_a_decision_on_a_newer_version_supersedes_the_unreported_task(
    client: Client,
) -> None:
    await create_office(client)
    first = await client.scoring.IngestDecisionEvent(decision_event(declaration_version=1))

    second = await client.scoring.IngestDecisionEvent(decision_event(declaration_version=2))

    old = (
        await client.supervisor.GetExamination(pb2.GetExaminationRequest(name=first.examination))
    ).examination
    assert old.state == examination_pb2.EXAMINATION_STATE_SUPERSEDED
    assert old.HasField("complete_time")
    new = (
        await client.supervisor.GetExamination(pb2.GetExaminationRequest(name=second.examination))
    ).examination
    assert new.declaration_version == 2
    assert new.state == examination_pb2.EXAMINATION_STATE_UNASSIGNED


async def test_a_late_decision_on_an_older_version_is_ignored(client: Client) -> None:
    await create_office(client)
    newer = await client.scoring.IngestDecisionEvent(decision_event(declaration_version=3))

    late = decision_event(declaration_version=2)
    ignored = await client.scoring.IngestDecisionEvent(late)
    again = await client.scoring.IngestDecisionEvent(late)

    assert not ignored.duplicate
    assert ignored.examination == ""
    assert again.duplicate
    assert again.examination == ""
    tasks = await _all_tasks(client)
    assert [task.name for task in tasks] == [newer.examination]
    assert tasks[0].state == examination_pb2.EXAMINATION_STATE_UNASSIGNED


async def test_ingest_without_a_token_is_unauthenticated(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.IngestDecisionEvent(decision_event())

    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_only_a_peer_service_may_ingest_decisions(client: Client) -> None:
    await create_office(client)

    for role in (Role.OFFICER, Role.SUPERVISOR, Role.ANALYST, Role.OPERATOR):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await client.as_(role).IngestDecisionEvent(decision_event())

        assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED, role
    assert await _all_tasks(client) == []
