"""Stratified random sampling plans for compliance measurement (appendix 6).

A measurement is only as good as its random sample. A plan says how many
declarations to verify at random in each stratum (importer, broker, carrier,
HS chapter, origin, office) so that the overall compliance rate reaches a
target precision at least cost: Neyman allocation gives each stratum a share
proportional to its size N_h times its standard deviation S_h = √(p_h(1-p_h)),
where p_h is the compliance rate expected there. Large strata and strata whose
compliance is uncertain are sampled most; a stratum known to be (almost)
always compliant needs few verifications.

The variance of the stratified estimate of the overall rate, with the finite
population correction, is V = Σ W_h² S_h² (1/n_h - 1/N_h) with W_h = N_h / N.
Among all allocations with 1 ≤ n_h ≤ N_h the variance for a given total is
smallest when n_h = clamp(f · N_h S_h, 1, N_h) for one factor f (the
constraints only cut the Neyman shares off at their bounds), so both targets
come down to finding f: the smallest that reaches the margin of error, or the
one whose allocation uses the whole budget. With a single stratum the margin
target gives Cochran's n = n₀ / (1 + n₀/N), n₀ = z² p(1-p) / e².
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import NormalDist

from compliance.domain.measurement import DEFAULT_CONFIDENCE_LEVEL, ComplianceDimension
from compliance.domain.periods import Period
from customs_kit.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PreconditionViolation,
)

SAMPLING_PLAN_NAME_PREFIX = "samplingPlans/"
DEFAULT_PRIOR_COMPLIANCE_RATE = 0.9
#: Halvings of the search interval of the allocation factor: past double precision.
_SEARCH_STEPS = 100
#: Allocations within this of an integer are that integer (floating-point noise of the search).
_INTEGER_TOLERANCE = 1e-9


def sampling_plan_name(plan_id: str) -> str:
    """The resource name ``samplingPlans/{plan_id}``."""
    return f"{SAMPLING_PLAN_NAME_PREFIX}{plan_id}"


def z_value(confidence_level: float) -> float:
    """The two-sided standard normal quantile of ``confidence_level`` (1.96 for 0.95)."""
    return NormalDist().inv_cdf(1 - (1 - confidence_level) / 2)


@dataclass(frozen=True)
class MarginOfError:
    """Target: the half-width of the overall interval; the sample size follows."""

    value: float


@dataclass(frozen=True)
class SampleBudget:
    """Target: the declarations the resources allow to verify; the precision follows."""

    total_sample_size: int


SamplingTarget = MarginOfError | SampleBudget


@dataclass(frozen=True)
class SamplingParameters:
    """What a plan is asked for, defaults filled in."""

    title: str
    dimension: ComplianceDimension
    base_period: Period
    target: SamplingTarget
    confidence_level: float
    #: The rate assumed for strata without a measured rate.
    prior_compliance_rate: float


def sampling_parameters(
    *,
    title: str,
    dimension: ComplianceDimension,
    base_period: Period,
    target: SamplingTarget,
    confidence_level: float,
    prior_compliance_rate: float,
) -> SamplingParameters:
    """The parameters of a new plan; raises ``InvalidArgument`` naming a field out of range."""
    violations = []
    if dimension is ComplianceDimension.OVERALL:
        violations.append(
            FieldViolation("sampling_plan.dimension", "a plan needs strata: not OVERALL")
        )
    if isinstance(target, MarginOfError) and not 0 < target.value <= 0.25:
        violations.append(
            FieldViolation("sampling_plan.margin_of_error", "must be greater than 0, at most 0.25")
        )
    if isinstance(target, SampleBudget) and target.total_sample_size < 1:
        violations.append(FieldViolation("sampling_plan.total_sample_size", "must be at least 1"))
    confidence = confidence_level or DEFAULT_CONFIDENCE_LEVEL
    if not 0.5 <= confidence <= 0.999:
        violations.append(
            FieldViolation("sampling_plan.confidence_level", "must be 0 or from 0.5 to 0.999")
        )
    prior = prior_compliance_rate or DEFAULT_PRIOR_COMPLIANCE_RATE
    if not 0 < prior < 1:
        violations.append(
            FieldViolation("sampling_plan.prior_compliance_rate", "must be between 0 and 1")
        )
    if violations:
        raise InvalidArgument(violations)
    return SamplingParameters(
        title=title,
        dimension=dimension,
        base_period=base_period,
        target=target,
        confidence_level=confidence,
        prior_compliance_rate=prior,
    )


@dataclass(frozen=True)
class SamplingStratum:
    """One stratum of a plan and the random verifications allocated to it."""

    stratum: str
    #: N_h: declarations of the base period in the stratum.
    population_size: int
    #: p_h: the latest measured rate, or the plan's prior.
    expected_compliance_rate: float
    standard_deviation: float
    #: n_h: declarations to verify at random.
    sample_size: int

    @property
    def sampling_rate(self) -> float:
        """n_h / N_h: the random examination rate to configure for the stratum."""
        return self.sample_size / self.population_size


@dataclass(frozen=True)
class Allocation:
    """The strata with their sample sizes (largest first) and the precision they reach."""

    strata: tuple[SamplingStratum, ...]
    expected_margin_of_error: float

    @property
    def planned_sample_size(self) -> int:
        """The total number of declarations to verify."""
        return sum(stratum.sample_size for stratum in self.strata)


@dataclass(frozen=True)
class _Stratum:
    name: str
    size: int
    rate: float
    deviation: float
    #: N_h S_h: the stratum's Neyman share is proportional to it.
    neyman_weight: float
    #: W_h² S_h²: the stratum's part of the variance is this times (1/n_h - 1/N_h).
    variance_weight: float

    def share(self, factor: float) -> float:
        """The stratum's sample for the allocation factor, within [1, N_h]."""
        return min(float(self.size), max(1.0, factor * self.neyman_weight))


