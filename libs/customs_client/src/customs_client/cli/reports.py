"""`customs report`: the committee's oversight report, as text, CSV and charts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from customs.criteria.v1 import criteria_service_pb2 as api
from customs.criteria.v1 import oversight_report_pb2

from customs_client import oversight as figures
from customs_client.cli.common import InputError, client, done

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
