"""Hit rates, their confidence intervals and the lift over random examinations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from criteria.domain.outcomes import Amount
from criteria.domain.performance import (
    OfficeResults,
    PerformanceFacts,
    RandomResults,
    add_amounts,
    baseline,
    measure,
    wilson_interval,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 2, 1, tzinfo=UTC)


def test_the_wilson_interval_of_one_in_four_is_wide_and_inside_zero_and_one() -> None:
    interval = wilson_interval(1, 4)

    assert interval.lower == pytest.approx(0.0456, abs=1e-4)
    assert interval.upper == pytest.approx(0.6994, abs=1e-4)
    assert interval.confidence == 0.95


def test_the_wilson_interval_is_not_a_point_at_zero_or_one_hundred_percent() -> None:
    none_found = wilson_interval(0, 10)
    all_found = wilson_interval(10, 10)

    assert none_found.lower == 0.0
    assert none_found.upper == pytest.approx(0.2775, abs=1e-4)
    assert all_found.lower == pytest.approx(0.7225, abs=1e-4)
    assert all_found.upper == 1.0


def test_the_wilson_interval_narrows_as_examinations_accumulate() -> None:
    few, many = wilson_interval(3, 10), wilson_interval(300, 1000)

    assert many.upper - many.lower < (few.upper - few.lower) / 5
    assert few.lower < 0.3 < few.upper


def test_without_examinations_nothing_is_known_about_the_hit_rate() -> None:
    interval = wilson_interval(0, 0)

    assert (interval.lower, interval.upper) == (0.0, 1.0)


def test_the_baseline_weights_each_offices_random_rate_by_the_criterions_examinations() -> None:
    # 30 examinations at the port (random rate 10 %), 10 inland (random rate 50 %).
    matched = baseline(
        {"PORT": OfficeResults(30, 6, 0, 0), "INLAND": OfficeResults(10, 5, 0, 0)},
        {
            "PORT": RandomResults(100, 10),
            "INLAND": RandomResults(20, 10),
            "AIR": RandomResults(50, 40),
        },
    )

    assert matched.rate == pytest.approx((30 * 0.10 + 10 * 0.50) / 40)
    assert matched.examinations == 120
    assert matched.discrepancies == round(matched.rate * 120)


def test_an_office_without_random_examinations_has_no_baseline() -> None:
    matched = baseline({"PORT": OfficeResults(5, 1, 0, 0)}, {"AIR": RandomResults(50, 5)})

    assert (matched.examinations, matched.discrepancies, matched.rate) == (0, 0, 0.0)


def _facts(**by_office: OfficeResults) -> PerformanceFacts:
    return PerformanceFacts(
        by_office=by_office,
        revenue_found=(Amount("KRW", 1000, 500_000_000), Amount("KRW", 250, 600_000_000)),
        audit_findings=2,
        audit_duty_assessed=(),
        consecutive_negative_results=3,
        last_discrepancy_time=START,
    )


def test_lift_is_the_hit_rate_over_the_random_discrepancy_rate() -> None:
    performance = measure(
        criterion="criteria/cigarettes",
        title="Cigarettes",
        office_code="",
        start_time=START,
        end_time=END,
        facts=_facts(PORT=OfficeResults(20, 5, 2, 1)),
        random_by_office={"PORT": RandomResults(50, 5)},
    )

    assert performance.hit_rate == 0.25
    assert performance.random_discrepancy_rate == 0.1
    assert performance.lift == pytest.approx(2.5)
    assert (performance.seizures, performance.penalties_recommended) == (2, 1)
    assert performance.revenue_found == Amount("KRW", 1251, 100_000_000)
    assert performance.consecutive_negative_results == 3


def test_lift_is_unknown_without_random_discrepancies() -> None:
    performance = measure(
        criterion="criteria/cigarettes",
        title="Cigarettes",
        office_code="PORT",
        start_time=START,
        end_time=END,
        facts=_facts(PORT=OfficeResults(20, 5, 0, 0)),
        random_by_office={"PORT": RandomResults(50, 0)},
    )

    assert performance.lift is None
    assert performance.random_examinations == 50


def test_amounts_in_another_currency_are_not_added_to_the_national_total() -> None:
    total = add_amounts([Amount("KRW", 10, 0), Amount("USD", 99, 0), Amount("KRW", 5, 999_999_999)])

    assert total == Amount("KRW", 15, 999_999_999)
    assert add_amounts([]) is None
