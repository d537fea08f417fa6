"""AssessDeclaration through a real scoring server: decisions, idempotency, validation, events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc
import pytest
from customs.common.v1 import selectivity_pb2
from customs.scoring.v1 import (
    assessment_pb2,
    declaration_pb2,
    scoring_service_pb2,
    scoring_service_pb2_grpc,
)
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from opentelemetry import trace
from scoring_support import StartScoring, declaration, item, query

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

Stub = scoring_service_pb2_grpc.ScoringServiceStub

CHINESE_PHONES = item(
    2, hs_code="851713", origin_country_code="CN", net_mass_kg=12.0, description="Mobile phones"
)


def details(error: grpc.aio.AioRpcError) -> dict[str, object]:
    """The standard details of a rich error, by type name."""
    status = rpc_status.from_call(error)
    assert status is not None, "the error carries no google.rpc.Status"
    found: dict[str, object] = {}
    for packed in status.details:
        for detail_type in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.ResourceInfo,
            error_details_pb2.RetryInfo,
        ):
            if packed.Is(detail_type.DESCRIPTOR):
                detail = detail_type()
                packed.Unpack(detail)
                found[detail_type.__name__] = detail
    return found


Lodge = Callable[
    [declaration_pb2.Declaration], Awaitable[scoring_service_pb2.AssessDeclarationResponse]
]


@pytest.fixture
def lodge(stub: Stub, test_keys: SigningKeys) -> Lodge:
    """Sends a declaration as the declaration system."""
    metadata = test_keys.metadata(Role.DECLARATION_SYSTEM, subject="asycuda")

    async def send(
        message: declaration_pb2.Declaration,
    ) -> scoring_service_pb2.AssessDeclarationResponse:
        return await stub.AssessDeclaration(
            scoring_service_pb2.AssessDeclarationRequest(declaration=message), metadata=metadata
        )

    return send


async def test_a_declaration_matching_a_criterion_is_red_with_the_criterion_as_reason(
    lodge: Lodge, database_url: str
) -> None:
    response = await lodge(declaration("30/2026/000001", item(1), CHINESE_PHONES))

    assessment = response.assessment
    assert not response.already_assessed
    assert assessment.channel == selectivity_pb2.CHANNEL_RED
    assert assessment.examination_level == selectivity_pb2.EXAMINATION_LEVEL_COMMERCIAL_SAMPLE
    [hit] = assessment.criterion_hits
    assert (hit.criterion, hit.item_number, hit.outcome) == (
        "criteria/phones-from-cn",
        2,
        assessment_pb2.HIT_OUTCOME_SELECTED,
    )
    assert [(i.item_number, i.text) for i in assessment.examiner_instructions] == [
        (2, "Check the handsets against the invoice and the IMEI list.")
    ]
    assert assessment.replay.criteria_revision == 5
    assert assessment.declaration.items[1].description == "Mobile phones"
    stored = await query(database_url, "SELECT id, channel FROM assessments")
    assert stored == [(assessment.name.removeprefix("assessments/"), "RED")]


async def test_a_declaration_matching_nothing_is_green(lodge: Lodge) -> None:
    response = await lodge(declaration("30/2026/000002"))

    assert response.assessment.channel == selectivity_pb2.CHANNEL_GREEN
    assert list(response.assessment.criterion_hits) == []
    assert response.assessment.risk_score == 0


async def test_resending_the_same_version_returns_the_stored_decision_and_stores_one_row(
    lodge: Lodge, database_url: str
) -> None:
    message = declaration("30/2026/000003", item(1, hs_code="240220"))

    first = await lodge(message)
    again = await lodge(message)

    assert again.already_assessed
    assert again.assessment == first.assessment
    assert await query(database_url, "SELECT count(*) FROM assessments") == [(1,)]
    assert await query(database_url, "SELECT count(*) FROM outbox_events") == [(2,)]


async def test_concurrent_identical_submissions_store_one_assessment(
    lodge: Lodge, database_url: str
) -> None:
    message = declaration("30/2026/000004", item(1, hs_code="240220"))

    responses = await asyncio.gather(*(lodge(message) for _ in range(5)))

    assert len({r.assessment.name for r in responses}) == 1
    assert sum(not r.already_assessed for r in responses) == 1
    assert await query(database_url, "SELECT count(*) FROM assessments") == [(1,)]


async def test_concurrent_lodgements_share_a_commit_yet_each_event_follows_its_own_trace(
    stub: Stub, test_keys: SigningKeys, database_url: str, span_exporter: object
) -> None:
    tracer = trace.get_tracer(__name__)
    metadata = test_keys.metadata(Role.DECLARATION_SYSTEM)

    async def lodge_traced(number: int) -> str:
        with tracer.start_as_current_span("declaration system lodges") as span:
            await stub.AssessDeclaration(
                scoring_service_pb2.AssessDeclarationRequest(
                    declaration=declaration(f"30/2026/T{number:04d}", item(1, hs_code="240220"))
                ),
                metadata=metadata,
            )
            return format(span.get_span_context().trace_id, "032x")

    callers = set(await asyncio.gather(*(lodge_traced(number) for number in range(20))))

    rows = await query(database_url, "SELECT traceparent FROM outbox_events")
    # Two events per RED decision (exam_reports, compliance), each in its caller's trace.
    assert len(rows) == 40
    assert {traceparent.split("-")[1] for (traceparent,) in rows} == callers
    assert len(callers) == 20


async def test_other_content_under_an_assessed_version_is_a_conflict(
    lodge: Lodge, database_url: str
) -> None:
    await lodge(declaration("30/2026/000005"))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await lodge(declaration("30/2026/000005", item(1, net_mass_kg=500.0)))

    assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert details(raised.value)["ErrorInfo"].reason == "DECLARATION_VERSION_CONFLICT"
    assert await query(database_url, "SELECT count(*) FROM assessments") == [(1,)]


async def test_an_amended_version_is_assessed_again_and_both_are_kept(
    lodge: Lodge, database_url: str
) -> None:
    original = await lodge(declaration("30/2026/000006"))
    amended = await lodge(declaration("30/2026/000006", item(1, hs_code="240220"), version=2))

    assert not amended.already_assessed
    assert original.assessment.channel == selectivity_pb2.CHANNEL_GREEN
    assert amended.assessment.channel == selectivity_pb2.CHANNEL_RED
    assert amended.assessment.examination_level == selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT
    rows = await query(database_url, "SELECT version, channel FROM assessments ORDER BY version")
    assert rows == [(1, "GREEN"), (2, "RED")]


def _without_items() -> declaration_pb2.Declaration:
    message = declaration("30/2026/000007")
    del message.items[:]
    return message


@pytest.mark.parametrize(
    ("message", "field", "reason"),
    [
        (_without_items(), "declaration.items", "INVALID_ARGUMENT"),
        (
            declaration("30/2026/000008", item(1, hs_code="44089")),
            "declaration.items[0].hs_code",
            "INVALID_ARGUMENT",
        ),
        (
            declaration("30/2026/000009", item(1, net_mass_kg=-1.0)),
            "declaration.items[0].net_mass_kg",
            "INVALID_ARGUMENT",
        ),
        (
            declaration(
                "30/2026/000010",
                item(1),
                item(2, customs_value={"currency_code": "ABC", "units": 10}),
            ),
            "declaration.items[1].customs_value.currency_code",
            "UNKNOWN_CURRENCY",
        ),
    ],
    ids=["missing-items", "short-hs-code", "negative-mass", "unknown-currency"],
)
async def test_a_bad_declaration_is_refused_naming_the_field_and_nothing_is_stored(
    lodge: Lodge,
    database_url: str,
    message: declaration_pb2.Declaration,
    field: str,
    reason: str,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await lodge(message)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    found = details(raised.value)
    assert found["ErrorInfo"].reason == reason
    assert field in [v.field for v in found["BadRequest"].field_violations]
    assert await query(database_url, "SELECT count(*) FROM assessments") == [(0,)]
    assert await query(database_url, "SELECT count(*) FROM outbox_events") == [(0,)]


async def _events(database_url: str) -> list[tuple[str, str]]:
    return [
        (destination, method.rsplit("/", 1)[1])
        for destination, method in await query(
            database_url, "SELECT destination, method FROM outbox_events ORDER BY destination"
        )
    ]


async def test_a_red_decision_is_sent_to_exam_reports_and_compliance(
    lodge: Lodge, database_url: str
) -> None:
    await lodge(declaration("30/2026/000011", item(1, hs_code="240220")))

    assert await _events(database_url) == [
        ("compliance", "IngestAssessmentEvent"),
        ("exam-reports", "IngestDecisionEvent"),
    ]


async def test_a_blue_decision_is_sent_to_audit_referral_and_compliance(
    lodge: Lodge, database_url: str
) -> None:
    response = await lodge(declaration("30/2026/000012", importer={"id": "AUDIT001"}))

    assert response.assessment.channel == selectivity_pb2.CHANNEL_BLUE
    assert response.assessment.refer_to_audit
    assert await _events(database_url) == [
        ("audit-referral", "IngestBlueDecisionEvent"),
        ("compliance", "IngestAssessmentEvent"),
    ]


async def test_a_green_decision_is_sent_to_compliance_only(lodge: Lodge, database_url: str) -> None:
    await lodge(declaration("30/2026/000013"))

    assert await _events(database_url) == [("compliance", "IngestAssessmentEvent")]


async def test_assessing_needs_a_token(stub: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.AssessDeclaration(
            scoring_service_pb2.AssessDeclarationRequest(declaration=declaration())
        )

    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_only_the_declaration_system_may_assess(
    stub: Stub, test_keys: SigningKeys, database_url: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.AssessDeclaration(
            scoring_service_pb2.AssessDeclarationRequest(declaration=declaration()),
            metadata=test_keys.metadata(Role.ANALYST, Role.OFFICER, subject="ana"),
        )

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert await query(database_url, "SELECT count(*) FROM assessments") == [(0,)]


async def test_nothing_is_assessed_before_the_first_criteria_snapshot(
    start_scoring: StartScoring, test_keys: SigningKeys
) -> None:
    async with start_scoring(initial_rules=()) as service:
        stub = scoring_service_pb2_grpc.ScoringServiceStub(service.channel)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.AssessDeclaration(
                scoring_service_pb2.AssessDeclarationRequest(declaration=declaration()),
                metadata=test_keys.metadata(Role.DECLARATION_SYSTEM),
            )

    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    found = details(raised.value)
    assert found["ErrorInfo"].reason == "CRITERIA_NOT_LOADED"
    assert found["RetryInfo"].retry_delay.seconds >= 1
