"""The supervisor's review before release: approve, or return for correction; reassignment."""

from __future__ import annotations

import uuid

import grpc
import pytest
from customs.exam_reports.v1 import exam_report_pb2, examination_pb2, officer_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from exam_reports_support import (
    Client,
    Desk,
    clean_report,
    create_office,
    create_officer,
    discrepancy_report,
    error_details,
    reason,
    submit_request,
    violated_fields,
)

from customs_kit.auth import Role


def _return(
    report: exam_report_pb2.ExamReport, *fields: str, etag: str | None = None
) -> pb2.ReturnExamReportRequest:
    return pb2.ReturnExamReportRequest(
        name=report.name,
        request_id=str(uuid.uuid4()),
        etag=etag or report.etag,
        reason="The driver's date of birth does not match the passport copy.",
        fields=list(fields) or ["driver.date_of_birth"],
    )


async def test_an_approved_report_is_signed_by_the_supervisor_and_the_task_completed(
    desk: Desk,
) -> None:
    submitted = await desk.submit(discrepancy_report(desk.examination))

    approved = await desk.approve(submitted)

    assert approved.state == exam_report_pb2.EXAM_REPORT_STATE_APPROVED
    assert approved.supervisor_signature.officer == "officers/sam"
    assert approved.supervisor_signature.badge_number == "B-sam"
    assert approved.supervisor_signature.HasField("sign_time")
    assert approved.officer_signature == submitted.officer_signature
    examination = await desk.examination_now()
    assert examination.state == examination_pb2.EXAMINATION_STATE_COMPLETED
    assert examination.HasField("complete_time")
    read = await desk.anna.GetExamReport(pb2.GetExamReportRequest(name=approved.name))
    assert read.exam_report == approved


async def test_an_approval_retried_with_its_request_id_answers_the_same(desk: Desk) -> None:
    submitted = await desk.submit(clean_report(desk.examination))
    request = pb2.ApproveExamReportRequest(
        name=submitted.name, request_id=str(uuid.uuid4()), etag=submitted.etag
    )

    first = await desk.sam.ApproveExamReport(request)
    again = await desk.sam.ApproveExamReport(request)

    assert again == first


