"""The committee's oversight report, as an RPC and as text and CSV exports."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from criteria_support import (
    ANALYST,
    AUDITOR,
    OFFICER,
    Criteria,
    criterion,
    outcome_event,
    timestamp,
    violated_fields,
)
from customs.criteria.v1 import criteria_service_pb2 as pb
from customs.criteria.v1 import criterion_pb2, oversight_report_pb2, recommendation_pb2


@dataclass(frozen=True)
class Month:
    """What happened in the period: two criteria applied, one suspended, one draft."""

    start: datetime
    end: datetime
    applied: criterion_pb2.Criterion
    suspended: criterion_pb2.Criterion
    draft: criterion_pb2.Criterion


async def _month(criteria: Criteria) -> Month:
    now = datetime.now(UTC)
    profile = await criteria.create_profile()
    await criteria.create_list("known-infringers", "ACME-1")
    applied = await criteria.activate(criterion(profile))
    suspended = await criteria.suspend(
        await criteria.activate(criterion(profile, title='Paper, "tissue" rolls'))
    )
    draft = await criteria.create(criterion(profile, title="Still a draft"))
    await criteria.ingest(
        *(
            outcome_event(now - timedelta(minutes=30 - n), (applied.name, 1, False))
            for n in range(10)
        )
    )
    retire = (await criteria.recommendations(applied.name))[
        recommendation_pb2.RECOMMENDATION_KIND_RETIRE
    ]
    await criteria.call(
        "DismissRecommendation",
        pb.DismissRecommendationRequest(
            name=retire.name, etag=retire.etag, reason="seasonal", request_id=str(uuid.uuid4())
        ),
        ANALYST,
    )
    return Month(now - timedelta(hours=1), now + timedelta(hours=1), applied, suspended, draft)


async def test_the_report_shows_the_criteria_changes_approvals_analysts_and_pending_work(
    criteria: Criteria,
) -> None:
    month = await _month(criteria)

    response = await criteria.call(
        "GetOversightReport",
        pb.GetOversightReportRequest(
            start_time=timestamp(month.start), end_time=timestamp(month.end)
        ),
        AUDITOR,
    )

    report = response.oversight_report
    by_name = {c.criterion: c for c in report.criteria}
    assert set(by_name) == {month.applied.name, month.suspended.name}
    applied, suspended = by_name[month.applied.name], by_name[month.suspended.name]
    assert applied.state == criterion_pb2.CRITERION_STATE_ACTIVE
    assert not applied.HasField("inactivate_time")
    assert applied.performance.examinations == 10
    assert applied.performance.consecutive_negative_results == 10
    assert suspended.state == criterion_pb2.CRITERION_STATE_SUSPENDED
    assert suspended.HasField("inactivate_time")
    assert suspended.active_revision == 1
    assert [(a.criterion, a.author, a.approver) for a in report.approvals] == [
        (month.applied.name, "ana", "rita"),
        (month.suspended.name, "ana", "rita"),
    ]
    assert all(
        a.impact_analysis.startswith(a.criterion + "/impactAnalyses/") for a in report.approvals
    )
    analysts = {a.analyst: a for a in report.analysts}
    ana = analysts["ana"]
    assert (ana.criteria_created, ana.submissions, ana.approvals_received) == (3, 2, 2)
    assert (ana.named_list_changes, ana.recommendations_dismissed) == (1, 1)
    assert analysts["sam"].suspensions == 1
    assert len(report.pending_recommendations) == 2
    verification = await criteria.call("VerifyHistory", pb.VerifyHistoryRequest(), AUDITOR)
    assert report.history_intact
    assert report.history_head_hash == verification.verification.head_hash
    assert [c.sequence for c in report.changes] == list(
        range(1, verification.verification.entries_verified + 1)
    )


async def test_a_period_before_anything_happened_reports_nothing_but_the_history_state(
    criteria: Criteria,
) -> None:
    await _month(criteria)

    response = await criteria.call(
        "GetOversightReport",
        pb.GetOversightReportRequest(
            start_time=timestamp(datetime(2025, 1, 1, tzinfo=UTC)),
            end_time=timestamp(datetime(2025, 2, 1, tzinfo=UTC)),
        ),
        ANALYST,
    )

    report = response.oversight_report
    assert (len(report.criteria), len(report.changes), len(report.approvals)) == (0, 0, 0)
    assert report.history_intact
    assert len(report.pending_recommendations) == 2


async def test_the_exports_are_readable_text_and_rfc_4180_csv(criteria: Criteria) -> None:
    month = await _month(criteria)
    period = {"start_time": timestamp(month.start), "end_time": timestamp(month.end)}

    text = await criteria.call(
        "ExportOversightReport",
        pb.ExportOversightReportRequest(format=oversight_report_pb2.REPORT_FORMAT_TEXT, **period),
        AUDITOR,
    )
    table = await criteria.call(
        "ExportOversightReport",
        pb.ExportOversightReportRequest(format=oversight_report_pb2.REPORT_FORMAT_CSV, **period),
        AUDITOR,
    )

    stem = f"oversight-{month.start.date().isoformat()}-{month.end.date().isoformat()}"
    assert text.content_type == "text/plain; charset=utf-8"
    assert text.filename == f"{stem}.txt"
    body = text.content.decode("utf-8")
    assert "CRITERIA OVERSIGHT REPORT" in body
    assert "History:    intact" in body
    for heading in ("1. Criteria active or inactivated", "2. Approvals", "5. Recommendations"):
        assert heading in body
    criteria_section = body[body.index("1. Criteria") : body.index("2. Approvals")]
    assert month.applied.name in criteria_section
    assert month.draft.name not in criteria_section
    assert table.content_type == "text/csv; charset=utf-8"
    assert table.filename == f"{stem}.csv"
    content = table.content.decode("utf-8")
    assert "\r\n" in content
    rows = {r["criterion"]: r for r in csv.DictReader(io.StringIO(content, newline=""))}
    assert set(rows) == {month.applied.name, month.suspended.name}
    assert rows[month.suspended.name]["title"] == 'Paper, "tissue" rolls'
    assert rows[month.suspended.name]["state"] == "suspended"
    assert rows[month.applied.name]["examinations"] == "10"


async def test_an_export_needs_a_format_and_a_period_of_at_most_a_year(criteria: Criteria) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)

    with pytest.raises(grpc.aio.AioRpcError) as no_format:
        await criteria.call(
            "ExportOversightReport",
            pb.ExportOversightReportRequest(
                start_time=timestamp(start), end_time=timestamp(start + timedelta(days=31))
            ),
            ANALYST,
        )
    with pytest.raises(grpc.aio.AioRpcError) as too_long:
        await criteria.call(
            "GetOversightReport",
            pb.GetOversightReportRequest(
                start_time=timestamp(start), end_time=timestamp(start + timedelta(days=400))
            ),
            ANALYST,
        )

    assert violated_fields(no_format.value) == ["format"]
    assert too_long.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_officers_do_not_read_the_oversight_report(criteria: Criteria) -> None:
    request = pb.GetOversightReportRequest(
        start_time=timestamp(datetime(2026, 1, 1, tzinfo=UTC)),
        end_time=timestamp(datetime(2026, 2, 1, tzinfo=UTC)),
    )

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.call("GetOversightReport", request, OFFICER)
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await criteria.stub.GetOversightReport(request)

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
