"""Random compliance examinations through a real scoring server (and a real compliance server)."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import grpc
import pytest
from approved_traders import approve_trader
from customs.common.v1 import selection_rule_pb2, selectivity_pb2
from customs.compliance.v1 import compliance_service_pb2, compliance_service_pb2_grpc, trader_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2
from customs.scoring.v1 import (
    assessment_pb2,
    declaration_pb2,
    random_examination_rate_pb2,
    scoring_service_pb2,
    scoring_service_pb2_grpc,
)
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from scoring_support import (
    StartScoring,
    criterion,
    declaration,
    hs_prefix,
    item,
    query,
    snapshot,
)

from compliance.entrypoints.server import bootstrap as compliance_bootstrap
from customs_kit.auth import Role
from customs_kit.settings import ServiceSettings
from customs_kit.testing.services import SigningKeys, running_service

Stub = scoring_service_pb2_grpc.ScoringServiceStub
Rate = random_examination_rate_pb2.RandomExaminationRate
FULL = selectivity_pb2.EXAMINATION_LEVEL_FULL
SAMPLE = selectivity_pb2.EXAMINATION_LEVEL_COMMERCIAL_SAMPLE


def _rmc(keys: SigningKeys) -> Any:
    return keys.metadata(Role.RMC, subject="rita")


async def set_rate(
    stub: Stub,
    keys: SigningKeys,
    *,
    etag: str = "",
    reason: str = "start-up rate",
    **fields: Any,
) -> Rate:
    """Sets a rate as the risk management committee; the rate as stored."""
    response = await stub.SetRandomExaminationRate(
        scoring_service_pb2.SetRandomExaminationRateRequest(
            random_examination_rate=Rate(**fields), etag=etag, reason=reason
        ),
        metadata=_rmc(keys),
    )
    return response.random_examination_rate


def _error(error: grpc.aio.AioRpcError) -> tuple[str, list[str]]:
    """The ErrorInfo reason and the BadRequest fields of a rich error."""
    status = rpc_status.from_call(error)
    assert status is not None
    reason, fields = "", []
    for packed in status.details:
        if packed.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            packed.Unpack(info)
            reason = info.reason
        if packed.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            packed.Unpack(bad)
            fields = [violation.field for violation in bad.field_violations]
    return reason, fields


async def _requests(
    messages: Sequence[declaration_pb2.Declaration],
) -> AsyncIterator[scoring_service_pb2.AssessDeclarationsRequest]:
    for message in messages:
        yield scoring_service_pb2.AssessDeclarationsRequest(declaration=message)


async def bulk(
    stub: Stub, keys: SigningKeys, messages: Sequence[declaration_pb2.Declaration]
) -> list[assessment_pb2.Assessment]:
    """Lodges ``messages`` on one bulk stream; the assessments, in order."""
    call = stub.AssessDeclarations(
        _requests(messages), metadata=keys.metadata(Role.DECLARATION_SYSTEM)
    )
    return [response.assessment async for response in call]


async def lodge(
    stub: Stub, keys: SigningKeys, message: declaration_pb2.Declaration
) -> assessment_pb2.Assessment:
    """Lodges one declaration; its assessment."""
    response = await stub.AssessDeclaration(
        scoring_service_pb2.AssessDeclarationRequest(declaration=message),
        metadata=keys.metadata(Role.DECLARATION_SYSTEM),
    )
    return response.assessment


# --- the rates ------------------------------------------------------------------------


async def test_an_rmc_sets_a_rate_that_analysts_and_compliance_can_read(
    stub: Stub, test_keys: SigningKeys
) -> None:
    stored = await set_rate(
        stub,
        test_keys,
        office_code="30",
        procedure_code="B",
        document_review_percent=5,
        physical_examination_percent=2.5,
        physical_examination_level=SAMPLE,
        approved_trader_physical_examination_percent=1,
        reason="start-up rates of the pilot office",
    )

    assert stored.name == "randomExaminationRates/30-B"
    assert (stored.revision, stored.updated_by, stored.reason) == (
        1,
        "rita",
        "start-up rates of the pilot office",
    )
    assert stored.etag
    assert stored.HasField("update_time")
    for role in (Role.COMPLIANCE, Role.ANALYST, Role.AUDITOR):
        read = await stub.GetRandomExaminationRate(
            scoring_service_pb2.GetRandomExaminationRateRequest(name=stored.name),
            metadata=test_keys.metadata(role),
        )
        assert read.random_examination_rate == stored


async def test_setting_the_same_rates_again_changes_nothing(
    stub: Stub, test_keys: SigningKeys
) -> None:
    first = await set_rate(stub, test_keys, office_code="30", document_review_percent=5)
    again = await set_rate(
        stub, test_keys, office_code="30", document_review_percent=5, reason="again"
    )

    assert again == first


async def test_changes_need_the_current_etag_and_share_one_rising_revision(
    stub: Stub, test_keys: SigningKeys
) -> None:
    office = await set_rate(stub, test_keys, office_code="30", document_review_percent=5)
    anywhere = await set_rate(stub, test_keys, document_review_percent=1)
    assert (office.revision, anywhere.revision) == (1, 2)

    lowered = await set_rate(
        stub,
        test_keys,
        office_code="30",
        document_review_percent=2,
        etag=office.etag,
        reason="criteria produce results: random rate lowered",
    )
    assert (lowered.revision, lowered.document_review_percent) == (3, 2)
    with pytest.raises(grpc.aio.AioRpcError) as stale_set:
        await set_rate(
            stub, test_keys, office_code="30", document_review_percent=9, etag=office.etag
        )
    assert stale_set.value.code() == grpc.StatusCode.ABORTED

    delete = scoring_service_pb2.DeleteRandomExaminationRateRequest
    with pytest.raises(grpc.aio.AioRpcError) as stale_delete:
        await stub.DeleteRandomExaminationRate(
            delete(name=office.name, etag=office.etag, reason="closed"),
            metadata=_rmc(test_keys),
        )
    assert stale_delete.value.code() == grpc.StatusCode.ABORTED
    deleted = await stub.DeleteRandomExaminationRate(
        delete(name=office.name, etag=lowered.etag, reason="office closed"),
        metadata=_rmc(test_keys),
    )
    assert deleted.revision == 4
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await stub.GetRandomExaminationRate(
            scoring_service_pb2.GetRandomExaminationRateRequest(name=office.name),
            metadata=_rmc(test_keys),
        )
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND


async def test_rates_are_listed_by_office_then_procedure_with_any_first(
    stub: Stub, test_keys: SigningKeys
) -> None:
    for office, procedure in [("40", "B"), ("30", "C"), ("", "B"), ("30", ""), ("", "")]:
        await set_rate(stub, test_keys, office_code=office, procedure_code=procedure)
    listed: list[str] = []
    token = ""
    while True:
        page = await stub.ListRandomExaminationRates(
            scoring_service_pb2.ListRandomExaminationRatesRequest(page_size=2, page_token=token),
            metadata=test_keys.metadata(Role.SUPERVISOR),
        )
        listed += [
            rate.name.removeprefix("randomExaminationRates/")
            for rate in page.random_examination_rates
        ]
        token = page.next_page_token
        if not token:
            break

    assert listed == ["any-any", "any-B", "30-any", "30-C", "40-B"]
    office = await stub.ListRandomExaminationRates(
        scoring_service_pb2.ListRandomExaminationRatesRequest(office_code="30"),
        metadata=test_keys.metadata(Role.ANALYST),
    )
    assert [r.name for r in office.random_examination_rates] == [
        "randomExaminationRates/30-any",
        "randomExaminationRates/30-C",
    ]


@pytest.mark.parametrize(
    ("fields", "reason", "field"),
    [
        (
            {"document_review_percent": 150},
            "why",
            "random_examination_rate.document_review_percent",
        ),
        ({"office_code": "30/B"}, "why", "random_examination_rate.office_code"),
        ({"document_review_percent": 5}, "", "reason"),
    ],
)
async def test_an_invalid_rate_is_refused_naming_the_field(
    stub: Stub,
    test_keys: SigningKeys,
    database_url: str,
    fields: dict[str, Any],
    reason: str,
    field: str,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await set_rate(stub, test_keys, reason=reason, **fields)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in _error(raised.value)[1]
    assert await query(database_url, "SELECT count(*) FROM random_examination_rate_changes") == [
        (0,)
    ]


async def test_a_physical_rate_needs_an_examination_level(
    stub: Stub, test_keys: SigningKeys
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await set_rate(stub, test_keys, approved_trader_physical_examination_percent=1)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "physical_examination_level" in (raised.value.details() or "")


async def test_only_the_rmc_changes_rates_and_every_call_needs_a_token(
    stub: Stub, test_keys: SigningKeys
) -> None:
    request = scoring_service_pb2.SetRandomExaminationRateRequest(
        random_examination_rate=Rate(document_review_percent=5), reason="why"
    )
    with pytest.raises(grpc.aio.AioRpcError) as analyst:
        await stub.SetRandomExaminationRate(request, metadata=test_keys.metadata(Role.ANALYST))
    assert analyst.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as officer:
        await stub.ListRandomExaminationRates(
            scoring_service_pb2.ListRandomExaminationRatesRequest(),
            metadata=test_keys.metadata(Role.OFFICER),
        )
    assert officer.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await stub.SetRandomExaminationRate(request)
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED


# --- the draws ------------------------------------------------------------------------


def _within(count: int, total: int, percent: float, deviations: float = 4.0) -> bool:
    expected = total * percent / 100
    return abs(count - expected) <= deviations * math.sqrt(expected * (1 - percent / 100))


async def test_random_examinations_select_their_share_of_declarations_independently(
    stub: Stub, test_keys: SigningKeys
) -> None:
    await set_rate(
        stub,
        test_keys,
        office_code="30",
        document_review_percent=20,
        physical_examination_percent=10,
        physical_examination_level=SAMPLE,
    )
    total = 1_500

    assessments = await bulk(
        stub, test_keys, [declaration(f"30/2026/R{number:05d}") for number in range(total)]
    )

    # No criterion hits these declarations: every examination is a random one.
    draws = [{d.kind: d.selected for d in a.random_draws} for a in assessments]
    reviews = sum(d[assessment_pb2.RANDOM_EXAMINATION_KIND_DOCUMENT_REVIEW] for d in draws)
    physicals = sum(d[assessment_pb2.RANDOM_EXAMINATION_KIND_PHYSICAL] for d in draws)
    both = sum(all(d.values()) for d in draws)
    assert _within(reviews, total, 20), reviews
    assert _within(physicals, total, 10), physicals
    assert _within(both, total, 2), both
    channels = [a.channel for a in assessments]
    assert channels.count(selectivity_pb2.CHANNEL_RED) == physicals
    assert channels.count(selectivity_pb2.CHANNEL_YELLOW) == reviews - both
    assert sum(a.randomly_selected for a in assessments) == reviews + physicals - both
    assert {a.replay.random_examination_rates_revision for a in assessments} == {1}


async def _payloads(database_url: str, destination: str) -> list[bytes]:
    rows = await query(
        database_url,
        "SELECT payload FROM outbox_events WHERE destination = :destination ORDER BY id",
        destination=destination,
    )
    return [bytes(row[0]) for row in rows]


async def test_the_random_selection_reaches_exam_reports_and_compliance(
    stub: Stub, test_keys: SigningKeys, database_url: str
) -> None:
    await set_rate(
        stub,
        test_keys,
        procedure_code="B",
        physical_examination_percent=100,
        physical_examination_level=FULL,
    )
    random = await lodge(stub, test_keys, declaration("30/2026/E00001"))
    cigarettes = item(1, hs_code="240220")
    by_criteria = await lodge(
        stub, test_keys, declaration("30/2026/E00002", cigarettes, procedure_code="C")
    )

    assert random.randomly_selected
    assert not by_criteria.randomly_selected
    decisions = {
        decision.assessment: decision
        for decision in (
            exam_reports_service_pb2.IngestDecisionEventRequest.FromString(payload).decision
            for payload in await _payloads(database_url, "exam-reports")
        )
    }
    examination, criteria_examination = decisions[random.name], decisions[by_criteria.name]
    assert (examination.random_selection, list(examination.matched_criteria)) == (True, [])
    assert [text.split(" (")[0] for text in examination.examiner_instructions] == [
        "Random compliance examination"
    ]
    assert not criteria_examination.random_selection
    statistics = {
        event.assessed_declaration.assessment: event.assessed_declaration.random_selection
        for event in (
            compliance_service_pb2.IngestAssessmentEventRequest.FromString(payload)
            for payload in await _payloads(database_url, "compliance")
        )
    }
    assert statistics == {random.name: True, by_criteria.name: False}


async def test_a_random_decision_replays_identically_after_the_rates_changed(
    stub: Stub, test_keys: SigningKeys
) -> None:
    rate = await set_rate(
        stub,
        test_keys,
        office_code="30",
        document_review_percent=50,
        physical_examination_percent=100,
        physical_examination_level=SAMPLE,
    )
    assessment = await lodge(stub, test_keys, declaration("30/2026/X00001"))
    await set_rate(stub, test_keys, office_code="30", etag=rate.etag, reason="pilot ended")

    explained = await stub.ExplainAssessment(
        scoring_service_pb2.ExplainAssessmentRequest(name=assessment.name),
        metadata=test_keys.metadata(Role.AUDITOR),
    )

    explanation = explained.explanation
    assert explanation.replay_identical, list(explanation.replay_differences)
    assert assessment.replay.random_examination_rates_revision == 1
    assert [(e.kind, e.rate_percent, e.selected) for e in explanation.random_draw_evaluations] == [
        (d.kind, d.rate_percent, d.selected) for d in assessment.random_draws
    ]
    review, physical = explanation.random_draw_evaluations
    assert review.selected == (review.draw < 0.5)
    assert physical.selected
    assert any(
        step.startswith("Random physical under randomExaminationRates/30-any")
        for step in explanation.steps
    )
    assert explanation.steps[-1] == "Channel RED at level COMMERCIAL_SAMPLE after the random draws."


# --- approved traders, with compliance ----------------------------------------------


async def test_approved_traders_get_random_examinations_at_their_own_rate(
    start_scoring: StartScoring,
    make_settings: Callable[..., ServiceSettings],
    compliance_database_url: str,
    test_keys: SigningKeys,
) -> None:
    compliance_settings = make_settings("compliance", compliance_database_url)
    async with running_service(compliance_settings, compliance_bootstrap) as compliance:
        traders = compliance_service_pb2_grpc.ComplianceServiceStub(compliance.channel)
        await traders.CreateTrader(
            compliance_service_pb2.CreateTraderRequest(
                request_id=str(uuid.uuid4()),
                trader_id="PLAIN01",
                trader=trader_pb2.Trader(display_name="Plain", roles=["TRADER_ROLE_IMPORTER"]),
            ),
            metadata=test_keys.metadata(Role.COMPLIANCE),
        )
        # Applied, reviewed, approved and signed through compliance's own programme.
        await approve_trader(traders, test_keys, "AEO0001")

        wood = criterion("wood", hs_prefix("44"), level="ENFORCEMENT")
        wood.rule.approved_traders = selection_rule_pb2.APPROVED_TRADER_SCOPE_EXCLUDED
        async with start_scoring(
            snapshot(3, [wood]), peers={"compliance": compliance.address}
        ) as scoring:
            stub = Stub(scoring.channel)
            await set_rate(
                stub,
                test_keys,
                physical_examination_percent=0,
                approved_trader_physical_examination_percent=100,
                physical_examination_level=FULL,
            )
            approved = await _lodge_until_approved(stub, test_keys, "AEO0001")
            plain = await lodge(
                stub, test_keys, declaration("30/2026/P00001", importer={"id": "PLAIN01"})
            )

    [hit] = approved.criterion_hits
    assert hit.outcome == assessment_pb2.HIT_OUTCOME_APPROVED_TRADER_EXCLUDED
    assert (approved.channel, approved.examination_level) == (selectivity_pb2.CHANNEL_RED, FULL)
    physical = approved.random_draws[1]
    assert (physical.approved_trader_rate, physical.rate_percent, physical.selected) == (
        True,
        100,
        True,
    )
    assert approved.randomly_selected
    assert approved.importer_approved_trader
    assert approved.replay.trader_profiles_revision > 0

    assert not plain.importer_approved_trader
    assert (plain.channel, plain.examination_level) == (
        selectivity_pb2.CHANNEL_RED,
        selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT,
    )
    assert (plain.random_draws[1].approved_trader_rate, plain.randomly_selected) == (False, False)


async def _lodge_until_approved(
    stub: Stub, keys: SigningKeys, importer: str
) -> assessment_pb2.Assessment:
    """Lodges new declarations of ``importer`` until scoring has its approved status (10 s)."""
    deadline = time.monotonic() + 10.0
    number = 0
    while True:
        number += 1
        assessment = await lodge(
            stub, keys, declaration(f"30/2026/A{number:05d}", importer={"id": importer})
        )
        if assessment.importer_approved_trader or time.monotonic() > deadline:
            return assessment
        await asyncio.sleep(0.05)
