"""Did an informed-compliance intervention work? The trader's error rate before and after.

The handbook's step 11 meets a trader whose errors look unintentional and
agrees a corrective plan; whether the plan worked shows in the trader's later
examinations. For a closed intervention this module compares the share of
the trader's examinations that found something wrong in the intervention's
areas in a window before the meeting with the same share in a window after
it, and says whether the change is more than chance.

Two arms, because they answer differently:

- **Random examinations** are the unbiased sample: the trader's declarations
  examined only because the random draw picked them. Their rate estimates the
  trader's true error rate, before and after alike.
- **All examinations** add the targeted ones. Criteria select the declarations
  most likely to be wrong, so this rate overstates the true one, and it moves
  when the criteria change (a criterion retired after the meeting lowers it
  with no change in the trader). It is used only when the random arm is too
  thin, and the effect then says so in ``selection_bias``.

The change is ``after - before`` with Newcombe's hybrid score interval (his
method 10: the two Wilson intervals combined), which keeps its coverage for
the small samples one trader yields where the Wald interval does not. An
interval entirely below zero is a significant improvement; an intervention
without one "did not help" and is recommended for escalation to a
post-clearance audit, as the handbook's graduated response suggests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from compliance.domain.interventions import (
    ComplianceIntervention,
    InterventionState,
    InterventionTrigger,
)
from compliance.domain.outcomes import ComplianceArea
from customs_kit.errors import FailedPrecondition, PreconditionViolation
from customs_kit.statistics import wilson_interval

#: How far before and after the meeting the examinations are counted, by default.
DEFAULT_WINDOW = timedelta(days=180)
#: Fewer examinations than this in either window of an arm and the arm says nothing.
MIN_EXAMINATIONS = 5


class EffectBasis(StrEnum):
    """Which examinations an effect is measured on."""

    RANDOM_EXAMINATIONS = "RANDOM_EXAMINATIONS"
    ALL_EXAMINATIONS = "ALL_EXAMINATIONS"


class EffectVerdict(StrEnum):
    """What the measured change means for the intervention."""

    #: The error rate fell significantly: the intervention helped.
    EFFECTIVE = "EFFECTIVE"
    #: No significant fall: escalate to a post-clearance audit.
    ESCALATE_TO_AUDIT = "ESCALATE_TO_AUDIT"
    #: Too few examinations before or after to tell.
    INCONCLUSIVE = "INCONCLUSIVE"


@dataclass(frozen=True)
class ExaminedDeclaration:
    """One examination of a declaration of the trader, as the effect counts it."""

    declaration_number: str
    examine_time: datetime
    random_selection: bool
    noncompliant_areas: frozenset[ComplianceArea]


@dataclass(frozen=True)
class WindowRate:
    """The share of examinations in a window that found something wrong, with its interval."""

    examinations: int
    discrepancies: int
    lower: float
    upper: float

    @property
    def rate(self) -> float:
        """``discrepancies / examinations`` (0 with no examination)."""
        return self.discrepancies / self.examinations if self.examinations else 0.0


@dataclass(frozen=True)
class RateChange:
    """``after - before`` of two window rates, with Newcombe's 95 % interval."""

    before: WindowRate
    after: WindowRate
    difference: float
    lower: float
    upper: float

    @property
    def measurable(self) -> bool:
        """Whether both windows hold enough examinations to read the change."""
        return min(self.before.examinations, self.after.examinations) >= MIN_EXAMINATIONS

    @property
    def significant_fall(self) -> bool:
        """Whether the rate fell by more than chance explains."""
        return self.measurable and self.upper < 0


@dataclass(frozen=True)
class InterventionEffect:
    """The measured effect of one closed intervention."""

    intervention: ComplianceIntervention
    window_start: datetime
    pivot_time: datetime
    window_end: datetime
    random_arm: RateChange
    all_examinations: RateChange
    basis: EffectBasis
    verdict: EffectVerdict
    #: Said plainly when the basis includes targeted examinations; empty otherwise.
    selection_bias: str

    @property
    def change(self) -> RateChange:
        """The change on the effect's basis."""
        if self.basis is EffectBasis.RANDOM_EXAMINATIONS:
            return self.random_arm
        return self.all_examinations


@dataclass(frozen=True)
class KindEffect:
    """All measured interventions of one kind (trigger), pooled."""

    trigger: InterventionTrigger
    interventions: int
    effective: int
    escalate: int
    inconclusive: int
    random_arm: RateChange
    all_examinations: RateChange


_TARGETED_BIAS = (
    "Measured on all examinations, targeted ones included, because the random "
    "examinations are too few: criteria select the declarations most likely to be "
    "wrong, so both rates overstate the trader's error rate, and a change in the "
    "criteria between the two windows moves the difference without any change in "
    "the trader."
)


