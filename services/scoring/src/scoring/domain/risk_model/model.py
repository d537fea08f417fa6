"""A trained risk model: its artifact, and the predictor scoring loads from it.

The artifact is ``MAGIC`` followed by zlib-compressed JSON holding the
encoding tables, the model card and LightGBM's own text model format; no
pickle, so loading an artifact runs no code from it. Equal inputs give equal
bytes (keys sorted, no timestamps), and ``version_digest`` is its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm
import numpy as np

from scoring.domain.declaration import Declaration
from scoring.domain.risk_model.card import ModelCard
from scoring.domain.risk_model.features import FEATURE_NAMES, EncodingTables
from scoring.domain.risk_model.records import FeatureContribution

MAGIC = b"customs-risk-model/1\n"


@dataclass(frozen=True)
class TrainedModel:
    """What training produces: the artifact to store and its card."""

    artifact: bytes
    card: ModelCard


def encode_artifact(tables: EncodingTables, booster_text: str, card: ModelCard) -> bytes:
    """The artifact bytes of a model (deterministic)."""
    document = {
        "features": list(FEATURE_NAMES),
        "tables": tables.to_json(),
        "card": card.to_json(),
        "booster": booster_text,
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return MAGIC + zlib.compress(text.encode("utf-8"), 6)


class InvalidArtifact(ValueError):
    """The bytes are not a risk model artifact this code can read."""


class RiskModel:
    """Scores and explains declarations with one model version."""

    def __init__(self, artifact: bytes) -> None:
        if not artifact.startswith(MAGIC):
            raise InvalidArtifact("not a risk model artifact (unknown header)")
        try:
            document: dict[str, Any] = json.loads(zlib.decompress(artifact[len(MAGIC) :]))
        except (zlib.error, ValueError) as error:
            raise InvalidArtifact(f"corrupt risk model artifact: {error}") from error
        if tuple(document["features"]) != FEATURE_NAMES:
            raise InvalidArtifact("the artifact's features are not the ones this code computes")
        self.version_digest = hashlib.sha256(artifact).hexdigest()
        self.card = ModelCard.from_json(document["card"])
        self._tables = EncodingTables.from_json(document["tables"])
        self._booster_text: str = document["booster"]
        self._booster = lightgbm.Booster(model_str=self._booster_text)

    def features(self, declaration: Declaration) -> list[float]:
        """The feature vector ``declaration`` is scored on, in ``card.features`` order."""
        return self._tables.vector(declaration)

    def score(self, declaration: Declaration) -> float:
        """The probability (0..1) that examining ``declaration`` finds an infringement.

        LightGBM's own single-row prediction is fast enough here (about 0.1 ms
        for the public data set's model, ``make bench`` part m), so there is
        no second tree evaluator to keep identical to it.
        """
        return self.score_many([declaration])[0]

    def score_many(self, declarations: Sequence[Declaration]) -> list[float]:
        """:meth:`score` of each declaration, in one call to the trees."""
        if not declarations:
            return []
        matrix = np.asarray(
            [self._tables.vector(declaration) for declaration in declarations], dtype=np.float64
        )
        predicted = self._booster.predict(matrix, num_threads=1)
        return [float(value) for value in predicted]

    def explain(self, declaration: Declaration, top_k: int = 5) -> list[FeatureContribution]:
        """The ``top_k`` features that moved the log-odds most (LightGBM's SHAP values).

        Largest absolute contribution first, ties by feature name, so the
        same model and declaration always give the same reasons.
        """
        vector = self._tables.vector(declaration)
        contributions = self._booster.predict(
            np.asarray([vector], dtype=np.float64), pred_contrib=True, num_threads=1
        )[0]
        reasons = [
            FeatureContribution(name, value, float(contribution))
            for name, value, contribution in zip(FEATURE_NAMES, vector, contributions, strict=False)
        ]
        reasons.sort(key=lambda reason: (-abs(reason.contribution), reason.feature))
        return reasons[:top_k]


def load_risk_model(artifact: bytes) -> RiskModel:
    """The predictor of an artifact; raises :class:`InvalidArtifact` on foreign bytes."""
    return RiskModel(artifact)
