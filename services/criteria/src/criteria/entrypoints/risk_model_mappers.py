"""Protobuf <-> domain for the risk model governance RPCs."""

from __future__ import annotations

from datetime import UTC, datetime

from customs.criteria.v1 import criteria_service_pb2, risk_model_pb2
from google.protobuf import timestamp_pb2

from criteria.domain.risk_models import RiskModel, RiskModelPerformance, RiskModelState
from criteria.service_layer.risk_models import TrainedVersion


def _timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def risk_model_message(model: RiskModel) -> risk_model_pb2.RiskModel:
    """The RiskModel resource."""
    message = risk_model_pb2.RiskModel(
        name=model.name,
        state=model.state.value,
        digest=model.digest,
        trainer=model.trainer,
        card=risk_model_pb2.RiskModelCard.FromString(model.card),
        score_threshold=model.score_threshold,
        submitted_by=model.submitted_by,
        approved_by=model.approved_by,
        create_time=_timestamp(model.create_time),
        update_time=_timestamp(model.update_time),
        etag=model.etag,
    )
    if model.impact is not None:
        message.impact.ParseFromString(model.impact)
    if model.activate_time is not None:
        message.activate_time.CopyFrom(_timestamp(model.activate_time))
    return message


def state_filter(value: int) -> RiskModelState | None:
    """The state a list keeps; unspecified keeps all."""
    if value == risk_model_pb2.RISK_MODEL_STATE_UNSPECIFIED:
        return None
    return RiskModelState(risk_model_pb2.RiskModelState.Name(value))


def trained_version(
    request: criteria_service_pb2.IngestRiskModelTrainedEventRequest,
) -> TrainedVersion:
    """The version an IngestRiskModelTrainedEvent reports."""
    trained = request.trained
    return TrainedVersion(
        event_id=request.event_id,
        source_service=request.source_service,
        name=trained.risk_model,
        digest=trained.digest,
        trainer=trained.trainer,
        card=trained.card.SerializeToString(deterministic=True),
        occur_time=request.occur_time.ToDatetime(tzinfo=UTC),
    )


def performance_response(
    model: RiskModel, performance: RiskModelPerformance
) -> criteria_service_pb2.GetRiskModelPerformanceResponse:
    """The response of GetRiskModelPerformance."""
    return criteria_service_pb2.GetRiskModelPerformanceResponse(
        risk_model=model.name,
        scored=performance.scored,
        random_examined=performance.random_examined,
        random_flagged=performance.random_flagged,
        random_flagged_hits=performance.random_flagged_hits,
        precision=performance.precision,
        precision_lower=performance.precision_lower,
        precision_upper=performance.precision_upper,
        validation_precision=performance.validation_precision,
        population_stability_index=performance.population_stability_index,
        retrain_recommended=performance.retrain_recommended,
    )
