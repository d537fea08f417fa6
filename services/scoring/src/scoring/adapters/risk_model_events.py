"""The event a trained model version causes: criteria ``IngestRiskModelTrainedEvent``.

Written to the outbox in the transaction that stores the version, so the
criteria service drafts every version scoring holds, and only those.
"""

from __future__ import annotations

import uuid

from customs.criteria.v1 import criteria_service_pb2, risk_model_pb2

from scoring.adapters.codec import datetime_to_timestamp
from scoring.adapters.events import OutboundEvent
from scoring.domain.risk_model import ModelCard
from scoring.domain.training import ModelVersion

_METHOD = "/customs.criteria.v1.CriteriaService/IngestRiskModelTrainedEvent"


def _metric(card: ModelCard, key: str) -> float:
    value = card.metrics.get(key)
    return 0.0 if value is None else float(value)


def criteria_card(version: ModelVersion) -> risk_model_pb2.RiskModelCard:
    """The card in the criteria service's contract."""
    card = version.card
    return risk_model_pb2.RiskModelCard(
        algorithm="lightgbm",
        training_start_time=datetime_to_timestamp(card.training_window.first),
        training_end_time=datetime_to_timestamp(card.training_window.last),
        training_rows=card.n_train,
        training_positive_rows=card.n_train_positive,
        features=list(card.features),
        validation_rows=card.n_validation,
        precision_at_1=_metric(card, "precision_at_1"),
        precision_at_2=_metric(card, "precision_at_2"),
        precision_at_5=_metric(card, "precision_at_5"),
        precision_at_10=_metric(card, "precision_at_10"),
        recall_at_5=_metric(card, "recall_at_5"),
        recall_at_10=_metric(card, "recall_at_10"),
        revenue_recall_at_5=_metric(card, "revenue_recall_at_5"),
        auc=_metric(card, "auc"),
        reference_bin_edges=list(card.score_reference.edges),
        reference_bin_fractions=list(card.score_reference.fractions),
        artifact_bytes=version.artifact_bytes,
        validation_base_rate=card.validation_base_rate,
    )


def risk_model_trained_event(version: ModelVersion) -> OutboundEvent:
    """The event telling criteria that ``version`` was trained."""
    request = criteria_service_pb2.IngestRiskModelTrainedEventRequest(
        event_id=str(uuid.uuid4()),
        source_service="scoring",
        occur_time=datetime_to_timestamp(version.create_time),
        trained=risk_model_pb2.RiskModelTrained(
            risk_model=version.name,
            digest=version.digest,
            trainer=version.trainer,
            card=criteria_card(version),
        ),
    )
    return OutboundEvent(
        "criteria", _METHOD, request.event_id, request.SerializeToString(deterministic=True)
    )
