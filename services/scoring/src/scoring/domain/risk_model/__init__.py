"""The risk model: learns from examination outcomes which declarations are risky.

Plain Python over LightGBM and numpy; training runs in a worker process of
scoring, never in the request path. See :mod:`.features` for how a row is
kept from seeing its own outcome or the future.
"""

from scoring.domain.risk_model.card import ModelCard, Window
from scoring.domain.risk_model.metrics import (
    CalibrationBin,
    ReferenceBins,
    evaluate_ranking,
    population_stability_index,
)
from scoring.domain.risk_model.model import (
    InvalidArtifact,
    RiskModel,
    TrainedModel,
    load_risk_model,
)
from scoring.domain.risk_model.records import (
    FeatureContribution,
    LabelledDeclaration,
    NotEnoughOutcomes,
)
from scoring.domain.risk_model.training import train_risk_model

__all__ = [
    "CalibrationBin",
    "FeatureContribution",
    "InvalidArtifact",
    "LabelledDeclaration",
    "ModelCard",
    "NotEnoughOutcomes",
    "ReferenceBins",
    "RiskModel",
    "TrainedModel",
    "Window",
    "evaluate_ranking",
    "load_risk_model",
    "population_stability_index",
    "train_risk_model",
]
