"""Disparity monitoring: selection rates against the risk measured on the random arm."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from scoring_builders import declaration, item, krw

from scoring.domain.declaration import Party
from scoring.domain.disparity import (
    ALL_SELECTIONS,
    MIN_RANDOM_OUTCOMES,
    Dimension,
    Observation,
    benjamini_hochberg,
    disparity,
    monitor,
    principal_origin,
    size_band,
)

TARGET = "criteria/origin-cn"


def population(
    *,
    per_origin: int = 400,
    targeted: str,
    targeted_share: float,
    hit_every: dict[str, int],
) -> list[Observation]:
    """Declarations from CN, BE and US; every 4th is randomly examined (and selected).

    A criterion selects ``targeted_share`` of the ``targeted`` origin; one in
    ``hit_every[origin]`` declarations of an origin is an infringement,
    spread so that the random arm measures exactly that rate.
    """
    observations = []
    for origin in ("BE", "CN", "US"):
        for index in range(per_origin):
            random = index % 4 == 0
            targeted_here = origin == targeted and (index % 100) < targeted_share * 100
            infringing = (index // 4) % hit_every[origin] == 0
            selectors = set()
            if targeted_here:
                selectors.add(TARGET)
            if targeted_here or random:
                selectors.add(ALL_SELECTIONS)
            examined = targeted_here or random
            observations.append(
                Observation(
                    declaration=declaration(
                        item(origin_country_code=origin),
                        declaration_number=f"{origin}{index:06d}",
                        importer=Party(f"IMP{index % 7}"),
                    ),
                    approved_trader=False,
                    selected_by=frozenset(selectors),
                    infringement=infringing if examined else None,
                    random_examined=random,
                )
            )
    return observations


def _row(report, selector: str, dimension: Dimension, segment: str):  # type: ignore[no-untyped-def]
    return next(
        row
        for row in report.segments
        if (row.selector, row.dimension, row.segment) == (selector, dimension, segment)
    )


def test_a_criterion_targeting_an_origin_with_no_higher_risk_there_is_flagged() -> None:
    report = monitor(
        population(targeted="CN", targeted_share=0.6, hit_every={"BE": 10, "CN": 10, "US": 10}),
        selectors=[TARGET],
    )

    row = _row(report, ALL_SELECTIONS, Dimension.ORIGIN_COUNTRY, "CN")
    assert row.flagged
    assert row.disparity_ratio > 2
    findings = [f for f in report.findings if f.dimension is Dimension.ORIGIN_COUNTRY]
    assert [(f.segment, f.driving_criteria) for f in findings] == [("CN", (TARGET,))]
    # The criterion's own rows are reported, not tested: it targets by design.
    criterion_row = _row(report, TARGET, Dimension.ORIGIN_COUNTRY, "CN")
    assert criterion_row.selection.value == pytest.approx(0.6)
    assert criterion_row.p_value is None
    assert not criterion_row.flagged


def test_a_criterion_whose_extra_selections_are_matched_by_higher_risk_is_not_flagged() -> None:
    report = monitor(
        population(targeted="US", targeted_share=0.3, hit_every={"BE": 10, "CN": 10, "US": 5}),
        selectors=[TARGET],
    )

    row = _row(report, ALL_SELECTIONS, Dimension.ORIGIN_COUNTRY, "US")
    # Selected 1.9 times as often as the rest, with twice the risk.
    assert row.selection.value / row.rest_selection.value == pytest.approx(1.9, abs=0.05)
    assert row.random_hit_rate.value / row.rest_random_hit_rate.value == pytest.approx(2.0)
    assert row.disparity_ratio < 1.1
    assert not row.flagged
    assert report.findings == ()
    # The criterion's hits in the segment show the risk it was written for.
    criterion_hits = _row(report, TARGET, Dimension.ORIGIN_COUNTRY, "US").hit_rate
    assert criterion_hits.lower > row.rest_random_hit_rate.value


def test_rates_carry_wilson_intervals_around_them() -> None:
    report = monitor(
        population(targeted="CN", targeted_share=0.6, hit_every={"BE": 10, "CN": 10, "US": 10})
    )

    row = _row(report, ALL_SELECTIONS, Dimension.ORIGIN_COUNTRY, "BE")
    for rate in (row.selection, row.random_hit_rate, row.rest_selection):
        assert rate.lower < rate.value < rate.upper
    assert row.random_hit_rate.trials == 100


def test_a_segment_with_too_few_random_outcomes_is_not_tested() -> None:
    observations = population(
        per_origin=4 * (MIN_RANDOM_OUTCOMES - 1),
        targeted="CN",
        targeted_share=1.0,
        hit_every={"BE": 10, "CN": 10, "US": 10},
    )

    report = monitor(observations)

    row = _row(report, ALL_SELECTIONS, Dimension.ORIGIN_COUNTRY, "CN")
    assert row.random_hit_rate.trials == MIN_RANDOM_OUTCOMES - 1
    assert row.p_value is None
    assert not row.flagged


def test_the_disparity_ratio_follows_the_stated_formula() -> None:
    ratio, p_value = disparity((50, 100), (20, 100), (10, 40), (10, 40))

    def p(successes: int, trials: int) -> float:
        return (successes + 0.5) / (trials + 1)

    expected = (p(50, 100) / p(20, 100)) / (p(10, 40) / p(10, 40))
    assert ratio == pytest.approx(expected)
    variance = sum(
        (1 - p(k, n)) / ((n + 1) * p(k, n)) for k, n in ((50, 100), (20, 100), (10, 40), (10, 40))
    )
    z = math.log(expected) / math.sqrt(variance)
    assert p_value == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)))


def test_benjamini_hochberg_adjusts_by_rank_and_keeps_the_order() -> None:
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.5]) == pytest.approx(
        [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5]
    )


def test_importers_are_banded_by_their_declared_value_and_origin_is_the_largest_item() -> None:
    assert [size_band(Decimal(v)) for v in (0, 999_999, 1_000_000, 50_000_000, 10**9)] == [
        "small",
        "small",
        "medium",
        "large",
        "very_large",
    ]
    mixed = declaration(
        item(1, origin_country_code="BE", customs_value=krw(10)),
        item(2, origin_country_code="CN", customs_value=krw(500)),
    )
    assert principal_origin(mixed) == "CN"
