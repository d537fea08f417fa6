"""The disparity report in its contract form."""

from __future__ import annotations

from datetime import datetime

from customs.scoring.v1 import disparity_pb2

from scoring.adapters.codec import datetime_to_timestamp
from scoring.domain.disparity import DisparityReport, Rate


def _rate(rate: Rate) -> disparity_pb2.DisparityRate:
    return disparity_pb2.DisparityRate(
        successes=rate.successes,
        trials=rate.trials,
        rate=rate.value,
        lower=rate.lower,
        upper=rate.upper,
    )


def _dimension(value: str) -> str:
    """``origin_country`` → ``DISPARITY_DIMENSION_ORIGIN_COUNTRY`` (the constructor takes names)."""
    return f"DISPARITY_DIMENSION_{value.upper()}"


def report_to_proto(
    report: DisparityReport, start: datetime, end: datetime
) -> disparity_pb2.DisparityReport:
    """The DisparityReport message of the window ``[start, end)``."""
    return disparity_pb2.DisparityReport(
        start_time=datetime_to_timestamp(start),
        end_time=datetime_to_timestamp(end),
        declarations=report.declarations,
        random_outcomes=report.random_outcomes,
        segments=[
            disparity_pb2.DisparitySegment(
                selector=row.selector,
                dimension=_dimension(row.dimension.value),
                segment=row.segment,
                selection=_rate(row.selection),
                hit_rate=_rate(row.hit_rate),
                random_hit_rate=_rate(row.random_hit_rate),
                rest_selection=_rate(row.rest_selection),
                rest_random_hit_rate=_rate(row.rest_random_hit_rate),
                disparity_ratio=row.disparity_ratio,
                tested=row.p_value is not None,
                p_value=row.p_value or 0.0,
                adjusted_p_value=row.adjusted_p_value or 0.0,
                flagged=row.flagged,
            )
            for row in report.segments
        ],
        findings=[
            disparity_pb2.DisparityFinding(
                selector=finding.selector,
                dimension=_dimension(finding.dimension.value),
                segment=finding.segment,
                disparity_ratio=finding.disparity_ratio,
                adjusted_p_value=finding.adjusted_p_value,
                driving_criteria=finding.driving_criteria,
            )
            for finding in report.findings
        ],
    )
