"""An intervention's effect: the trader's discrepancy rate before and after the meeting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from compliance.domain.intervention_effects import (
    EffectBasis,
    EffectVerdict,
    ExaminedDeclaration,
    WindowRate,
    change_between,
    measure_effect,
    pooled_by_kind,
)
from compliance.domain.interventions import (
    ComplianceIntervention,
    InterventionMeeting,
    InterventionOutcome,
    InterventionRequest,
    InterventionTrigger,
    open_intervention,
)
from compliance.domain.outcomes import ComplianceArea
from compliance.domain.traders import TraderRole
from customs_kit.errors import FailedPrecondition
from customs_kit.statistics import wilson_interval

MEETING = datetime(2025, 6, 1, 10, tzinfo=UTC)
NOW = MEETING + timedelta(days=200)
DOCUMENTARY = ComplianceArea.DOCUMENTARY


def window(discrepancies: int, examinations: int) -> WindowRate:
    return WindowRate(examinations, discrepancies, *wilson_interval(discrepancies, examinations))


def intervention(
    trigger: InterventionTrigger = InterventionTrigger.MANUAL, closed: bool = True
) -> ComplianceIntervention:
    opened = open_intervention(
        "I1",
        InterventionRequest(
            trader_id="T1",
            trader_role=TraderRole.IMPORTER,
            trigger=trigger,
            areas=frozenset({DOCUMENTARY}),
            error_pattern="Knitted shirts declared as woven.",
            evidence=(),
            planned_meeting_time=None,
        ),
        "carla",
        MEETING - timedelta(days=10),
    )
    met = opened.record_meeting(
        InterventionMeeting(MEETING, ("carla",), "notes", "checklist", date(2025, 7, 1)), MEETING
    )
    if not closed:
        return met
    return met.close(InterventionOutcome.RESOLVED, "better", MEETING + timedelta(days=90))


def examinations(
    wrong: int,
    right: int,
    *,
    after: bool,
    random_selection: bool = True,
    area: ComplianceArea = DOCUMENTARY,
) -> list[ExaminedDeclaration]:
    sign = 1 if after else -1
    return [
        ExaminedDeclaration(
            declaration_number=f"D{after}{random_selection}{n}",
            examine_time=MEETING
            + sign * timedelta(days=1 + n)
            + (timedelta() if after else -timedelta(hours=1)),
            random_selection=random_selection,
            noncompliant_areas=frozenset({area}) if n < wrong else frozenset(),
        )
        for n in range(wrong + right)
    ]


def test_the_difference_interval_is_newcombes_hybrid_score_interval() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, table II, example (a):
    # 56/70 against 48/80, method 10: 0.0524 to 0.3339 for p1 - p2 = 0.2.
    change = change_between(before=window(56, 70), after=window(48, 80))

    assert change.difference == pytest.approx(-0.2)
    assert change.lower == pytest.approx(-0.3339, abs=5e-4)
    assert change.upper == pytest.approx(-0.0524, abs=5e-4)


def test_a_trader_whose_errors_fall_on_random_examinations_shows_a_significant_effect() -> None:
    examined = examinations(12, 8, after=False) + examinations(1, 19, after=True)

    effect = measure_effect(intervention(), examined, now=NOW)

    assert effect.basis is EffectBasis.RANDOM_EXAMINATIONS
    assert effect.change.before.rate == pytest.approx(0.6)
    assert effect.change.after.rate == pytest.approx(0.05)
    assert effect.change.upper < 0
    assert effect.verdict is EffectVerdict.EFFECTIVE
    assert effect.selection_bias == ""


def test_a_trader_whose_errors_do_not_fall_is_recommended_for_audit() -> None:
    examined = examinations(6, 14, after=False) + examinations(5, 15, after=True)

    effect = measure_effect(intervention(), examined, now=NOW)

    assert effect.change.lower < 0 < effect.change.upper
    assert effect.verdict is EffectVerdict.ESCALATE_TO_AUDIT


def test_targeted_examinations_are_used_only_when_random_ones_are_too_few_and_say_so() -> None:
    examined = (
        examinations(1, 1, after=False)
        + examinations(15, 5, after=False, random_selection=False)
        + examinations(2, 18, after=True, random_selection=False)
    )

    effect = measure_effect(intervention(), examined, now=NOW)

    assert effect.basis is EffectBasis.ALL_EXAMINATIONS
    assert effect.all_examinations.before.examinations == 22
    assert "overstate" in effect.selection_bias
    assert effect.verdict is EffectVerdict.EFFECTIVE


def test_errors_outside_the_intervention_areas_do_not_count() -> None:
    examined = examinations(10, 10, after=True, area=ComplianceArea.REVENUE) + examinations(
        0, 20, after=False
    )

    effect = measure_effect(intervention(), examined, now=NOW)

    assert effect.change.after.discrepancies == 0


def test_too_few_examinations_are_inconclusive() -> None:
    effect = measure_effect(
        intervention(), examinations(3, 1, after=False) + examinations(0, 3, after=True), now=NOW
    )

    assert effect.verdict is EffectVerdict.INCONCLUSIVE


def test_the_window_after_ends_now_and_nothing_outside_the_windows_counts() -> None:
    late = ExaminedDeclaration(
        "LATE", MEETING + timedelta(days=181), True, frozenset({DOCUMENTARY})
    )
    early = ExaminedDeclaration(
        "EARLY", MEETING - timedelta(days=181), True, frozenset({DOCUMENTARY})
    )

    effect = measure_effect(intervention(), [late, early], now=MEETING + timedelta(days=30))

    assert effect.window_end == MEETING + timedelta(days=30)
    assert effect.window_start == MEETING - timedelta(days=180)
    assert effect.random_arm.before.examinations == effect.random_arm.after.examinations == 0


def test_an_open_intervention_has_no_effect_yet() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        measure_effect(intervention(closed=False), [], now=NOW)

    assert refused.value.reason == "INTERVENTION_NOT_CLOSED"


def test_interventions_of_a_kind_are_pooled_by_their_examinations() -> None:
    helped = measure_effect(
        intervention(), examinations(12, 8, after=False) + examinations(1, 19, after=True), now=NOW
    )
    did_not = measure_effect(
        intervention(), examinations(6, 14, after=False) + examinations(5, 15, after=True), now=NOW
    )

    (kind,) = pooled_by_kind([helped, did_not])

    assert (kind.interventions, kind.effective, kind.escalate) == (2, 1, 1)
    assert kind.random_arm.before.examinations == 40
    assert kind.random_arm.before.rate == pytest.approx(18 / 40)
    assert kind.random_arm.after.rate == pytest.approx(6 / 40)
