"""Requests to handler inputs, handler results to responses."""

from __future__ import annotations

from customs.scoring.v1 import assessment_pb2, scoring_service_pb2, simulation_pb2
from google.protobuf import duration_pb2
from google.rpc import code_pb2

from customs_kit.dead_letters import DeliveryState
from customs_kit.errors import DomainError, FieldViolation, InvalidArgument, Unavailable
from scoring.adapters.capacity import policy_from_proto, policy_to_proto
from scoring.adapters.codec import (
    UnusableRule,
    assessment_to_proto,
    channel_from_proto,
    channel_to_proto,
    declaration_content,
    declaration_from_proto,
    level_to_proto,
    random_kind_to_proto,
    reasons_to_proto,
    simulation_criterion_from_proto,
    timestamp_to_datetime,
)
from scoring.adapters.random_rates import rate_from_proto, rate_to_proto
from scoring.adapters.repositories import AssessmentFilter
from scoring.domain.assessment import Assessment
from scoring.domain.capacity import CapacityPolicy
from scoring.domain.random_examinations import RandomExaminationRate
from scoring.service_layer.capacity import CapacityPolicyPage, UpdateCapacityPolicy
from scoring.service_layer.handlers import (
    AssessDeclaration,
    AssessmentExplanation,
    AssessmentOutcome,
    AssessmentPage,
    ListAssessments,
    ServingState,
)
from scoring.service_layer.random_rates import RandomRatePage, SetRandomExaminationRate
from scoring.service_layer.simulation import Simulate, SimulationOutcome

_ASSESSMENT_PREFIX = "assessments/"


def assessment_id(name: str) -> str:
    """The id of ``assessments/{assessment}`` (the request pattern guarantees the shape)."""
    return name.removeprefix(_ASSESSMENT_PREFIX)


def assess_command(
    request: scoring_service_pb2.AssessDeclarationRequest
    | scoring_service_pb2.AssessDeclarationsRequest,
) -> AssessDeclaration:
    """The command of an AssessDeclaration request or of one AssessDeclarations message."""
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


def bulk_response(
    request: scoring_service_pb2.AssessDeclarationsRequest,
    result: AssessmentOutcome | DomainError,
) -> scoring_service_pb2.AssessDeclarationsResponse:
    """The answer to one declaration of the AssessDeclarations stream: assessment or error."""
    response = scoring_service_pb2.AssessDeclarationsResponse(
        declaration_number=request.declaration.declaration_number,
        version=request.declaration.version,
    )
    if isinstance(result, AssessmentOutcome):
        response.assessment.CopyFrom(assessment_to_proto(result.assessment))
        response.already_assessed = result.already_assessed
    else:
        response.error.CopyFrom(declaration_error(result))
    return response


def declaration_error(error: DomainError) -> scoring_service_pb2.DeclarationError:
    """The error of one bulk declaration: what a unary call's google.rpc.Status says."""
    violations = error.field_violations if isinstance(error, InvalidArgument) else []
    answer = scoring_service_pb2.DeclarationError(
        code=getattr(code_pb2, error.status.value),
        reason=error.reason,
        message=error.message,
        field_violations=[_field_violation(violation) for violation in violations],
    )
    if isinstance(error, Unavailable):
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(error.retry_after_seconds * 1e9))
        answer.retry_delay.CopyFrom(delay)
    return answer


