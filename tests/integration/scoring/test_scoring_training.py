"""TrainRiskModel, the training operation, through a real scoring server and trainer process."""

from __future__ import annotations

import grpc
import pytest
from customs.scoring.v1 import risk_model_pb2, scoring_service_pb2, scoring_service_pb2_grpc
from risk_model_support import import_history, labelled_slice, wait_for
from scoring_support import query

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys
from scoring.domain.risk_model.features import FEATURE_NAMES

Stub = scoring_service_pb2_grpc.ScoringServiceStub
State = risk_model_pb2.RiskModelTrainingState


@pytest.mark.timeout(600)
async def test_a_training_runs_to_a_stored_version_with_its_card_and_event(
    stub: Stub, test_keys: SigningKeys, database_url: str
) -> None:
    await import_history(stub, test_keys, labelled_slice())

    started = await stub.TrainRiskModel(
        scoring_service_pb2.TrainRiskModelRequest(validation_months=1),
        metadata=test_keys.metadata(Role.ANALYST, subject="ana"),
    )
    done = await wait_for(stub, test_keys, started.training.name)

    assert started.training.state == State.RISK_MODEL_TRAINING_STATE_RUNNING
    assert done.state == State.RISK_MODEL_TRAINING_STATE_SUCCEEDED, done.error_message
    assert (done.risk_model, done.trainer, done.progress_percent) == ("riskModels/v1", "ana", 100)
    card = done.card
    assert len(card.digest) == 64
    assert card.training_rows > 0
    assert 0 < card.training_positive_rows < card.training_rows
    assert card.validation.validation_rows > 0
    assert list(card.features) == list(FEATURE_NAMES)
    assert 0 <= card.validation.precision_at_10 <= 1
    read = await stub.GetRiskModelCard(
        scoring_service_pb2.GetRiskModelCardRequest(risk_model="riskModels/v1"),
        metadata=test_keys.metadata(Role.SUPERVISOR),
    )
    assert read.card == card
    events = await query(
        database_url,
        "SELECT destination, method FROM outbox_events WHERE destination = 'criteria'",
    )
    assert [tuple(row) for row in events] == [
        ("criteria", "/customs.criteria.v1.CriteriaService/IngestRiskModelTrainedEvent")
    ]


async def test_training_without_outcomes_is_refused_and_starts_nothing(
    stub: Stub, test_keys: SigningKeys, database_url: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.TrainRiskModel(
            scoring_service_pb2.TrainRiskModelRequest(), metadata=test_keys.metadata(Role.RMC)
        )

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "ImportHistory" in (refused.value.details() or "")
    assert await query(database_url, "SELECT id FROM risk_model_trainings") == []


async def test_too_few_outcomes_fail_the_operation_with_the_reason(
    stub: Stub, test_keys: SigningKeys
) -> None:
    await import_history(stub, test_keys, labelled_slice(12))

    started = await stub.TrainRiskModel(
        scoring_service_pb2.TrainRiskModelRequest(validation_months=1),
        metadata=test_keys.metadata(Role.ANALYST),
    )
    done = await wait_for(stub, test_keys, started.training.name)

    assert done.state == State.RISK_MODEL_TRAINING_STATE_FAILED
    assert done.error_reason == "NOT_ENOUGH_OUTCOMES"
    assert "at least" in done.error_message
    assert not done.risk_model


async def test_a_restart_marks_a_running_training_failed(
    start_scoring: object, test_keys: SigningKeys, database_url: str
) -> None:
    async with start_scoring() as service:  # type: ignore[operator]
        stub = Stub(service.channel)
        await import_history(stub, test_keys, labelled_slice())
        started = await stub.TrainRiskModel(
            scoring_service_pb2.TrainRiskModelRequest(validation_months=1),
            metadata=test_keys.metadata(Role.ANALYST),
        )
    async with start_scoring() as service:  # type: ignore[operator]
        stub = Stub(service.channel)
        response = await stub.GetRiskModelTraining(
            scoring_service_pb2.GetRiskModelTrainingRequest(name=started.training.name),
            metadata=test_keys.metadata(Role.ANALYST),
        )

    assert response.training.state == State.RISK_MODEL_TRAINING_STATE_FAILED
    assert response.training.error_reason == "TRAINING_INTERRUPTED"


async def test_officers_may_not_train(stub: Stub, test_keys: SigningKeys) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.TrainRiskModel(
            scoring_service_pb2.TrainRiskModelRequest(), metadata=test_keys.metadata(Role.OFFICER)
        )

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
