"""Referrals through the real audit-referral server: ingest, manual entry, triage, lists."""

from __future__ import annotations

import uuid

import grpc
import pytest
from audit_referral_requests import (
    Callers,
    blue_decision_event,
    error_details,
    examination_finding_event,
    manual_referral,
    new_case,
)
from customs.audit_referral.v1 import (
    audit_case_pb2,
    referral_pb2,
)
from customs.audit_referral.v1 import (
    audit_referral_service_pb2 as pb,
)
from customs.audit_referral.v1 import (
    audit_referral_service_pb2_grpc as pb_grpc,
)

from customs_kit.auth import Role

Stub = pb_grpc.AuditReferralServiceStub


async def _create(stub: Stub, callers: Callers, **kwargs: str) -> pb.CreateReferralResponse:
    return await stub.CreateReferral(
        pb.CreateReferralRequest(request_id=str(uuid.uuid4()), referral=manual_referral(**kwargs)),
        metadata=callers.analyst,
    )


async def test_a_blue_decision_delivered_three_times_opens_one_referral(
    stub: Stub, callers: Callers
) -> None:
    event = blue_decision_event()

    first = await stub.IngestBlueDecisionEvent(event, metadata=callers.scoring)
    again = [await stub.IngestBlueDecisionEvent(event, metadata=callers.scoring) for _ in range(2)]

    assert not first.duplicate
    assert [(r.duplicate, r.referral) for r in again] == [(True, first.referral)] * 2
    listed = await stub.ListReferrals(pb.ListReferralsRequest(), metadata=callers.auditor)
    assert [r.name for r in listed.referrals] == [first.referral]
    referral = listed.referrals[0]
    assert referral.source == referral_pb2.REFERRAL_SOURCE_BLUE_DECISION
    assert referral.state == referral_pb2.REFERRAL_STATE_OPEN
    assert referral.trader == "traders/IMP-001"
    assert referral.trader_display_name == "Textiles Ltd"
    assert referral.created_by == "scoring"
    assert [
        (d.declaration_number, d.declaration_version, d.office) for d in referral.declarations
    ] == [("DECL-1", 2, "offices/CTN01")]
    assert list(referral.evidence) == ["assessments/a-1", "criteria/t-shirts-undervalued"]
    assert "Verify the invoice against the payment records." in referral.reason
    assert "traders/BRK-9" in referral.reason


async def test_an_examination_finding_with_a_seizure_opens_a_high_priority_referral(
    stub: Stub, callers: Callers
) -> None:
    ingested = await stub.IngestExaminationFindingEvent(
        examination_finding_event(seized=True), metadata=callers("service", "exam-reports")
    )

    referral = (
        await stub.GetReferral(
            pb.GetReferralRequest(name=ingested.referral), metadata=callers.analyst
        )
    ).referral
    assert not ingested.duplicate
    assert referral.source == referral_pb2.REFERRAL_SOURCE_EXAMINATION_FINDING
    assert referral.priority == referral_pb2.REFERRAL_PRIORITY_HIGH
    assert referral.created_by == "exam-reports"
    assert list(referral.evidence) == ["examReports/r-7", "examinations/e-7"]
    assert "found 6,000 kg" in referral.reason
    assert "SZ-2025-17" in referral.reason


async def test_an_examination_finding_redelivered_reports_the_same_referral(
    stub: Stub, callers: Callers
) -> None:
    event = examination_finding_event(seized=False)
    metadata = callers("service", "exam-reports")

    first = await stub.IngestExaminationFindingEvent(event, metadata=metadata)
    second = await stub.IngestExaminationFindingEvent(event, metadata=metadata)

    assert (second.duplicate, second.referral) == (True, first.referral)
    listed = await stub.ListReferrals(pb.ListReferralsRequest(), metadata=callers.auditor)
    assert len(listed.referrals) == 1
    assert listed.referrals[0].priority == referral_pb2.REFERRAL_PRIORITY_NORMAL


