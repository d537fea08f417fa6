"""Compliance measurement (handbook appendix 6).

A compliance rate is estimated from a statistically valid random sample:
declarations verified because a random draw selected them (random
examinations) or audited in a randomly selected audit. Each rate comes with a
Wilson score interval, which stays inside [0, 1] and keeps its stated coverage
for the small samples and the rates close to 1 that customs measures, where the
textbook normal interval does neither. The interval is read against the
tolerance level (for example 95 % compliant).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from compliance.domain.outcomes import ALL_AREAS, ComplianceArea
from compliance.domain.periods import Period
from compliance.domain.traders import trader_name
from customs_kit.errors import (
    Aborted,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PreconditionViolation,
)
from customs_kit.statistics import wilson_interval

MEASUREMENT_NAME_PREFIX = "complianceMeasurements/"
DEFAULT_CONFIDENCE_LEVEL = 0.95
DEFAULT_MIN_SAMPLE_SIZE = 30
#: Three years, a leap day included.
MAX_MEASUREMENT_DAYS = 1096
OVERALL_STRATUM = "all"


class ComplianceDimension(StrEnum):
    """What a measurement is broken down by; each value is one stratum."""

    OVERALL = "OVERALL"
    IMPORTER = "IMPORTER"
    BROKER = "BROKER"
    CARRIER = "CARRIER"
    HS_CHAPTER = "HS_CHAPTER"
    ORIGIN_COUNTRY = "ORIGIN_COUNTRY"
    OFFICE = "OFFICE"


class EvidenceSource(StrEnum):
    """A kind of random verification whose results form a sample."""

    RANDOM_EXAMINATION = "RANDOM_EXAMINATION"
    RANDOM_AUDIT = "RANDOM_AUDIT"


class ToleranceAssessment(StrEnum):
    """How a rate's interval reads against the tolerance level."""

    MEETS = "MEETS"
    BELOW = "BELOW"
    INCONCLUSIVE = "INCONCLUSIVE"
    INSUFFICIENT_SAMPLE = "INSUFFICIENT_SAMPLE"


class MeasurementState(StrEnum):
    """Where a measurement is in its publication."""

    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"


def assess(
    sample_size: int, lower: float, upper: float, tolerance: float, min_sample_size: int
) -> ToleranceAssessment:
    """Reads an interval against the tolerance level."""
    if sample_size < min_sample_size or sample_size == 0:
        return ToleranceAssessment.INSUFFICIENT_SAMPLE
    if lower >= tolerance:
        return ToleranceAssessment.MEETS
    if upper < tolerance:
        return ToleranceAssessment.BELOW
    return ToleranceAssessment.INCONCLUSIVE


@dataclass(frozen=True)
class Observation:
    """One randomly verified declaration: what it was and what was found wrong."""

    source: EvidenceSource
    declaration_number: str
    lodgement_time: datetime
    importer_id: str
    broker_id: str | None
    carrier_id: str | None
    office_id: str
    hs_chapters: frozenset[str]
    origin_countries: frozenset[str]
    noncompliant_areas: frozenset[ComplianceArea]

    def strata(self, dimension: ComplianceDimension) -> frozenset[str]:
        """The strata of ``dimension`` this observation counts in.

        A declaration with goods from several chapters or origins counts once in
        each; one without a broker or carrier counts in no broker or carrier
        stratum (but still in the overall rate).
        """
        match dimension:
            case ComplianceDimension.OVERALL:
                return frozenset({OVERALL_STRATUM})
            case ComplianceDimension.IMPORTER:
                return frozenset({trader_name(self.importer_id)})
            case ComplianceDimension.BROKER:
                return frozenset({trader_name(self.broker_id)} if self.broker_id else ())
            case ComplianceDimension.CARRIER:
                return frozenset({trader_name(self.carrier_id)} if self.carrier_id else ())
            case ComplianceDimension.HS_CHAPTER:
                return self.hs_chapters
            case ComplianceDimension.ORIGIN_COUNTRY:
                return self.origin_countries
            case ComplianceDimension.OFFICE:
                return frozenset({f"offices/{self.office_id}"})

    def compliant_in(self, areas: frozenset[ComplianceArea]) -> bool:
        """Whether nothing was found wrong in any of ``areas``."""
        return self.noncompliant_areas.isdisjoint(areas)


