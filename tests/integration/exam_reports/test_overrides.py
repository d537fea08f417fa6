"""Override requests: asked by an officer, decided by another supervisor, kept with who and why."""

from __future__ import annotations

import uuid
from datetime import timedelta

import grpc
import pytest
from customs.common.v1 import selectivity_pb2
from customs.exam_reports.v1 import (
    exam_report_pb2,
    examination_pb2,
    officer_pb2,
    override_pb2,
)
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from exam_reports_support import (
    BoundStub,
    Client,
    Desk,
    clean_report,
    create_officer,
    error_details,
    now,
    reason,
    timestamp,
    violated_fields,
)

from customs_kit.auth import Role

_WHY = "The seal number differs from the one on the bill of lading."


async def _ask(officer: BoundStub, override: override_pb2.Override) -> override_pb2.Override:
    response = await officer.RequestOverride(
        pb2.RequestOverrideRequest(request_id=str(uuid.uuid4()), override=override)
    )
    return response.override


async def _approve(supervisor: BoundStub, override: override_pb2.Override) -> override_pb2.Override:
    response = await supervisor.ApproveOverride(
        pb2.ApproveOverrideRequest(
            name=override.name,
            request_id=str(uuid.uuid4()),
            etag=override.etag,
            comment="Go ahead, full examination.",
        )
    )
    return response.override


def _undesignated(declaration: str = "DCL-0777") -> override_pb2.Override:
    """A request to examine a declaration the system released on GREEN."""
    return override_pb2.Override(
        declaration_number=declaration,
        declaration_version=1,
        office="offices/PORT1",
        importer=examination_pb2.TraderReference(number="IMP-77", display_name="Acme Imports"),
        designated_channel=selectivity_pb2.CHANNEL_GREEN,
        requested_channel=selectivity_pb2.CHANNEL_RED,
        requested_examination_level=selectivity_pb2.EXAMINATION_LEVEL_FULL,
        reason=_WHY,
    )


def _other_reason_report(
    examination: str, override: str, declaration: str = "DCL-0777"
) -> exam_report_pb2.ExamReport:
    report = clean_report(examination)
    report.declaration_number = declaration
    report.reason = examination_pb2.EXAMINATION_REASON_OTHER
    report.other_reason = _WHY
    report.override = override
    return report


async def test_a_change_of_examination_approved_by_a_supervisor_redesignates_the_task(
    desk: Desk,
) -> None:
    asked = await _ask(
        desk.anna,
        override_pb2.Override(
            examination=desk.examination,
            requested_channel=selectivity_pb2.CHANNEL_RED,
            requested_examination_level=selectivity_pb2.EXAMINATION_LEVEL_FULL,
            reason=_WHY,
        ),
    )

    assert asked.state == override_pb2.OVERRIDE_STATE_PENDING
    assert asked.kind == override_pb2.OVERRIDE_KIND_CHANGE_EXAMINATION
    assert asked.requester == "officers/anna"
    assert asked.designated_examination_level == selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT
    approved = await _approve(desk.sam, asked)

    assert approved.state == override_pb2.OVERRIDE_STATE_APPROVED
    assert (approved.decided_by, approved.decision_comment) == (
        "officers/sam",
        "Go ahead, full examination.",
    )
    assert approved.resulting_examination == desk.examination
    examination = await desk.examination_now()
    assert examination.examination_level == selectivity_pb2.EXAMINATION_LEVEL_FULL
    assert examination.override == approved.name
    read = await desk.anna.GetOverride(pb2.GetOverrideRequest(name=approved.name))
    assert read.override == approved


async def test_an_override_approved_by_its_own_requester_is_refused(desk: Desk) -> None:
    asked = await _ask(desk.sam, _undesignated())

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _approve(desk.sam, asked)

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason(raised.value) == "SELF_APPROVAL_FORBIDDEN"
    assert "another supervisor" in raised.value.details()
    still = await desk.sam.GetOverride(pb2.GetOverrideRequest(name=asked.name))
    assert still.override.state == override_pb2.OVERRIDE_STATE_PENDING


async def test_a_rejection_is_kept_with_who_and_why_and_the_designation_stands(
    desk: Desk,
) -> None:
    asked = await _ask(
        desk.anna,
        override_pb2.Override(
            examination=desk.examination,
            requested_channel=selectivity_pb2.CHANNEL_GREEN,
            reason="The importer is an approved trader and the cargo is perishable.",
        ),
    )
    assert asked.kind == override_pb2.OVERRIDE_KIND_RELEASE_WITHOUT_EXAMINATION

    rejected = await desk.sam.RejectOverride(
        pb2.RejectOverrideRequest(
            name=asked.name,
            request_id=str(uuid.uuid4()),
            etag=asked.etag,
            comment="Approved traders are not exempt from enforcement examinations.",
        )
    )

    assert rejected.override.state == override_pb2.OVERRIDE_STATE_REJECTED
    assert rejected.override.decided_by == "officers/sam"
    assert rejected.override.decision_comment.startswith("Approved traders")
    assert (await desk.examination_now()).state == examination_pb2.EXAMINATION_STATE_ASSIGNED