async def test_a_supervisor_cannot_review_a_report_they_signed(client: Client, desk: Desk) -> None:
    await create_officer(client, "sara", role=officer_pb2.OFFICER_ROLE_SUPERVISOR)
    sara = client.as_(Role.SUPERVISOR, subject="sara")
    await sara.ReassignExamination(
        pb2.ReassignExaminationRequest(
            name=desk.examination,
            request_id=str(uuid.uuid4()),
            etag=(await desk.examination_now()).etag,
            officer="officers/sam",
            reason="anna went home sick",
        )
    )
    submitted = await desk.sam.SubmitExamReport(
        submit_request(clean_report(desk.examination, officer="sam"))
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await desk.approve(submitted.exam_report)

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason(raised.value) == "SELF_REVIEW_FORBIDDEN"
    approved = await sara.ApproveExamReport(
        pb2.ApproveExamReportRequest(
            name=submitted.exam_report.name,
            request_id=str(uuid.uuid4()),
            etag=submitted.exam_report.etag,
        )
    )
    assert approved.exam_report.supervisor_signature.officer == "officers/sara"


async def test_a_report_changed_since_it_was_read_is_not_approved_unseen(desk: Desk) -> None:
    submitted = await desk.submit(clean_report(desk.examination))
    stale = exam_report_pb2.ExamReport()
    stale.CopyFrom(submitted)
    stale.etag = '"999"'

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await desk.approve(stale)

    assert raised.value.code() == grpc.StatusCode.ABORTED


async def test_only_a_submitted_report_is_reviewed(desk: Desk) -> None:
    draft = await desk.anna.SaveExamReportDraft(
        pb2.SaveExamReportDraftRequest(
            exam_report_id=str(uuid.uuid4()),
            exam_report=exam_report_pb2.ExamReport(examination=desk.examination),
        )
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await desk.approve(draft.exam_report)

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(raised.value) == "REPORT_NOT_SUBMITTED"


async def test_a_supervisor_not_in_the_officer_register_cannot_sign(desk: Desk) -> None:
    submitted = await desk.submit(clean_report(desk.examination))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await desk.client.supervisor.ApproveExamReport(
            pb2.ApproveExamReportRequest(
                name=submitted.name, request_id=str(uuid.uuid4()), etag=submitted.etag
            )
        )

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason(raised.value) == "NOT_AN_OFFICER"


async def test_an_inspector_registered_as_such_cannot_sign_as_supervisor(
    client: Client, desk: Desk
) -> None:
    await create_officer(client, "ben")
    submitted = await desk.submit(clean_report(desk.examination))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.as_(Role.SUPERVISOR, subject="ben").ApproveExamReport(
            pb2.ApproveExamReportRequest(
                name=submitted.name, request_id=str(uuid.uuid4()), etag=submitted.etag
            )
        )

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason(raised.value) == "NOT_A_SUPERVISOR"


async def test_an_officer_token_cannot_approve(desk: Desk) -> None:
    submitted = await desk.submit(clean_report(desk.examination))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await desk.anna.ApproveExamReport(
            pb2.ApproveExamReportRequest(
                name=submitted.name, request_id=str(uuid.uuid4()), etag=submitted.etag
            )
        )

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_returned_report_is_corrected_and_resubmitted_with_its_history(
    desk: Desk,
) -> None:
    report = discrepancy_report(desk.examination)
    report.driver.date_of_birth = "1908-04-02"
    submitted = await desk.submit(report)

    returned = (
        await desk.sam.ReturnExamReport(_return(submitted, "driver.date_of_birth"))
    ).exam_report

    assert returned.state == exam_report_pb2.EXAM_REPORT_STATE_RETURNED
    [correction] = returned.corrections
    assert correction.returned_by == "officers/sam"
    assert correction.fields == ["driver.date_of_birth"]
    assert "date of birth" in correction.reason
    assert correction.HasField("return_time")
    mine = await desk.anna.ListMyExaminations(pb2.ListMyExaminationsRequest())
    assert [(e.name, e.state) for e in mine.examinations] == [
        (desk.examination, examination_pb2.EXAMINATION_STATE_RETURNED)
    ]

    report.driver.date_of_birth = "1980-04-02"
    saved = await desk.anna.SaveExamReportDraft(
        pb2.SaveExamReportDraftRequest(
            exam_report_id=submitted.name.removeprefix("examReports/"),
            exam_report=report,
            etag=returned.etag,
        )
    )
    assert saved.exam_report.state == exam_report_pb2.EXAM_REPORT_STATE_RETURNED
    resubmitted = await desk.submit(report, submitted.name.removeprefix("examReports/"))

    assert resubmitted.state == exam_report_pb2.EXAM_REPORT_STATE_SUBMITTED
    assert resubmitted.submission_count == 2
    assert resubmitted.driver.date_of_birth == "1980-04-02"
    assert list(resubmitted.corrections) == [correction]
    assert (await desk.approve(resubmitted)).state == exam_report_pb2.EXAM_REPORT_STATE_APPROVED


async def test_a_return_must_name_fields_of_the_form(desk: Desk) -> None:
    submitted = await desk.submit(clean_report(desk.examination))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await desk.sam.ReturnExamReport(_return(submitted, "broker_name", "driver.shoe_size"))

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(raised.value) == ["fields[1]"]


async def test_a_return_without_a_reason_is_refused_naming_the_field(desk: Desk) -> None:
    submitted = await desk.submit(clean_report(desk.examination))
    request = _return(submitted)
    request.reason = "bad"

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await desk.sam.ReturnExamReport(request)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(raised.value) == ["reason"]


async def test_a_supervisor_reassigns_an_open_task_with_a_reason(
    client: Client, desk: Desk
) -> None:
    await create_officer(client, "ben")
    before = await desk.examination_now()

    response = await desk.sam.ReassignExamination(
        pb2.ReassignExaminationRequest(
            name=desk.examination,
            request_id=str(uuid.uuid4()),
            etag=before.etag,
            officer="officers/ben",
            reason="ben is trained for reefer containers",
        )
    )

    examination = response.examination
    assert examination.assigned_officer == "officers/ben"
    assert examination.state == examination_pb2.EXAMINATION_STATE_ASSIGNED
    last = examination.assignments[-1]
    assert (last.officer, last.assigned_by, last.reason) == (
        "officers/ben",
        "officers/sam",
        "ben is trained for reefer containers",
    )
    assert examination.assignments[0].officer == "officers/anna"
    bens = await client.as_(Role.OFFICER, subject="ben").ListMyExaminations(
        pb2.ListMyExaminationsRequest()
    )
    assert [e.name for e in bens.examinations] == [desk.examination]
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await desk.submit(clean_report(desk.examination))
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_task_is_not_reassigned_to_an_officer_of_another_office(
    client: Client, desk: Desk
) -> None:
    await create_office(client, "AIR2")
    await create_officer(client, "carl", office="offices/AIR2")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await desk.sam.ReassignExamination(
            pb2.ReassignExaminationRequest(
                name=desk.examination,
                request_id=str(uuid.uuid4()),
                etag=(await desk.examination_now()).etag,
                officer="officers/carl",
                reason="carl is free",
            )
        )

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(raised.value) == "OFFICER_OF_ANOTHER_OFFICE"
    assert error_details(raised.value)["PreconditionFailure"].violations[0].subject == (
        "officers/carl"
    )


async def test_a_reported_task_is_no_longer_reassigned(client: Client, desk: Desk) -> None:
    await create_officer(client, "ben")
    await desk.submit(clean_report(desk.examination))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await desk.sam.ReassignExamination(
            pb2.ReassignExaminationRequest(
                name=desk.examination,
                request_id=str(uuid.uuid4()),
                etag=(await desk.examination_now()).etag,
                officer="officers/ben",
                reason="second opinion",
            )
        )

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(raised.value) == "EXAMINATION_ALREADY_REPORTED"
