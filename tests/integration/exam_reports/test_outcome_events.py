"""Approved outcomes flow out through the outbox to criteria, compliance and audit referral."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

import protovalidate
from customs.audit_referral.v1 import audit_referral_service_pb2
from customs.common.v1 import selectivity_pb2
from customs.compliance.v1 import compliance_service_pb2
from customs.criteria.v1 import criteria_service_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from customs.exam_reports.v1 import examination_pb2
from exam_reports_support import (
    Client,
    Desk,
    EventReceivers,
    clean_report,
    discrepancy_report,
    now,
    open_desk,
    timestamp,
)
from google.protobuf.message import Message
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from customs_kit.auth import Role, TokenVerifier
from customs_kit.testing.services import SigningKeys


async def _outbox(database_url: str) -> list[str]:
    """The destinations of every event the service ever put in its outbox, sorted."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT destination FROM outbox_events"))
            return sorted(destination for (destination,) in rows)
    finally:
        await engine.dispose()


def _valid(request: Message) -> Message:
    """The request, after checking its receiver's contract would accept it."""
    assert protovalidate.collect_violations(request) == []
    return request


async def test_an_approved_finding_reaches_criteria_compliance_and_audit_referral(
    desk: Desk, receivers: EventReceivers, test_keys: SigningKeys
) -> None:
    approved = await desk.approve(await desk.submit(discrepancy_report(desk.examination)))

    [to_criteria] = await receivers.wait_for("criteria", 1)
    [to_compliance] = await receivers.wait_for("compliance", 1)
    [to_audit] = await receivers.wait_for("audit-referral", 1)

    assert isinstance(to_criteria, criteria_service_pb2.IngestExaminationOutcomeEventRequest)
    outcome = _valid(to_criteria).outcome  # type: ignore[attr-defined]
    assert outcome.examination_report == approved.name
    assert (outcome.declaration_number, outcome.office_code, outcome.importer_id) == (
        "DCL-0001",
        "PORT1",
        "IMP-77",
    )
    assert (outcome.discrepancy_found, outcome.penalty_recommended, outcome.seized) == (
        True,
        True,
        True,
    )
    assert outcome.channel == selectivity_pb2.CHANNEL_RED
    assert not outcome.officer_initiated

    assert isinstance(to_compliance, compliance_service_pb2.IngestExaminationOutcomeEventRequest)
    examination_outcome = _valid(to_compliance).examination_outcome  # type: ignore[attr-defined]
    assert examination_outcome.exam_report == approved.name
    assert examination_outcome.examination == desk.examination
    assert not examination_outcome.random_selection
    assert examination_outcome.approve_time == approved.supervisor_signature.sign_time
    assert [d.item_number for d in examination_outcome.discrepancies] == [1]

    assert isinstance(to_audit, audit_referral_service_pb2.IngestExaminationFindingEventRequest)
    finding = _valid(to_audit).examination_finding  # type: ignore[attr-defined]
    assert finding.discrepancy_detail == approved.discrepancy_detail
    assert finding.seizure_case_number == "SZ-2026/114"
    assert list(finding.matched_criteria) == ["criteria/cigarettes-2402"]

    event_ids = {request.event_id for request in (to_criteria, to_compliance, to_audit)}  # type: ignore[attr-defined]
    assert len(event_ids) == 3
    verifier = TokenVerifier(test_keys.public_key_file.read_bytes(), "customs-platform")
    for authorization in receivers.authorizations:
        caller = verifier.verify(authorization.removeprefix("Bearer "))
        assert (caller.subject, caller.roles) == ("exam-reports", frozenset({Role.SERVICE}))


