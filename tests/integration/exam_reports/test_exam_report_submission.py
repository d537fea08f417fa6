"""Submitting the cargo examination report of appendix 1 from a tablet."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import grpc
import pytest
from customs.common.v1 import money_pb2
from customs.exam_reports.v1 import exam_report_pb2, examination_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from customs.exam_reports.v1 import exam_reports_service_pb2_grpc as pb2_grpc
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
    reason,
    submit_request,
    timestamp,
    violated_fields,
)

from customs_kit.auth import Role
from customs_kit.settings import ServiceSettings
from customs_kit.testing.services import SigningKeys, running_service
from exam_reports.entrypoints.server import bootstrap


@dataclass
class Task:
    """An examination assigned to officer anna, who is on shift."""

    name: str
    officer: BoundStub


@pytest.fixture
async def task(client: Client) -> Task:
    await create_office(client)
    await create_officer(client, "anna")
    await put_on_shift(client, "anna")
    opened = await client.scoring.IngestDecisionEvent(decision_event())
    return Task(opened.examination, client.as_(Role.OFFICER, subject="anna"))


async def test_a_complete_report_is_signed_and_the_task_awaits_review(task: Task) -> None:
    request = submit_request(discrepancy_report(task.name))

    response = await task.officer.SubmitExamReport(request)

    report = response.exam_report
    assert report.name == f"examReports/{request.exam_report_id}"
    assert report.state == exam_report_pb2.EXAM_REPORT_STATE_SUBMITTED
    assert report.officer_signature.officer == "officers/anna"
    assert report.officer_signature.badge_number == "B-anna"
    assert report.officer_signature.sign_time == request.sign_time
    assert report.submission_count == 1
    assert report.discrepancies[0].found_quantity.value == 6000
    assert report.seizure_case_number == "SZ-2026/114"
    examination = (
        await task.officer.GetExamination(pb2.GetExaminationRequest(name=task.name))
    ).examination
    assert examination.state == examination_pb2.EXAMINATION_STATE_AWAITING_REVIEW
    assert examination.exam_report == report.name


async def test_a_report_resent_three_times_exists_once(task: Task, client: Client) -> None:
    request = submit_request(clean_report(task.name))

    responses = [await task.officer.SubmitExamReport(request) for _ in range(3)]

    assert responses[0] == responses[1] == responses[2]
    assert responses[0].exam_report.submission_count == 1
    read = await client.supervisor.GetExamReport(
        pb2.GetExamReportRequest(name=responses[0].exam_report.name)
    )
    assert read.exam_report == responses[0].exam_report


async def test_a_report_sent_twice_at_once_exists_once(task: Task) -> None:
    request = submit_request(clean_report(task.name))

    first, second = await asyncio.gather(
        task.officer.SubmitExamReport(request), task.officer.SubmitExamReport(request)
    )

    assert first == second
    assert first.exam_report.submission_count == 1


async def test_the_same_report_id_with_other_content_is_refused(task: Task) -> None:
    request = submit_request(clean_report(task.name))
    await task.officer.SubmitExamReport(request)
    request.exam_report.intelligence_information = "driver nervous, new route"

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await task.officer.SubmitExamReport(request)

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(raised.value) == "REPORT_ALREADY_SUBMITTED"


async def test_a_second_report_for_the_same_examination_is_refused(task: Task) -> None:
    await task.officer.SubmitExamReport(submit_request(clean_report(task.name)))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await task.officer.SubmitExamReport(submit_request(clean_report(task.name)))

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(raised.value) == "EXAMINATION_ALREADY_REPORTED"


_MANDATORY_BOXES = (
    "declaration_number",
    "customs_office",
    "importer_name",
    "importer_number",
    "broker_name",
    "inspecting_officer",
    "reason",
    "examination_time",
    "discrepancy_found",
    "intelligence_information",
)

_SHADED_AREA = (
    "carrier.display_name",
    "carrier.address",
    "driver.full_name",
    "driver.date_of_birth",
    "driver.nationality",
    "driver.identity_document",
    "discrepancy_detail",
    "penalty_recommended",
    "merchandise_seized",
    "seizure_case_number",
)


async def _refusal(task: Task, report: exam_report_pb2.ExamReport) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await task.officer.SubmitExamReport(submit_request(report))
    return raised.value


async def test_every_mandatory_box_of_the_form_is_required(task: Task) -> None:
    for field in _MANDATORY_BOXES:
        report = clean_report(task.name)
        report.ClearField(field)

        error = await _refusal(task, report)

        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, field
        assert f"exam_report.{field}" in error.details(), field


async def test_a_discrepancy_makes_the_shaded_area_mandatory(task: Task) -> None:
    for missing in _SHADED_AREA:
        report = discrepancy_report(task.name)
        parent, _, leaf = missing.rpartition(".")
        (getattr(report, parent) if parent else report).ClearField(leaf)

        error = await _refusal(task, report)

        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, missing
        assert f"exam_report.{missing}" in error.details(), missing


async def test_a_value_discrepancy_needs_both_values(task: Task) -> None:
    report = discrepancy_report(task.name)
    report.discrepancies.append(
        exam_report_pb2.Discrepancy(
            type=exam_report_pb2.DISCREPANCY_TYPE_VALUE,
            declared_value=money_pb2.Money(currency_code="USD", units=1000),
        )
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await task.officer.SubmitExamReport(submit_request(report))

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "found_value" in raised.value.details()


async def test_reason_other_without_the_supervisors_approval_is_refused(task: Task) -> None:
    report = clean_report(task.name)
    report.reason = examination_pb2.EXAMINATION_REASON_OTHER
    report.other_reason = "Seal number differs from the bill of lading."

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await task.officer.SubmitExamReport(submit_request(report))

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "exam_report.override" in raised.value.details()


async def test_reason_other_with_an_approval_not_recorded_before_the_examination_is_refused(
    task: Task,
) -> None:
    report = clean_report(task.name)
    report.reason = examination_pb2.EXAMINATION_REASON_OTHER
    report.other_reason = "Seal number differs from the bill of lading."
    report.override = "overrides/verbal-ok"

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await task.officer.SubmitExamReport(submit_request(report))

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(raised.value) == "OVERRIDE_NOT_APPROVED_BEFORE_EXAMINATION"


async def test_a_report_about_another_declaration_is_refused(task: Task) -> None:
    report = clean_report(task.name)
    report.declaration_number = "DCL-9999"

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await task.officer.SubmitExamReport(submit_request(report))

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(raised.value) == "REPORT_DOES_NOT_MATCH_EXAMINATION"


async def test_a_signature_dated_before_the_examination_is_refused(task: Task) -> None:
    request = submit_request(clean_report(task.name))
    request.sign_time.CopyFrom(timestamp(now() - timedelta(hours=2)))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await task.officer.SubmitExamReport(request)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(raised.value) == ["sign_time"]


async def test_only_the_assigned_officer_reports(task: Task, client: Client) -> None:
    await create_officer(client, "ben")
    ben = client.as_(Role.OFFICER, subject="ben")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ben.SubmitExamReport(submit_request(clean_report(task.name)))

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_report_for_an_unknown_examination_is_not_found(task: Task) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await task.officer.SubmitExamReport(submit_request(clean_report("examinations/unknown")))

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_an_acknowledged_report_survives_a_restart(
    task: Task, settings: ServiceSettings, test_keys: SigningKeys
) -> None:
    submitted = await task.officer.SubmitExamReport(submit_request(discrepancy_report(task.name)))

    async with running_service(settings, bootstrap) as restarted:
        stub = pb2_grpc.ExamReportsServiceStub(restarted.channel)
        read = await stub.GetExamReport(
            pb2.GetExamReportRequest(name=submitted.exam_report.name),
            metadata=test_keys.metadata(Role.OFFICER, subject="anna"),
        )

    assert read.exam_report == submitted.exam_report


async def test_officers_read_only_their_own_reports(task: Task, client: Client) -> None:
    submitted = await task.officer.SubmitExamReport(submit_request(clean_report(task.name)))
    await create_officer(client, "ben")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.as_(Role.OFFICER, subject="ben").GetExamReport(
            pb2.GetExamReportRequest(name=submitted.exam_report.name)
        )

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
