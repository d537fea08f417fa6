"""Step 19 through the server: each officer's work against the peers of the office."""

from __future__ import annotations

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from customs.exam_reports.v1 import integrity_pb2, officer_pb2
from exam_reports_support import (
    BoundStub,
    Client,
    clean_report,
    create_office,
    create_officer,
    decision_event,
    discrepancy_report,
    now,
    put_on_shift,
    submit_request,
    violated_fields,
)

from customs_kit.auth import Role

_PER_OFFICER = 8


async def _report_all(officer: BoundStub, name: str, discrepancies: int) -> list[str]:
    """The officer reports on each of their tasks, finding ``discrepancies`` of them."""
    tasks = (await officer.ListMyExaminations(pb2.ListMyExaminationsRequest())).examinations
    submitted = []
    for index, task in enumerate(tasks):
        build = discrepancy_report if index < discrepancies else clean_report
        report = build(task.name, officer=name)
        report.declaration_number = task.declaration_number
        response = await officer.SubmitExamReport(submit_request(report))
        submitted.append(response.exam_report)
    return submitted


async def test_an_officer_finding_far_fewer_discrepancies_than_peers_is_flagged(
    client: Client,
) -> None:
    await create_office(client)
    await create_officer(client, "sam", role=officer_pb2.OFFICER_ROLE_SUPERVISOR)
    for name in ("anna", "ben", "carl"):
        await create_officer(client, name)
        await put_on_shift(client, name)
    for number in range(3 * _PER_OFFICER):
        await client.scoring.IngestDecisionEvent(decision_event(declaration_number=f"D-{number}"))
    sam = client.as_(Role.SUPERVISOR, subject="sam")
    found = {"anna": 0, "ben": _PER_OFFICER // 2, "carl": _PER_OFFICER // 2}
    for name, discrepancies in found.items():
        officer = client.as_(Role.OFFICER, subject=name)
        for report in await _report_all(officer, name, discrepancies):
            await sam.ApproveExamReport(
                pb2.ApproveExamReportRequest(
                    name=report.name, request_id=str(uuid.uuid4()), etag=report.etag
                )
            )
    today = now().astimezone(ZoneInfo("Africa/Nairobi")).date()

    response = await client.as_(Role.RMC, subject="committee").GetOfficerIntegrityReport(
        pb2.GetOfficerIntegrityReportRequest(
            office="offices/PORT1",
            start_date=(today - timedelta(days=1)).isoformat(),
            end_date=(today + timedelta(days=1)).isoformat(),
            min_examinations=5,
        )
    )

    report = response.officer_integrity_report
    assert report.significance_level == pytest.approx(0.01)
    assert report.norms.examinations == 3 * _PER_OFFICER
    assert report.norms.discrepancy_rate == pytest.approx(8 / 24)
    flagged = [entry.officer for entry in report.officers if entry.flagged]
    assert flagged == ["officers/anna"]
    anna = report.officers[0]
    assert (anna.examinations, anna.discrepancies) == (_PER_OFFICER, 0)
    assert anna.days_on_duty >= 1
    [test] = [t for t in anna.tests if t.metric == integrity_pb2.INTEGRITY_METRIC_DISCREPANCY_RATE]
    assert test.method == integrity_pb2.INTEGRITY_TEST_METHOD_BINOMIAL
    assert test.peer_value == pytest.approx(0.5)
    assert test.p_value < 0.01
    assert test.z_score < 0
    assert {entry.officer for entry in report.officers} == {
        "officers/anna",
        "officers/ben",
        "officers/carl",
    }


async def test_a_period_over_a_year_is_refused(client: Client) -> None:
    await create_office(client)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.supervisor.GetOfficerIntegrityReport(
            pb2.GetOfficerIntegrityReportRequest(
                office="offices/PORT1", start_date="2025-01-01", end_date="2026-01-02"
            )
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(raised.value) == ["end_date"]


async def test_officers_do_not_read_the_integrity_report(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.as_(Role.OFFICER, subject="anna").GetOfficerIntegrityReport(
            pb2.GetOfficerIntegrityReportRequest(
                office="offices/PORT1", start_date="2026-01-01", end_date="2026-01-31"
            )
        )

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
