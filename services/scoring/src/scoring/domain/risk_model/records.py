"""What the risk model learns from and what it answers with."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from customs_kit.errors import FailedPrecondition
from scoring.domain.declaration import Declaration


@dataclass(frozen=True)
class LabelledDeclaration:
    """One past declaration and what its examination found.

    Only examined rows carry an outcome; unexamined rows still count as
    declarations lodged by their parties (the frequency features).
    """

    declaration: Declaration
    examined: bool
    infringement: bool
    #: 0 none, 1 infringement, 2 one that may threaten public safety.
    severity: int
    #: Extra duty the examination found, when known.
    revenue: Decimal | None
    #: Examined because of a random draw: the unbiased arm of the sample.
    randomly_selected: bool = False


@dataclass(frozen=True)
class FeatureContribution:
    """One reason for a score: a feature, its value, and how far it moved the log-odds."""

    feature: str
    value: float
    contribution: float


class NotEnoughOutcomes(FailedPrecondition):
    """Training needs examined declarations with both kinds of outcome, before and after the cut."""

    def __init__(self, message: str) -> None:
        super().__init__("NOT_ENOUGH_OUTCOMES", message)
