"""Compliance rates: Wilson score intervals, tolerance reading, strata."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from compliance.domain.measurement import (
    ComplianceDimension,
    EvidenceSource,
    MeasurementScope,
    Observation,
    ToleranceAssessment,
    assess,
    measure,
    measurement_scope,
    wilson_interval,
)
from compliance.domain.outcomes import ComplianceArea
from compliance.domain.periods import Period
from customs_kit.errors import InvalidArgument

MARCH = Period(date(2025, 3, 1), date(2025, 3, 31))


def scope(**fields: object) -> MeasurementScope:
    values: dict[str, object] = {
        "title": "March",
        "dimension": ComplianceDimension.IMPORTER,
        "areas": (),
        "sources": (),
        "hs_chapters": (),
        "period": MARCH,
        "tolerance_level": 0.9,
        "confidence_level": 0.0,
        "min_sample_size": 1,
        **fields,
    }
    return measurement_scope(**values)  # type: ignore[arg-type]


def observation(number: str, importer: str = "IMP1", **fields: object) -> Observation:
    base = Observation(
        source=EvidenceSource.RANDOM_EXAMINATION,
        declaration_number=number,
        lodgement_time=datetime(2025, 3, 10, 9, tzinfo=UTC),
        importer_id=importer,
        broker_id=None,
        carrier_id=None,
        office_id="BEANR",
        hs_chapters=frozenset({"61"}),
        origin_countries=frozenset({"CN"}),
        noncompliant_areas=frozenset(),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def test_the_wilson_interval_matches_published_values() -> None:
    assert wilson_interval(95, 100, 0.95) == pytest.approx((0.8882, 0.9785), abs=1e-4)
    assert wilson_interval(3, 4, 0.95) == pytest.approx((0.3006, 0.9544), abs=1e-4)


def test_the_wilson_interval_stays_inside_zero_and_one_at_the_extremes() -> None:
    lower, upper = wilson_interval(10, 10, 0.95)
    assert upper == 1.0
    assert 0.72 < lower < 0.73
    lower, upper = wilson_interval(0, 10, 0.95)
    assert lower == 0.0
    assert 0.27 < upper < 0.28


def test_a_larger_sample_gives_a_narrower_interval_around_the_rate() -> None:
    small = wilson_interval(9, 10, 0.95)
    large = wilson_interval(900, 1000, 0.95)

    assert large[1] - large[0] < small[1] - small[0]
    assert large[0] < 0.9 < large[1]


def test_more_confidence_gives_a_wider_interval() -> None:
    usual = wilson_interval(45, 50, 0.95)
    strict = wilson_interval(45, 50, 0.99)

    assert strict[0] < usual[0]
    assert strict[1] > usual[1]


def test_without_observations_the_interval_is_everything() -> None:
    assert wilson_interval(0, 0, 0.95) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("compliant", "size", "confidence"), [(3, 2, 0.95), (-1, 2, 0.95), (1, 2, 1.0)]
)
def test_impossible_inputs_are_refused(compliant: int, size: int, confidence: float) -> None:
    with pytest.raises(ValueError, match="must be between"):
        wilson_interval(compliant, size, confidence)


@pytest.mark.parametrize(
    ("size", "lower", "upper", "expected"),
    [
        (100, 0.96, 0.99, ToleranceAssessment.MEETS),
        (100, 0.95, 0.99, ToleranceAssessment.MEETS),
        (100, 0.80, 0.94, ToleranceAssessment.BELOW),
        (100, 0.90, 0.97, ToleranceAssessment.INCONCLUSIVE),
        (29, 0.96, 0.99, ToleranceAssessment.INSUFFICIENT_SAMPLE),
    ],
)
def test_an_interval_is_read_against_the_tolerance_level(
    size: int, lower: float, upper: float, expected: ToleranceAssessment
) -> None:
    assert assess(size, lower, upper, tolerance=0.95, min_sample_size=30) is expected


def test_a_scope_fills_in_the_documented_defaults() -> None:
    found = scope(min_sample_size=0)

    assert found.confidence_level == 0.95
    assert found.min_sample_size == 30
    assert found.areas == frozenset(ComplianceArea)
    assert found.sources == frozenset(EvidenceSource)


def test_a_period_longer_than_three_years_is_refused_on_the_end_date() -> None:
    with pytest.raises(InvalidArgument) as raised:
        scope(period=Period(date(2020, 1, 1), date(2023, 1, 1)))

    assert raised.value.field_violations[0].field == "compliance_measurement.end_date"


def test_rates_are_computed_per_stratum_least_compliant_first() -> None:
    documentary = frozenset({ComplianceArea.DOCUMENTARY})
    result = measure(
        scope(),
        [
            observation("D1"),
            observation("D2", noncompliant_areas=documentary),
            observation("D3"),
            observation("D4", importer="IMP2"),
        ],
        {"traders/IMP1": "Importer One"},
    )

    assert (result.overall.sample_size, result.overall.compliant) == (4, 3)
    assert [(r.stratum, r.sample_size, r.compliant) for r in result.rates] == [
        ("traders/IMP2", 1, 1),
        ("traders/IMP1", 3, 2),
    ]
    assert result.rates[1].display_name == "Importer One"
    assert result.rates[1].rate == pytest.approx(2 / 3)


def test_errors_outside_the_measured_areas_do_not_count() -> None:
    transport_only = scope(areas=[ComplianceArea.TRANSPORT])
    documentary = frozenset({ComplianceArea.DOCUMENTARY})

    result = measure(transport_only, [observation("D1", noncompliant_areas=documentary)])

    assert result.overall.compliant == 1


def test_only_observations_in_the_period_chapters_and_sources_count() -> None:
    narrow = scope(hs_chapters=["61"], sources=[EvidenceSource.RANDOM_AUDIT])
    observations = [
        observation("D1", source=EvidenceSource.RANDOM_AUDIT),
        observation("D2", source=EvidenceSource.RANDOM_EXAMINATION),
        observation("D3", source=EvidenceSource.RANDOM_AUDIT, hs_chapters=frozenset({"87"})),
        observation(
            "D4",
            source=EvidenceSource.RANDOM_AUDIT,
            lodgement_time=datetime(2025, 4, 1, tzinfo=UTC),
        ),
    ]

    assert measure(narrow, observations).overall.sample_size == 1


def test_a_declaration_verified_twice_is_one_observation_with_every_error() -> None:
    result = measure(
        scope(),
        [
            observation("D1"),
            observation("D1", noncompliant_areas=frozenset({ComplianceArea.TRANSPORT})),
        ],
    )

    assert (result.overall.sample_size, result.overall.compliant) == (1, 0)


def test_a_declaration_counts_in_each_of_its_chapters_but_once_overall() -> None:
    by_chapter = scope(dimension=ComplianceDimension.HS_CHAPTER)

    result = measure(by_chapter, [observation("D1", hs_chapters=frozenset({"61", "87"}))])

    assert result.overall.sample_size == 1
    assert sorted(r.stratum for r in result.rates) == ["61", "87"]


def test_declarations_without_a_broker_count_in_no_broker_stratum() -> None:
    by_broker = scope(dimension=ComplianceDimension.BROKER)

    result = measure(by_broker, [observation("D1"), observation("D2", broker_id="B1")])

    assert [r.stratum for r in result.rates] == ["traders/B1"]
    assert result.overall.sample_size == 2


def test_strata_below_the_tolerance_are_counted() -> None:
    wrong = frozenset({ComplianceArea.DOCUMENTARY})
    observations = [observation(f"D{i}", noncompliant_areas=wrong) for i in range(10)]

    result = measure(scope(), observations)

    assert result.rates[0].assessment is ToleranceAssessment.BELOW
    assert result.strata_below_tolerance == 1
