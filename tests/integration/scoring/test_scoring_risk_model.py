"""Scoring with the active risk model: recorded score, reasons, swaps and their replay."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from customs.common.v1 import selectivity_pb2
from customs.criteria.v1 import criteria_service_pb2, risk_model_pb2
from customs.scoring.v1 import events_pb2, scoring_service_pb2, scoring_service_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp
from risk_model_support import import_history, labelled_slice, train
from scoring_support import LODGED, RULES, StartScoring, declaration, item, query

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

Stub = scoring_service_pb2_grpc.ScoringServiceStub


def activation(revision: int, card: object) -> criteria_service_pb2.WatchActiveCriteriaResponse:
    """The stream message by which criteria makes a version active."""
    return criteria_service_pb2.WatchActiveCriteriaResponse(
        revision=revision,
        risk_model=risk_model_pb2.ActiveRiskModel(
            name=card.risk_model,  # type: ignore[attr-defined]
            digest=card.digest,  # type: ignore[attr-defined]
        ),
    )


async def _assess(stub: Stub, keys: SigningKeys, message: object) -> object:
    response = await stub.AssessDeclaration(
        scoring_service_pb2.AssessDeclarationRequest(declaration=message),
        metadata=keys.metadata(Role.DECLARATION_SYSTEM),
    )
    return response.assessment


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _random_outcome(
    assessment: str, number: str
) -> scoring_service_pb2.IngestExaminationOutcomeEventRequest:
    """exam_reports' event for a random examination that found an infringement."""
    return scoring_service_pb2.IngestExaminationOutcomeEventRequest(
        event_id="5b7f6f0e-8d1c-4a43-9a57-0c1f3f0d9a11",
        source_service="exam-reports",
        occur_time=timestamp(LODGED + timedelta(hours=5)),
        outcome=events_pb2.ExaminationOutcome(
            examination_report="examReports/r1",
            assessment=assessment,
            declaration_number=number,
            declaration_version=1,
            examine_time=timestamp(LODGED + timedelta(hours=4)),
            randomly_selected=True,
            discrepancy_found=True,
        ),
    )


async def _explain(stub: Stub, keys: SigningKeys, name: str) -> object:
    return await stub.ExplainAssessment(
        scoring_service_pb2.ExplainAssessmentRequest(name=name),
        metadata=keys.metadata(Role.AUDITOR),
    )


