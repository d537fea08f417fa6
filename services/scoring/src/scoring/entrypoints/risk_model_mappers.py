"""Protobuf <-> domain for the risk model RPCs: history import, training, scores, outcomes."""

from __future__ import annotations

from customs.common.v1 import money_pb2, selectivity_pb2
from customs.scoring.v1 import risk_model_pb2, scoring_service_pb2

from customs_kit.errors import FieldViolation, InvalidArgument
from customs_kit.interceptors import violations_of
from scoring.adapters.codec import (
    datetime_to_timestamp,
    declaration_content,
    timestamp_to_datetime,
)
from scoring.domain.history import HistoryRecord, ImportCounts, Outcome
from scoring.domain.model_replay import ModelPerformance, ModelReplay
from scoring.domain.risk_model import ModelCard
from scoring.domain.training import ModelVersion, Training
from scoring.service_layer.model_replay import SimulateModel
from scoring.service_layer.outcomes import RecordFinding, RecordOutcome


def _amount(money: money_pb2.Money) -> float:
    return money.units + money.nanos / 1e9


def history_outcome(message: risk_model_pb2.HistoryOutcome) -> Outcome:
    """The domain outcome of a (validated) HistoryOutcome message."""
    return Outcome(
        examined=message.examined,
        infringement_found=message.infringement_found,
        severity=message.severity,
        revenue_found=_amount(message.revenue_found) if message.HasField("revenue_found") else None,
        randomly_selected=(
            message.randomly_selected if message.HasField("randomly_selected") else None
        ),
    )


def history_record(
    request: scoring_service_pb2.ImportHistoryRequest, position: int
) -> HistoryRecord:
    """The record of one ImportHistory message; raises ``InvalidArgument`` naming its position."""
    violations = violations_of(request)
    if violations:
        raise InvalidArgument(
            [
                FieldViolation(f"requests[{position}].{violation.field}", violation.description)
                for violation in violations
            ],
            message=(
                f"message {position} of the stream is invalid; nothing of its batch was written"
            ),
        )
    declaration = request.declaration
    return HistoryRecord(
        declaration_number=declaration.declaration_number,
        version=declaration.version,
        lodgement_time=timestamp_to_datetime(declaration.lodgement_time),
        content=declaration_content(declaration),
        outcome=history_outcome(request.outcome),
    )


def import_response(counts: ImportCounts) -> scoring_service_pb2.ImportHistoryResponse:
    """The response of ImportHistory."""
    return scoring_service_pb2.ImportHistoryResponse(
        received=counts.received,
        imported=counts.imported,
        already_imported=counts.already_imported,
    )


def _metric(card: ModelCard, key: str) -> float:
    value = card.metrics.get(key)
    return 0.0 if value is None else float(value)


def card_to_proto(version: ModelVersion) -> risk_model_pb2.RiskModelCard:
    """The RiskModelCard of a stored version."""
    card = version.card
    return risk_model_pb2.RiskModelCard(
        risk_model=version.name,
        digest=version.digest,
        algorithm="lightgbm",
        training_start_time=datetime_to_timestamp(card.training_window.first),
        training_end_time=datetime_to_timestamp(card.training_window.last),
        training_rows=card.n_train,
        training_positive_rows=card.n_train_positive,
        features=list(card.features),
        validation=risk_model_pb2.RiskModelValidation(
            validation_start_time=datetime_to_timestamp(card.validation_window.first),
            validation_end_time=datetime_to_timestamp(card.validation_window.last),
            validation_rows=card.n_validation,
            precision_at_1=_metric(card, "precision_at_1"),
            precision_at_2=_metric(card, "precision_at_2"),
            precision_at_5=_metric(card, "precision_at_5"),
            precision_at_10=_metric(card, "precision_at_10"),
            recall_at_5=_metric(card, "recall_at_5"),
            recall_at_10=_metric(card, "recall_at_10"),
            revenue_recall_at_5=_metric(card, "revenue_recall_at_5"),
            auc=_metric(card, "auc"),
            calibration=[
                risk_model_pb2.CalibrationBin(
                    predicted=bin.mean_predicted, observed=bin.observed_rate, rows=bin.count
                )
                for bin in card.calibration
            ],
        ),
        reference_bin_edges=list(card.score_reference.edges),
        reference_bin_fractions=list(card.score_reference.fractions),
        validation_base_rate=card.validation_base_rate,
        artifact_bytes=version.artifact_bytes,
        trainer=version.trainer,
        create_time=datetime_to_timestamp(version.create_time),
    )


