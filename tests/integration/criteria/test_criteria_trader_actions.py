"""Accepted trader-level recommendations reach audit_referral and compliance."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import protovalidate
import pytest
from criteria_support import (
    ANALYST,
    NOWHERE,
    Criteria,
    PeerServices,
    StartCriteria,
    criterion,
    outcome_event,
    reason,
)
from customs.audit_referral.v1 import audit_referral_service_pb2 as audit_pb
from customs.audit_referral.v1 import audit_referral_service_pb2_grpc as audit_grpc
from customs.audit_referral.v1 import referral_pb2
from customs.compliance.v1 import compliance_intervention_pb2, measurement_pb2, trader_pb2
from customs.compliance.v1 import compliance_service_pb2 as compliance_pb
from customs.criteria.v1 import criteria_service_pb2 as pb
from customs.criteria.v1 import recommendation_pb2
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from audit_referral.entrypoints.server import bootstrap as audit_referral_bootstrap
from customs_kit.auth import Role
from customs_kit.settings import ServiceSettings
from customs_kit.testing.services import RunningService, SigningKeys, running_service

INFORMED_COMPLIANCE = recommendation_pb2.RECOMMENDATION_KIND_INFORMED_COMPLIANCE
PENALTY = recommendation_pb2.RECOMMENDATION_KIND_PENALTY
REFER_TO_AUDIT = recommendation_pb2.RECOMMENDATION_KIND_REFER_TO_AUDIT
FIRST_EXAM = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DECLARATIONS = ["2026-IM-101", "2026-IM-102", "2026-IM-103"]
CREATE_REFERRAL = "/customs.audit_referral.v1.AuditReferralService/CreateReferral"
CREATE_INTERVENTION = "/customs.compliance.v1.ComplianceService/CreateComplianceIntervention"


@pytest.fixture
async def audit_referral(
    make_settings: Callable[..., ServiceSettings], tmp_path: Path
) -> AsyncIterator[RunningService]:
    """A real audit_referral on its own database (its audit reports go nowhere here)."""
    settings = make_settings(
        "audit-referral",
        f"sqlite+aiosqlite:///{tmp_path / 'audit-referral.db'}",
        {"compliance": NOWHERE, "criteria": NOWHERE, "scoring": NOWHERE},
    )
    async with running_service(settings, audit_referral_bootstrap) as service:
        yield service


@pytest.fixture
async def criteria(
    start_criteria: StartCriteria, peer_services: PeerServices, audit_referral: RunningService
) -> AsyncIterator[Criteria]:
    """Criteria with audit_referral running and compliance down."""
    peers = {**peer_services.addresses, "audit-referral": audit_referral.address}
    async with start_criteria(peers) as service:
        yield service


async def _trader_recommendations(
    criteria: Criteria,
) -> dict[int, recommendation_pb2.Recommendation]:
    """Three discrepancies by IMP-42 under one active criterion, at two offices."""
    active = await criteria.activate(criterion(await criteria.create_profile()))
    hit = (active.name, active.active_revision, True)
    await criteria.ingest(
        *(
            outcome_event(
                FIRST_EXAM + timedelta(days=n),
                hit,
                declaration=number,
                office="PORT-1" if n else "AIRPORT-2",
            )
            for n, number in enumerate(DECLARATIONS)
        )
    )
    return await criteria.recommendations(active.name)


async def _accept(
    criteria: Criteria, recommendation: recommendation_pb2.Recommendation
) -> recommendation_pb2.Recommendation:
    response = await criteria.call(
        "AcceptRecommendation",
        pb.AcceptRecommendationRequest(
            name=recommendation.name,
            etag=recommendation.etag,
            reason="the committee agreed on 2026-03-15",
            request_id=str(uuid.uuid4()),
        ),
        ANALYST,
    )
    accepted: recommendation_pb2.Recommendation = response.recommendation
    return accepted


async def _outbox(database_url: str) -> list[tuple[str, str, bytes]]:
    """Criteria's outbox: (destination, method, payload) of every event, oldest first."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT destination, method, payload FROM outbox_events ORDER BY id")
            )
            return [(destination, method, bytes(payload)) for destination, method, payload in rows]
    finally:
        await engine.dispose()


