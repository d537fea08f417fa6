"""The risk model learns from the public data set (skipped when the data set is absent)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from declarations_dataset import dataset_directory
from labelled_declarations import read_labelled_declarations

from scoring.domain.risk_model import evaluate_ranking, load_risk_model, train_risk_model

pytestmark = pytest.mark.skipif(
    not (dataset_directory() / "train.csv").is_file(),
    reason="the customs-declarations data set is not beside the repository",
)


def test_a_model_trained_on_four_months_ranks_the_fifth_above_the_base_rate() -> None:
    rows = read_labelled_declarations()
    may = datetime(2020, 5, 1, tzinfo=UTC)
    june = datetime(2020, 6, 1, tzinfo=UTC)
    history = [row for row in rows if row.declaration.lodgement_time < may]
    later = [row for row in rows if may <= row.declaration.lodgement_time < june]
    trained = train_risk_model(history, validation_months=1)
    assert trained.card.metrics["precision_at_10"] is not None
    assert trained.card.metrics["precision_at_10"] > trained.card.validation_base_rate

    model = load_risk_model(trained.artifact)
    scores = model.score_many([row.declaration for row in later])
    outcomes = [row.infringement for row in later]
    metrics = evaluate_ranking(scores, outcomes, [row.revenue for row in later])
    base_rate = sum(outcomes) / len(outcomes)
    assert metrics["precision_at_5"] is not None
    assert metrics["precision_at_5"] > base_rate + 0.3
    assert len(trained.artifact) < 8 * 1024 * 1024
