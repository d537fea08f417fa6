"""Training, the artifact and the predictor, on small planted histories."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from risk_model_builders import declaration, history, labelled

from scoring.domain.risk_model import (
    InvalidArtifact,
    NotEnoughOutcomes,
    TrainedModel,
    load_risk_model,
    train_risk_model,
)
from scoring.domain.risk_model.features import FEATURE_NAMES


@pytest.fixture(scope="module")
def trained() -> TrainedModel:
    return train_risk_model(history(), validation_months=1)


def test_the_same_history_and_seed_give_the_same_artifact(trained: TrainedModel) -> None:
    again = train_risk_model(list(reversed(history())), validation_months=1)
    assert again.artifact == trained.artifact
    assert again.card == trained.card


def test_the_card_describes_a_validation_on_later_months(trained: TrainedModel) -> None:
    card = trained.card
    assert card.training_window.last < card.validation_window.first
    assert card.validation_window.first.day == 1  # the cut is a calendar month
    assert card.features == FEATURE_NAMES
    assert card.n_train + card.n_validation == 600
    assert len(card.calibration) == 10
    assert sum(card.score_reference.fractions) == pytest.approx(1.0)
    assert set(card.library_versions) == {"lightgbm", "numpy", "python"}
    # The planted signal (BAD importers infringe 90 %) puts hits at the top.
    assert card.metrics["precision_at_10"] is not None
    assert card.metrics["precision_at_10"] > card.validation_base_rate + 0.3


def test_a_loaded_model_scores_like_the_card_says(trained: TrainedModel) -> None:
    model = load_risk_model(trained.artifact)
    assert model.version_digest == hashlib.sha256(trained.artifact).hexdigest()
    assert model.card == trained.card
    bad = declaration("NEW1", 200, importer="BAD3")
    good = declaration("NEW2", 200, importer="IMP7")
    scores = model.score_many([bad, good])
    assert scores == [model.score(bad), model.score(good)]
    assert 0.0 <= scores[1] < scores[0] <= 1.0


def test_explanations_are_deterministic_and_name_the_importer(trained: TrainedModel) -> None:
    bad = declaration("NEW1", 200, importer="BAD3")
    first = load_risk_model(trained.artifact).explain(bad, top_k=3)
    second = load_risk_model(trained.artifact).explain(bad, top_k=3)
    assert first == second
    assert len(first) == 3
    assert abs(first[0].contribution) >= abs(first[1].contribution) >= abs(first[2].contribution)
    assert any(reason.feature.startswith("importer") for reason in first)
    assert first[0].contribution > 0


def test_training_without_examined_declarations_is_refused() -> None:
    rows = [replace(row, examined=False, infringement=False) for row in history(count=100)]
    with pytest.raises(NotEnoughOutcomes) as raised:
        train_risk_model(rows)
    assert raised.value.reason == "NOT_ENOUGH_OUTCOMES"


def test_training_with_nothing_examined_in_the_validation_months_is_refused() -> None:
    rows = history(count=300, days=60)
    rows.append(labelled(declaration("LATE", 120), True, examined=False))
    with pytest.raises(NotEnoughOutcomes, match="on or after"):
        train_risk_model(rows, validation_months=1)


def test_foreign_bytes_are_not_a_model() -> None:
    with pytest.raises(InvalidArtifact):
        load_risk_model(b"not a model")
    with pytest.raises(InvalidArtifact):
        load_risk_model(b"customs-risk-model/1\n" + b"garbage")
