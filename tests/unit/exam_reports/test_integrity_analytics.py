"""Step 19: each officer against the peers of the office, on synthetic offices."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from exam_reports.domain.integrity import (
    IntegrityMetric,
    IntegrityTestMethod,
    MetricTest,
    OfficerActivity,
    OfficerIntegrity,
    analyse_integrity,
    binomial_cdf,
    binomial_sf,
    days_on_duty,
    normal_sf,
)

ALPHA = 0.01


def _officer(
    officer_id: str,
    *,
    examinations: int = 100,
    discrepancies: int = 8,
    days: int = 25,
    overrides: int = 2,
    green: int = 0,
    red: int = 0,
) -> OfficerActivity:
    return OfficerActivity(
        officer_id=officer_id,
        display_name=f"Officer {officer_id}",
        days_on_duty=days,
        examinations=examinations,
        discrepancies=discrepancies,
        override_requests=overrides,
        green_examined=green,
        red_released=red,
    )


#: Ordinary officers: about four examinations a day, seven to ten discrepancies per hundred.
PEERS = [
    _officer("p1", examinations=100, discrepancies=7, days=25),
    _officer("p2", examinations=96, discrepancies=9, days=24),
    _officer("p3", examinations=104, discrepancies=10, days=26),
    _officer("p4", examinations=90, discrepancies=8, days=23, overrides=3),
    _officer("p5", examinations=110, discrepancies=7, days=27, overrides=1),
]


def _by_id(activities: list[OfficerActivity]) -> dict[str, OfficerIntegrity]:
    analysis = analyse_integrity(activities, ALPHA, 20)
    return {entry.activity.officer_id: entry for entry in analysis.officers}


def _test(entry: OfficerIntegrity, metric: IntegrityMetric) -> MetricTest:
    [found] = [test for test in entry.tests if test.metric is metric]
    return found


def test_an_officer_finding_one_discrepancy_per_hundred_is_flagged_and_peers_are_not() -> None:
    results = _by_id([*PEERS, _officer("suspect", examinations=100, discrepancies=1)])

    suspect = _test(results["suspect"], IntegrityMetric.DISCREPANCY_RATE)
    assert suspect.flagged
    assert suspect.method is IntegrityTestMethod.BINOMIAL
    assert suspect.officer_value == pytest.approx(0.01)
    assert suspect.peer_value == pytest.approx(41 / 500)
    assert suspect.p_value < ALPHA
    assert suspect.z_score < -2
    assert [name for name, entry in results.items() if entry.flagged] == ["suspect"]


def test_an_officer_finding_none_is_flagged_first_in_the_report() -> None:
    analysis = analyse_integrity([*PEERS, _officer("zero", discrepancies=0)], ALPHA, 20)

    assert analysis.officers[0].activity.officer_id == "zero"
    assert analysis.officers[0].flagged
    assert not any(entry.flagged for entry in analysis.officers[1:])


def test_finding_more_discrepancies_than_peers_is_not_a_concern() -> None:
    results = _by_id([*PEERS, _officer("keen", discrepancies=25)])

    assert not results["keen"].flagged


def test_eight_examinations_a_day_where_peers_do_four_is_flagged() -> None:
    results = _by_id([*PEERS, _officer("fast", examinations=200, discrepancies=16, days=25)])

    per_day = _test(results["fast"], IntegrityMetric.EXAMINATIONS_PER_DAY)
    assert per_day.flagged
    assert per_day.method is IntegrityTestMethod.Z_SCORE
    assert per_day.officer_value == pytest.approx(8.0)
    assert per_day.peer_value == pytest.approx(4.0, abs=0.1)
    assert not _test(results["fast"], IntegrityMetric.DISCREPANCY_RATE).flagged


def test_routinely_releasing_red_declarations_and_examining_green_ones_is_flagged() -> None:
    results = _by_id(
        [*PEERS, _officer("lenient", overrides=30, red=20, green=8)],
    )

    lenient = results["lenient"]
    for metric in (
        IntegrityMetric.OVERRIDE_RATE,
        IntegrityMetric.RED_RELEASED_RATE,
        IntegrityMetric.GREEN_EXAMINED_RATE,
    ):
        assert _test(lenient, metric).flagged, metric
    assert _test(lenient, IntegrityMetric.RED_RELEASED_RATE).officer_value == pytest.approx(0.2)


def test_one_override_where_peers_had_none_is_not_flagged_by_itself() -> None:
    quiet = [replace(peer, override_requests=0) for peer in PEERS]

    results = _by_id([*quiet, _officer("once", overrides=1)])

    assert not results["once"].flagged


def test_an_officer_with_too_few_examinations_is_listed_but_not_tested() -> None:
    results = _by_id([*PEERS, _officer("new", examinations=5, discrepancies=0, days=2)])

    new = results["new"]
    assert not new.flagged
    assert all(test.method is None and test.p_value == 1.0 for test in new.tests)
    assert new.activity.examinations_per_day == pytest.approx(2.5)


def test_an_office_of_one_officer_has_nobody_to_compare_with() -> None:
    [alone] = analyse_integrity([_officer("solo", discrepancies=0)], ALPHA, 20).officers

    assert not alone.flagged
    assert all(test.method is None for test in alone.tests)


def test_the_norms_describe_the_whole_office() -> None:
    norms = analyse_integrity(PEERS, ALPHA, 20).norms

    assert norms.officers == 5
    assert norms.examinations == 500
    assert norms.discrepancy_rate == pytest.approx(41 / 500)
    assert norms.override_rate == pytest.approx(10 / 500)
    assert norms.mean_examinations_per_day == pytest.approx(4.0, abs=0.05)
    assert norms.stddev_examinations_per_day > 0


def test_the_tail_probabilities_are_exact() -> None:
    assert binomial_cdf(0, 10, 0.5) == pytest.approx(1 / 1024)
    assert binomial_sf(10, 10, 0.5) == pytest.approx(1 / 1024)
    assert binomial_cdf(5, 10, 0.5) + binomial_sf(6, 10, 0.5) == pytest.approx(1.0)
    assert binomial_cdf(1, 2_000, 0.08) < 1e-60
    assert normal_sf(0.0) == pytest.approx(0.5)
    assert normal_sf(2.326) == pytest.approx(0.01, abs=1e-4)


def test_days_on_duty_count_every_calendar_day_a_shift_touches() -> None:
    nairobi = ZoneInfo("Africa/Nairobi")
    shifts = [
        # 20:00-04:00 Nairobi time: a night shift over two days.
        (datetime(2026, 3, 1, 17, tzinfo=UTC), datetime(2026, 3, 2, 1, tzinfo=UTC)),
        (datetime(2026, 3, 2, 5, tzinfo=UTC), datetime(2026, 3, 2, 13, tzinfo=UTC)),
        (datetime(2026, 3, 9, 5, tzinfo=UTC), datetime(2026, 3, 9, 13, tzinfo=UTC)),
    ]

    assert days_on_duty(shifts, nairobi, date(2026, 3, 1), date(2026, 3, 31)) == 3
    assert days_on_duty(shifts, nairobi, date(2026, 3, 2), date(2026, 3, 8)) == 1
