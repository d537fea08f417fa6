"""Recommendations generated from outcomes, and an analyst's decisions on them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from criteria_support import (
    ANALYST,
    AUDITOR,
    EXAM_REPORTS,
    RMC,
    Criteria,
    criterion,
    outcome_event,
    reason,
    violated_fields,
)
from customs.common.v1 import selectivity_pb2
from customs.criteria.v1 import criteria_service_pb2 as pb
from customs.criteria.v1 import criterion_pb2, recommendation_pb2

RETIRE = recommendation_pb2.RECOMMENDATION_KIND_RETIRE
LOWER = recommendation_pb2.RECOMMENDATION_KIND_LOWER_PERCENTAGE
DOCUMENT_REVIEW = recommendation_pb2.RECOMMENDATION_KIND_SWITCH_TO_DOCUMENT_REVIEW
INFORMED_COMPLIANCE = recommendation_pb2.RECOMMENDATION_KIND_INFORMED_COMPLIANCE
PENALTY = recommendation_pb2.RECOMMENDATION_KIND_PENALTY
REFER_TO_AUDIT = recommendation_pb2.RECOMMENDATION_KIND_REFER_TO_AUDIT
PENDING = recommendation_pb2.RECOMMENDATION_STATE_PENDING
ACCEPTED = recommendation_pb2.RECOMMENDATION_STATE_ACCEPTED
DISMISSED = recommendation_pb2.RECOMMENDATION_STATE_DISMISSED
SUPERSEDED = recommendation_pb2.RECOMMENDATION_STATE_SUPERSEDED
FIRST_EXAM = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def _active(criteria: Criteria) -> criterion_pb2.Criterion:
    return await criteria.activate(criterion(await criteria.create_profile()))


def _negatives(
    active: criterion_pb2.Criterion, count: int
) -> list[pb.IngestExaminationOutcomeEventRequest]:
    return [
        outcome_event(FIRST_EXAM + timedelta(hours=n), (active.name, active.active_revision, False))
        for n in range(count)
    ]


async def _accept(
    criteria: Criteria, recommendation: recommendation_pb2.Recommendation, **overrides: object
) -> pb.AcceptRecommendationResponse:
    response: pb.AcceptRecommendationResponse = await criteria.call(
        "AcceptRecommendation",
        pb.AcceptRecommendationRequest(
            name=recommendation.name,
            etag=recommendation.etag,
            reason="the committee agreed on 2026-03-15",
            request_id=str(uuid.uuid4()),
            **overrides,
        ),
        ANALYST,
    )
    return response


async def _dismiss(
    criteria: Criteria, recommendation: recommendation_pb2.Recommendation, etag: str = ""
) -> pb.DismissRecommendationResponse:
    response: pb.DismissRecommendationResponse = await criteria.call(
        "DismissRecommendation",
        pb.DismissRecommendationRequest(
            name=recommendation.name,
            etag=etag or recommendation.etag,
            reason="seasonal: the smuggling season starts in April",
            request_id=str(uuid.uuid4()),
        ),
        ANALYST,
    )
    return response


async def test_ten_negative_examinations_in_a_row_yield_recommendations_once(
    criteria: Criteria,
) -> None:
    active = await _active(criteria)
    events = _negatives(active, 10)

    await criteria.ingest(*events[:9])
    assert await criteria.recommendations(active.name) == {}
    await criteria.ingest(events[9], events[9], events[3])

    found = await criteria.recommendations(active.name)
    assert set(found) == {RETIRE, LOWER, DOCUMENT_REVIEW}
    lower = found[LOWER]
    assert lower.state == PENDING
    assert lower.criterion_revision == 1
    assert lower.consecutive_negative_results == 10
    assert lower.suggested_selection_percent == 10.0
    assert lower.rationale.startswith("10 negative examinations in a row since 2026-03-02")
    assert list(lower.declaration_numbers) == [e.outcome.declaration_number for e in events]
    assert found[DOCUMENT_REVIEW].suggested_treatment.channel == selectivity_pb2.CHANNEL_YELLOW
    got = await criteria.call(
        "GetRecommendation", pb.GetRecommendationRequest(name=lower.name), RMC
    )
    assert got.recommendation == lower


async def test_accepting_lower_to_ten_percent_creates_a_revision_that_needs_approval_again(
    criteria: Criteria,
) -> None:
    active = await _active(criteria)
    await criteria.ingest(*_negatives(active, 10))
    found = await criteria.recommendations(active.name)

    response = await _accept(criteria, found[LOWER], selection_percent=10.0)

    assert response.recommendation.state == ACCEPTED
    assert response.recommendation.decided_by == "ana"
    assert response.recommendation.resulting_criterion_revision == 2
    amended = response.criterion
    assert (amended.revision, amended.active_revision) == (2, 1)
    assert amended.state == criterion_pb2.CRITERION_STATE_ACTIVE
    assert amended.amendment_state == criterion_pb2.AMENDMENT_STATE_DRAFT
    assert amended.rule.selection_percent == 10.0
    assert amended.revision_author == "ana"
    others = await criteria.recommendations(active.name)
    assert {others[RETIRE].state, others[DOCUMENT_REVIEW].state} == {SUPERSEDED}
    with pytest.raises(grpc.aio.AioRpcError) as unsubmitted:
        await criteria.approve(amended)
    assert reason(unsubmitted.value) == "NOT_SUBMITTED"

    submitted = await criteria.submit(amended)
    earlier = await criteria.call(
        "ListImpactAnalyses", pb.ListImpactAnalysesRequest(parent=active.name), ANALYST
    )
    (of_revision_1,) = [a for a in earlier.impact_analyses if a.criterion_revision == 1]
    with pytest.raises(grpc.aio.AioRpcError) as stale_analysis:
        await criteria.approve(submitted, impact_analysis=of_revision_1.name)
    assert reason(stale_analysis.value) == "IMPACT_ANALYSIS_REQUIRED"
    approved = await criteria.approve(submitted)

    assert (approved.active_revision, approved.approver) == (2, "rita")
    assert approved.rule.selection_percent == 10.0
    versions = await criteria.call(
        "ListCriterionVersions", pb.ListCriterionVersionsRequest(parent=active.name), ANALYST
    )
    update = next(v.change for v in versions.criterion_versions if v.criterion.revision == 2)
    assert update.reason.startswith(f"{found[LOWER].name} accepted:")
    assert any(c.path == "rule.selection_percent" for c in update.field_changes)


async def test_the_author_of_an_accepted_revision_cannot_approve_it(criteria: Criteria) -> None:
    active = await _active(criteria)
    await criteria.ingest(*_negatives(active, 10))
    lower = (await criteria.recommendations(active.name))[LOWER]
    accepted = await criteria.call(
        "AcceptRecommendation",
        pb.AcceptRecommendationRequest(
            name=lower.name, etag=lower.etag, reason="agreed", request_id=str(uuid.uuid4())
        ),
        RMC,
    )
    submitted = await criteria.submit(accepted.criterion)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.approve(submitted, RMC)

    assert reason(refused.value) == "SELF_APPROVAL"


async def test_a_recommendation_is_dismissed_with_a_reason_and_cannot_be_decided_again(
    criteria: Criteria,
) -> None:
    active = await _active(criteria)
    await criteria.ingest(*_negatives(active, 10))
    retire = (await criteria.recommendations(active.name))[RETIRE]

    dismissed = (await _dismiss(criteria, retire)).recommendation

    assert dismissed.state == DISMISSED
    assert dismissed.decided_by == "ana"
    assert dismissed.decision_reason == "seasonal: the smuggling season starts in April"
    assert dismissed.HasField("decide_time")
    assert (await criteria.get(active.name)).state == criterion_pb2.CRITERION_STATE_ACTIVE
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await _dismiss(criteria, retire)
    assert stale.value.code() == grpc.StatusCode.ABORTED
    with pytest.raises(grpc.aio.AioRpcError) as decided:
        await _accept(criteria, dismissed)
    assert decided.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(decided.value) == "NOT_PENDING"


async def test_accepting_retirement_retires_the_criterion(criteria: Criteria) -> None:
    active = await _active(criteria)
    await criteria.ingest(*_negatives(active, 10))
    found = await criteria.recommendations(active.name)

    response = await _accept(criteria, found[RETIRE])

    assert response.criterion.state == criterion_pb2.CRITERION_STATE_RETIRED
    assert response.recommendation.resulting_criterion_revision == 0
    after = await criteria.recommendations(active.name)
    assert [after[k].state for k in (RETIRE, LOWER, DOCUMENT_REVIEW)] == [
        ACCEPTED,
        SUPERSEDED,
        SUPERSEDED,
    ]


async def test_suspending_a_criterion_supersedes_its_pending_recommendations(
    criteria: Criteria,
) -> None:
    active = await _active(criteria)
    await criteria.ingest(*_negatives(active, 10))

    await criteria.suspend(active)

    pending = await criteria.recommendations(active.name, state=PENDING)
    superseded = await criteria.recommendations(active.name, state=SUPERSEDED)
    assert (len(pending), len(superseded)) == (0, 3)


async def test_an_override_that_does_not_fit_the_kind_is_refused(criteria: Criteria) -> None:
    active = await _active(criteria)
    await criteria.ingest(*_negatives(active, 10))
    retire = (await criteria.recommendations(active.name))[RETIRE]

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _accept(criteria, retire, selection_percent=5.0)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason(refused.value) == "OVERRIDE_NOT_APPLICABLE"
    assert violated_fields(refused.value) == ["selection_percent"]
    assert (await criteria.recommendations(active.name))[RETIRE].state == PENDING


async def test_a_decision_without_a_reason_is_refused_naming_the_field(criteria: Criteria) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.call(
            "DismissRecommendation",
            pb.DismissRecommendationRequest(
                name="recommendations/r1", etag="e", reason="", request_id=str(uuid.uuid4())
            ),
            ANALYST,
        )

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(refused.value) == ["reason"]


async def test_repeated_discrepancies_by_one_trader_propose_actions_against_that_trader(
    criteria: Criteria,
) -> None:
    active = await _active(criteria)
    hit = (active.name, 1, True)
    late = FIRST_EXAM + timedelta(days=200)

    await criteria.ingest(
        outcome_event(FIRST_EXAM, hit),
        outcome_event(FIRST_EXAM + timedelta(days=1), hit, importer="IMP-7"),
        outcome_event(FIRST_EXAM + timedelta(days=2), hit),
    )
    assert await criteria.recommendations(active.name) == {}
    await criteria.ingest(
        outcome_event(FIRST_EXAM + timedelta(days=3), hit, declaration="2026-IM-3"),
        outcome_event(FIRST_EXAM + timedelta(days=4), hit),
        outcome_event(late, hit),
    )

    found = await criteria.recommendations(active.name)
    assert set(found) == {INFORMED_COMPLIANCE, PENALTY, REFER_TO_AUDIT}
    audit = found[REFER_TO_AUDIT]
    assert (audit.trader_id, audit.discrepancies) == ("IMP-42", 3)
    assert audit.declaration_numbers[-1] == "2026-IM-3"
    listed = await criteria.call(
        "ListRecommendations", pb.ListRecommendationsRequest(criterion=active.name), ANALYST
    )
    assert len(listed.recommendations) == 3
    accepted = await _accept(criteria, audit)
    assert accepted.recommendation.state == ACCEPTED
    assert not accepted.HasField("criterion")


async def test_recommendations_are_for_analysts_and_the_committee(criteria: Criteria) -> None:
    active = await _active(criteria)
    await criteria.ingest(*_negatives(active, 10))
    retire = (await criteria.recommendations(active.name))[RETIRE]

    with pytest.raises(grpc.aio.AioRpcError) as auditor:
        await criteria.call(
            "GetRecommendation", pb.GetRecommendationRequest(name=retire.name), AUDITOR
        )
    with pytest.raises(grpc.aio.AioRpcError) as service:
        await criteria.call(
            "DismissRecommendation",
            pb.DismissRecommendationRequest(
                name=retire.name, etag=retire.etag, reason="x", request_id=str(uuid.uuid4())
            ),
            EXAM_REPORTS,
        )
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await criteria.stub.ListRecommendations(pb.ListRecommendationsRequest())

    assert auditor.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert service.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    dismissed = await criteria.call(
        "DismissRecommendation",
        pb.DismissRecommendationRequest(
            name=retire.name, etag=retire.etag, reason="x", request_id=str(uuid.uuid4())
        ),
        RMC,
    )
    assert dismissed.recommendation.decided_by == "rita"


async def test_a_run_counts_from_the_last_discrepancy_and_ignores_late_older_reports(
    criteria: Criteria,
) -> None:
    active = await _active(criteria)
    negatives = _negatives(active, 11)
    await criteria.ingest(*negatives[:2])
    await criteria.ingest(
        outcome_event(FIRST_EXAM + timedelta(hours=1, minutes=30), (active.name, 1, True))
    )
    await criteria.ingest(*negatives[2:])
    late = outcome_event(FIRST_EXAM - timedelta(days=1), (active.name, 1, False))

    await criteria.ingest(late)
    assert await criteria.recommendations(active.name) == {}
    await criteria.ingest(outcome_event(FIRST_EXAM + timedelta(days=1), (active.name, 1, False)))

    found = await criteria.recommendations(active.name)
    assert found[RETIRE].consecutive_negative_results == 10
    assert "since 2026-03-02" in found[RETIRE].rationale
