"""Figures, targets and the printed report of the benchmark."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.5 is the median, 0.99 the 99th)."""
    ordered = sorted(samples)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Target:
    """A figure compared with its target."""

    label: str
    value: float
    unit: str
    limit: float
    at_most: bool

    @property
    def met(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    def line(self) -> str:
        sign = "<=" if self.at_most else ">="
        verdict = "met" if self.met else "NOT MET"
        ratio = self.value / self.limit if self.limit else float("nan")
        return (
            f"  target {self.label}: {self.value:,.2f} {self.unit} "
            f"(target {sign} {self.limit:,g} {self.unit}, ratio {ratio:.2f}) -> {verdict}"
        )


def say(text: str = "") -> None:
    """One line of the report on standard output, flushed (the run is long)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def machine() -> str:
    """The CPU count and load, which the figures depend on."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average {load}"
