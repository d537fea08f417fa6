"""Inverse-propensity weights: correcting training for who chose what was examined.

Only examined declarations carry an outcome, and most were examined because a
criterion chose them, so a model fitted on them alone learns what the
criteria already look for. The random arm is the exception: a uniform draw
from the declarations the criteria left alone. Each randomly examined row
therefore stands for ``1 / rate`` declarations of that population, where
``rate`` is the share of them that was drawn; a criteria-selected row stands
for itself (its propensity is taken as 1: the selection percent of the
criterion that chose it is not recorded with the outcome). Weighting the rows
so makes the fit estimate the risk of the whole stream, not only of what was
already suspected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scoring.domain.risk_model.records import LabelledDeclaration

#: The largest weight a random-arm row gets (a draw rate of 2 %): below that
#: rate a handful of rows would dominate the fit and its variance.
MAX_RANDOM_ARM_WEIGHT = 50.0


@dataclass(frozen=True)
class ExaminationWeights:
    """One weight per examined row of the input, in order, and the random arm's."""

    weights: tuple[float, ...]
    #: The weight of every random-arm row (1.0 when there is no random arm).
    random_arm_weight: float


def examination_weights(rows: Sequence[LabelledDeclaration]) -> ExaminationWeights:
    """The inverse-propensity weight of each examined row of ``rows``.

    The draw rate is estimated from ``rows`` themselves: random-arm
    examinations over the declarations not examined by a criterion (the
    population the random arm draws from).
    """
    randomly = sum(1 for row in rows if row.examined and row.randomly_selected)
    by_criteria = sum(1 for row in rows if row.examined and not row.randomly_selected)
    not_selected = len(rows) - by_criteria
    weight = 1.0
    if randomly:
        weight = min(not_selected / randomly, MAX_RANDOM_ARM_WEIGHT)
    return ExaminationWeights(
        weights=tuple(weight if row.randomly_selected else 1.0 for row in rows if row.examined),
        random_arm_weight=weight,
    )
