"""The revenue an examination found, and the end of the examination for the declaration system.

The report records the additional duties and taxes assessed, in the national
currency (KRW by default); they travel with the outcome to criteria and
compliance and add up per officer. Once the supervisor approves, the
declaration system hears whether the goods are released, held or seized, on a
watch stream it resumes from the last revision it applied.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import protovalidate
import pytest
from customs.common.v1 import money_pb2, selectivity_pb2
from customs.compliance.v1 import compliance_service_pb2
from customs.criteria.v1 import criteria_service_pb2
from customs.exam_reports.v1 import declaration_outcome_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from exam_reports_support import (
    Client,
    Desk,
    EventReceivers,
    clean_report,
    decision_event,
    discrepancy_report,
    now,
    submit_request,
    violated_fields,
)

from customs_kit.auth import Role

#: 1,250,000.50 KRW of duties and taxes the examination assessed.
_REVENUE = money_pb2.Money(currency_code="KRW", units=1_250_000, nanos=500_000_000)


async def test_a_revenue_in_another_currency_than_the_national_one_is_refused(
    desk: Desk,
) -> None:
    report = discrepancy_report(desk.examination)
    report.revenue_found.CopyFrom(money_pb2.Money(currency_code="USD", units=950))

    with pytest.raises(grpc.aio.AioRpcError) as submitted:
        await desk.submit(report)
    with pytest.raises(grpc.aio.AioRpcError) as drafted:
        await desk.anna.SaveExamReportDraft(
            pb2.SaveExamReportDraftRequest(exam_report_id=str(uuid.uuid4()), exam_report=report)
        )

    for raised in (submitted, drafted):
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert violated_fields(raised.value) == ["exam_report.revenue_found.currency_code"]


async def test_the_revenue_found_reaches_criteria_compliance_and_the_officers_figures(
    desk: Desk, receivers: EventReceivers, client: Client
) -> None:
    report = discrepancy_report(desk.examination)
    report.revenue_found.CopyFrom(_REVENUE)
    approved = await desk.approve(await desk.submit(report))
    assert approved.revenue_found == _REVENUE
    second = await client.scoring.IngestDecisionEvent(decision_event(declaration_number="DCL-2"))
    other = discrepancy_report(second.examination)
    other.declaration_number = "DCL-2"
    other.revenue_found.CopyFrom(
        money_pb2.Money(currency_code="KRW", units=49_999, nanos=500_000_000)
    )
    await desk.approve(await desk.submit(other))

    to_criteria = await receivers.wait_for("criteria", 2)
    to_compliance = await receivers.wait_for("compliance", 2)
    assert isinstance(to_criteria[0], criteria_service_pb2.IngestExaminationOutcomeEventRequest)
    assert to_criteria[0].outcome.revenue_found == _REVENUE
    # Within what the receivers' contracts accept, so neither refuses the event.
    for request in (*to_criteria, *to_compliance):
        assert protovalidate.collect_violations(request) == []
    assert isinstance(to_compliance[0], compliance_service_pb2.IngestExaminationOutcomeEventRequest)
    assert to_compliance[0].examination_outcome.revenue_found == _REVENUE

    today = now().astimezone(ZoneInfo("Africa/Nairobi")).date()
    figures = (
        await client.as_(Role.SUPERVISOR, subject="sam").GetOfficerIntegrityReport(
            pb2.GetOfficerIntegrityReportRequest(
                office="offices/PORT1",
                start_date=(today - timedelta(days=1)).isoformat(),
                end_date=(today + timedelta(days=1)).isoformat(),
            )
        )
    ).officer_integrity_report
    [anna] = [entry for entry in figures.officers if entry.officer == "officers/anna"]
    total = money_pb2.Money(currency_code="KRW", units=1_300_000)
    assert anna.revenue_found == total
    assert figures.norms.revenue_found == total


async def _next(stream: AsyncIterator[pb2.WatchDeclarationOutcomesResponse]) -> Any:
    return await asyncio.wait_for(anext(stream), timeout=5)


async def test_the_declaration_system_hears_each_release_decision_and_resumes_from_a_revision(
    desk: Desk, client: Client
) -> None:
    declaration_system = client.as_(Role.DECLARATION_SYSTEM, subject="asycuda")
    watch = declaration_system.WatchDeclarationOutcomes(pb2.WatchDeclarationOutcomesRequest())
    stream = aiter(watch)
    start = await _next(stream)
    assert start.HasField("snapshot_start")
    assert (await _next(stream)).HasField("snapshot_end")

    seized = discrepancy_report(desk.examination)
    seized.revenue_found.CopyFrom(_REVENUE)
    approved = await desk.approve(await desk.submit(seized))

    first = await _next(stream)
    outcome = first.declaration_outcome
    assert first.revision > start.revision
    assert (outcome.declaration_number, outcome.exam_report, outcome.examination) == (
        "DCL-0001",
        approved.name,
        desk.examination,
    )
    assert outcome.release_decision == declaration_outcome_pb2.RELEASE_DECISION_SEIZED
    assert outcome.seizure_case_number == "SZ-2026/114"
    assert outcome.amended_duties == _REVENUE
    assert outcome.channel == selectivity_pb2.CHANNEL_RED
    assert outcome.decide_time == approved.supervisor_signature.sign_time
    watch.cancel()

    # While the declaration system is away, a document check finds nothing.
    opened = await client.scoring.IngestDecisionEvent(
        decision_event(
            declaration_number="DCL-2",
            channel=selectivity_pb2.CHANNEL_YELLOW,
            level=selectivity_pb2.EXAMINATION_LEVEL_UNSPECIFIED,
        )
    )
    clean = clean_report(opened.examination)
    clean.declaration_number = "DCL-2"
    await desk.approve((await desk.anna.SubmitExamReport(submit_request(clean))).exam_report)

    resumed = declaration_system.WatchDeclarationOutcomes(
        pb2.WatchDeclarationOutcomesRequest(since_revision=first.revision)
    )
    message = await _next(aiter(resumed))
    resumed.cancel()
    assert message.revision > first.revision
    later = message.declaration_outcome
    assert later.declaration_number == "DCL-2"
    assert later.channel == selectivity_pb2.CHANNEL_YELLOW
    assert later.release_decision == declaration_outcome_pb2.RELEASE_DECISION_RELEASED
    assert not later.HasField("amended_duties")


async def test_only_the_declaration_system_and_services_watch_the_outcomes(
    client: Client,
) -> None:
    watch = client.as_(Role.OFFICER, subject="anna").WatchDeclarationOutcomes(
        pb2.WatchDeclarationOutcomesRequest()
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await watch.read()

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
