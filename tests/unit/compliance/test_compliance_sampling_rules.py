"""Sample sizes and Neyman allocation of compliance sampling plans."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from compliance.domain.measurement import ComplianceDimension
from compliance.domain.periods import Period
from compliance.domain.sampling import (
    MarginOfError,
    SampleBudget,
    SamplingParameters,
    SamplingTarget,
    allocate,
    plan_sampling,
    sampling_parameters,
    z_value,
)
from customs_kit.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2025, 4, 1, tzinfo=UTC)
MARCH = Period(date(2025, 3, 1), date(2025, 3, 31))
BUDGET = SampleBudget(40)


def one_stratum_size(population: int, rate: float, margin: float, confidence: float) -> int:
    allocation = allocate({"all": population}, {"all": rate}, MarginOfError(margin), confidence)
    return allocation.planned_sample_size


def test_z_values_are_the_familiar_two_sided_quantiles() -> None:
    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z_value(0.99) == pytest.approx(2.575829, abs=1e-6)
    assert z_value(0.90) == pytest.approx(1.644854, abs=1e-6)


@pytest.mark.parametrize(
    ("margin", "confidence", "rate", "published"),
    [
        (0.05, 0.95, 0.5, 385),  # Cochran: n0 = 1.96² x 0.25 / 0.05², rounded up
        (0.03, 0.95, 0.5, 1068),
        (0.05, 0.99, 0.5, 664),
        (0.05, 0.90, 0.5, 271),
        (0.05, 0.95, 0.9, 139),  # a rate expected at 90 % needs far fewer
    ],
)
def test_a_large_population_needs_cochrans_sample_size(
    margin: float, confidence: float, rate: float, published: int
) -> None:
    assert one_stratum_size(10**9, rate, margin, confidence) == published


@pytest.mark.parametrize(
    ("population", "published"),
    # Krejcie & Morgan (1970), 95 % confidence, 5 % margin, p = 0.5.
    [(100, 80), (1_000, 278), (10_000, 370), (100_000, 383)],
)
def test_a_finite_population_needs_the_corrected_sample_size(
    population: int, published: int
) -> None:
    assert one_stratum_size(population, 0.5, 0.05, 0.95) == published


def test_a_budget_is_shared_in_proportion_to_size_times_standard_deviation() -> None:
    allocation = allocate(
        {"traders/A": 1000, "traders/B": 1000},
        {"traders/A": 0.9, "traders/B": 0.5},
        SampleBudget(80),
        0.95,
    )

    # N_h S_h = 1000 x 0.3 and 1000 x 0.5: three eighths and five eighths of 80.
    assert [(s.stratum, s.sample_size) for s in allocation.strata] == [
        ("traders/B", 50),
        ("traders/A", 30),
    ]
    assert allocation.strata[1].standard_deviation == pytest.approx(0.3)
    assert allocation.strata[1].sampling_rate == pytest.approx(0.03)


def test_a_margin_of_error_sets_the_neyman_total_and_is_reached() -> None:
    allocation = allocate(
        {"traders/A": 1000, "traders/B": 1000},
        {"traders/A": 0.9, "traders/B": 0.5},
        MarginOfError(0.05),
        0.95,
    )

    # n = (Σ W_h S_h)² / (V + Σ W_h S_h² / N) = 0.16 / (0.000651 + 0.000085) = 217.5,
    # split 3:5 and rounded up.
    assert [s.sample_size for s in allocation.strata] == [136, 82]
    assert allocation.planned_sample_size == 218
    assert 0.049 < allocation.expected_margin_of_error <= 0.05


def test_identical_strata_need_what_their_union_needs() -> None:
    allocation = allocate(
        {"offices/A": 5000, "offices/B": 5000},
        {"offices/A": 0.5, "offices/B": 0.5},
        MarginOfError(0.05),
        0.95,
    )

    assert [s.sample_size for s in allocation.strata] == [185, 185]
    assert allocation.planned_sample_size == one_stratum_size(10_000, 0.5, 0.05, 0.95)


def test_a_small_uncertain_stratum_is_censused_and_the_rest_goes_elsewhere() -> None:
    allocation = allocate({"61": 50, "62": 1000}, {"61": 0.5, "62": 0.99}, SampleBudget(400), 0.95)

    sizes = {s.stratum: s.sample_size for s in allocation.strata}
    assert sizes == {"61": 50, "62": 350}


def test_every_stratum_is_verified_at_least_once() -> None:
    allocation = allocate(
        {"CN": 10_000, "VN": 5, "US": 20},
        {"CN": 0.5, "VN": 0.5, "US": 1.0},
        SampleBudget(100),
        0.95,
    )

    sizes = {s.stratum: s.sample_size for s in allocation.strata}
    assert sizes["US"] == 1  # measured fully compliant: no variance to reduce
    assert sizes["VN"] >= 1
    assert sum(sizes.values()) == 100


def test_a_budget_above_the_population_is_a_census_with_no_sampling_error() -> None:
    allocation = allocate({"a": 5, "b": 7}, {"a": 0.5, "b": 0.8}, SampleBudget(100), 0.95)

    assert [(s.sample_size, s.sampling_rate) for s in allocation.strata] == [(7, 1.0), (5, 1.0)]
    assert allocation.expected_margin_of_error == 0.0


def test_a_bigger_budget_buys_a_smaller_margin() -> None:
    populations = {"a": 4000, "b": 1000, "c": 300}
    rates = {"a": 0.95, "b": 0.8, "c": 0.6}

    margins = [
        allocate(populations, rates, SampleBudget(n), 0.95).expected_margin_of_error
        for n in (50, 200, 800)
    ]

    assert margins[0] > margins[1] > margins[2] > 0


def parameters(
    dimension: ComplianceDimension = ComplianceDimension.IMPORTER,
    target: SamplingTarget = BUDGET,
    confidence_level: float = 0.0,
    prior_compliance_rate: float = 0.0,
) -> SamplingParameters:
    return sampling_parameters(
        title="Importers, Q2 2025",
        dimension=dimension,
        base_period=MARCH,
        target=target,
        confidence_level=confidence_level,
        prior_compliance_rate=prior_compliance_rate,
    )


def test_unset_levels_default_to_95_percent_confidence_and_a_90_percent_prior() -> None:
    chosen = parameters()

    assert (chosen.confidence_level, chosen.prior_compliance_rate) == (0.95, 0.9)


def test_a_plan_needs_strata() -> None:
    with pytest.raises(InvalidArgument) as raised:
        parameters(dimension=ComplianceDimension.OVERALL)

    assert raised.value.field_violations[0].field == "sampling_plan.dimension"


def test_strata_without_history_are_assumed_at_the_prior() -> None:
    chosen = parameters(prior_compliance_rate=0.8)

    plan = plan_sampling(
        "P1", chosen, {"traders/A": 100, "traders/B": 100}, {"traders/A": 0.5}, "ana", NOW
    )

    rates = {s.stratum: s.expected_compliance_rate for s in plan.allocation.strata}
    assert rates == {"traders/A": 0.5, "traders/B": 0.8}
    assert plan.name == "samplingPlans/P1"


def test_a_base_period_without_declarations_cannot_be_planned() -> None:
    with pytest.raises(FailedPrecondition) as raised:
        plan_sampling("P1", parameters(ComplianceDimension.OFFICE), {}, {}, "ana", NOW)

    assert raised.value.reason == "EMPTY_POPULATION"
