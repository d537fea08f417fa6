"""Audit cases through the real audit-referral server, from notice to closing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from audit_referral_requests import (
    Callers,
    PeerSink,
    blue_decision_event,
    error_details,
    money,
    new_case,
    timestamp,
)
from customs.audit_referral.v1 import (
    audit_case_pb2,
    audit_finding_pb2,
    referral_pb2,
)
from customs.audit_referral.v1 import (
    audit_referral_service_pb2 as pb,
)
from customs.audit_referral.v1 import (
    audit_referral_service_pb2_grpc as pb_grpc,
)
from customs.compliance.v1 import compliance_service_pb2
from customs.compliance.v1 import events_pb2 as compliance_events_pb2
from customs.criteria.v1 import criteria_service_pb2
from customs.criteria.v1 import events_pb2 as criteria_events_pb2
from customs.scoring.v1 import scoring_service_pb2
from google.protobuf.field_mask_pb2 import FieldMask

from customs_kit.auth import Role

Stub = pb_grpc.AuditReferralServiceStub
State = audit_case_pb2.AuditCaseState
_COMPLIANCE_INGEST = "/customs.compliance.v1.ComplianceService/IngestAuditFindingEvent"
_CRITERIA_INGEST = "/customs.criteria.v1.CriteriaService/IngestAuditFindingEvent"
_SCORING_INGEST = "/customs.scoring.v1.ScoringService/IngestAuditFindingEvent"


def _rid() -> str:
    return str(uuid.uuid4())


def _conference(summary: str) -> audit_case_pb2.ConferenceRecord:
    return audit_case_pb2.ConferenceRecord(
        conference_time=timestamp(datetime(2025, 4, 1, 9, tzinfo=UTC)),
        attendees=["A. Auditor (customs)", "C. Controller (company)"],
        summary=summary,
    )


def _finding(**overrides: Any) -> audit_finding_pb2.AuditFinding:
    fields: dict[str, Any] = {
        "discrepancy_types": ["DISCREPANCY_TYPE_VALUE"],
        "description": "Royalties of 8 % paid to the licensor were not added to the value.",
        "unpaid_duty": money("1200.00"),
        "intent": "FINDING_INTENT_UNINTENTIONAL",
        "trader_commits_to_correct": True,
        "action": "AUDIT_FINDING_ACTION_COMPLIANCE_INTERVENTION",
    }
    return audit_finding_pb2.AuditFinding(**{**fields, **overrides})


async def _open_case(stub: Stub, callers: Callers) -> tuple[audit_case_pb2.AuditCase, str]:
    blue = await stub.IngestBlueDecisionEvent(blue_decision_event(), metadata=callers.scoring)
    created = await stub.CreateAuditCase(
        pb.CreateAuditCaseRequest(
            request_id=_rid(), audit_case=new_case(), referrals=[blue.referral]
        ),
        metadata=callers.auditor,
    )
    return created.audit_case, blue.referral


async def _to_fieldwork(stub: Stub, callers: Callers) -> audit_case_pb2.AuditCase:
    case, _ = await _open_case(stub, callers)
    case = (
        await stub.RecordOpeningConference(
            pb.RecordOpeningConferenceRequest(
                name=case.name,
                request_id=_rid(),
                etag=case.etag,
                opening_conference=_conference("Purpose, scope and length of the audit."),
            ),
            metadata=callers.auditor,
        )
    ).audit_case
    return (
        await stub.StartAuditFieldwork(
            pb.StartAuditFieldworkRequest(
                name=case.name,
                request_id=_rid(),
                etag=case.etag,
                premises_tour_notes="Receiving and accounting visited; orders are numbered.",
            ),
            metadata=callers.auditor,
        )
    ).audit_case


async def _record(
    stub: Stub, callers: Callers, case: str, finding: audit_finding_pb2.AuditFinding
) -> audit_finding_pb2.AuditFinding:
    response = await stub.CreateAuditFinding(
        pb.CreateAuditFindingRequest(parent=case, request_id=_rid(), audit_finding=finding),
        metadata=callers.auditor,
    )
    return response.audit_finding


async def _delivered(peers: PeerSink, method: str) -> list[bytes]:
    for _ in range(100):
        if peers.received.get(method):
            return peers.received[method]
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing was delivered to {method}")


async def test_creating_a_case_accepts_its_referrals(stub: Stub, callers: Callers) -> None:
    case, referral = await _open_case(stub, callers)

    stored = await stub.GetReferral(pb.GetReferralRequest(name=referral), metadata=callers.auditor)
    assert case.state == State.AUDIT_CASE_STATE_NOTIFIED
    assert list(case.referrals) == [referral]
    assert stored.referral.state == referral_pb2.REFERRAL_STATE_ACCEPTED
    assert stored.referral.audit_case == case.name


async def test_a_case_cannot_take_a_referral_twice(stub: Stub, callers: Callers) -> None:
    _, referral = await _open_case(stub, callers)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.CreateAuditCase(
            pb.CreateAuditCaseRequest(
                request_id=_rid(), audit_case=new_case(), referrals=[referral]
            ),
            metadata=callers.auditor,
        )

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_details(raised.value)["ErrorInfo"].reason == "REFERRAL_NOT_OPEN"
    cases = await stub.ListAuditCases(pb.ListAuditCasesRequest(), metadata=callers.auditor)
    assert len(cases.audit_cases) == 1


async def test_a_case_audits_from_notice_to_closing(
    stub: Stub, callers: Callers, peers: PeerSink
) -> None:
    case, referral = await _open_case(stub, callers)
    case = (
        await stub.StartPreAuditSurvey(
            pb.StartPreAuditSurveyRequest(
                name=case.name,
                request_id=_rid(),
                etag=case.etag,
                questions=[
                    audit_case_pb2.PreAuditQuestion(
                        question_id="royalties",
                        section="PRE_AUDIT_SECTION_VALUATION",
                        text="Which royalties or licence fees do you pay, and to whom?",
                    )
                ],
                response_due_date="2025-03-31",
            ),
            metadata=callers.auditor,
        )
    ).audit_case
    case = (
        await stub.RecordPreAuditAnswers(
            pb.RecordPreAuditAnswersRequest(
                name=case.name,
                request_id=_rid(),
                etag=case.etag,
                answers=[
                    audit_case_pb2.PreAuditAnswer(
                        question_id="royalties",
                        text="8 % of net sales to the licensor.",
                        receive_time=timestamp(datetime(2025, 3, 20, tzinfo=UTC)),
                    )
                ],
            ),
            metadata=callers.auditor,
        )
    ).audit_case
    for verb, request in (
        (
            stub.RecordOpeningConference,
            pb.RecordOpeningConferenceRequest(opening_conference=_conference("Scope agreed.")),
        ),
        (stub.StartAuditFieldwork, pb.StartAuditFieldworkRequest(premises_tour_notes="Seen.")),
    ):
        request.name, request.request_id, request.etag = case.name, _rid(), case.etag
        case = (await verb(request, metadata=callers.auditor)).audit_case
    await _record(
        stub,
        callers,
        case.name,
        _finding(
            action="AUDIT_FINDING_ACTION_ADMINISTRATIVE_PENALTY",
            intent="FINDING_INTENT_INTENTIONAL",
            trader_commits_to_correct=False,
            penalty_amount=money("500.00"),
            unpaid_duty=money("300.50"),
        ),
    )
    await _record(stub, callers, case.name, _finding())
    case = (
        await stub.RecordExitConference(
            pb.RecordExitConferenceRequest(
                name=case.name,
                request_id=_rid(),
                etag=case.etag,
                exit_conference=_conference("Royalty findings explained and agreed."),
            ),
            metadata=callers.auditor,
        )
    ).audit_case
    case = (
        await stub.IssueAuditReport(
            pb.IssueAuditReportRequest(
                name=case.name,
                request_id=_rid(),
                etag=case.etag,
                report=audit_case_pb2.AuditReport(
                    summary="Royalties were omitted from the customs value.", compliant=False
                ),
            ),
            metadata=callers.auditor,
        )
    ).audit_case
    with pytest.raises(grpc.aio.AioRpcError) as short:
        await stub.CloseAuditCase(
            pb.CloseAuditCaseRequest(
                name=case.name,
                request_id=_rid(),
                etag=case.etag,
                duties_collected=money("1000.00"),
                closing_note="Duties collected, penalty notified.",
            ),
            metadata=callers.auditor,
        )
    case = (
        await stub.StartCorrectiveAction(
            pb.StartCorrectiveActionRequest(
                name=case.name,
                request_id=_rid(),
                etag=case.etag,
                corrective_action_plan="Collect 1,500.50 EUR; intervention on valuation.",
            ),
            metadata=callers.auditor,
        )
    ).audit_case
    closed = (
        await stub.CloseAuditCase(
            pb.CloseAuditCaseRequest(
                name=case.name,
                request_id=_rid(),
                etag=case.etag,
                duties_collected=money("1500.50"),
                closing_note="Duties collected, penalty notified.",
            ),
            metadata=callers.auditor,
        )
    ).audit_case

    assert short.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_details(short.value)["ErrorInfo"].reason == "UNPAID_DUTY_NOT_COLLECTED"
    assert closed.state == State.AUDIT_CASE_STATE_CLOSED
    assert [State.Name(t.to_state) for t in closed.stage_history] == [
        "AUDIT_CASE_STATE_NOTIFIED",
        "AUDIT_CASE_STATE_PRE_AUDIT_SURVEY",
        "AUDIT_CASE_STATE_OPENING_CONFERENCE",
        "AUDIT_CASE_STATE_FIELDWORK",
        "AUDIT_CASE_STATE_EXIT_CONFERENCE",
        "AUDIT_CASE_STATE_REPORT",
        "AUDIT_CASE_STATE_CORRECTIVE_ACTION",
        "AUDIT_CASE_STATE_CLOSED",
    ]
    assert [a.text for a in closed.pre_audit_answers] == ["8 % of net sales to the licensor."]
    assert (closed.report.total_unpaid_duty.units, closed.report.total_unpaid_duty.nanos) == (
        1500,
        500_000_000,
    )
    assert closed.report.total_penalties.units == 500
    assert closed.duties_collected.units == 1500

    compliance_event = compliance_service_pb2.IngestAuditFindingEventRequest.FromString(
        (await _delivered(peers, _COMPLIANCE_INGEST))[0]
    )
    outcome = compliance_event.audit_outcome
    assert compliance_event.source_service == "audit-referral"
    assert outcome.audit_case == case.name
    assert outcome.trader.number == "IMP-001"
    assert not outcome.compliant
    actions = [compliance_events_pb2.AuditFindingAction.Name(f.action) for f in outcome.findings]
    assert actions == [
        "AUDIT_FINDING_ACTION_ADMINISTRATIVE_PENALTY",
        "AUDIT_FINDING_ACTION_COMPLIANCE_INTERVENTION",
    ]
    assert outcome.total_unpaid_duty.units == 1500
    criteria_event = criteria_service_pb2.IngestAuditFindingEventRequest.FromString(
        (await _delivered(peers, _CRITERIA_INGEST))[0]
    )
    assert criteria_event.finding.audit_case == case.name
    assert list(criteria_event.finding.criteria) == ["criteria/t-shirts-undervalued"]
    assert criteria_event.finding.discrepancy_found
    assert criteria_event.finding.penalty_amount.units == 500
    assert criteria_events_pb2.AuditOutcome.Name(criteria_event.finding.outcome) == (
        "AUDIT_OUTCOME_PENALTY"
    )
    assert list(closed.referrals) == [referral]


async def test_a_workflow_step_out_of_order_is_refused(stub: Stub, callers: Callers) -> None:
    case, _ = await _open_case(stub, callers)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.StartAuditFieldwork(
            pb.StartAuditFieldworkRequest(name=case.name, request_id=_rid(), etag=case.etag),
            metadata=callers.auditor,
        )

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    details = error_details(raised.value)
    assert details["ErrorInfo"].reason == "INVALID_CASE_STATE"
    assert details["PreconditionFailure"].violations[0].subject == case.name
    stored = await stub.GetAuditCase(
        pb.GetAuditCaseRequest(name=case.name), metadata=callers.auditor
    )
    assert stored.audit_case.state == State.AUDIT_CASE_STATE_NOTIFIED


async def test_findings_wait_for_fieldwork(stub: Stub, callers: Callers) -> None:
    case, _ = await _open_case(stub, callers)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _record(stub, callers, case.name, _finding())

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_details(raised.value)["ErrorInfo"].reason == "INVALID_CASE_STATE"


async def test_a_compliant_report_cannot_contradict_its_findings(
    stub: Stub, callers: Callers
) -> None:
    case = await _to_fieldwork(stub, callers)
    await _record(stub, callers, case.name, _finding())
    case = (
        await stub.RecordExitConference(
            pb.RecordExitConferenceRequest(
                name=case.name,
                request_id=_rid(),
                etag=case.etag,
                exit_conference=_conference("Findings explained."),
            ),
            metadata=callers.auditor,
        )
    ).audit_case

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.IssueAuditReport(
            pb.IssueAuditReportRequest(
                name=case.name,
                request_id=_rid(),
                etag=case.etag,
                report=audit_case_pb2.AuditReport(summary="All in order.", compliant=True),
            ),
            metadata=callers.auditor,
        )

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_details(raised.value)["ErrorInfo"].reason == "REPORT_CONTRADICTS_FINDINGS"


async def test_findings_can_be_amended_and_refuted_during_fieldwork(
    stub: Stub, callers: Callers
) -> None:
    case = await _to_fieldwork(stub, callers)
    kept = await _record(stub, callers, case.name, _finding())
    refuted = await _record(
        stub,
        callers,
        case.name,
        _finding(
            discrepancy_types=["DISCREPANCY_TYPE_DOCUMENTS"],
            action="AUDIT_FINDING_ACTION_NONE",
            unpaid_duty=money("0"),
        ),
    )
    kept.description = "Royalties of 8 % paid to the licensor; the 2024 invoices show 9 %."

    updated = await stub.UpdateAuditFinding(
        pb.UpdateAuditFindingRequest(
            audit_finding=kept, update_mask=FieldMask(paths=["description"])
        ),
        metadata=callers.auditor,
    )
    await stub.DeleteAuditFinding(
        pb.DeleteAuditFindingRequest(name=refuted.name, etag=refuted.etag), metadata=callers.auditor
    )
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await stub.UpdateAuditFinding(
            pb.UpdateAuditFindingRequest(
                audit_finding=kept, update_mask=FieldMask(paths=["description"])
            ),
            metadata=callers.auditor,
        )

    listed = await stub.ListAuditFindings(
        pb.ListAuditFindingsRequest(parent=case.name), metadata=callers(Role.COMPLIANCE)
    )
    assert [f.description for f in listed.audit_findings] == [kept.description]
    assert updated.audit_finding.etag != kept.etag
    assert stale.value.code() == grpc.StatusCode.ABORTED


async def test_a_finding_update_must_keep_the_rules_once_merged(
    stub: Stub, callers: Callers
) -> None:
    case = await _to_fieldwork(stub, callers)
    finding = await _record(stub, callers, case.name, _finding())
    # Valid as sent, but only the intent is applied: the stored intervention would
    # then rest on an intentional error.
    finding.intent = audit_finding_pb2.FINDING_INTENT_INTENTIONAL
    finding.action = audit_finding_pb2.AUDIT_FINDING_ACTION_CRIMINAL_INVESTIGATION

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.UpdateAuditFinding(
            pb.UpdateAuditFindingRequest(
                audit_finding=finding, update_mask=FieldMask(paths=["intent"])
            ),
            metadata=callers.auditor,
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = [v.field for v in error_details(raised.value)["BadRequest"].field_violations]
    assert fields == ["audit_finding.action"]


async def test_findings_of_every_case_filter_by_discrepancy_type(
    stub: Stub, callers: Callers
) -> None:
    first = await _to_fieldwork(stub, callers)
    second = await _to_fieldwork(stub, callers)
    value = await _record(stub, callers, first.name, _finding())
    documents = await _record(
        stub,
        callers,
        second.name,
        _finding(
            discrepancy_types=["DISCREPANCY_TYPE_DOCUMENTS", "DISCREPANCY_TYPE_VALUE"],
            action="AUDIT_FINDING_ACTION_NONE",
        ),
    )

    async def names(**filters: object) -> list[str]:
        page = await stub.ListAuditFindings(
            pb.ListAuditFindingsRequest(parent="auditCases/-", **filters),  # type: ignore[arg-type]
            metadata=callers(Role.RMC),
        )
        return [f.name for f in page.audit_findings]

    assert await names() == [value.name, documents.name]
    assert await names(discrepancy_type="DISCREPANCY_TYPE_DOCUMENTS") == [documents.name]
    assert await names(action="AUDIT_FINDING_ACTION_COMPLIANCE_INTERVENTION") == [value.name]
    assert list(documents.discrepancy_types) == [
        audit_finding_pb2.DISCREPANCY_TYPE_DOCUMENTS,
        audit_finding_pb2.DISCREPANCY_TYPE_VALUE,
    ]


async def test_cases_list_newest_first_in_pages(stub: Stub, callers: Callers) -> None:
    created = []
    for _ in range(3):
        response = await stub.CreateAuditCase(
            pb.CreateAuditCaseRequest(request_id=_rid(), audit_case=new_case()),
            metadata=callers.auditor,
        )
        created.append(response.audit_case.name)

    first = await stub.ListAuditCases(
        pb.ListAuditCasesRequest(page_size=2), metadata=callers(Role.COMPLIANCE)
    )
    second = await stub.ListAuditCases(
        pb.ListAuditCasesRequest(page_size=2, page_token=first.next_page_token),
        metadata=callers(Role.COMPLIANCE),
    )

    assert [c.name for c in (*first.audit_cases, *second.audit_cases)] == created[::-1]
    assert second.next_page_token == ""


async def test_a_plan_update_changes_only_the_masked_fields(stub: Stub, callers: Callers) -> None:
    case, _ = await _open_case(stub, callers)
    case.planned_start_date = "2025-05-02"
    case.scope = "This change is not in the mask and must not be applied."

    updated = await stub.UpdateAuditCase(
        pb.UpdateAuditCaseRequest(
            audit_case=case, update_mask=FieldMask(paths=["planned_start_date"])
        ),
        metadata=callers.auditor,
    )

    assert updated.audit_case.planned_start_date == "2025-05-02"
    assert updated.audit_case.scope == new_case().scope
    assert updated.audit_case.etag != case.etag


async def test_a_date_that_does_not_exist_is_invalid(stub: Stub, callers: Callers) -> None:
    case, _ = await _open_case(stub, callers)
    case.audit_period_end_date = "2024-02-30"

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.UpdateAuditCase(
            pb.UpdateAuditCaseRequest(
                audit_case=case, update_mask=FieldMask(paths=["audit_period_end_date"])
            ),
            metadata=callers.auditor,
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = [v.field for v in error_details(raised.value)["BadRequest"].field_violations]
    assert fields == ["audit_case.audit_period_end_date"]


async def test_a_supervisor_can_cancel_a_case_before_its_report(
    stub: Stub, callers: Callers
) -> None:
    case, referral = await _open_case(stub, callers)

    cancelled = await stub.CancelAuditCase(
        pb.CancelAuditCaseRequest(
            name=case.name, request_id=_rid(), etag=case.etag, reason="The company was dissolved."
        ),
        metadata=callers(Role.SUPERVISOR, "sup-1"),
    )

    assert cancelled.audit_case.state == State.AUDIT_CASE_STATE_CANCELLED
    assert cancelled.audit_case.stage_history[-1].actor == "sup-1"
    assert list(cancelled.audit_case.referrals) == [referral]


async def test_an_analyst_may_not_read_cases(stub: Stub, callers: Callers) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.ListAuditCases(pb.ListAuditCasesRequest(), metadata=callers.analyst)

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_the_findings_reach_scoring_as_outcomes_in_the_trace_of_the_decision(
    stub: Stub, callers: Callers, peers: PeerSink
) -> None:
    decision_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    traced = (("traceparent", f"00-{decision_trace}-00f067aa0ba902b7-01"),)
    blue = await stub.IngestBlueDecisionEvent(
        blue_decision_event(declaration="DECL-1"), metadata=(*callers.scoring, *traced)
    )
    plan = new_case()
    plan.declarations.add(declaration_number="DECL-2", declaration_version=1, office="offices/X")
    case = (
        await stub.CreateAuditCase(
            pb.CreateAuditCaseRequest(
                request_id=_rid(), audit_case=plan, referrals=[blue.referral]
            ),
            metadata=callers.auditor,
        )
    ).audit_case
    for verb, request in (
        (
            stub.RecordOpeningConference,
            pb.RecordOpeningConferenceRequest(opening_conference=_conference("Scope agreed.")),
        ),
        (stub.StartAuditFieldwork, pb.StartAuditFieldworkRequest(premises_tour_notes="Seen.")),
    ):
        request.name, request.request_id, request.etag = case.name, _rid(), case.etag
        case = (await verb(request, metadata=callers.auditor)).audit_case
    finding = _finding()
    finding.declarations.add(declaration_number="DECL-1", declaration_version=2, office="offices/X")
    await _record(stub, callers, case.name, finding)
    case = (
        await stub.RecordExitConference(
            pb.RecordExitConferenceRequest(
                name=case.name,
                request_id=_rid(),
                etag=case.etag,
                exit_conference=_conference("Findings explained."),
            ),
            metadata=callers.auditor,
        )
    ).audit_case
    await stub.IssueAuditReport(
        pb.IssueAuditReportRequest(
            name=case.name,
            request_id=_rid(),
            etag=case.etag,
            report=audit_case_pb2.AuditReport(summary="Royalties omitted.", compliant=False),
        ),
        metadata=callers.auditor,
    )

    await _delivered(peers, _COMPLIANCE_INGEST)
    await _delivered(peers, _CRITERIA_INGEST)
    for _ in range(100):
        if len(peers.received.get(_SCORING_INGEST, [])) >= 2:
            break
        await asyncio.sleep(0.05)
    events = [
        scoring_service_pb2.IngestAuditFindingEventRequest.FromString(payload)
        for payload in peers.received[_SCORING_INGEST]
    ]
    outcomes = sorted(
        (
            list(e.finding.declaration_numbers),
            e.finding.discrepancy_found,
            e.finding.unpaid_duty_assessed.units,
        )
        for e in events
    )
    assert outcomes == [(["DECL-1"], True, 1200), (["DECL-2"], False, 0)]
    assert {e.finding.audit_case for e in events} == {case.name}
    assert {e.source_service for e in events} == {"audit-referral"}
    # Every event of the report continues the decision's trace, not the auditor's request.
    for method in (_SCORING_INGEST, _COMPLIANCE_INGEST, _CRITERIA_INGEST):
        assert [parent.split("-")[1] for parent in peers.traceparents[method]] == [
            decision_trace
        ] * len(peers.received[method])
