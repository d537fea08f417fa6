"""Scoring's events reach real receivers in batches; refused ones wait as dead letters.

scoring, exam_reports and compliance run as real servers on their own
databases. A RED decision at an office exam_reports does not know is refused
for good (UNKNOWN_OFFICE): it is dead-lettered at the first refusal, listed
with the receiver's error, and delivered once an operator retries it after
the office is created. The assessment reports where its events stand.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from customs.events.v1 import event_delivery_service_pb2 as events_pb2
from customs.events.v1 import event_delivery_service_pb2_grpc as events_grpc
from customs.exam_reports.v1 import (
    exam_reports_service_pb2,
    exam_reports_service_pb2_grpc,
    office_pb2,
)
from customs.scoring.v1 import assessment_pb2, scoring_service_pb2, scoring_service_pb2_grpc
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from scoring_support import StartScoring, declaration, item, query, until_serving

from compliance.entrypoints.server import bootstrap as compliance_bootstrap
from customs_kit.auth import Role
from customs_kit.settings import ServiceSettings
from customs_kit.testing.database import fresh_postgres_database
from customs_kit.testing.services import RunningService, SigningKeys, running_service
from exam_reports.entrypoints.server import bootstrap as exam_reports_bootstrap

Scoring = scoring_service_pb2_grpc.ScoringServiceStub
Events = events_grpc.EventDeliveryServiceStub
#: exam_reports' own receivers, not running: its outcome events are not looked at here.
NOWHERE = {peer: "127.0.0.1:9" for peer in ("criteria", "compliance", "audit-referral", "scoring")}
BATCH_SPAN = "/customs.events.v1.EventDeliveryService/IngestEventBatch"


@pytest.fixture
def exam_reports_database_url(tmp_path: Path) -> Iterator[str]:
    """exam_reports' own database: PostgreSQL when the tests use it, else a SQLite file."""
    server = os.environ.get("TEST_POSTGRES_URL")
    if server:
        with fresh_postgres_database(server) as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'exam_reports.db'}"


@pytest.fixture
async def compliance(
    make_settings: Callable[..., ServiceSettings], compliance_database_url: str
) -> AsyncIterator[RunningService]:
    async with running_service(
        make_settings("compliance", compliance_database_url), compliance_bootstrap
    ) as running:
        yield running


@pytest.fixture
async def exam_reports(
    make_settings: Callable[..., ServiceSettings], exam_reports_database_url: str
) -> AsyncIterator[RunningService]:
    async with running_service(
        make_settings("exam-reports", exam_reports_database_url, NOWHERE), exam_reports_bootstrap
    ) as running:
        yield running


async def eventually(condition: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await condition():
        if loop.time() > deadline:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.05)


def cigarettes(number: str, office: str = "30") -> scoring_service_pb2.AssessDeclarationRequest:
    """A declaration the "cigarettes" criterion sends RED (events to exam_reports, compliance)."""
    return scoring_service_pb2.AssessDeclarationRequest(
        declaration=declaration(number, item(hs_code="240220"), office_code=office)
    )


async def create_office(exam_reports: RunningService, keys: SigningKeys, office: str) -> None:
    await exam_reports_service_pb2_grpc.ExamReportsServiceStub(exam_reports.channel).CreateOffice(
        exam_reports_service_pb2.CreateOfficeRequest(
            request_id=str(uuid.uuid4()),
            office_id=office,
            office=office_pb2.Office(
                display_name=f"Office {office}", time_zone="Asia/Seoul", active=True
            ),
        ),
        metadata=keys.metadata(Role.OPERATOR, subject="operator"),
    )


async def examined_declarations(exam_reports: RunningService, keys: SigningKeys) -> list[str]:
    listed = await exam_reports_service_pb2_grpc.ExamReportsServiceStub(
        exam_reports.channel
    ).ListExaminations(
        exam_reports_service_pb2.ListExaminationsRequest(page_size=100),
        metadata=keys.metadata(Role.SUPERVISOR, subject="supervisor"),
    )
    return sorted(examination.declaration_number for examination in listed.examinations)


async def delivery_state(scoring: RunningService, keys: SigningKeys, name: str) -> int:
    response = await Scoring(scoring.channel).GetAssessment(
        scoring_service_pb2.GetAssessmentRequest(name=name),
        metadata=keys.metadata(Role.DECLARATION_SYSTEM),
    )
    return response.assessment.delivery_state