def _strata(populations: Mapping[str, int], rates: Mapping[str, float]) -> list[_Stratum]:
    total = sum(populations.values())
    strata = []
    for name, size in sorted(populations.items()):
        if size <= 0:
            continue
        rate = rates[name]
        deviation = math.sqrt(rate * (1 - rate))
        weight = size / total
        strata.append(
            _Stratum(name, size, rate, deviation, size * deviation, (weight * deviation) ** 2)
        )
    return strata


def _variance(strata: Sequence[_Stratum], sizes: Sequence[float]) -> float:
    """The variance of the overall rate's stratified estimate for these sample sizes."""
    return sum(
        max(0.0, s.variance_weight * (1 / n - 1 / s.size))
        for s, n in zip(strata, sizes, strict=True)
    )


def _smallest_factor(strata: Sequence[_Stratum], enough: Callable[[float], bool]) -> float:
    """The smallest allocation factor ``f`` for which ``enough(f)`` holds.

    ``enough`` must be monotone in ``f`` and hold once every stratum is censused.
    """
    high = max((s.size / s.neyman_weight for s in strata if s.neyman_weight > 0), default=0.0)
    low = 0.0
    if enough(low):
        return low
    for _ in range(_SEARCH_STEPS):
        middle = (low + high) / 2
        if enough(middle):
            high = middle
        else:
            low = middle
    return high


def _rounded_up(shares: Sequence[float]) -> list[int]:
    # Rounding up keeps the variance at or below the one the shares reach.
    return [math.ceil(share - _INTEGER_TOLERANCE) for share in shares]


def _largest_remainders(
    strata: Sequence[_Stratum], shares: Sequence[float], total: int
) -> list[int]:
    """Integer sizes summing to ``total`` (when the shares do), each within [1, N_h]."""
    sizes = [max(1, math.floor(share + _INTEGER_TOLERANCE)) for share in shares]
    missing = total - sum(sizes)
    order = sorted(
        (i for i, s in enumerate(strata) if sizes[i] < s.size),
        key=lambda i: (-(shares[i] - sizes[i]), strata[i].name),
    )
    for i in order[: max(0, missing)]:
        sizes[i] += 1
    return sizes


def allocate(
    populations: Mapping[str, int],
    expected_rates: Mapping[str, float],
    target: SamplingTarget,
    confidence_level: float,
) -> Allocation:
    """The Neyman allocation of a sample over the strata ``populations`` (N_h > 0).

    ``expected_rates`` gives p_h per stratum. Every stratum gets at least one
    verification and at most a census: with a budget smaller than the number of
    strata the plan needs more than the budget, and a budget larger than the
    population is a census.
    """
    strata = _strata(populations, expected_rates)
    z = z_value(confidence_level)
    match target:
        case MarginOfError(value=margin):
            allowed = (margin / z) ** 2
            factor = _smallest_factor(
                strata, lambda f: _variance(strata, [s.share(f) for s in strata]) <= allowed
            )
            sizes = _rounded_up([s.share(factor) for s in strata])
        case SampleBudget(total_sample_size=budget):
            factor = _smallest_factor(strata, lambda f: sum(s.share(f) for s in strata) >= budget)
            sizes = _largest_remainders(strata, [s.share(factor) for s in strata], budget)
    allocated = sorted(
        (
            SamplingStratum(
                stratum=s.name,
                population_size=s.size,
                expected_compliance_rate=s.rate,
                standard_deviation=s.deviation,
                sample_size=n,
            )
            for s, n in zip(strata, sizes, strict=True)
        ),
        key=lambda stratum: (-stratum.sample_size, stratum.stratum),
    )
    return Allocation(
        strata=tuple(allocated),
        expected_margin_of_error=z * math.sqrt(_variance(strata, sizes)),
    )


@dataclass(frozen=True)
class SamplingPlan:
    """A computed plan: what was asked, the allocation, who computed it and when."""

    plan_id: str
    parameters: SamplingParameters
    allocation: Allocation
    creator: str
    create_time: datetime

    @property
    def name(self) -> str:
        """The resource name ``samplingPlans/{plan}``."""
        return sampling_plan_name(self.plan_id)


def plan_sampling(
    plan_id: str,
    parameters: SamplingParameters,
    populations: Mapping[str, int],
    measured_rates: Mapping[str, float],
    creator: str,
    now: datetime,
) -> SamplingPlan:
    """The plan for the strata sizes of the base period.

    ``measured_rates`` are the latest measured rates of strata with history;
    the others are assumed at the plan's prior. Raises ``FailedPrecondition``
    (``EMPTY_POPULATION``) if the base period has no declarations.
    """
    if not any(size > 0 for size in populations.values()):
        period = parameters.base_period
        raise FailedPrecondition(
            "EMPTY_POPULATION",
            f"no declarations were lodged from {period.first_day} to {period.last_day}",
            [
                PreconditionViolation(
                    "EMPTY_POPULATION",
                    "sampling_plan.base_start_date",
                    "the base period has no declarations to estimate the strata from",
                )
            ],
        )
    rates = {
        stratum: measured_rates.get(stratum, parameters.prior_compliance_rate)
        for stratum in populations
    }
    allocation = allocate(populations, rates, parameters.target, parameters.confidence_level)
    return SamplingPlan(plan_id, parameters, allocation, creator, now)
