"""Training, the artifact and the predictor, on small planted histories."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from risk_model_builders import declaration, history, labelled

from scoring.domain.risk_model import (
    InvalidArtifact,
    LabelledDeclaration,
    NotEnoughOutcomes,
    TrainedModel,
    load_risk_model,
    train_risk_model,
)
from scoring.domain.risk_model.features import FEATURE_NAMES
from scoring.domain.risk_model.weighting import MAX_RANDOM_ARM_WEIGHT, examination_weights


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


def test_validation_is_on_the_latest_months_with_outcomes_not_on_unexamined_later_ones() -> None:
    rows = history(count=300, days=60)
    # Declarations assessed two months later, not examined yet.
    rows.extend(
        labelled(declaration(f"LATE{n}", 120 + n), False, examined=False) for n in range(30)
    )

    card = train_risk_model(rows, validation_months=1).card

    last_examined = max(row.declaration.lodgement_time for row in rows if row.examined)
    assert card.validation_window.last == last_examined
    assert card.validation_window.first.month == last_examined.month
    assert card.n_validation > 0


def test_foreign_bytes_are_not_a_model() -> None:
    with pytest.raises(InvalidArtifact):
        load_risk_model(b"not a model")
    with pytest.raises(InvalidArtifact):
        load_risk_model(b"customs-risk-model/1\n" + b"garbage")


def test_the_card_counts_the_infringements_it_was_trained_on(trained: TrainedModel) -> None:
    rows = history()
    cut = trained.card.validation_window.first
    fitted = [row for row in rows if row.declaration.lodgement_time < cut and row.examined]
    assert trained.card.n_train == len(fitted)
    assert trained.card.n_train_positive == sum(1 for row in fitted if row.infringement)
    assert 0 < trained.card.n_train_positive < trained.card.n_train


def _with_random_arm(rows: list[LabelledDeclaration]) -> list[LabelledDeclaration]:
    """Criteria examined every infringement and a few others; random draws examined 1 in 8.

    Of the declarations the criteria left alone, every eighth was drawn, so
    each drawn row stands for eight of them.
    """
    marked = []
    for number, row in enumerate(rows):
        if row.infringement or number % 9 == 0:
            marked.append(row)
        elif number % 8 == 0:
            marked.append(replace(row, randomly_selected=True))
        else:
            marked.append(replace(row, examined=False, infringement=False, severity=0))
    return marked


def test_random_arm_rows_are_weighted_by_the_inverse_of_the_draw_rate() -> None:
    rows = _with_random_arm(history())
    weighting = examination_weights(rows)

    by_criteria = sum(1 for row in rows if row.examined and not row.randomly_selected)
    randomly = sum(1 for row in rows if row.randomly_selected)
    assert weighting.random_arm_weight == pytest.approx((len(rows) - by_criteria) / randomly)
    assert 6 < weighting.random_arm_weight < 10
    examined = [row for row in rows if row.examined]
    assert len(weighting.weights) == len(examined)
    assert [
        w for w, row in zip(weighting.weights, examined, strict=True) if row.randomly_selected
    ] == [weighting.random_arm_weight] * randomly
    assert {
        w for w, row in zip(weighting.weights, examined, strict=True) if not row.randomly_selected
    } == {1.0}


def test_without_a_random_arm_nothing_is_reweighted() -> None:
    weighting = examination_weights(history())
    assert weighting.random_arm_weight == 1.0
    assert set(weighting.weights) == {1.0}


def test_a_tiny_draw_rate_is_capped() -> None:
    rows = [replace(row, examined=False, infringement=False) for row in history(count=400)]
    rows[0] = replace(rows[0], examined=True, randomly_selected=True)
    assert examination_weights(rows).random_arm_weight == MAX_RANDOM_ARM_WEIGHT


def test_training_applies_the_random_arm_weight() -> None:
    rows = _with_random_arm(history())
    unweighted = [replace(row, randomly_selected=False) for row in rows]

    weighted_model = train_risk_model(rows, validation_months=1)
    plain_model = train_risk_model(unweighted, validation_months=1)

    weight = weighted_model.card.parameters["random_arm_weight"]
    assert isinstance(weight, float)
    assert weight > 1.0
    assert plain_model.card.parameters["random_arm_weight"] == 1.0
    # Same rows, same seed: only the weights differ, and they change the fitted trees.
    assert weighted_model.artifact != plain_model.artifact
    probe = [declaration(f"P{n}", 200, importer=f"IMP{n}") for n in range(20)]
    assert load_risk_model(weighted_model.artifact).score_many(probe) != load_risk_model(
        plain_model.artifact
    ).score_many(probe)
