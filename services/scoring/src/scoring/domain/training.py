"""Training operations and the model versions they store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from customs_kit.errors import FailedPrecondition
from scoring.domain.risk_model import FeatureContribution, ModelCard

#: Reasons recorded with a scored decision, largest contribution first.
REASONS_RECORDED = 5


class TrainingState(Enum):
    """The state of a training operation."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Training:
    """One training operation, ``riskModelTrainings/{training_id}``."""

    training_id: str
    state: TrainingState
    progress_percent: float
    stage: str
    trainer: str
    validation_months: int
    create_time: datetime
    risk_model: str = ""
    error_reason: str = ""
    error_message: str = ""
    end_time: datetime | None = None

    @property
    def name(self) -> str:
        """The resource name."""
        return f"riskModelTrainings/{self.training_id}"


@dataclass(frozen=True)
class ModelVersion:
    """A stored model version: ``riskModels/v{sequence}``, its digest and card."""

    name: str
    digest: str
    card: ModelCard
    trainer: str
    training_id: str
    artifact_bytes: int
    create_time: datetime


@dataclass(frozen=True)
class RiskScore:
    """What the risk model said about one declaration: the version, the score, the reasons.

    ``reasons`` is empty on a GREEN decision (computing them costs milliseconds
    that release should not wait for); ExplainAssessment computes them from
    the same version for any decision.
    """

    risk_model: str
    digest: str
    score: float
    reasons: tuple[FeatureContribution, ...] = ()


def version_name(sequence: int) -> str:
    """The resource name of the ``sequence``-th version trained."""
    return f"riskModels/v{sequence}"


class NoOutcomes(FailedPrecondition):
    """Scoring holds no declaration with an examination outcome: nothing to learn from."""

    def __init__(self) -> None:
        super().__init__(
            "NO_OUTCOMES",
            "scoring holds no examined declaration with an outcome: import history "
            "(ImportHistory) or wait for examination outcomes before training",
        )


class TrainingRunning(FailedPrecondition):
    """Another training is running; one at a time keeps the two cores for scoring."""

    def __init__(self, running: Training) -> None:
        super().__init__(
            "TRAINING_RUNNING",
            f"{running.name} is still running; poll it with GetRiskModelTraining",
            metadata={"training": running.name},
        )
