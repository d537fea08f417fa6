"""Officer integrity analytics (handbook step 19): each officer against the peers of the office.

"If the average Customs officer can conduct four thorough examinations a day,
how can one officer conduct eight or ten? If the average officer finds seven to
ten discrepancies for every one hundred examinations, why is another finding
only one or two, or worse, none? Why is another routinely overriding
examination instructions by examining green channel declarations or releasing
red channel declarations without examination?"

Each question becomes a one-sided test of one officer against the *other*
officers of the same office over the same period (including the officer in
the norm would hide an outlier in a small office). A flag is a question for
the supervisor, training or ethics, never a finding.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from exam_reports.domain.exam_reports import Money, total_of

#: The p-value below which an officer is flagged when the caller does not choose one.
DEFAULT_SIGNIFICANCE_LEVEL = 0.01
#: Completed examinations below which an officer is listed but not tested, by default.
DEFAULT_MIN_EXAMINATIONS = 20
#: The longest period one report may cover (start day + 365 days).
MAX_PERIOD_DAYS = 366


class IntegrityMetric(Enum):
    """One measure of an officer's work."""

    EXAMINATIONS_PER_DAY = "EXAMINATIONS_PER_DAY"
    DISCREPANCY_RATE = "DISCREPANCY_RATE"
    OVERRIDE_RATE = "OVERRIDE_RATE"
    GREEN_EXAMINED_RATE = "GREEN_EXAMINED_RATE"
    RED_RELEASED_RATE = "RED_RELEASED_RATE"


class IntegrityTestMethod(Enum):
    """The statistical test behind a p-value."""

    BINOMIAL = "BINOMIAL"
    Z_SCORE = "Z_SCORE"


@dataclass(frozen=True)
class OfficerActivity:
    """What one officer did at the office in the period."""

    officer_id: str
    display_name: str
    days_on_duty: int
    examinations: int
    discrepancies: int
    override_requests: int
    green_examined: int
    red_released: int
    #: The additional duties and taxes the officer's approved reports assessed.
    revenue_found: Money | None = None

    @property
    def examinations_per_day(self) -> float:
        """Completed examinations per day on duty; 0 without a day on duty."""
        return self.examinations / self.days_on_duty if self.days_on_duty else 0.0


@dataclass(frozen=True)
class MetricTest:
    """One metric of one officer against the peers; ``method`` is None when not tested."""

    metric: IntegrityMetric
    officer_value: float
    peer_value: float
    method: IntegrityTestMethod | None
    z_score: float
    p_value: float
    flagged: bool


@dataclass(frozen=True)
class OfficerIntegrity:
    """One officer's activity and tests; flagged when any test is."""

    activity: OfficerActivity
    tests: tuple[MetricTest, ...]

    @property
    def flagged(self) -> bool:
        """Whether any metric is flagged."""
        return any(test.flagged for test in self.tests)


@dataclass(frozen=True)
class OfficeNorms:
    """The office-wide values of the period."""

    officers: int
    examinations: int
    mean_examinations_per_day: float
    stddev_examinations_per_day: float
    discrepancy_rate: float
    override_rate: float
    green_examined_rate: float
    red_released_rate: float
    revenue_found: Money | None = None


@dataclass(frozen=True)
class IntegrityAnalysis:
    """The norms of the office and every officer, flagged officers first, then by name."""

    norms: OfficeNorms
    officers: tuple[OfficerIntegrity, ...]


def days_on_duty(
    shifts: Iterable[tuple[datetime, datetime]], zone: ZoneInfo, first: date, last: date
) -> int:
    """The calendar days (in ``zone``) of [first, last] on which any of ``shifts`` is worked.

    A night shift counts on both days it touches: the officer was on duty on each.
    """
    days: set[date] = set()
    for start, end in shifts:
        day = start.astimezone(zone).date()
        final = (end - timedelta(microseconds=1)).astimezone(zone).date()
        while day <= final:
            if first <= day <= last:
                days.add(day)
            day += timedelta(days=1)
    return len(days)