async def dead_letters(
    scoring: RunningService, keys: SigningKeys
) -> list[events_pb2.DeadLetterEvent]:
    response = await Events(scoring.channel).ListDeadLetterEvents(
        events_pb2.ListDeadLetterEventsRequest(),
        metadata=keys.metadata(Role.OPERATOR, subject="operator"),
    )
    return list(response.dead_letter_events)


async def test_a_refused_event_is_dead_lettered_listed_and_delivered_once_retried(
    start_scoring: StartScoring,
    exam_reports: RunningService,
    compliance: RunningService,
    test_keys: SigningKeys,
    database_url: str,
) -> None:
    peers = {"exam-reports": exam_reports.address, "compliance": compliance.address}
    async with start_scoring(peers=peers) as scoring:
        await until_serving(scoring)
        assessed = await Scoring(scoring.channel).AssessDeclaration(
            cigarettes("30/2026/000001"), metadata=test_keys.metadata(Role.DECLARATION_SYSTEM)
        )
        name = assessed.assessment.name

        async def dead_lettered() -> bool:
            return len(await dead_letters(scoring, test_keys)) == 1

        await eventually(dead_lettered)
        [letter] = await dead_letters(scoring, test_keys)
        assert (letter.destination, letter.resource, letter.attempts) == (
            "exam-reports",
            name,
            1,
        )
        assert letter.method.endswith("/IngestDecisionEvent")
        assert letter.error.startswith("FAILED_PRECONDITION: offices/30 is not a known office")
        assert await delivery_state(scoring, test_keys, name) == (
            assessment_pb2.DELIVERY_STATE_DEAD_LETTER
        )
        # Refused for good: not tried again by itself, however long it waits.
        await asyncio.sleep(0.5)
        assert await query(
            database_url, "SELECT attempts FROM outbox_events WHERE destination = 'exam-reports'"
        ) == [(1,)]
        with pytest.raises(grpc.aio.AioRpcError) as analyst:
            await dead_letters_as(scoring, test_keys, Role.ANALYST)
        assert analyst.value.code() == grpc.StatusCode.PERMISSION_DENIED

        await create_office(exam_reports, test_keys, "30")
        retried = await Events(scoring.channel).RetryDeadLetterEvents(
            events_pb2.RetryDeadLetterEventsRequest(event_ids=[letter.event_id]),
            metadata=test_keys.metadata(Role.OPERATOR, subject="operator"),
        )
        assert list(retried.event_ids) == [letter.event_id]

        async def delivered() -> bool:
            state = await delivery_state(scoring, test_keys, name)
            return state == assessment_pb2.DELIVERY_STATE_DELIVERED

        await eventually(delivered)
        assert await examined_declarations(exam_reports, test_keys) == ["30/2026/000001"]
        assert await dead_letters(scoring, test_keys) == []


async def dead_letters_as(scoring: RunningService, keys: SigningKeys, role: Role) -> None:
    await Events(scoring.channel).ListDeadLetterEvents(
        events_pb2.ListDeadLetterEventsRequest(), metadata=keys.metadata(role)
    )


