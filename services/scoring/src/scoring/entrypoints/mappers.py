"""Requests to handler inputs, handler results to responses."""

from __future__ import annotations

from customs.scoring.v1 import assessment_pb2, scoring_service_pb2

from scoring.adapters.codec import (
    assessment_to_proto,
    channel_from_proto,
    declaration_content,
    declaration_from_proto,
    timestamp_to_datetime,
)
from scoring.adapters.repositories import AssessmentFilter
from scoring.domain.assessment import Assessment
from scoring.service_layer.handlers import (
    AssessDeclaration,
    AssessmentExplanation,
    AssessmentOutcome,
    AssessmentPage,
    ListAssessments,
)

_ASSESSMENT_PREFIX = "assessments/"


def assessment_id(name: str) -> str:
    """The id of ``assessments/{assessment}`` (the request pattern guarantees the shape)."""
    return name.removeprefix(_ASSESSMENT_PREFIX)


def assess_command(request: scoring_service_pb2.AssessDeclarationRequest) -> AssessDeclaration:
    """The command of an AssessDeclaration request."""
    return AssessDeclaration(
        declaration=declaration_from_proto(request.declaration),
        content=declaration_content(request.declaration),
    )


def assess_response(outcome: AssessmentOutcome) -> scoring_service_pb2.AssessDeclarationResponse:
    """The response of AssessDeclaration."""
    return scoring_service_pb2.AssessDeclarationResponse(
        assessment=assessment_to_proto(outcome.assessment),
        already_assessed=outcome.already_assessed,
    )


def _with_items(view: int, *, default: bool) -> bool:
    if view == assessment_pb2.ASSESSMENT_VIEW_UNSPECIFIED:
        return default
    return view == assessment_pb2.ASSESSMENT_VIEW_FULL


def list_query(request: scoring_service_pb2.ListAssessmentsRequest) -> ListAssessments:
    """The query of a ListAssessments request."""
    return ListAssessments(
        filters=AssessmentFilter(
            office_code=request.office_code,
            channel=channel_from_proto(request.channel) if request.channel else None,
            trader_id=request.trader_id,
            declaration_number=request.declaration_number,
            lodged_from=(
                timestamp_to_datetime(request.lodgement_start_time)
                if request.HasField("lodgement_start_time")
                else None
            ),
            lodged_before=(
                timestamp_to_datetime(request.lodgement_end_time)
                if request.HasField("lodgement_end_time")
                else None
            ),
        ),
        page_size=request.page_size,
        page_token=request.page_token,
    )


def list_response(page: AssessmentPage, view: int) -> scoring_service_pb2.ListAssessmentsResponse:
    """One page of ListAssessments; the BASIC view (the default) omits the items."""
    with_items = _with_items(view, default=False)
    return scoring_service_pb2.ListAssessmentsResponse(
        assessments=[
            assessment_to_proto(assessment, with_items=with_items)
            for assessment in page.assessments
        ],
        next_page_token=page.next_page_token,
    )


def get_response(assessment: Assessment, view: int) -> scoring_service_pb2.GetAssessmentResponse:
    """The response of GetAssessment; the FULL view is the default."""
    return scoring_service_pb2.GetAssessmentResponse(
        assessment=assessment_to_proto(assessment, with_items=_with_items(view, default=True))
    )


def explain_response(
    explanation: AssessmentExplanation,
) -> scoring_service_pb2.ExplainAssessmentResponse:
    """The stored assessment (FULL) with its step-by-step explanation and replay verdict."""
    replay = explanation.replay
    evaluations = (
        [
            assessment_pb2.CriterionEvaluation(
                criterion=evaluation.hit.criterion,
                criterion_revision=evaluation.hit.criterion_revision,
                item_number=evaluation.hit.item_number,
                predicate_results=[
                    assessment_pb2.PredicateResult(
                        path=result.path,
                        test=result.test,
                        observed_value=result.observed_value,
                        result=result.result,
                    )
                    for result in evaluation.predicate_results
                ],
                draw=evaluation.draw,
                threshold=evaluation.threshold,
                outcome=f"HIT_OUTCOME_{evaluation.hit.outcome.name}",
            )
            for evaluation in replay.criterion_evaluations
        ]
        if replay is not None
        else []
    )
    return scoring_service_pb2.ExplainAssessmentResponse(
        assessment=assessment_to_proto(explanation.assessment),
        explanation=assessment_pb2.AssessmentExplanation(
            criterion_evaluations=evaluations,
            steps=list(replay.steps) if replay is not None else [],
            replay_identical=explanation.replay_identical,
            replay_differences=list(explanation.differences),
        ),
    )