def _field_violation(violation: FieldViolation) -> scoring_service_pb2.FieldViolation:
    # The guard's violations read "<rule id>: <message>"; rule ids hold no ": ".
    rule, separator, description = violation.description.partition(": ")
    if not separator:
        rule, description = "", violation.description
    return scoring_service_pb2.FieldViolation(
        field=violation.field, rule=rule, description=description
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


def get_response(
    assessment: Assessment, view: int, delivery: DeliveryState
) -> scoring_service_pb2.GetAssessmentResponse:
    """The response of GetAssessment; the FULL view is the default."""
    message = assessment_to_proto(assessment, with_items=_with_items(view, default=True))
    message.delivery_state = _DELIVERY_STATES[delivery]
    return scoring_service_pb2.GetAssessmentResponse(assessment=message)


_DELIVERY_STATES = {
    DeliveryState.PENDING: assessment_pb2.DELIVERY_STATE_PENDING,
    DeliveryState.DELIVERED: assessment_pb2.DELIVERY_STATE_DELIVERED,
    DeliveryState.DEAD_LETTER: assessment_pb2.DELIVERY_STATE_DEAD_LETTER,
}


def serving_state_response(state: ServingState) -> scoring_service_pb2.GetServingStateResponse:
    """The response of GetServingState."""
    return scoring_service_pb2.GetServingStateResponse(
        serving_state=scoring_service_pb2.ServingState(
            criteria_revision=state.criteria_revision,
            named_lists_revision=state.named_lists_revision,
            trader_profiles_revision=state.trader_profiles_revision,
            random_examination_rates_revision=state.random_examination_rates_revision,
            capacity_policies_revision=state.capacity_policies_revision,
            capacity_revision=state.capacity_revision,
            risk_model_version=state.risk_model_version,
            engine_version=state.engine_version,
            seed_id=state.seed_id,
        )
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
    response = scoring_service_pb2.ExplainAssessmentResponse(
        assessment=assessment_to_proto(explanation.assessment),
        explanation=assessment_pb2.AssessmentExplanation(
            criterion_evaluations=evaluations,
            random_draw_evaluations=[
                assessment_pb2.RandomDrawEvaluation(
                    kind=random_kind_to_proto(evaluation.draw.kind),
                    draw=evaluation.value,
                    rate_percent=evaluation.draw.rate_percent,
                    selected=evaluation.draw.selected,
                )
                for evaluation in explanation.random_draws
            ],
            steps=list(replay.steps) if replay is not None else [],
            replay_identical=explanation.replay_identical,
            replay_differences=list(explanation.differences),
        ),
    )
    if explanation.risk is not None:
        response.explanation.risk_model_score = explanation.risk.score
        response.explanation.risk_reasons.extend(reasons_to_proto(explanation.risk.reasons))
    return response


def simulate_command(request: scoring_service_pb2.SimulateRequest) -> Simulate:
    """The replay asked for; raises ``InvalidArgument`` for a candidate that cannot run."""
    replace_active = request.WhichOneof("candidate") == "replace_active"
    messages = list(request.replace_active.criteria) if replace_active else [request.add_to_active]
    field = "replace_active.criteria" if replace_active else "add_to_active"
    try:
        candidates = [simulation_criterion_from_proto(message) for message in messages]
    except UnusableRule as error:
        raise InvalidArgument([FieldViolation(field, str(error))]) from None
    return Simulate(
        candidates=candidates,
        replace_active=replace_active,
        lodged_from=timestamp_to_datetime(request.start_time),
        lodged_before=timestamp_to_datetime(request.end_time),
        office_codes=list(request.office_codes),
        candidates_field=field,
    )


def simulate_response(outcome: SimulationOutcome) -> scoring_service_pb2.SimulateResponse:
    """The replay's tallies as the contract states them."""
    simulation = outcome.simulation
    return scoring_service_pb2.SimulateResponse(
        office_day_impacts=[
            simulation_pb2.OfficeDayImpact(
                office_code=day.office_code,
                day=day.day,
                declarations=day.declarations,
                candidate_hits=day.candidate_hits,
                candidate_selections=day.candidate_selections,
                overlap_with_active=day.overlap_with_active,
                audit_referrals_added=day.audit_referrals_added,
                examinations=[
                    simulation_pb2.ExaminationLoad(
                        channel=channel_to_proto(load.examination_type.channel),
                        examination_level=level_to_proto(load.examination_type.level),
                        added=load.added,
                        total=load.total,
                    )
                    for load in day.examinations
                ],
            )
            for day in simulation.office_days
        ],
        criterion_impacts=[
            simulation_pb2.CriterionImpact(
                criterion=impact.criterion,
                hits=impact.hits,
                selections=impact.selections,
                overlaps=[
                    simulation_pb2.CriterionOverlap(criterion=name, shared_selections=shared)
                    for name, shared in impact.overlaps
                ],
            )
            for impact in simulation.criterion_impacts
        ],
        declarations_replayed=simulation.declarations_replayed,
        criteria_revision=outcome.criteria_revision,
        named_lists_revision=outcome.criteria_revision,
    )


def update_capacity_policy_command(
    request: scoring_service_pb2.UpdateCapacityPolicyRequest, actor: str
) -> UpdateCapacityPolicy:
    """The change an UpdateCapacityPolicy request asks ``actor`` wants."""
    return UpdateCapacityPolicy(
        policy=policy_from_proto(request.capacity_policy),
        paths=frozenset(request.update_mask.paths),
        etag=request.capacity_policy.etag,
        allow_missing=request.allow_missing,
        actor=actor,
    )


def capacity_policy_response(
    policy: CapacityPolicy,
) -> scoring_service_pb2.GetCapacityPolicyResponse:
    """The response of GetCapacityPolicy."""
    return scoring_service_pb2.GetCapacityPolicyResponse(capacity_policy=policy_to_proto(policy))


def updated_capacity_policy_response(
    policy: CapacityPolicy,
) -> scoring_service_pb2.UpdateCapacityPolicyResponse:
    """The response of UpdateCapacityPolicy."""
    return scoring_service_pb2.UpdateCapacityPolicyResponse(capacity_policy=policy_to_proto(policy))


def capacity_policies_response(
    page: CapacityPolicyPage,
) -> scoring_service_pb2.ListCapacityPoliciesResponse:
    """One page of ListCapacityPolicies."""
    return scoring_service_pb2.ListCapacityPoliciesResponse(
        capacity_policies=[policy_to_proto(policy) for policy in page.policies],
        next_page_token=page.next_page_token,
    )


def set_random_rate_command(
    request: scoring_service_pb2.SetRandomExaminationRateRequest, actor: str
) -> SetRandomExaminationRate:
    """The change a SetRandomExaminationRate request from ``actor`` asks for."""
    return SetRandomExaminationRate(
        rate=rate_from_proto(request.random_examination_rate),
        etag=request.etag,
        reason=request.reason,
        actor=actor,
    )


def random_rate_response(
    rate: RandomExaminationRate,
) -> scoring_service_pb2.GetRandomExaminationRateResponse:
    """The response of GetRandomExaminationRate."""
    return scoring_service_pb2.GetRandomExaminationRateResponse(
        random_examination_rate=rate_to_proto(rate)
    )


def random_rates_response(
    page: RandomRatePage,
) -> scoring_service_pb2.ListRandomExaminationRatesResponse:
    """One page of ListRandomExaminationRates."""
    return scoring_service_pb2.ListRandomExaminationRatesResponse(
        random_examination_rates=[rate_to_proto(rate) for rate in page.rates],
        next_page_token=page.next_page_token,
    )


def set_random_rate_response(
    rate: RandomExaminationRate,
) -> scoring_service_pb2.SetRandomExaminationRateResponse:
    """The response of SetRandomExaminationRate: the rate as stored."""
    return scoring_service_pb2.SetRandomExaminationRateResponse(
        random_examination_rate=rate_to_proto(rate)
    )
