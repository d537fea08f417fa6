"""The oversight report's figures, read from the services for a window, and its charts.

`customs report oversight --out` and the demo both draw the committee's
pictures from here, so the charts of a month a user asks for are the ones the
demo writes. Every figure is counted by the time the platform keeps for it:
declarations by lodgement, examinations by when the goods were examined (the
tablet's time, not the report's arrival), compliance by the measurement's
lodgement period, the model on the random arm of the declarations lodged in
the window.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from customs.compliance.v1 import compliance_service_pb2 as compliance_api
from customs.criteria.v1 import criteria_service_pb2 as criteria_api
from customs.exam_reports.v1 import exam_reports_service_pb2 as exam_api
from customs.scoring.v1 import assessment_pb2
from customs.scoring.v1 import scoring_service_pb2 as scoring_api
from google.protobuf.timestamp_pb2 import Timestamp

from customs_client import charts
from customs_client.channels import CustomsClient
from customs_client.cli.common import enum_label, enum_of
from customs_client.errors import CustomsError
from customs_client.pagination import paginate

#: Pages as large as the services serve: a month holds thousands of assessments.
_PAGE = 1000
#: The longest span ListOfficeCapacities answers for at once.
_CAPACITY_SPAN = timedelta(days=91)
#: z of the 95 % interval drawn around the random baseline.
_Z95 = 1.959963984540054
_CHANNEL = enum_of(assessment_pb2.Assessment, "channel")


@dataclass
class OversightFigures:
    """What the charts show for one window."""

    #: Declarations per channel, per day lodged (``YYYY-MM-DD``) or month (``YYYY-MM``).
    channels: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    criteria: list[charts.Proportion] = field(default_factory=list)
    #: The discrepancy rate of the random examinations the criteria are compared with.
    random_baseline: charts.Proportion | None = None
    segments: list[charts.Proportion] = field(default_factory=list)
    tolerance: float | None = None
    #: The active model's performance on the random arm (criteria's answer), if any.
    model: Any = None
    ranking: charts.RankingCurve = field(default_factory=lambda: charts.RankingCurve([], [], []))
    drift: dict[str, float] = field(default_factory=dict)
    capacity: list[charts.CapacityUse] = field(default_factory=list)


def stamp(moment: datetime) -> Timestamp:
    """``moment`` as a protobuf Timestamp."""
    result = Timestamp()
    result.FromDatetime(moment)
    return result


def wilson(successes: int, trials: int) -> tuple[float, float]:
    """The 95 % Wilson interval of ``successes`` in ``trials`` ((0, 1) without trials)."""
    if not trials:
        return 0.0, 1.0
    rate = successes / trials
    denominator = 1 + _Z95**2 / trials
    centre = (rate + _Z95**2 / (2 * trials)) / denominator
    spread = _Z95 * math.sqrt(rate * (1 - rate) / trials + _Z95**2 / (4 * trials**2))
    return max(0.0, centre - spread / denominator), min(1.0, centre + spread / denominator)


def gather(
    client: CustomsClient,
    start: datetime,
    end: datetime,
    *,
    by_month: bool = False,
    capacity_days: tuple[date, date] | None = None,
) -> OversightFigures:
    """The figures of ``[start, end)``: channels per day (per month with ``by_month``), and
    capacity use over ``capacity_days`` (inclusive; the window's days when not given)."""
    figures = OversightFigures()
    _channels(client, start, end, by_month, figures)
    _criteria(client, start, end, figures)
    _segments(client, start, end, figures)
    _model(client, start, end, figures)
    first, last = capacity_days or (start.date(), (end - timedelta(microseconds=1)).date())
    _capacity(client, first, last, figures)
    return figures


def draw(figures: OversightFigures, out: Path) -> list[tuple[Path, Path]]:
    """The five charts of ``figures`` into ``out``, as (PNG, SVG) pairs."""
    return [
        charts.channel_mix({p: dict(c) for p, c in figures.channels.items()}, out),
        charts.hit_rates(figures.criteria, figures.random_baseline, out),
        charts.compliance_by_segment(figures.segments, figures.tolerance, out),
        charts.model_ranking(figures.ranking, figures.drift, out),
        charts.capacity_use(figures.capacity, out),
    ]


def _channels(
    client: CustomsClient, start: datetime, end: datetime, by_month: bool, figures: OversightFigures
) -> None:
    request = scoring_api.ListAssessmentsRequest(
        page_size=_PAGE,
        lodgement_start_time=stamp(start),
        lodgement_end_time=stamp(end),
        view=assessment_pb2.ASSESSMENT_VIEW_BASIC,
    )
    for assessment in paginate(client.scoring.ListAssessments, request):
        lodged = assessment.declaration.lodgement_time.ToDatetime()
        period = lodged.strftime("%Y-%m" if by_month else "%Y-%m-%d")
        channel = enum_label(_CHANNEL, assessment.channel)
        figures.channels[period][channel] += 1


def _criteria(
    client: CustomsClient, start: datetime, end: datetime, figures: OversightFigures
) -> None:
    request = criteria_api.ListCriterionPerformanceRequest(
        start_time=stamp(start), end_time=stamp(end)
    )
    performances = list(paginate(client.criteria.ListCriterionPerformance, request))
    figures.criteria = [
        charts.Proportion(
            p.criterion.removeprefix("criteria/"),
            p.hit_rate,
            p.hit_rate_interval.lower,
            p.hit_rate_interval.upper,
            p.examinations,
        )
        for p in performances
    ]
    # Every criterion is compared with the random arm of the window.
    arm = max(performances, key=lambda p: p.random_examinations, default=None)
    if arm is not None and arm.random_examinations:
        lower, upper = wilson(arm.random_discrepancies, arm.random_examinations)
        figures.random_baseline = charts.Proportion(
            "random examinations",
            arm.random_discrepancy_rate,
            lower,
            upper,
            arm.random_examinations,
        )


def _segments(
    client: CustomsClient, start: datetime, end: datetime, figures: OversightFigures
) -> None:
    """The rates of the compliance measurements whose period overlaps the window."""
    window = (start.date().isoformat(), (end - timedelta(microseconds=1)).date().isoformat())
    measurements = paginate(
        client.compliance.ListComplianceMeasurements,
        compliance_api.ListComplianceMeasurementsRequest(),
    )
    for measurement in measurements:
        if measurement.end_date < window[0] or measurement.start_date > window[1]:
            continue
        figures.tolerance = measurement.tolerance_level or figures.tolerance
        rates = paginate(
            client.compliance.ListComplianceRates,
            compliance_api.ListComplianceRatesRequest(parent=measurement.name),
        )
        figures.segments += [
            charts.Proportion(
                rate.stratum_display_name or rate.stratum,
                rate.rate,
                rate.lower_bound,
                rate.upper_bound,
                rate.sample_size,
            )
            for rate in rates
        ]


def _model(
    client: CustomsClient, start: datetime, end: datetime, figures: OversightFigures
) -> None:
    try:
        model = client.criteria.GetRiskModelPerformance(
            criteria_api.GetRiskModelPerformanceRequest(
                start_time=stamp(start), end_time=stamp(end)
            )
        )
    except CustomsError as error:
        # Without an active model there is nothing to measure: the chart stays empty.
        if error.reason != "NO_ACTIVE_RISK_MODEL":
            raise
        return
    figures.model = model
    card = client.scoring.GetRiskModelCard(
        scoring_api.GetRiskModelCardRequest(risk_model=model.risk_model)
    ).card.validation
    figures.ranking = charts.RankingCurve(
        [0.05, 0.10],
        [card.precision_at_5, card.precision_at_10],
        [card.recall_at_5, card.recall_at_10],
    )
    figures.drift = {start.strftime("%Y-%m"): model.population_stability_index}


def _capacity(client: CustomsClient, first: date, last: date, figures: OversightFigures) -> None:
    """Tasks opened against capacity, per office and day, summed over the kinds of
    examination (capacity is counted on the day a task is opened)."""
    while first <= last:
        chunk_end = min(last, first + _CAPACITY_SPAN)
        request = exam_api.ListOfficeCapacitiesRequest(
            start_date=first.isoformat(), end_date=chunk_end.isoformat(), page_size=500
        )
        for office in paginate(client.exam_reports.ListOfficeCapacities, request):
            for day in office.days:
                used = sum(usage.opened for usage in day.usages)
                capacity = sum(usage.capacity for usage in day.usages)
                if used:
                    figures.capacity.append(
                        charts.CapacityUse(
                            office.office.removeprefix("offices/"), day.date, used, capacity
                        )
                    )
        first = chunk_end + timedelta(days=1)