async def test_a_retried_create_returns_the_first_referral(stub: Stub, callers: Callers) -> None:
    request = pb.CreateReferralRequest(request_id=str(uuid.uuid4()), referral=manual_referral())

    first = await stub.CreateReferral(request, metadata=callers.analyst)
    retry = await stub.CreateReferral(request, metadata=callers.analyst)

    assert retry == first
    assert first.referral.state == referral_pb2.REFERRAL_STATE_OPEN
    assert first.referral.created_by == "ana"
    assert first.referral.revenue_at_risk.units == 2500
    listed = await stub.ListReferrals(pb.ListReferralsRequest(), metadata=callers.analyst)
    assert [r.name for r in listed.referrals] == [first.referral.name]


async def test_a_request_id_reused_for_another_referral_is_refused(
    stub: Stub, callers: Callers
) -> None:
    request_id = str(uuid.uuid4())
    await stub.CreateReferral(
        pb.CreateReferralRequest(request_id=request_id, referral=manual_referral()),
        metadata=callers.analyst,
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.CreateReferral(
            pb.CreateReferralRequest(
                request_id=request_id, referral=manual_referral(trader="IMP-002")
            ),
            metadata=callers.analyst,
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(raised.value)["ErrorInfo"].reason == "REQUEST_ID_REUSED"
    listed = await stub.ListReferrals(pb.ListReferralsRequest(), metadata=callers.analyst)
    assert [r.trader for r in listed.referrals] == ["traders/IMP-001"]


async def test_a_person_cannot_enter_a_blue_decision_referral(stub: Stub, callers: Callers) -> None:
    referral = manual_referral()
    referral.source = referral_pb2.REFERRAL_SOURCE_BLUE_DECISION

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.CreateReferral(
            pb.CreateReferralRequest(request_id=str(uuid.uuid4()), referral=referral),
            metadata=callers.analyst,
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = error_details(raised.value)["BadRequest"].field_violations
    assert [v.field for v in violations] == ["referral"]
    assert "referral.source_not_ingested" in violations[0].description


async def test_a_declined_referral_cannot_be_accepted(stub: Stub, callers: Callers) -> None:
    created = (await _create(stub, callers)).referral
    declined = await stub.DeclineReferral(
        pb.DeclineReferralRequest(
            name=created.name,
            request_id=str(uuid.uuid4()),
            etag=created.etag,
            reason="Already covered by the 2024 audit plan.",
        ),
        metadata=callers("auditor", "aud-2"),
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.AcceptReferral(
            pb.AcceptReferralRequest(
                name=created.name,
                request_id=str(uuid.uuid4()),
                etag=declined.referral.etag,
                new_audit_case=new_case(),
            ),
            metadata=callers.auditor,
        )

    assert declined.referral.state == referral_pb2.REFERRAL_STATE_DECLINED
    assert declined.referral.decided_by == "aud-2"
    assert declined.referral.decision_reason == "Already covered by the 2024 audit plan."
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    details = error_details(raised.value)
    assert details["ErrorInfo"].reason == "REFERRAL_NOT_OPEN"
    assert [(v.type, v.subject) for v in details["PreconditionFailure"].violations] == [
        ("REFERRAL_STATE", created.name)
    ]


async def test_an_accepted_referral_cannot_be_declined(stub: Stub, callers: Callers) -> None:
    created = (await _create(stub, callers)).referral
    accepted = await stub.AcceptReferral(
        pb.AcceptReferralRequest(
            name=created.name,
            request_id=str(uuid.uuid4()),
            etag=created.etag,
            new_audit_case=new_case(),
            note="Royalties are a known risk for this licensor.",
        ),
        metadata=callers.auditor,
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.DeclineReferral(
            pb.DeclineReferralRequest(
                name=created.name,
                request_id=str(uuid.uuid4()),
                etag=accepted.referral.etag,
                reason="Changed my mind about this one.",
            ),
            metadata=callers.auditor,
        )

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    details = error_details(raised.value)
    assert details["ErrorInfo"].reason == "REFERRAL_NOT_OPEN"
    assert details["PreconditionFailure"].violations[0].subject == created.name
    stored = await stub.GetReferral(
        pb.GetReferralRequest(name=created.name), metadata=callers.auditor
    )
    assert stored.referral.state == referral_pb2.REFERRAL_STATE_ACCEPTED
    assert stored.referral.audit_case == accepted.audit_case.name


async def test_accepting_into_a_new_case_opens_it_notified_with_the_referral(
    stub: Stub, callers: Callers
) -> None:
    created = (await _create(stub, callers)).referral

    accepted = await stub.AcceptReferral(
        pb.AcceptReferralRequest(
            name=created.name,
            request_id=str(uuid.uuid4()),
            etag=created.etag,
            new_audit_case=new_case(),
        ),
        metadata=callers.auditor,
    )

    case = (
        await stub.GetAuditCase(
            pb.GetAuditCaseRequest(name=accepted.audit_case.name), metadata=callers.auditor
        )
    ).audit_case
    assert case == accepted.audit_case
    assert case.state == audit_case_pb2.AUDIT_CASE_STATE_NOTIFIED
    assert list(case.referrals) == [created.name]
    assert [(t.to_state, t.actor) for t in case.stage_history] == [
        (audit_case_pb2.AUDIT_CASE_STATE_NOTIFIED, "aud-1")
    ]
    assert accepted.referral.decided_by == "aud-1"
    assert accepted.referral.etag != created.etag


async def test_a_referral_joins_an_open_case_of_its_trader_only(
    stub: Stub, callers: Callers
) -> None:
    first = (await _create(stub, callers)).referral
    case = (
        await stub.AcceptReferral(
            pb.AcceptReferralRequest(
                name=first.name,
                request_id=str(uuid.uuid4()),
                etag=first.etag,
                new_audit_case=new_case(),
            ),
            metadata=callers.auditor,
        )
    ).audit_case
    same_trader = (await _create(stub, callers)).referral
    other_trader = (await _create(stub, callers, trader="IMP-002")).referral

    joined = await stub.AcceptReferral(
        pb.AcceptReferralRequest(
            name=same_trader.name,
            request_id=str(uuid.uuid4()),
            etag=same_trader.etag,
            audit_case=case.name,
        ),
        metadata=callers.auditor,
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.AcceptReferral(
            pb.AcceptReferralRequest(
                name=other_trader.name,
                request_id=str(uuid.uuid4()),
                etag=other_trader.etag,
                audit_case=case.name,
            ),
            metadata=callers.auditor,
        )

    assert list(joined.audit_case.referrals) == [first.name, same_trader.name]
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_details(raised.value)["ErrorInfo"].reason == "TRADER_MISMATCH"
    still_open = await stub.GetReferral(
        pb.GetReferralRequest(name=other_trader.name), metadata=callers.auditor
    )
    assert still_open.referral.state == referral_pb2.REFERRAL_STATE_OPEN


async def test_a_stale_etag_is_aborted(stub: Stub, callers: Callers) -> None:
    created = (await _create(stub, callers)).referral

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.DeclineReferral(
            pb.DeclineReferralRequest(
                name=created.name,
                request_id=str(uuid.uuid4()),
                etag="v0",
                reason="Not enough evidence to justify a visit.",
            ),
            metadata=callers.auditor,
        )

    assert raised.value.code() == grpc.StatusCode.ABORTED


async def test_the_queue_pages_by_priority_then_age(stub: Stub, callers: Callers) -> None:
    low = [(await _create(stub, callers, priority="REFERRAL_PRIORITY_LOW")).referral]
    normal = [(await _create(stub, callers)).referral for _ in range(3)]
    high = [(await _create(stub, callers, priority="REFERRAL_PRIORITY_HIGH")).referral]

    names: list[str] = []
    pages = 0
    token = ""
    while True:
        page = await stub.ListReferrals(
            pb.ListReferralsRequest(page_size=2, page_token=token), metadata=callers.auditor
        )
        names += [r.name for r in page.referrals]
        pages += 1
        token = page.next_page_token
        if not token:
            break

    assert names == [r.name for r in (*high, *normal, *low)]
    assert pages == 3


async def test_the_queue_filters_by_state_source_and_trader(stub: Stub, callers: Callers) -> None:
    manual = (await _create(stub, callers)).referral
    other_trader = (await _create(stub, callers, trader="IMP-002")).referral
    blue = await stub.IngestBlueDecisionEvent(blue_decision_event(), metadata=callers.scoring)
    await stub.DeclineReferral(
        pb.DeclineReferralRequest(
            name=manual.name,
            request_id=str(uuid.uuid4()),
            etag=manual.etag,
            reason="Duplicate of an earlier referral.",
        ),
        metadata=callers.auditor,
    )

    async def names(request: pb.ListReferralsRequest) -> list[str]:
        page = await stub.ListReferrals(request, metadata=callers.auditor)
        return sorted(r.name for r in page.referrals)

    open_state = referral_pb2.REFERRAL_STATE_OPEN
    assert await names(pb.ListReferralsRequest(states=[open_state])) == sorted(
        [other_trader.name, blue.referral]
    )
    assert await names(
        pb.ListReferralsRequest(source=referral_pb2.REFERRAL_SOURCE_BLUE_DECISION)
    ) == [blue.referral]
    assert await names(pb.ListReferralsRequest(trader="traders/IMP-001", states=[open_state])) == [
        blue.referral
    ]


async def test_a_tampered_page_token_is_refused(stub: Stub, callers: Callers) -> None:
    for _ in range(2):
        await _create(stub, callers)
    page = await stub.ListReferrals(pb.ListReferralsRequest(page_size=1), metadata=callers.auditor)
    tampered = page.next_page_token[:-2] + ("AA" if page.next_page_token[-2:] != "AA" else "BB")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.ListReferrals(
            pb.ListReferralsRequest(page_size=1, page_token=tampered), metadata=callers.auditor
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = error_details(raised.value)["BadRequest"].field_violations
    assert [v.field for v in violations] == ["page_token"]


async def test_a_page_token_only_continues_the_query_that_made_it(
    stub: Stub, callers: Callers
) -> None:
    for _ in range(2):
        await _create(stub, callers)
    page = await stub.ListReferrals(pb.ListReferralsRequest(page_size=1), metadata=callers.auditor)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.ListReferrals(
            pb.ListReferralsRequest(
                page_size=1, page_token=page.next_page_token, trader="traders/IMP-002"
            ),
            metadata=callers.auditor,
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(raised.value)["BadRequest"].field_violations[0].field == "page_token"


async def test_an_unknown_referral_is_not_found(stub: Stub, callers: Callers) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.GetReferral(
            pb.GetReferralRequest(name="referrals/nope"), metadata=callers(Role.RMC)
        )

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_details(raised.value)["ResourceInfo"].resource_name == "referrals/nope"


async def test_an_officer_may_not_read_referrals(stub: Stub, callers: Callers) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.ListReferrals(pb.ListReferralsRequest(), metadata=callers(Role.OFFICER))

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_only_a_service_may_ingest_events(stub: Stub, callers: Callers) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.IngestBlueDecisionEvent(blue_decision_event(), metadata=callers.auditor)

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    listed = await stub.ListReferrals(pb.ListReferralsRequest(), metadata=callers.auditor)
    assert list(listed.referrals) == []


async def test_an_analyst_may_not_triage(stub: Stub, callers: Callers) -> None:
    created = (await _create(stub, callers)).referral

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.DeclineReferral(
            pb.DeclineReferralRequest(
                name=created.name,
                request_id=str(uuid.uuid4()),
                etag=created.etag,
                reason="Not worth an audit this year.",
            ),
            metadata=callers.analyst,
        )

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_call_without_a_token_is_unauthenticated(stub: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.ListReferrals(pb.ListReferralsRequest())

    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_malformed_request_names_the_field(stub: Stub, callers: Callers) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.CreateReferral(
            pb.CreateReferralRequest(
                request_id="not-a-uuid", referral=manual_referral(reason="too short")
            ),
            metadata=callers.analyst,
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = {v.field for v in error_details(raised.value)["BadRequest"].field_violations}
    assert fields == {"request_id", "referral.reason"}


async def test_an_event_from_the_wrong_sender_is_invalid(stub: Stub, callers: Callers) -> None:
    event = blue_decision_event()
    event.source_service = "exam-reports"

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.IngestBlueDecisionEvent(event, metadata=callers.scoring)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = [v.field for v in error_details(raised.value)["BadRequest"].field_violations]
    assert fields == ["source_service"]