@dataclass(frozen=True)
class MeasurementScope:
    """What a measurement counts and how it reads the result."""

    title: str
    dimension: ComplianceDimension
    #: The areas measured (all four when the request named none).
    areas: frozenset[ComplianceArea]
    sources: frozenset[EvidenceSource]
    #: Two-digit chapters the goods must belong to; empty means all goods.
    hs_chapters: frozenset[str]
    period: Period
    tolerance_level: float
    confidence_level: float
    min_sample_size: int

    def includes(self, observation: Observation) -> bool:
        """Whether ``observation`` belongs to the measured population."""
        return (
            observation.source in self.sources
            and self.period.contains(observation.lodgement_time)
            and (not self.hs_chapters or not self.hs_chapters.isdisjoint(observation.hs_chapters))
        )


def measurement_scope(
    *,
    title: str,
    dimension: ComplianceDimension,
    areas: Iterable[ComplianceArea],
    sources: Iterable[EvidenceSource],
    hs_chapters: Iterable[str],
    period: Period,
    tolerance_level: float,
    confidence_level: float,
    min_sample_size: int,
) -> MeasurementScope:
    """The scope of a new measurement with defaults filled in.

    Raises ``InvalidArgument`` when the period is longer than
    :data:`MAX_MEASUREMENT_DAYS` or a level is out of range.
    """
    violations = []
    if period.days > MAX_MEASUREMENT_DAYS:
        violations.append(
            FieldViolation(
                "compliance_measurement.end_date",
                f"the period covers {period.days} days; at most {MAX_MEASUREMENT_DAYS} are allowed",
            )
        )
    if not title:
        violations.append(FieldViolation("compliance_measurement.title", "is required"))
    if not 0 < tolerance_level < 1:
        violations.append(
            FieldViolation("compliance_measurement.tolerance_level", "must be between 0 and 1")
        )
    confidence = confidence_level or DEFAULT_CONFIDENCE_LEVEL
    if not 0.5 <= confidence <= 0.999:
        violations.append(
            FieldViolation(
                "compliance_measurement.confidence_level", "must be 0 or from 0.5 to 0.999"
            )
        )
    if violations:
        raise InvalidArgument(violations)
    return MeasurementScope(
        title=title,
        dimension=dimension,
        areas=frozenset(areas) or ALL_AREAS,
        sources=frozenset(sources) or frozenset(EvidenceSource),
        hs_chapters=frozenset(hs_chapters),
        period=period,
        tolerance_level=tolerance_level,
        confidence_level=confidence,
        min_sample_size=min_sample_size or DEFAULT_MIN_SAMPLE_SIZE,
    )


@dataclass(frozen=True)
class ComplianceRate:
    """The measured compliance of one stratum."""

    stratum: str
    display_name: str
    sample_size: int
    compliant: int
    rate: float
    lower_bound: float
    upper_bound: float
    assessment: ToleranceAssessment


def rate_of(
    stratum: str, compliant: int, sample_size: int, scope: MeasurementScope, display_name: str = ""
) -> ComplianceRate:
    """The rate, interval and assessment of one stratum."""
    lower, upper = wilson_interval(compliant, sample_size, scope.confidence_level)
    return ComplianceRate(
        stratum=stratum,
        display_name=display_name,
        sample_size=sample_size,
        compliant=compliant,
        rate=compliant / sample_size if sample_size else 0.0,
        lower_bound=lower,
        upper_bound=upper,
        assessment=assess(sample_size, lower, upper, scope.tolerance_level, scope.min_sample_size),
    )


@dataclass(frozen=True)
class MeasurementResult:
    """The overall rate and the per-stratum rates, least compliant first."""

    overall: ComplianceRate
    rates: tuple[ComplianceRate, ...]

    @property
    def strata_below_tolerance(self) -> int:
        """How many strata are assessed BELOW."""
        return sum(1 for rate in self.rates if rate.assessment is ToleranceAssessment.BELOW)


