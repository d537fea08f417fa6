"""What a criterion produced over a period (handbook step 20).

A criterion is judged by the examinations it designated: how often they found
a discrepancy the criterion targeted (its hit rate, with a Wilson interval
because the counts are often small), and how that compares with random
examinations at the same offices in the same period, the unbiased baseline
(its lift). A criterion examined mostly at one office is compared mostly with
that office's random examinations: the baseline rate is the offices' random
discrepancy rates weighted by the criterion's examinations there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from criteria.domain.outcomes import Amount
from customs_kit import statistics

CONFIDENCE_95 = 0.95
_NANOS = 1_000_000_000


@dataclass(frozen=True)
class Interval:
    """A confidence interval for a proportion."""

    lower: float
    upper: float
    confidence: float


def wilson_interval(successes: int, trials: int) -> Interval:
    """The 95 % Wilson score interval of ``successes / trials`` (0 to 1 without trials).

    Unlike the normal approximation it stays inside [0, 1] and is not a point
    at 0 % or 100 %, which matters for a criterion with ten examinations.
    """
    lower, upper = statistics.wilson_interval(successes, trials, CONFIDENCE_95)
    return Interval(lower, upper, CONFIDENCE_95)


def add_amounts(amounts: Iterable[Amount]) -> Amount | None:
    """The total of amounts in national currency; ``None`` when there are none.

    Amounts are reported in national currency; should another currency slip
    in, the currency most amounts are in is the one totalled, so that a single
    foreign amount does not turn the total into a sum of two currencies.
    """
    listed = list(amounts)
    if not listed:
        return None
    counts: dict[str, int] = {}
    for amount in listed:
        counts[amount.currency_code] = counts.get(amount.currency_code, 0) + 1
    currency = max(sorted(counts), key=lambda code: counts[code])
    total = sum(a.units * _NANOS + a.nanos for a in listed if a.currency_code == currency)
    units, nanos = divmod(abs(total), _NANOS)
    sign = -1 if total < 0 else 1
    return Amount(currency, sign * units, sign * nanos)


@dataclass(frozen=True)
class OfficeResults:
    """A criterion's examinations at one office in the period."""

    examinations: int
    discrepancies: int
    seizures: int
    penalties_recommended: int


@dataclass(frozen=True)
class RandomResults:
    """Random compliance examinations at one office in the period."""

    examinations: int
    discrepancies: int


@dataclass(frozen=True)
class Baseline:
    """The random-examination baseline matched to a criterion's offices.

    ``examinations`` counts the random examinations at the offices where the
    criterion was examined; ``rate`` weights each office's random discrepancy
    rate by the criterion's examinations there, and ``discrepancies`` is
    ``rate * examinations`` rounded. Offices without random examinations have
    no known rate and do not count.
    """

    examinations: int
    discrepancies: int
    rate: float


def baseline(
    by_office: Mapping[str, OfficeResults], random_by_office: Mapping[str, RandomResults]
) -> Baseline:
    """The baseline of a criterion examined as ``by_office`` says."""
    weights = {
        office: results.examinations
        for office, results in by_office.items()
        if results.examinations > 0
        and random_by_office.get(office, RandomResults(0, 0)).examinations
    }
    total_weight = sum(weights.values())
    if total_weight == 0:
        return Baseline(0, 0, 0.0)
    examinations = sum(random_by_office[office].examinations for office in weights)
    rate = (
        sum(
            weight * random_by_office[office].discrepancies / random_by_office[office].examinations
            for office, weight in weights.items()
        )
        / total_weight
    )
    return Baseline(examinations, round(rate * examinations), rate)


@dataclass(frozen=True)
class CriterionPerformance:
    """A criterion's results over ``[start_time, end_time)``, optionally at one office."""

    criterion: str
    title: str
    office_code: str
    start_time: datetime
    end_time: datetime
    examinations: int
    discrepancies: int
    hit_rate: float
    hit_rate_interval: Interval
    random_examinations: int
    random_discrepancies: int
    random_discrepancy_rate: float
    #: ``None`` when the random rate is 0 or unknown.
    lift: float | None
    seizures: int
    penalties_recommended: int
    revenue_found: Amount | None
    audit_findings: int
    audit_duty_assessed: Amount | None
    consecutive_negative_results: int
    last_discrepancy_time: datetime | None


@dataclass(frozen=True)
class PerformanceFacts:
    """What the stored outcomes say about one criterion over a period.

    ``consecutive_negative_results`` and ``last_discrepancy_time`` look at every
    examination before the end of the period, since a run does not start with
    the period.
    """

    by_office: Mapping[str, OfficeResults]
    revenue_found: tuple[Amount, ...]
    audit_findings: int
    audit_duty_assessed: tuple[Amount, ...]
    consecutive_negative_results: int
    last_discrepancy_time: datetime | None


def measure(
    *,
    criterion: str,
    title: str,
    office_code: str,
    start_time: datetime,
    end_time: datetime,
    facts: PerformanceFacts,
    random_by_office: Mapping[str, RandomResults],
) -> CriterionPerformance:
    """A criterion's performance from the facts of the period."""
    offices = facts.by_office.values()
    examinations = sum(o.examinations for o in offices)
    discrepancies = sum(o.discrepancies for o in offices)
    hit_rate = discrepancies / examinations if examinations else 0.0
    matched = baseline(facts.by_office, random_by_office)
    lift = hit_rate / matched.rate if matched.rate > 0 else None
    return CriterionPerformance(
        criterion=criterion,
        title=title,
        office_code=office_code,
        start_time=start_time,
        end_time=end_time,
        examinations=examinations,
        discrepancies=discrepancies,
        hit_rate=hit_rate,
        hit_rate_interval=wilson_interval(discrepancies, examinations),
        random_examinations=matched.examinations,
        random_discrepancies=matched.discrepancies,
        random_discrepancy_rate=matched.rate,
        lift=lift,
        seizures=sum(o.seizures for o in offices),
        penalties_recommended=sum(o.penalties_recommended for o in offices),
        revenue_found=add_amounts(facts.revenue_found),
        audit_findings=facts.audit_findings,
        audit_duty_assessed=add_amounts(facts.audit_duty_assessed),
        consecutive_negative_results=facts.consecutive_negative_results,
        last_discrepancy_time=facts.last_discrepancy_time,
    )
