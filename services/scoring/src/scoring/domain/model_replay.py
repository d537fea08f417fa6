"""What a model version would do at a score threshold, and how it does on the random arm."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from customs_kit.statistics import wilson_interval
from scoring.domain.risk_model import ModelCard, population_stability_index
from scoring.domain.risk_model.metrics import PRECISION_AT

_EXAMINED = ("RED", "YELLOW")


@dataclass
class OfficeDay:
    """The replay at one office on one day (UTC)."""

    office_code: str
    day: str
    declarations: int = 0
    selections: int = 0
    overlap_with_active: int = 0
    examinations: int = 0


@dataclass
class ModelReplay:
    """The stored decisions with the model's selections added at the threshold."""

    declarations: int = 0
    selections: int = 0
    expected_hits: float = 0.0
    overlap_with_active: int = 0
    channels: dict[str, int] = field(default_factory=dict)
    office_days: dict[tuple[str, str], OfficeDay] = field(default_factory=dict)

    def add(
        self,
        office_code: str,
        day: str,
        channel: str,
        score: float,
        threshold: float,
        to_channel: str,
    ) -> None:
        """Counts one stored decision (``channel``) scored ``score``."""
        selected = score >= threshold
        examined = channel in _EXAMINED
        office_day = self.office_days.setdefault((office_code, day), OfficeDay(office_code, day))
        self.declarations += 1
        office_day.declarations += 1
        if selected:
            self.selections += 1
            self.expected_hits += score
            office_day.selections += 1
            if examined:
                self.overlap_with_active += 1
                office_day.overlap_with_active += 1
        # A model selection sends a released declaration to examination; an examined one keeps
        # its stronger channel.
        applied = to_channel if selected and not examined else channel
        self.channels[applied] = self.channels.get(applied, 0) + 1
        if applied in _EXAMINED:
            office_day.examinations += 1


@dataclass(frozen=True)
class ModelPerformance:
    """A version's results on the random arm and its score drift."""

    scored: int
    random_examined: int
    random_flagged: int
    random_flagged_hits: int
    precision: float
    precision_interval: tuple[float, float]
    validation_precision: float
    population_stability_index: float


def measure(
    card: ModelCard,
    threshold: float,
    scores: Sequence[float],
    random_arm: Sequence[tuple[float, bool]],
) -> ModelPerformance:
    """Precision of the flagged random examinations (``(score, infringement)``) and drift.

    The random arm is the only sample examined regardless of what scoring
    thought of it, so its flagged share measures the model without the bias
    of the selections; the card's precision at the nearest top share is what
    it is compared with.
    """
    flagged = [found for score, found in random_arm if score >= threshold]
    hits = sum(flagged)
    share = 100 * sum(1 for score in scores if score >= threshold) / len(scores) if scores else 0
    nearest = min(PRECISION_AT, key=lambda percent: abs(percent - share))
    validation = card.metrics.get(f"precision_at_{nearest}")
    return ModelPerformance(
        scored=len(scores),
        random_examined=len(random_arm),
        random_flagged=len(flagged),
        random_flagged_hits=hits,
        precision=hits / len(flagged) if flagged else 0.0,
        precision_interval=wilson_interval(hits, len(flagged)) if flagged else (0.0, 1.0),
        validation_precision=float(validation or 0.0),
        population_stability_index=(
            population_stability_index(card.score_reference, scores) if scores else 0.0
        ),
    )