async def test_criteria_learns_the_outcome_of_each_criterion_hit_that_selected_the_task(
    client: Client, receivers: EventReceivers
) -> None:
    desk = await open_desk(
        client,
        criteria=("criteria/cigarettes-2402", "criteria/undervalued-handsets"),
        hits=(
            ("criteria/cigarettes-2402", 4, 0),
            ("criteria/undervalued-handsets", 2, 1),
            ("criteria/undervalued-handsets", 2, 3),
        ),
    )

    # The report's one discrepancy is on item 1.
    await desk.approve(await desk.submit(discrepancy_report(desk.examination)))

    [to_criteria] = await receivers.wait_for("criteria", 1)
    outcome = _valid(to_criteria).outcome  # type: ignore[attr-defined]
    assert [
        (o.criterion, o.criterion_revision, o.item_number, o.discrepancy_found)
        for o in outcome.criterion_outcomes
    ] == [
        ("criteria/cigarettes-2402", 4, 0, True),
        ("criteria/undervalued-handsets", 2, 1, True),
        ("criteria/undervalued-handsets", 2, 3, False),
    ]


async def test_a_random_examination_without_finding_goes_to_compliance_flagged_random(
    client: Client, receivers: EventReceivers
) -> None:
    desk = await open_desk(client, criteria=(), random_selection=True)
    report = clean_report(desk.examination)
    report.reason = examination_pb2.EXAMINATION_REASON_RANDOM

    await desk.approve(await desk.submit(report))

    [to_compliance] = await receivers.wait_for("compliance", 1)
    [to_criteria] = await receivers.wait_for("criteria", 1)
    [to_scoring] = await receivers.wait_for("scoring", 1)
    assert _valid(to_compliance).examination_outcome.random_selection  # type: ignore[attr-defined]
    assert _valid(to_criteria).outcome.randomly_selected  # type: ignore[attr-defined]
    # Scoring labels the assessed declaration with it, on the random arm.
    scoring_outcome = _valid(to_scoring).outcome  # type: ignore[attr-defined]
    assert scoring_outcome.randomly_selected
    assert not scoring_outcome.discrepancy_found
    assert scoring_outcome.examination_report.startswith("examReports/")
    assert receivers.received["audit-referral"] == []


async def test_an_examination_synced_later_is_dated_when_the_goods_were_examined(
    desk: Desk, receivers: EventReceivers
) -> None:
    # The tablet was offline: the goods were examined 40 minutes ago, the report
    # was signed then too, and it reaches the server only now.
    examined = now() - timedelta(minutes=40)
    report = discrepancy_report(desk.examination, examined=examined)
    submitted = await desk.anna.SubmitExamReport(
        pb2.SubmitExamReportRequest(
            exam_report_id=str(uuid.uuid4()),
            exam_report=report,
            sign_time=timestamp(examined + timedelta(minutes=5)),
        )
    )
    await desk.approve(submitted.exam_report)

    [to_criteria] = await receivers.wait_for("criteria", 1)
    [to_scoring] = await receivers.wait_for("scoring", 1)
    [to_compliance] = await receivers.wait_for("compliance", 1)
    assert _valid(to_criteria).outcome.examine_time == report.examination_time  # type: ignore[attr-defined]
    assert _valid(to_scoring).outcome.examine_time == report.examination_time  # type: ignore[attr-defined]
    outcome = _valid(to_compliance).examination_outcome  # type: ignore[attr-defined]
    assert outcome.examine_time == report.examination_time
    assert outcome.approve_time.ToDatetime(tzinfo=UTC) > examined + timedelta(minutes=30)


async def test_a_retried_approval_publishes_the_outcome_once(desk: Desk, database_url: str) -> None:
    submitted = await desk.submit(discrepancy_report(desk.examination))
    request = pb2.ApproveExamReportRequest(
        name=submitted.name, request_id=str(uuid.uuid4()), etag=submitted.etag
    )

    await desk.sam.ApproveExamReport(request)
    await desk.sam.ApproveExamReport(request)

    assert await _outbox(database_url) == ["audit-referral", "compliance", "criteria", "scoring"]


async def test_a_returned_report_publishes_nothing(desk: Desk, database_url: str) -> None:
    submitted = await desk.submit(discrepancy_report(desk.examination))

    await desk.sam.ReturnExamReport(
        pb2.ReturnExamReportRequest(
            name=submitted.name,
            request_id=str(uuid.uuid4()),
            etag=submitted.etag,
            reason="Describe the concealment method in the detail box.",
            fields=["discrepancy_detail"],
        )
    )

    assert await _outbox(database_url) == []