@pytest.mark.timeout(600)
async def test_decisions_carry_the_active_version_score_and_reasons_and_replay_with_their_own(
    start_scoring: StartScoring, test_keys: SigningKeys, database_url: str
) -> None:
    async with start_scoring() as service:
        stub = Stub(service.channel)
        unscored = await _assess(stub, test_keys, declaration("30/2026/S0000"))
        await import_history(stub, test_keys, labelled_slice())
        first = await train(stub, test_keys)
        second = await train(stub, test_keys)

    phones = item(1, hs_code="851713", origin_country_code="CN")
    async with start_scoring([*RULES, activation(6, first)]) as service:
        stub = Stub(service.channel)
        serving = await stub.GetServingRiskModel(
            scoring_service_pb2.GetServingRiskModelRequest(),
            metadata=test_keys.metadata(Role.ANALYST),
        )
        red = await _assess(stub, test_keys, declaration("30/2026/S0001", phones))
        green = await _assess(stub, test_keys, declaration("30/2026/S0002"))

    async with start_scoring([*RULES, activation(7, second)]) as service:
        stub = Stub(service.channel)
        after_swap = await _assess(stub, test_keys, declaration("30/2026/S0001", phones, version=2))
        explained_before = await _explain(stub, test_keys, red.name)
        explained_after = await _explain(stub, test_keys, after_swap.name)
        explained_green = await _explain(stub, test_keys, green.name)
        explained_unscored = await _explain(stub, test_keys, unscored.name)
        # A random examination of the RED declaration comes back with an infringement.
        ingested = await stub.IngestExaminationOutcomeEvent(
            _random_outcome(red.name, "30/2026/S0001"), metadata=test_keys.metadata(Role.SERVICE)
        )
        redelivered = await stub.IngestExaminationOutcomeEvent(
            _random_outcome(red.name, "30/2026/S0001"), metadata=test_keys.metadata(Role.SERVICE)
        )
        performance = await stub.GetRiskModelPerformance(
            scoring_service_pb2.GetRiskModelPerformanceRequest(
                risk_model="riskModels/v1",
                score_threshold=0.0,
                start_time=timestamp(LODGED - timedelta(days=1)),
                end_time=timestamp(LODGED + timedelta(days=1)),
            ),
            metadata=test_keys.metadata(Role.ANALYST),
        )

    assert (serving.risk_model, serving.digest) == ("riskModels/v1", first.digest)
    assert red.channel == selectivity_pb2.CHANNEL_RED
    assert (red.risk_model, red.risk_model_digest) == ("riskModels/v1", first.digest)
    assert 0 < red.risk_model_score < 1
    assert len(red.risk_reasons) == 5
    assert red.risk_score == 81  # v1 meaning kept: 101 minus the best hit priority
    assert green.channel == selectivity_pb2.CHANNEL_GREEN
    assert green.HasField("risk_model_score")
    assert list(green.risk_reasons) == []
    assert after_swap.risk_model == "riskModels/v2"
    assert not unscored.HasField("risk_model_score")
    # Each decision replays with the version that scored it.
    for explained, assessed in ((explained_before, red), (explained_after, after_swap)):
        replay = explained.explanation
        assert replay.replay_identical, list(replay.replay_differences)
        assert replay.risk_model_score == assessed.risk_model_score
        assert list(replay.risk_reasons) == list(assessed.risk_reasons)
    assert len(explained_green.explanation.risk_reasons) == 5
    assert explained_green.explanation.risk_model_score == green.risk_model_score
    assert not explained_unscored.explanation.HasField("risk_model_score")
    rows = await query(
        database_url,
        "SELECT risk_model FROM assessments WHERE declaration_number = '30/2026/S0001' "
        "ORDER BY version",
    )
    assert [row[0] for row in rows] == ["riskModels/v1", "riskModels/v2"]
    assert (ingested.duplicate, ingested.matched, redelivered.duplicate) == (False, True, True)
    labels = await query(
        database_url, "SELECT infringement_found, randomly_selected FROM declaration_outcomes"
    )
    assert [(bool(a), bool(b)) for a, b in labels] == [(True, True)]
    # v1 scored two declarations; the random arm holds the one examined, flagged at 0.
    assert (performance.scored, performance.random_examined) == (2, 1)
    assert (performance.random_flagged, performance.random_flagged_hits) == (1, 1)
    assert performance.precision == 1.0
    assert 0 < performance.precision_lower < 1 == performance.precision_upper
    assert performance.population_stability_index >= 0


@pytest.mark.timeout(600)
async def test_a_version_with_another_digest_is_not_served(
    start_scoring: StartScoring, test_keys: SigningKeys
) -> None:
    async with start_scoring() as service:
        stub = Stub(service.channel)
        await import_history(stub, test_keys, labelled_slice())
        card = await train(stub, test_keys)
    forged = criteria_service_pb2.WatchActiveCriteriaResponse(
        revision=6,
        risk_model=risk_model_pb2.ActiveRiskModel(
            name=card.risk_model,  # type: ignore[attr-defined]
            digest="0" * 64,
        ),
    )

    async with start_scoring([*RULES, forged]) as service:
        stub = Stub(service.channel)
        serving = await stub.GetServingRiskModel(
            scoring_service_pb2.GetServingRiskModelRequest(),
            metadata=test_keys.metadata(Role.ANALYST),
        )
        assessed = await _assess(stub, test_keys, declaration("30/2026/F0001"))

    assert serving.risk_model == ""
    assert not assessed.HasField("risk_model_score")
