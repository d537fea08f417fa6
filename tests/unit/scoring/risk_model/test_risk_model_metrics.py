"""Ranking metrics and drift against figures worked out by hand."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from scoring.domain.risk_model import evaluate_ranking, population_stability_index
from scoring.domain.risk_model.metrics import auc, calibration, reference_bins


def test_precision_and_recall_at_the_top_percentages() -> None:
    # 20 declarations: the top 10 % (2) holds one hit, the top 5 % (1) one hit.
    scores = [1.0 - index / 20 for index in range(20)]
    hits = [True, False, True, True] + [False] * 15 + [True]
    metrics = evaluate_ranking(scores, hits, [Decimal(0)] * 20)
    assert metrics["precision_at_1"] == 1.0  # max(1, floor(0.2)) = 1 declaration
    assert metrics["precision_at_5"] == 1.0
    assert metrics["precision_at_10"] == 0.5
    assert metrics["recall_at_5"] == 0.25
    assert metrics["recall_at_10"] == 0.25


def test_revenue_weighted_recall_weights_each_hit_by_its_duty() -> None:
    scores = [0.9, 0.8, 0.7, 0.1] + [0.0] * 16
    hits = [True, False, True, True] + [False] * 16
    revenues: list[Decimal | float | None] = [30, 500, None, 70] + [0] * 16
    metrics = evaluate_ranking(scores, hits, revenues)
    # Top 5 % of 20 is the first declaration: 30 of the 100 at stake.
    assert metrics["revenue_recall_at_5"] == pytest.approx(0.3)


def test_auc_counts_ties_as_one_half() -> None:
    assert auc([0.9, 0.8, 0.3, 0.1], [True, True, False, False]) == 1.0
    assert auc([0.1, 0.9], [True, False]) == 0.0
    # One positive tied with one of two negatives: (0.5 + 1) / 2.
    assert auc([0.5, 0.5, 0.1], [True, False, False]) == 0.75
    assert auc([0.5, 0.4], [True, True]) is None


def test_figures_without_a_hit_are_none_not_zero() -> None:
    metrics = evaluate_ranking([0.3, 0.2], [False, False], [None, None])
    assert metrics["recall_at_5"] is None
    assert metrics["revenue_recall_at_5"] is None
    assert metrics["auc"] is None
    assert metrics["precision_at_5"] == 0.0


def test_calibration_by_decile_compares_predicted_and_observed() -> None:
    scores = [index / 10 for index in range(10)]
    hits = [False] * 5 + [True] * 5
    bins = calibration(scores, hits, bins=2)
    assert [(b.count, b.observed_rate) for b in bins] == [(5, 0.0), (5, 1.0)]
    assert bins[0].mean_predicted == pytest.approx(0.2)


def test_population_stability_index_is_zero_on_the_reference_and_grows_with_drift() -> None:
    reference = reference_bins([index / 100 for index in range(100)], bins=4)
    assert reference.edges == (0.25, 0.5, 0.75)
    assert reference.fractions == (0.25, 0.25, 0.25, 0.25)
    assert population_stability_index(reference, [index / 100 for index in range(100)]) == 0.0
    # Half the scores in the top bin, the rest spread evenly: hand-computed PSI.
    drifted = [0.1] * 17 + [0.3] * 17 + [0.6] * 16 + [0.9] * 50
    expected = sum((actual - 0.25) * math.log(actual / 0.25) for actual in (0.17, 0.17, 0.16, 0.50))
    assert population_stability_index(reference, drifted) == pytest.approx(expected)
    assert population_stability_index(reference, drifted) > 0.1


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        evaluate_ranking([0.1, 0.2], [True], [None, None])