def rate_in(
    examinations: Iterable[ExaminedDeclaration], areas: frozenset[ComplianceArea]
) -> WindowRate:
    """The discrepancy rate of ``examinations`` in ``areas`` (all areas when empty)."""
    counted = list(examinations)
    wrong = sum(
        1
        for examination in counted
        if examination.noncompliant_areas and (not areas or examination.noncompliant_areas & areas)
    )
    lower, upper = wilson_interval(wrong, len(counted))
    return WindowRate(len(counted), wrong, lower, upper)


def change_between(before: WindowRate, after: WindowRate) -> RateChange:
    """``after - before`` with Newcombe's hybrid score interval (method 10)."""
    difference = after.rate - before.rate
    lower = difference - math.hypot(after.rate - after.lower, before.upper - before.rate)
    upper = difference + math.hypot(after.upper - after.rate, before.rate - before.lower)
    return RateChange(before, after, difference, max(-1.0, lower), min(1.0, upper))


def measure_effect(
    intervention: ComplianceIntervention,
    examinations: Sequence[ExaminedDeclaration],
    *,
    window: timedelta = DEFAULT_WINDOW,
    now: datetime,
) -> InterventionEffect:
    """The effect of ``intervention`` on the trader's ``examinations``.

    The pivot is the meeting, when the trader learnt what was wrong; the window
    after it ends ``window`` later or now, whichever comes first. Raises
    ``FailedPrecondition`` (``INTERVENTION_NOT_CLOSED``) unless the
    intervention is closed with a meeting: until then there is no "after".
    """
    if intervention.state is not InterventionState.CLOSED or intervention.meeting is None:
        raise FailedPrecondition(
            "INTERVENTION_NOT_CLOSED",
            f"{intervention.name} is {intervention.state.value}; its effect is measured "
            "once it is closed",
            [
                PreconditionViolation(
                    "INTERVENTION_STATE",
                    intervention.name,
                    f"state is {intervention.state.value}, must be CLOSED",
                )
            ],
        )
    pivot = intervention.meeting.meeting_time
    start, end = pivot - window, min(pivot + window, now)
    before = [e for e in examinations if start <= e.examine_time < pivot]
    after = [e for e in examinations if pivot <= e.examine_time < end]
    areas = intervention.areas
    random_arm = change_between(
        rate_in((e for e in before if e.random_selection), areas),
        rate_in((e for e in after if e.random_selection), areas),
    )
    all_examinations = change_between(rate_in(before, areas), rate_in(after, areas))
    basis = (
        EffectBasis.RANDOM_EXAMINATIONS if random_arm.measurable else EffectBasis.ALL_EXAMINATIONS
    )
    change = random_arm if basis is EffectBasis.RANDOM_EXAMINATIONS else all_examinations
    return InterventionEffect(
        intervention=intervention,
        window_start=start,
        pivot_time=pivot,
        window_end=end,
        random_arm=random_arm,
        all_examinations=all_examinations,
        basis=basis,
        verdict=_verdict(change),
        selection_bias=_TARGETED_BIAS if basis is EffectBasis.ALL_EXAMINATIONS else "",
    )


def _verdict(change: RateChange) -> EffectVerdict:
    if not change.measurable:
        return EffectVerdict.INCONCLUSIVE
    if change.significant_fall:
        return EffectVerdict.EFFECTIVE
    return EffectVerdict.ESCALATE_TO_AUDIT


def pooled_by_kind(effects: Iterable[InterventionEffect]) -> list[KindEffect]:
    """The effects of each trigger pooled: the windows' counts summed across traders.

    Pooling weighs each trader by their examinations, so the kind's figure is
    the change in the error rate of the examined declarations of all its
    traders, not the average of their changes.
    """
    by_trigger: dict[InterventionTrigger, list[InterventionEffect]] = {}
    for effect in effects:
        by_trigger.setdefault(effect.intervention.trigger, []).append(effect)
    kinds = []
    for trigger in sorted(by_trigger):
        group = by_trigger[trigger]
        verdicts = [effect.verdict for effect in group]
        kinds.append(
            KindEffect(
                trigger=trigger,
                interventions=len(group),
                effective=verdicts.count(EffectVerdict.EFFECTIVE),
                escalate=verdicts.count(EffectVerdict.ESCALATE_TO_AUDIT),
                inconclusive=verdicts.count(EffectVerdict.INCONCLUSIVE),
                random_arm=_pooled([effect.random_arm for effect in group]),
                all_examinations=_pooled([effect.all_examinations for effect in group]),
            )
        )
    return kinds


def _pooled(changes: Sequence[RateChange]) -> RateChange:
    def summed(windows: Sequence[WindowRate]) -> WindowRate:
        examinations = sum(window.examinations for window in windows)
        discrepancies = sum(window.discrepancies for window in windows)
        lower, upper = wilson_interval(discrepancies, examinations)
        return WindowRate(examinations, discrepancies, lower, upper)

    return change_between(
        summed([change.before for change in changes]), summed([change.after for change in changes])
    )
