"""Ranking metrics, calibration and drift: one implementation for the card, tests and bench.

The top k % of N declarations are the first ``max(1, floor(N * k / 100))``
by score, highest first; equal scores keep their input order, so a figure
never depends on an unstable sort.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

#: The percentages precision is reported at (issue 11 item 3).
PRECISION_AT = (1, 2, 5, 10)
#: The percentages recall is reported at.
RECALL_AT = (5, 10)
_PSI_FLOOR = 1e-4


def _top_count(total: int, percent: float) -> int:
    return max(1, math.floor(total * percent / 100))


def _ranked(scores: Sequence[float]) -> list[int]:
    return sorted(range(len(scores)), key=lambda index: -scores[index])


def auc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """The area under the ROC curve (ties count one half); ``None`` without both classes."""
    positives = sum(1 for label in labels if label)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    order = sorted(range(len(scores)), key=lambda index: scores[index])
    rank_sum = 0.0
    position = 0
    while position < len(order):
        end = position
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[position]]:
            end += 1
        average_rank = (position + end) / 2 + 1
        rank_sum += average_rank * sum(1 for index in order[position : end + 1] if labels[index])
        position = end + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def evaluate_ranking(
    scores: Sequence[float],
    infringements: Sequence[bool],
    revenues: Sequence[Decimal | float | None],
) -> dict[str, float | None]:
    """Precision@1/2/5/10 %, recall@5/10 %, revenue-weighted recall@5 % and AUC.

    Revenue weights each infringement by the duty at stake (unknown counts
    as none); a figure that cannot be computed (no infringement, no revenue)
    is ``None``.
    """
    if not (len(scores) == len(infringements) == len(revenues)):
        raise ValueError("scores, infringements and revenues must have the same length")
    if not scores:
        raise ValueError("no scores to evaluate")
    ranked = _ranked(scores)
    total_hits = sum(1 for label in infringements if label)
    metrics: dict[str, float | None] = {}
    for percent in PRECISION_AT:
        top = ranked[: _top_count(len(scores), percent)]
        metrics[f"precision_at_{percent}"] = sum(1 for i in top if infringements[i]) / len(top)
    for percent in RECALL_AT:
        top = ranked[: _top_count(len(scores), percent)]
        hits = sum(1 for i in top if infringements[i])
        metrics[f"recall_at_{percent}"] = hits / total_hits if total_hits else None
    weights = [
        float(revenue) if infringements[i] and revenue is not None else 0.0
        for i, revenue in enumerate(revenues)
    ]
    total_revenue = sum(weights)
    top = ranked[: _top_count(len(scores), 5)]
    metrics["revenue_recall_at_5"] = (
        sum(weights[i] for i in top) / total_revenue if total_revenue > 0 else None
    )
    metrics["auc"] = auc(scores, infringements)
    return metrics


@dataclass(frozen=True)
class CalibrationBin:
    """One decile of the scores: how many, the mean predicted and the observed rate."""

    count: int
    mean_predicted: float
    observed_rate: float


def calibration(
    scores: Sequence[float], infringements: Sequence[bool], bins: int = 10
) -> list[CalibrationBin]:
    """Predicted against observed by score decile, lowest scores first (empty deciles left out)."""
    ordered = sorted(range(len(scores)), key=lambda index: scores[index])
    result: list[CalibrationBin] = []
    for number in range(bins):
        members = ordered[number * len(ordered) // bins : (number + 1) * len(ordered) // bins]
        if members:
            result.append(
                CalibrationBin(
                    count=len(members),
                    mean_predicted=sum(scores[i] for i in members) / len(members),
                    observed_rate=sum(1 for i in members if infringements[i]) / len(members),
                )
            )
    return result


@dataclass(frozen=True)
class ReferenceBins:
    """The score distribution a model was validated on, for drift (PSI).

    ``edges`` are the inner bin boundaries (a score ``s`` falls in the first
    bin whose upper edge is above it); ``fractions`` has one more entry.
    """

    edges: tuple[float, ...]
    fractions: tuple[float, ...]


def reference_bins(scores: Sequence[float], bins: int = 10) -> ReferenceBins:
    """Decile edges of ``scores`` and the share of ``scores`` in each bin."""
    if not scores:
        raise ValueError("no scores to take reference bins from")
    ordered = sorted(scores)
    edges = sorted({ordered[len(ordered) * number // bins] for number in range(1, bins)})
    counts = _bin_counts(edges, scores)
    return ReferenceBins(tuple(edges), tuple(count / len(scores) for count in counts))


def _bin_counts(edges: Sequence[float], scores: Sequence[float]) -> list[int]:
    counts = [0] * (len(edges) + 1)
    for score in scores:
        index = 0
        while index < len(edges) and score >= edges[index]:
            index += 1
        counts[index] += 1
    return counts


def population_stability_index(reference: ReferenceBins, scores: Sequence[float]) -> float:
    """PSI of ``scores`` against ``reference``: sum of (a - e) ln(a / e) over the bins.

    Empty bins count as a share of 1e-4 so the logarithm stays finite.
    Under 0.1 is usually read as stable, over 0.25 as a shift worth retraining for.
    """
    if not scores:
        raise ValueError("no scores to compare with the reference")
    counts = _bin_counts(reference.edges, scores)
    psi = 0.0
    for count, expected in zip(counts, reference.fractions, strict=True):
        actual = max(count / len(scores), _PSI_FLOOR)
        expected = max(expected, _PSI_FLOOR)
        psi += (actual - expected) * math.log(actual / expected)
    return psi