def normal_sf(z: float) -> float:
    """P(Z >= z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _log_pmf(k: int, n: int, p: float) -> float:
    return (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), 0 < p < 1, summed in log space (n in the thousands)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return min(1.0, math.fsum(math.exp(_log_pmf(i, n, p)) for i in range(k + 1)))


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), 0 < p < 1."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return min(1.0, math.fsum(math.exp(_log_pmf(i, n, p)) for i in range(k, n + 1)))


def _untested(metric: IntegrityMetric, officer_value: float, peer_value: float) -> MetricTest:
    return MetricTest(metric, officer_value, peer_value, None, 0.0, 1.0, False)


def _rate(count: int, examinations: int) -> float:
    return count / examinations if examinations else 0.0


@dataclass(frozen=True)
class _CountMetric:
    metric: IntegrityMetric
    #: True when the concern is a rate far above the peers', False far below.
    above: bool
    #: Counts beside the examinations (overrides) rather than among them (discrepancies).
    beside_examinations: bool

    def count(self, activity: OfficerActivity) -> int:
        match self.metric:
            case IntegrityMetric.DISCREPANCY_RATE:
                return activity.discrepancies
            case IntegrityMetric.OVERRIDE_RATE:
                return activity.override_requests
            case IntegrityMetric.GREEN_EXAMINED_RATE:
                return activity.green_examined
            case _:
                return activity.red_released

    def trials(self, activity: OfficerActivity) -> int:
        extra = self.count(activity) if self.beside_examinations else 0
        return activity.examinations + extra


_COUNT_METRICS = (
    _CountMetric(IntegrityMetric.DISCREPANCY_RATE, above=False, beside_examinations=False),
    _CountMetric(IntegrityMetric.OVERRIDE_RATE, above=True, beside_examinations=True),
    _CountMetric(IntegrityMetric.GREEN_EXAMINED_RATE, above=True, beside_examinations=True),
    _CountMetric(IntegrityMetric.RED_RELEASED_RATE, above=True, beside_examinations=True),
)


def _binomial_test(
    spec: _CountMetric,
    officer: OfficerActivity,
    peers: Sequence[OfficerActivity],
    alpha: float,
    tested: bool,
) -> MetricTest:
    """The exact one-sided binomial test of the officer's count against the peers' pooled rate.

    The reported values are per completed examination, as the contract names
    them. The test counts overrides *beside* the examinations (k of
    examinations + k decisions) so that it stays a proportion for an officer
    who overrides more often than they examine, and it estimates the peers'
    rate with one pseudo-event each way (Laplace), so that a single override
    where the peers had none is not "impossible" and flagged by itself.
    """
    count, trials = spec.count(officer), spec.trials(officer)
    peer_count = sum(spec.count(peer) for peer in peers)
    peer_trials = sum(spec.trials(peer) for peer in peers)
    officer_value = _rate(count, officer.examinations)
    peer_value = _rate(peer_count, sum(peer.examinations for peer in peers))
    if not tested or trials == 0 or peer_trials == 0:
        return _untested(spec.metric, officer_value, peer_value)
    p = (peer_count + 1) / (peer_trials + 2)
    z = (count - trials * p) / math.sqrt(trials * p * (1 - p))
    p_value = binomial_sf(count, trials, p) if spec.above else binomial_cdf(count, trials, p)
    return MetricTest(
        spec.metric,
        officer_value,
        peer_value,
        IntegrityTestMethod.BINOMIAL,
        z,
        p_value,
        p_value < alpha,
    )


def _per_day_test(
    officer: OfficerActivity, peers: Sequence[OfficerActivity], alpha: float, tested: bool
) -> MetricTest:
    """The one-sided z-test of examinations per day against the peers on duty.

    Too many thorough examinations a day is the concern. The spread is the
    peers' standard deviation plus the officer's own counting noise (a count
    over few days varies by itself: Poisson, mean / days), so that an office
    whose officers happen to match closely does not turn a tenth of an
    examination a day into a flag.
    """
    metric = IntegrityMetric.EXAMINATIONS_PER_DAY
    rates = [peer.examinations_per_day for peer in peers if peer.days_on_duty]
    mean = statistics.fmean(rates) if rates else 0.0
    value = officer.examinations_per_day
    if not tested or not officer.days_on_duty or not rates:
        return _untested(metric, value, mean)
    spread = statistics.stdev(rates) if len(rates) > 1 else 0.0
    noise = mean / officer.days_on_duty
    deviation = math.sqrt(spread**2 + noise)
    if deviation == 0:
        return _untested(metric, value, mean)
    z = (value - mean) / deviation
    p_value = normal_sf(z)
    return MetricTest(metric, value, mean, IntegrityTestMethod.Z_SCORE, z, p_value, p_value < alpha)


def _norms(activities: Sequence[OfficerActivity]) -> OfficeNorms:
    on_duty = [activity for activity in activities if activity.days_on_duty]
    per_day = [activity.examinations_per_day for activity in on_duty]
    examinations = sum(activity.examinations for activity in activities)
    return OfficeNorms(
        officers=len(on_duty),
        examinations=examinations,
        mean_examinations_per_day=statistics.fmean(per_day) if per_day else 0.0,
        stddev_examinations_per_day=statistics.stdev(per_day) if len(per_day) > 1 else 0.0,
        discrepancy_rate=_rate(sum(a.discrepancies for a in activities), examinations),
        override_rate=_rate(sum(a.override_requests for a in activities), examinations),
        green_examined_rate=_rate(sum(a.green_examined for a in activities), examinations),
        red_released_rate=_rate(sum(a.red_released for a in activities), examinations),
        revenue_found=total_of(activity.revenue_found for activity in activities),
    )


def analyse_integrity(
    activities: Sequence[OfficerActivity], significance_level: float, min_examinations: int
) -> IntegrityAnalysis:
    """Tests every officer against the others of the office.

    An officer with fewer than ``min_examinations`` completed examinations is
    listed with the values but not tested: a handful of examinations says
    nothing either way.
    """
    results = []
    for officer in activities:
        peers = [peer for peer in activities if peer.officer_id != officer.officer_id]
        tested = officer.examinations >= min_examinations
        tests = (
            _per_day_test(officer, peers, significance_level, tested),
            *(
                _binomial_test(spec, officer, peers, significance_level, tested)
                for spec in _COUNT_METRICS
            ),
        )
        results.append(OfficerIntegrity(officer, tests))
    results.sort(key=lambda r: (not r.flagged, r.activity.display_name, r.activity.officer_id))
    return IntegrityAnalysis(_norms(activities), tuple(results))
