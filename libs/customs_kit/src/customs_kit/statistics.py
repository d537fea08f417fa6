"""Confidence intervals for the rates every service reports (hit rates, compliance rates)."""

from __future__ import annotations

import math
from statistics import NormalDist


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of the proportion ``successes / trials``.

    Unlike the normal approximation it stays inside [0, 1] and is not a point
    at 0 % or 100 %, which matters for the small samples a new criterion or
    a small trader yields. With no trial nothing is known: all of [0, 1].
    """
    if not 0 <= successes <= trials:
        raise ValueError(f"successes ({successes}) must be between 0 and {trials}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence ({confidence}) must be between 0 and 1")
    if trials == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    n = trials
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half_width = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # The bounds are exactly 0 with no success and exactly 1 with no failure;
    # floating point would leave them a hair away.
    lower = 0.0 if successes == 0 else max(0.0, centre - half_width)
    upper = 1.0 if successes == n else min(1.0, centre + half_width)
    return lower, upper