async def test_one_poison_event_of_a_batch_is_dead_lettered_and_the_others_delivered(
    start_scoring: StartScoring,
    exam_reports: RunningService,
    compliance: RunningService,
    test_keys: SigningKeys,
    database_url: str,
    span_exporter: InMemorySpanExporter,
) -> None:
    await create_office(exam_reports, test_keys, "30")
    peers = {"exam-reports": exam_reports.address, "compliance": compliance.address}
    async with start_scoring(peers=peers) as scoring:
        await until_serving(scoring)
        numbers = ["30/2026/000011", "31/2026/000012", "30/2026/000013"]

        # One bulk stream: the decisions commit together and go out in one batch.
        async def requests() -> AsyncIterator[scoring_service_pb2.AssessDeclarationsRequest]:
            for number in numbers:
                request = cigarettes(number, office=number[:2])
                yield scoring_service_pb2.AssessDeclarationsRequest(declaration=request.declaration)

        call = Scoring(scoring.channel).AssessDeclarations(
            requests(), metadata=test_keys.metadata(Role.DECLARATION_SYSTEM)
        )
        names = [response.assessment.name async for response in call]

        async def settled() -> bool:
            states = [await delivery_state(scoring, test_keys, name) for name in names]
            return assessment_pb2.DELIVERY_STATE_PENDING not in states

        await eventually(settled)
        states = [await delivery_state(scoring, test_keys, name) for name in names]
        [letter] = await dead_letters(scoring, test_keys)

    assert states == [
        assessment_pb2.DELIVERY_STATE_DELIVERED,
        assessment_pb2.DELIVERY_STATE_DEAD_LETTER,
        assessment_pb2.DELIVERY_STATE_DELIVERED,
    ]
    assert letter.resource == names[1]
    assert await examined_declarations(exam_reports, test_keys) == [numbers[0], numbers[2]]
    spans = span_exporter.get_finished_spans()
    assert any(span.name == BATCH_SPAN for span in spans)
    # Each event is applied under a span of its own continuing its decision's trace.
    stored = await query(
        database_url,
        "SELECT event_id, traceparent FROM outbox_events WHERE destination = 'exam-reports'",
    )
    applied = [
        span
        for span in spans
        if span.name.endswith("/IngestDecisionEvent")
        and span.kind == SpanKind.SERVER
        and span.attributes is not None
        and "customs.event_id" in span.attributes
    ]
    received = {
        span.attributes["customs.event_id"]: format(span.context.trace_id, "032x")
        for span in applied
        if span.attributes is not None
    }
    assert received == {event_id: traceparent.split("-")[1] for event_id, traceparent in stored}
    # Each under its own relay span, not under the batch call's.
    assert len({span.parent.span_id for span in applied if span.parent is not None}) == 3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_an_assessment_is_pending_until_its_receiver_takes_its_event(
    start_scoring: StartScoring,
    make_settings: Callable[..., ServiceSettings],
    compliance_database_url: str,
    test_keys: SigningKeys,
) -> None:
    port = _free_port()
    async with start_scoring(peers={"compliance": f"127.0.0.1:{port}"}) as scoring:
        # A GREEN decision: one event, to compliance, which is not running yet.
        assessed = await Scoring(scoring.channel).AssessDeclaration(
            scoring_service_pb2.AssessDeclarationRequest(declaration=declaration("30/2026/000021")),
            metadata=test_keys.metadata(Role.DECLARATION_SYSTEM),
        )
        name = assessed.assessment.name
        assert await delivery_state(scoring, test_keys, name) == (
            assessment_pb2.DELIVERY_STATE_PENDING
        )

        settings = replace(make_settings("compliance", compliance_database_url), grpc_port=port)
        async with running_service(settings, compliance_bootstrap):

            async def delivered() -> bool:
                state = await delivery_state(scoring, test_keys, name)
                return state == assessment_pb2.DELIVERY_STATE_DELIVERED

            await eventually(delivered, within=15.0)


async def test_the_serving_state_is_what_a_decision_taken_now_records(
    start_scoring: StartScoring, test_keys: SigningKeys
) -> None:
    async with start_scoring() as scoring:
        stub = Scoring(scoring.channel)
        await stub.SetRandomExaminationRate(
            scoring_service_pb2.SetRandomExaminationRateRequest(
                random_examination_rate={"office_code": "30", "document_review_percent": 5},
                reason="pilot",
            ),
            metadata=test_keys.metadata(Role.RMC),
        )
        served = (
            await stub.GetServingState(
                scoring_service_pb2.GetServingStateRequest(),
                metadata=test_keys.metadata(Role.OPERATOR),
            )
        ).serving_state
        assessed = await stub.AssessDeclaration(
            scoring_service_pb2.AssessDeclarationRequest(declaration=declaration("30/2026/000031")),
            metadata=test_keys.metadata(Role.DECLARATION_SYSTEM),
        )
        with pytest.raises(grpc.aio.AioRpcError) as officer:
            await stub.GetServingState(
                scoring_service_pb2.GetServingStateRequest(),
                metadata=test_keys.metadata(Role.OFFICER),
            )

    replay = assessed.assessment.replay
    assert (served.criteria_revision, served.random_examination_rates_revision) == (5, 1)
    assert (
        served.criteria_revision,
        served.named_lists_revision,
        served.trader_profiles_revision,
        served.random_examination_rates_revision,
        served.capacity_policies_revision,
        served.engine_version,
        served.seed_id,
    ) == (
        replay.criteria_revision,
        replay.named_lists_revision,
        replay.trader_profiles_revision,
        replay.random_examination_rates_revision,
        replay.capacity_policies_revision,
        replay.engine_version,
        replay.seed_id,
    )
    assert served.risk_model_version == ""
    assert officer.value.code() == grpc.StatusCode.PERMISSION_DENIED
