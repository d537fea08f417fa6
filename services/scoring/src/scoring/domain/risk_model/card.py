"""The model card: what a model version was trained on and how it measured on later months."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scoring.domain.risk_model.metrics import CalibrationBin, ReferenceBins


@dataclass(frozen=True)
class Window:
    """First and last lodgement time of the declarations in a part of the data."""

    first: datetime
    last: datetime


@dataclass(frozen=True)
class ModelCard:
    """Everything a reviewer weighs before approving a model version.

    ``metrics`` are :func:`~scoring.domain.risk_model.metrics.evaluate_ranking`'s
    figures on the validation window, scored by the model the artifact holds;
    ``score_reference`` is that window's score distribution, the reference of
    the drift (PSI) monitor.
    """

    training_window: Window
    validation_window: Window
    features: tuple[str, ...]
    n_train: int
    #: How many of the ``n_train`` examined training rows had an infringement.
    n_train_positive: int
    n_validation: int
    #: Infringement rate of the examined validation rows: what precision is compared with.
    validation_base_rate: float
    metrics: dict[str, float | None]
    calibration: tuple[CalibrationBin, ...]
    score_reference: ReferenceBins
    parameters: dict[str, float | int | str]
    library_versions: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form; :meth:`from_json` reads it back equal."""
        return {
            "training_window": [
                self.training_window.first.isoformat(),
                self.training_window.last.isoformat(),
            ],
            "validation_window": [
                self.validation_window.first.isoformat(),
                self.validation_window.last.isoformat(),
            ],
            "features": list(self.features),
            "n_train": self.n_train,
            "n_train_positive": self.n_train_positive,
            "n_validation": self.n_validation,
            "validation_base_rate": self.validation_base_rate,
            "metrics": self.metrics,
            "calibration": [
                [bin.count, bin.mean_predicted, bin.observed_rate] for bin in self.calibration
            ],
            "score_reference": {
                "edges": list(self.score_reference.edges),
                "fractions": list(self.score_reference.fractions),
            },
            "parameters": self.parameters,
            "library_versions": self.library_versions,
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> ModelCard:
        """The card of :meth:`to_json`'s output."""
        training, validation = document["training_window"], document["validation_window"]
        return cls(
            training_window=Window(
                datetime.fromisoformat(training[0]), datetime.fromisoformat(training[1])
            ),
            validation_window=Window(
                datetime.fromisoformat(validation[0]), datetime.fromisoformat(validation[1])
            ),
            features=tuple(document["features"]),
            n_train=int(document["n_train"]),
            # Cards written before the count was kept read as 0, what they showed.
            n_train_positive=int(document.get("n_train_positive", 0)),
            n_validation=int(document["n_validation"]),
            validation_base_rate=float(document["validation_base_rate"]),
            metrics=dict(document["metrics"]),
            calibration=tuple(
                CalibrationBin(int(count), float(predicted), float(observed))
                for count, predicted, observed in document["calibration"]
            ),
            score_reference=ReferenceBins(
                tuple(document["score_reference"]["edges"]),
                tuple(document["score_reference"]["fractions"]),
            ),
            parameters=dict(document["parameters"]),
            library_versions=dict(document["library_versions"]),
        )