def training_to_proto(
    training: Training, version: ModelVersion | None = None
) -> risk_model_pb2.RiskModelTraining:
    """The RiskModelTraining of an operation (with the card of the version it stored)."""
    message = risk_model_pb2.RiskModelTraining(
        name=training.name,
        state=f"RISK_MODEL_TRAINING_STATE_{training.state.value}",
        progress_percent=training.progress_percent,
        stage=training.stage,
        risk_model=training.risk_model,
        error_reason=training.error_reason,
        error_message=training.error_message,
        trainer=training.trainer,
        validation_months=training.validation_months,
        create_time=datetime_to_timestamp(training.create_time),
    )
    if training.end_time is not None:
        message.end_time.CopyFrom(datetime_to_timestamp(training.end_time))
    if version is not None:
        message.card.CopyFrom(card_to_proto(version))
    return message


def examination_outcome_command(
    request: scoring_service_pb2.IngestExaminationOutcomeEventRequest,
) -> RecordOutcome:
    """The outcome an examination report brings."""
    outcome = request.outcome
    found = outcome.discrepancy_found
    return RecordOutcome(
        event_id=request.event_id,
        source_service=request.source_service,
        source=outcome.examination_report,
        assessment_id=outcome.assessment.removeprefix("assessments/"),
        declaration_number=outcome.declaration_number,
        declaration_version=outcome.declaration_version,
        outcome=Outcome(
            examined=True,
            infringement_found=found,
            # A seizure is the critical case (goods that must not enter).
            severity=(2 if outcome.seized else 1) if found else 0,
            revenue_found=(
                _amount(outcome.revenue_found) if outcome.HasField("revenue_found") else None
            ),
            randomly_selected=outcome.randomly_selected,
        ),
    )


def audit_finding_command(
    request: scoring_service_pb2.IngestAuditFindingEventRequest,
) -> RecordFinding:
    """The outcome an audit finding brings to the declarations it covers."""
    finding = request.finding
    found = finding.discrepancy_found
    return RecordFinding(
        event_id=request.event_id,
        source_service=request.source_service,
        audit_case=finding.audit_case,
        declaration_numbers=list(finding.declaration_numbers),
        outcome=Outcome(
            examined=True,
            infringement_found=found,
            severity=1 if found else 0,
            revenue_found=(
                _amount(finding.unpaid_duty_assessed)
                if finding.HasField("unpaid_duty_assessed")
                else None
            ),
            randomly_selected=False,
        ),
    )


def simulate_model_command(request: scoring_service_pb2.SimulateRiskModelRequest) -> SimulateModel:
    """The replay SimulateRiskModel asks for."""
    return SimulateModel(
        risk_model=request.risk_model,
        threshold=request.score_threshold,
        channel=selectivity_pb2.Channel.Name(request.channel).removeprefix("CHANNEL_"),
        lodged_from=timestamp_to_datetime(request.start_time),
        lodged_before=timestamp_to_datetime(request.end_time),
    )


def simulate_model_response(replay: ModelReplay) -> scoring_service_pb2.SimulateRiskModelResponse:
    """The response of SimulateRiskModel."""
    return scoring_service_pb2.SimulateRiskModelResponse(
        declarations_replayed=replay.declarations,
        selections=replay.selections,
        expected_hits=replay.expected_hits,
        overlap_with_active=replay.overlap_with_active,
        channel_counts=[
            risk_model_pb2.RiskModelChannelCount(channel=f"CHANNEL_{channel}", declarations=count)
            for channel, count in sorted(replay.channels.items())
        ],
        office_days=[
            risk_model_pb2.RiskModelOfficeDay(
                office_code=day.office_code,
                day=day.day,
                declarations=day.declarations,
                selections=day.selections,
                overlap_with_active=day.overlap_with_active,
                examinations=day.examinations,
            )
            for _, day in sorted(replay.office_days.items())
        ],
    )


def performance_response(
    performance: ModelPerformance,
) -> scoring_service_pb2.GetRiskModelPerformanceResponse:
    """The response of GetRiskModelPerformance."""
    lower, upper = performance.precision_interval
    return scoring_service_pb2.GetRiskModelPerformanceResponse(
        scored=performance.scored,
        random_examined=performance.random_examined,
        random_flagged=performance.random_flagged,
        random_flagged_hits=performance.random_flagged_hits,
        precision=performance.precision,
        precision_lower=lower,
        precision_upper=upper,
        validation_precision=performance.validation_precision,
        population_stability_index=performance.population_stability_index,
    )