def deduplicated(observations: Iterable[Observation]) -> list[Observation]:
    """One observation per declaration and source, with everything found wrong in it.

    A declaration randomly examined twice (a report corrected and approved
    again) is still one randomly drawn declaration.
    """
    kept: dict[tuple[EvidenceSource, str], Observation] = {}
    for observation in observations:
        key = (observation.source, observation.declaration_number)
        previous = kept.get(key)
        kept[key] = (
            observation
            if previous is None
            else replace(
                previous,
                noncompliant_areas=previous.noncompliant_areas | observation.noncompliant_areas,
            )
        )
    return list(kept.values())


def measure(
    scope: MeasurementScope,
    observations: Iterable[Observation],
    display_names: Mapping[str, str] | None = None,
) -> MeasurementResult:
    """The compliance rates of the observations inside ``scope``.

    ``display_names`` gives readable names of strata (traders' names) where known.
    """
    names = display_names or {}
    counted = [o for o in deduplicated(observations) if scope.includes(o)]
    sample: dict[str, int] = defaultdict(int)
    compliant: dict[str, int] = defaultdict(int)
    for observation in counted:
        ok = observation.compliant_in(scope.areas)
        for stratum in observation.strata(scope.dimension):
            sample[stratum] += 1
            compliant[stratum] += ok
    overall = rate_of(
        OVERALL_STRATUM,
        sum(1 for o in counted if o.compliant_in(scope.areas)),
        len(counted),
        scope,
    )
    rates = sorted(
        (
            rate_of(stratum, compliant[stratum], size, scope, names.get(stratum, ""))
            for stratum, size in sample.items()
        ),
        key=lambda rate: (rate.lower_bound, rate.stratum),
    )
    return MeasurementResult(overall=overall, rates=tuple(rates))


@dataclass(frozen=True)
class ComplianceMeasurement:
    """A computed measurement: its scope, its frozen result, its publication."""

    measurement_id: str
    scope: MeasurementScope
    overall: ComplianceRate
    strata_count: int
    strata_below_tolerance: int
    state: MeasurementState
    publish_time: datetime | None
    creator: str
    create_time: datetime
    update_time: datetime
    version: int

    @property
    def name(self) -> str:
        """The resource name ``complianceMeasurements/{measurement}``."""
        return f"{MEASUREMENT_NAME_PREFIX}{self.measurement_id}"

    @property
    def etag(self) -> str:
        """The opaque version a client sends back to change the measurement."""
        return f"{self.version}"

    def check_etag(self, etag: str) -> None:
        """Raises ``Aborted`` unless ``etag`` is the measurement's current etag."""
        if etag != self.etag:
            raise Aborted(
                "ETAG_MISMATCH",
                f"{self.name} changed since it was read (etag {etag!r}, now {self.etag!r})",
            )

    def publish(self, now: datetime) -> ComplianceMeasurement:
        """The measurement published with its tolerance level; from then on it never changes.

        Raises ``FailedPrecondition`` (``MEASUREMENT_ALREADY_PUBLISHED``) if it is
        published already.
        """
        if self.state is MeasurementState.PUBLISHED:
            raise FailedPrecondition(
                "MEASUREMENT_ALREADY_PUBLISHED",
                f"{self.name} was published on {self.publish_time}",
                [
                    PreconditionViolation(
                        "MEASUREMENT_STATE", self.name, "state is PUBLISHED, must be DRAFT"
                    )
                ],
            )
        return replace(
            self,
            state=MeasurementState.PUBLISHED,
            publish_time=now,
            update_time=now,
            version=self.version + 1,
        )


def new_measurement(
    measurement_id: str,
    scope: MeasurementScope,
    result: MeasurementResult,
    creator: str,
    now: datetime,
) -> ComplianceMeasurement:
    """A DRAFT measurement holding ``result``."""
    return ComplianceMeasurement(
        measurement_id=measurement_id,
        scope=scope,
        overall=result.overall,
        strata_count=len(result.rates),
        strata_below_tolerance=result.strata_below_tolerance,
        state=MeasurementState.DRAFT,
        publish_time=None,
        creator=creator,
        create_time=now,
        update_time=now,
        version=1,
    )