async def _referrals(
    audit_referral: RunningService, keys: SigningKeys
) -> list[referral_pb2.Referral]:
    stub = audit_grpc.AuditReferralServiceStub(audit_referral.channel)
    response = await stub.ListReferrals(
        audit_pb.ListReferralsRequest(), metadata=keys.metadata(Role.AUDITOR, subject="aude")
    )
    return list(response.referrals)


async def _wait_for_referrals(
    audit_referral: RunningService, keys: SigningKeys
) -> list[referral_pb2.Referral]:
    for _ in range(200):
        found = await _referrals(audit_referral, keys)
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("no referral reached audit_referral")


def _valid(request: Any) -> Any:
    """The request, after checking its receiver's contract would accept it."""
    assert protovalidate.collect_violations(request) == []
    return request


async def test_an_accepted_referral_to_audit_opens_one_referral_in_audit_referral(
    criteria: Criteria,
    audit_referral: RunningService,
    test_keys: SigningKeys,
    database_url: str,
) -> None:
    refer = (await _trader_recommendations(criteria))[REFER_TO_AUDIT]

    accepted = await _accept(criteria, refer)

    [referral] = await _wait_for_referrals(audit_referral, test_keys)
    assert referral.source == referral_pb2.REFERRAL_SOURCE_CRITERIA_MONITORING
    assert referral.state == referral_pb2.REFERRAL_STATE_OPEN
    assert referral.trader == "traders/IMP-42"
    assert referral.created_by == "criteria"
    assert [
        (d.declaration_number, d.declaration_version, d.office) for d in referral.declarations
    ] == [
        ("2026-IM-101", 1, "offices/AIRPORT-2"),
        ("2026-IM-102", 1, "offices/PORT-1"),
        ("2026-IM-103", 1, "offices/PORT-1"),
    ]
    assert list(referral.evidence) == [refer.criterion, refer.name]
    assert refer.rationale in referral.reason
    assert "Accepted by ana: the committee agreed on 2026-03-15" in referral.reason
    got = await audit_grpc.AuditReferralServiceStub(audit_referral.channel).GetReferral(
        audit_pb.GetReferralRequest(name=referral.name),
        metadata=test_keys.metadata(Role.ANALYST, subject="ana"),
    )
    assert got.referral == referral

    with pytest.raises(grpc.aio.AioRpcError) as again:
        await _accept(criteria, accepted)
    assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(again.value) == "NOT_PENDING"
    [(destination, method, payload)] = await _outbox(database_url)
    assert (destination, method) == ("audit-referral", CREATE_REFERRAL)
    # A redelivery by the relay is the same request: audit_referral answers it
    # with the referral it already opened.
    redeliver = audit_referral.channel.unary_unary(
        method,
        request_serializer=lambda body: body,
        response_deserializer=audit_pb.CreateReferralResponse.FromString,
    )
    redelivered = await redeliver(
        payload, metadata=test_keys.metadata(Role.SERVICE, subject="criteria")
    )
    assert redelivered.referral.name == referral.name
    assert [r.name for r in await _referrals(audit_referral, test_keys)] == [referral.name]


async def test_an_accepted_informed_compliance_awaits_compliance_in_the_outbox(
    criteria: Criteria, database_url: str
) -> None:
    found = await _trader_recommendations(criteria)
    await _accept(criteria, found[PENALTY])
    assert await _outbox(database_url) == []

    await _accept(criteria, found[INFORMED_COMPLIANCE])

    [(destination, method, payload)] = await _outbox(database_url)
    assert (destination, method) == ("compliance", CREATE_INTERVENTION)
    request = _valid(compliance_pb.CreateComplianceInterventionRequest.FromString(payload))
    assert request.request_id == str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"//criteria.customs/{found[INFORMED_COMPLIANCE].name}")
    )
    intervention = request.compliance_intervention
    assert intervention.trader == "traders/IMP-42"
    assert intervention.trader_role == trader_pb2.TRADER_ROLE_IMPORTER
    assert intervention.trigger == (
        compliance_intervention_pb2.INTERVENTION_TRIGGER_EXAMINATION_FINDINGS
    )
    # The criterion's profile is about revenue.
    assert list(intervention.areas) == [measurement_pb2.COMPLIANCE_AREA_REVENUE]
    assert found[INFORMED_COMPLIANCE].rationale in intervention.error_pattern
    assert list(intervention.evidence) == [
        found[INFORMED_COMPLIANCE].criterion,
        found[INFORMED_COMPLIANCE].name,
    ]