async def test_a_rejection_needs_a_comment(desk: Desk) -> None:
    asked = await _ask(desk.anna, _undesignated())

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await desk.sam.RejectOverride(
            pb2.RejectOverrideRequest(
                name=asked.name, request_id=str(uuid.uuid4()), etag=asked.etag
            )
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(raised.value) == ["comment"]


async def test_an_approved_release_closes_the_task_without_examination(desk: Desk) -> None:
    asked = await _ask(
        desk.anna,
        override_pb2.Override(
            examination=desk.examination,
            requested_channel=selectivity_pb2.CHANNEL_GREEN,
            reason="The container was examined at the port of loading under a joint programme.",
        ),
    )

    await _approve(desk.sam, asked)

    examination = await desk.examination_now()
    assert examination.state == examination_pb2.EXAMINATION_STATE_RELEASED_WITHOUT_EXAMINATION
    assert examination.override == asked.name


async def test_an_undesignated_declaration_examined_after_approval_is_reported_as_other(
    desk: Desk,
) -> None:
    approved = await _approve(desk.sam, await _ask(desk.anna, _undesignated()))
    opened = await desk.examination_now(approved.resulting_examination)
    assert opened.reason == examination_pb2.EXAMINATION_REASON_OTHER
    assert opened.assigned_officer == "officers/anna"
    assert opened.assignments[0].assigned_by == "officers/sam"
    assert (opened.channel, opened.examination_level) == (
        selectivity_pb2.CHANNEL_RED,
        selectivity_pb2.EXAMINATION_LEVEL_FULL,
    )
    report = _other_reason_report(opened.name, approved.name)
    report.examination_time.CopyFrom(timestamp(now()))

    submitted = await desk.anna.SubmitExamReport(
        pb2.SubmitExamReportRequest(
            exam_report_id=str(uuid.uuid4()),
            exam_report=report,
            sign_time=timestamp(now() + timedelta(seconds=1)),
        )
    )

    assert submitted.exam_report.override == approved.name
    assert submitted.exam_report.state == exam_report_pb2.EXAM_REPORT_STATE_SUBMITTED


async def test_an_examination_begun_before_the_approval_is_refused(desk: Desk) -> None:
    approved = await _approve(desk.sam, await _ask(desk.anna, _undesignated()))
    report = _other_reason_report(approved.resulting_examination, approved.name)
    report.examination_time.CopyFrom(timestamp(now() - timedelta(hours=1)))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await desk.anna.SubmitExamReport(
            pb2.SubmitExamReportRequest(
                exam_report_id=str(uuid.uuid4()),
                exam_report=report,
                sign_time=timestamp(now()),
            )
        )

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(raised.value) == "OVERRIDE_NOT_APPROVED_BEFORE_EXAMINATION"
    violation = error_details(raised.value)["PreconditionFailure"].violations[0]
    assert "after the examination" in violation.description


async def test_reason_other_with_a_pending_override_is_refused(desk: Desk) -> None:
    asked = await _ask(
        desk.anna,
        override_pb2.Override(
            examination=desk.examination,
            requested_channel=selectivity_pb2.CHANNEL_RED,
            requested_examination_level=selectivity_pb2.EXAMINATION_LEVEL_FULL,
            reason=_WHY,
        ),
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await desk.anna.SubmitExamReport(
            pb2.SubmitExamReportRequest(
                exam_report_id=str(uuid.uuid4()),
                exam_report=_other_reason_report(desk.examination, asked.name, "DCL-0001"),
                sign_time=timestamp(now()),
            )
        )

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(raised.value) == "OVERRIDE_NOT_APPROVED_BEFORE_EXAMINATION"


async def test_an_override_must_change_something(desk: Desk) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _ask(
            desk.anna,
            override_pb2.Override(
                examination=desk.examination,
                requested_channel=selectivity_pb2.CHANNEL_RED,
                requested_examination_level=selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT,
                reason=_WHY,
            ),
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(raised.value) == ["override.requested_channel"]


async def test_only_the_officer_holding_the_task_asks_to_override_it(
    client: Client, desk: Desk
) -> None:
    await create_officer(client, "ben")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _ask(
            client.as_(Role.OFFICER, subject="ben"),
            override_pb2.Override(
                examination=desk.examination,
                requested_channel=selectivity_pb2.CHANNEL_GREEN,
                reason=_WHY,
            ),
        )

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_second_request_about_the_same_declaration_waits_for_the_first(
    desk: Desk,
) -> None:
    await _ask(desk.anna, _undesignated())

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _ask(desk.sam, _undesignated())

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(raised.value) == "OVERRIDE_ALREADY_PENDING"


async def test_officers_list_only_their_own_requests_supervisors_all(
    client: Client, desk: Desk
) -> None:
    await create_officer(client, "ben")
    annas = await _ask(desk.anna, _undesignated("DCL-0777"))
    await _ask(client.as_(Role.OFFICER, subject="ben"), _undesignated("DCL-0888"))

    mine = await desk.anna.ListOverrides(pb2.ListOverridesRequest())
    everyone = await desk.sam.ListOverrides(
        pb2.ListOverridesRequest(states=[override_pb2.OVERRIDE_STATE_PENDING], page_size=1)
    )
    rest = await desk.sam.ListOverrides(
        pb2.ListOverridesRequest(
            states=[override_pb2.OVERRIDE_STATE_PENDING],
            page_size=1,
            page_token=everyone.next_page_token,
        )
    )

    assert [o.name for o in mine.overrides] == [annas.name]
    assert {o.requester for o in (*everyone.overrides, *rest.overrides)} == {
        "officers/anna",
        "officers/ben",
    }
    assert rest.next_page_token == ""
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.as_(Role.OFFICER, subject="ben").GetOverride(
            pb2.GetOverrideRequest(name=annas.name)
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_registered_supervisor_from_the_officer_register_decides(
    client: Client, desk: Desk
) -> None:
    await create_officer(client, "sara", role=officer_pb2.OFFICER_ROLE_SUPERVISOR)
    asked = await _ask(desk.sam, _undesignated())

    approved = await _approve(client.as_(Role.SUPERVISOR, subject="sara"), asked)

    assert approved.decided_by == "officers/sara"
    assert approved.requester == "officers/sam"
