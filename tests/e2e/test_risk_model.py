"""The risk model's whole chain across the five processes.

History imported into scoring, a version trained there by an analyst, drafted
in criteria through scoring's outbox, refused to its trainer and approved by
a supervisor, streamed back to scoring, which then scores new declarations
and explains them with that version (issue 11, "Done when").
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import grpc
import pytest
from customs.criteria.v1 import criteria_service_pb2, criteria_service_pb2_grpc, risk_model_pb2
from customs.scoring.v1 import risk_model_pb2 as scoring_risk_model_pb2
from customs.scoring.v1 import scoring_service_pb2, scoring_service_pb2_grpc
from e2e_support import eventually
from risk_model_support import labelled_slice, past_declaration
from run_platform import Platform

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(600)
def test_history_to_training_to_approval_to_scored_and_explained_decisions(
    platform: Platform, test_keys: SigningKeys
) -> None:
    trainer = test_keys.metadata(Role.ANALYST, Role.RMC, subject="ana")
    supervisor = test_keys.metadata(Role.SUPERVISOR, subject="sam")
    with (
        grpc.insecure_channel(platform.address("scoring")) as scoring_channel,
        grpc.insecure_channel(platform.address("criteria")) as criteria_channel,
    ):
        scoring = scoring_service_pb2_grpc.ScoringServiceStub(scoring_channel)
        criteria = criteria_service_pb2_grpc.CriteriaServiceStub(criteria_channel)

        imported = scoring.ImportHistory(
            iter(labelled_slice()), metadata=test_keys.metadata(Role.DECLARATION_SYSTEM)
        )
        started = scoring.TrainRiskModel(
            scoring_service_pb2.TrainRiskModelRequest(validation_months=1), metadata=trainer
        ).training

        def finished() -> scoring_risk_model_pb2.RiskModelTraining | None:
            training: scoring_risk_model_pb2.RiskModelTraining = scoring.GetRiskModelTraining(
                scoring_service_pb2.GetRiskModelTrainingRequest(name=started.name),
                metadata=trainer,
            ).training
            running = scoring_risk_model_pb2.RISK_MODEL_TRAINING_STATE_RUNNING
            return None if training.state == running else training

        done = eventually(finished, timeout=300)
        assert done.risk_model, done.error_message
        name = done.risk_model

        def drafted() -> risk_model_pb2.RiskModel | None:
            try:
                return criteria.GetRiskModel(
                    criteria_service_pb2.GetRiskModelRequest(name=name), metadata=supervisor
                ).risk_model
            except grpc.RpcError:
                return None

        draft = eventually(drafted, timeout=60)
        criteria.SubmitRiskModel(
            criteria_service_pb2.SubmitRiskModelRequest(
                name=name, score_threshold=0.5, lookback_days=366, reason="Validated"
            ),
            metadata=trainer,
        )
        with pytest.raises(grpc.RpcError) as own:
            criteria.ApproveRiskModel(
                criteria_service_pb2.ApproveRiskModelRequest(name=name, reason="mine"),
                metadata=trainer,
            )
        approved = criteria.ApproveRiskModel(
            criteria_service_pb2.ApproveRiskModelRequest(name=name, reason="Impact accepted"),
            metadata=supervisor,
        ).risk_model

        def served() -> scoring_service_pb2.GetServingRiskModelResponse | None:
            serving = scoring.GetServingRiskModel(
                scoring_service_pb2.GetServingRiskModelRequest(), metadata=supervisor
            )
            return serving if serving.risk_model == name else None

        serving = eventually(served, timeout=60)
        lodged = past_declaration(
            f"E2E-RM-{uuid.uuid4().hex[:8]}",
            datetime.now(UTC),
            hs_code="851713",
            origin="CN",
            seller="RISKY01",
        )
        assessed = scoring.AssessDeclaration(
            scoring_service_pb2.AssessDeclarationRequest(declaration=lodged),
            metadata=test_keys.metadata(Role.DECLARATION_SYSTEM),
        ).assessment
        explained = scoring.ExplainAssessment(
            scoring_service_pb2.ExplainAssessmentRequest(name=assessed.name),
            metadata=supervisor,
        )

    assert imported.imported + imported.already_imported == len(labelled_slice())
    assert draft.state == risk_model_pb2.RISK_MODEL_STATE_DRAFT
    assert draft.trainer == "ana"
    assert own.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert approved.state == risk_model_pb2.RISK_MODEL_STATE_ACTIVE
    assert serving.digest == draft.digest
    assert assessed.risk_model == name
    assert 0 < assessed.risk_model_score < 1
    assert explained.explanation.risk_model_score == assessed.risk_model_score
    assert len(explained.explanation.risk_reasons) == 5
    assert explained.explanation.replay_identical, list(explained.explanation.replay_differences)
