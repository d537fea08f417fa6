"""`customs report`: the oversight report (text, CSV and charts) and the disparity report."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from customs.criteria.v1 import criteria_service_pb2 as api
from customs.criteria.v1 import oversight_report_pb2, risk_model_pb2
from customs.scoring.v1 import disparity_pb2, scoring_service_pb2
from rich.table import Table

from customs_client import charts
from customs_client import oversight as figures
from customs_client.cli.common import InputError, client, console, done, enum_label

report = typer.Typer(help="Reports for the risk management committee.")


def month_window(month: str) -> tuple[datetime, datetime]:
    """The first instant of ``month`` (YYYY-MM, UTC) and of the month after."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise InputError(f"--month {month}: expected YYYY-MM") from None
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


@report.command("oversight")
def oversight(
    ctx: typer.Context,
    month: str = typer.Option(..., "--month", help="YYYY-MM (UTC)."),
    out: Path = typer.Option(..., "--out", help="Directory the report is written into."),
) -> None:
    """Write the month's oversight report into --out as text, CSV and charts (PNG and SVG)."""
    start, end = month_window(month)
    out.mkdir(parents=True, exist_ok=True)
    for report_format in (
        oversight_report_pb2.REPORT_FORMAT_TEXT,
        oversight_report_pb2.REPORT_FORMAT_CSV,
    ):
        request = api.ExportOversightReportRequest(format=report_format)
        request.start_time.FromDatetime(start)
        request.end_time.FromDatetime(end)
        exported = client(ctx).criteria.ExportOversightReport(request)
        target = out / Path(exported.filename).name
        target.write_bytes(exported.content)
        done(f"{target} written")
    for png, svg in figures.draw(figures.gather(client(ctx), start, end), out):
        done(f"{png} and {svg.name} written")


#: The columns of the disparity CSV, one row per selector and segment.
DISPARITY_COLUMNS = (
    "selector",
    "dimension",
    "segment",
    "declarations",
    "selected",
    "selection_rate",
    "selection_lower",
    "selection_upper",
    "examined_selected",
    "hits",
    "hit_rate",
    "hit_rate_lower",
    "hit_rate_upper",
    "random_examined",
    "random_hits",
    "random_hit_rate",
    "random_hit_rate_lower",
    "random_hit_rate_upper",
    "rest_selection_rate",
    "rest_random_hit_rate",
    "disparity_ratio",
    "tested",
    "p_value",
    "adjusted_p_value",
    "flagged",
)
_DIMENSION = disparity_pb2.DisparityDimension.DESCRIPTOR


def disparity_rows(report: disparity_pb2.DisparityReport) -> list[list[Any]]:
    """The CSV rows of ``report``'s segments, in :data:`DISPARITY_COLUMNS` order."""
    return [
        [
            row.selector,
            enum_label(_DIMENSION, row.dimension).lower(),
            row.segment,
            row.selection.trials,
            row.selection.successes,
            f"{row.selection.rate:.4f}",
            f"{row.selection.lower:.4f}",
            f"{row.selection.upper:.4f}",
            row.hit_rate.trials,
            row.hit_rate.successes,
            f"{row.hit_rate.rate:.4f}",
            f"{row.hit_rate.lower:.4f}",
            f"{row.hit_rate.upper:.4f}",
            row.random_hit_rate.trials,
            row.random_hit_rate.successes,
            f"{row.random_hit_rate.rate:.4f}",
            f"{row.random_hit_rate.lower:.4f}",
            f"{row.random_hit_rate.upper:.4f}",
            f"{row.rest_selection.rate:.4f}",
            f"{row.rest_random_hit_rate.rate:.4f}",
            f"{row.disparity_ratio:.3f}",
            "true" if row.tested else "false",
            f"{row.p_value:.4g}" if row.tested else "",
            f"{row.adjusted_p_value:.4g}" if row.tested else "",
            "true" if row.flagged else "false",
        ]
        for row in report.segments
    ]


def _active_threshold(ctx: typer.Context) -> float:
    """The score threshold of the active risk model version; 0 (model left out) without one."""
    request = api.ListRiskModelsRequest(page_size=1, state=risk_model_pb2.RISK_MODEL_STATE_ACTIVE)
    response = client(ctx).criteria.ListRiskModels(request)
    return float(response.risk_models[0].score_threshold) if response.risk_models else 0.0


@report.command("disparity")
def disparity(
    ctx: typer.Context,
    month: str = typer.Option(
        "", "--month", help="YYYY-MM (UTC); the current month when not given."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="CSV file to write every selector and segment into."
    ),
    chart_directory: Path | None = typer.Option(
        None,
        "--charts",
        help="Directory to draw the selection as a whole's disparity by segment into.",
    ),
    risk_model_threshold: float | None = typer.Option(
        None,
        "--risk-model-threshold",
        min=0.0,
        max=1.0,
        help="Score at which the risk model selects; the active version's when not given.",
    ),
) -> None:
    """Print the month's disparity findings; write every segment's figures with --out."""
    start, end = month_window(month or datetime.now(tz=UTC).strftime("%Y-%m"))
    threshold = _active_threshold(ctx) if risk_model_threshold is None else risk_model_threshold
    request = scoring_service_pb2.GetDisparityReportRequest(risk_model_score_threshold=threshold)
    request.start_time.FromDatetime(start)
    request.end_time.FromDatetime(end)
    found = client(ctx).scoring.GetDisparityReport(request).report
    console.print(
        f"{start:%Y-%m}: {found.declarations} declarations, "
        f"{found.random_outcomes} random-examination outcomes, "
        f"{len(found.findings)} flagged segment(s)",
        highlight=False,
    )
    if found.findings:
        table = Table()
        for header in ("selector", "dimension", "segment", "disparity", "adjusted p", "criteria"):
            table.add_column(header, overflow="fold")
        for finding in found.findings:
            table.add_row(
                finding.selector,
                enum_label(_DIMENSION, finding.dimension).lower(),
                finding.segment,
                f"{finding.disparity_ratio:.2f}",
                f"{finding.adjusted_p_value:.3g}",
                ", ".join(finding.driving_criteria),
            )
        console.print(table)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(DISPARITY_COLUMNS)
            writer.writerows(disparity_rows(found))
        done(f"{out} written")
    if chart_directory is not None:
        chart_directory.mkdir(parents=True, exist_ok=True)
        whole = [
            charts.SegmentDisparity(
                f"{enum_label(_DIMENSION, row.dimension).lower()}={row.segment}",
                row.disparity_ratio,
                row.flagged,
            )
            for row in found.segments
            if row.selector == "selection" and row.tested
        ]
        png, svg = charts.disparity(whole, chart_directory)
        done(f"{png} and {svg} written")
