"""Drafts saved on the server as the officer types, and the lists of reports."""

from __future__ import annotations

import uuid

import grpc
import pytest
from customs.exam_reports.v1 import exam_report_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from exam_reports_support import (
    BoundStub,
    Client,
    Desk,
    clean_report,
    create_officer,
    decision_event,
    discrepancy_report,
    reason,
    violated_fields,
)

from customs_kit.auth import Role


async def _save(
    officer: BoundStub, report: exam_report_pb2.ExamReport, report_id: str, etag: str = ""
) -> exam_report_pb2.ExamReport:
    response = await officer.SaveExamReportDraft(
        pb2.SaveExamReportDraftRequest(exam_report_id=report_id, exam_report=report, etag=etag)
    )
    return response.exam_report


async def test_an_incomplete_draft_is_kept_and_later_submitted_as_the_same_report(
    desk: Desk,
) -> None:
    report_id = str(uuid.uuid4())
    partial = exam_report_pb2.ExamReport(
        examination=desk.examination,
        declaration_number="DCL-0001",
        discrepancy_found=True,
        discrepancy_detail="Declared 5,000 kg, found",
    )

    draft = await _save(desk.anna, partial, report_id)

    assert draft.name == f"examReports/{report_id}"
    assert draft.state == exam_report_pb2.EXAM_REPORT_STATE_DRAFT
    assert draft.discrepancy_detail == "Declared 5,000 kg, found"
    assert not draft.HasField("officer_signature")
    read = await desk.anna.GetExamReport(pb2.GetExamReportRequest(name=draft.name))
    assert read.exam_report == draft

    submitted = await desk.submit(discrepancy_report(desk.examination), report_id)

    assert submitted.name == draft.name
    assert submitted.state == exam_report_pb2.EXAM_REPORT_STATE_SUBMITTED
    assert submitted.create_time == draft.create_time
    assert submitted.submission_count == 1


async def test_a_draft_saved_from_another_device_in_between_is_not_overwritten(
    desk: Desk,
) -> None:
    report_id = str(uuid.uuid4())
    first = await _save(desk.anna, clean_report(desk.examination), report_id)
    await _save(desk.anna, clean_report(desk.examination), report_id, first.etag)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _save(desk.anna, clean_report(desk.examination), report_id, first.etag)

    assert raised.value.code() == grpc.StatusCode.ABORTED


async def test_a_submitted_report_is_no_longer_a_draft(desk: Desk) -> None:
    report_id = str(uuid.uuid4())
    await desk.submit(clean_report(desk.examination), report_id)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _save(desk.anna, clean_report(desk.examination), report_id)

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(raised.value) == "REPORT_NOT_EDITABLE"


async def test_only_the_assigned_officer_keeps_a_draft(client: Client, desk: Desk) -> None:
    await create_officer(client, "ben")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _save(
            client.as_(Role.OFFICER, subject="ben"),
            clean_report(desk.examination),
            str(uuid.uuid4()),
        )

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_draft_for_an_unknown_examination_is_not_found(desk: Desk) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _save(desk.anna, clean_report("examinations/nope"), str(uuid.uuid4()))

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_draft_still_checks_the_formats_of_the_form(desk: Desk) -> None:
    report = exam_report_pb2.ExamReport(examination=desk.examination, declaration_number="#1")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _save(desk.anna, report, str(uuid.uuid4()))

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(raised.value) == ["exam_report.declaration_number"]


async def test_a_draft_cannot_move_to_another_examination(client: Client, desk: Desk) -> None:
    report_id = str(uuid.uuid4())
    await _save(desk.anna, clean_report(desk.examination), report_id)
    other = await client.scoring.IngestDecisionEvent(decision_event(declaration_number="DCL-2"))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _save(desk.anna, clean_report(other.examination), report_id)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(raised.value) == ["exam_report.examination"]


async def test_officers_list_their_own_reports_supervisors_filter_the_review_queue(
    client: Client, desk: Desk
) -> None:
    await _save(desk.anna, clean_report(desk.examination), str(uuid.uuid4()))
    second = await client.scoring.IngestDecisionEvent(decision_event(declaration_number="DCL-2"))
    report = clean_report(second.examination)
    report.declaration_number = "DCL-2"
    submitted = await desk.submit(report)
    await create_officer(client, "ben")

    annas = await desk.anna.ListExamReports(pb2.ListExamReportsRequest())
    bens = await client.as_(Role.OFFICER, subject="ben").ListExamReports(
        pb2.ListExamReportsRequest()
    )
    queue = await desk.sam.ListExamReports(
        pb2.ListExamReportsRequest(
            states=[exam_report_pb2.EXAM_REPORT_STATE_SUBMITTED], office="offices/PORT1"
        )
    )
    first_page = await desk.sam.ListExamReports(pb2.ListExamReportsRequest(page_size=1))
    second_page = await desk.sam.ListExamReports(
        pb2.ListExamReportsRequest(page_size=1, page_token=first_page.next_page_token)
    )

    assert len(annas.exam_reports) == 2
    assert list(bens.exam_reports) == []
    assert [r.name for r in queue.exam_reports] == [submitted.name]
    assert first_page.exam_reports[0].name == submitted.name
    assert second_page.exam_reports[0].state == exam_report_pb2.EXAM_REPORT_STATE_DRAFT
    assert second_page.next_page_token == ""
    found = await desk.sam.ListExamReports(pb2.ListExamReportsRequest(discrepancy_found=True))
    assert list(found.exam_reports) == []


async def test_a_page_token_of_another_list_is_refused(desk: Desk) -> None:
    await _save(desk.anna, clean_report(desk.examination), str(uuid.uuid4()))
    await desk.submit(clean_report(desk.examination))
    page = await desk.sam.ListExamReports(pb2.ListExamReportsRequest(page_size=1))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await desk.sam.ListExamReports(
            pb2.ListExamReportsRequest(
                page_size=1,
                page_token=page.next_page_token,
                states=[exam_report_pb2.EXAM_REPORT_STATE_SUBMITTED],
            )
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(raised.value) == ["page_token"]
