"""A criterion's measured results, from the outcomes and findings received."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from criteria_support import (
    ANALYST,
    AUDITOR,
    RMC,
    Criteria,
    criterion,
    outcome_event,
    timestamp,
    violated_fields,
)
from customs.common.v1 import money_pb2
from customs.criteria.v1 import criteria_service_pb2 as pb
from customs.criteria.v1 import events_pb2, performance_pb2

from customs_kit.auth import Role

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
AUDIT_REFERRAL = (Role.SERVICE, "audit-referral")


def at(day: int, hour: int = 9) -> datetime:
    return START + timedelta(days=day, hours=hour)


async def _performance(
    criteria: Criteria, name: str, office: str = ""
) -> performance_pb2.CriterionPerformance:
    response = await criteria.call(
        "GetCriterionPerformance",
        pb.GetCriterionPerformanceRequest(
            criterion=name, start_time=timestamp(START), end_time=timestamp(END), office_code=office
        ),
        ANALYST,
    )
    found: performance_pb2.CriterionPerformance = response.criterion_performance
    return found


def _random(
    day: int, *, found: bool, office: str = "PORT-1"
) -> pb.IngestExaminationOutcomeEventRequest:
    return outcome_event(at(day), random=True, discrepancy=found, office=office)


async def test_outcomes_delivered_twice_count_once_in_the_hit_rate_and_its_interval(
    criteria: Criteria,
) -> None:
    active = await criteria.activate(criterion(await criteria.create_profile()))
    hit, miss = (active.name, 1, True), (active.name, 1, False)
    revenue = money_pb2.Money(currency_code="KRW", units=1250, nanos=500_000_000)
    events = [
        outcome_event(at(1), hit, seized=True, revenue=revenue),
        outcome_event(at(2), miss),
        outcome_event(at(3), miss),
        outcome_event(at(4), miss),
        outcome_event(at(5), miss, office="PORT-2"),
        outcome_event(at(40), hit),
    ]

    for event in events:
        await criteria.ingest(event, event)

    performance = await _performance(criteria, active.name, office="PORT-1")
    assert (performance.examinations, performance.discrepancies) == (4, 1)
    assert performance.hit_rate == 0.25
    interval = performance.hit_rate_interval
    assert (interval.lower, interval.upper) == (
        pytest.approx(0.0456, abs=1e-4),
        pytest.approx(0.6994, abs=1e-4),
    )
    assert interval.confidence == 0.95
    assert performance.seizures == 1
    assert performance.revenue_found == revenue
    assert performance.consecutive_negative_results == 3
    assert performance.last_discrepancy_time == timestamp(at(1))
    everywhere = await _performance(criteria, active.name)
    assert (everywhere.examinations, everywhere.consecutive_negative_results) == (5, 4)
    assert everywhere.title == active.title


async def test_lift_compares_the_hit_rate_with_random_examinations_at_the_same_offices(
    criteria: Criteria,
) -> None:
    active = await criteria.activate(criterion(await criteria.create_profile()))
    hits = [(active.name, 1, day < 2) for day in range(4)]
    await criteria.ingest(*(outcome_event(at(day), hit) for day, hit in enumerate(hits)))
    await criteria.ingest(
        *(_random(day, found=day == 0) for day in range(10)),
        _random(11, found=True, office="AIRPORT"),
    )

    performance = await _performance(criteria, active.name)

    assert performance.hit_rate == 0.5
    assert (performance.random_examinations, performance.random_discrepancies) == (10, 1)
    assert performance.random_discrepancy_rate == pytest.approx(0.1)
    assert performance.lift == pytest.approx(5.0)


async def test_without_random_examinations_the_lift_is_unknown(criteria: Criteria) -> None:
    active = await criteria.activate(criterion(await criteria.create_profile()))
    await criteria.ingest(outcome_event(at(1), (active.name, 1, True)))

    performance = await _performance(criteria, active.name)

    assert performance.examinations == 1
    assert not performance.HasField("lift")
    assert performance.random_examinations == 0


async def test_audit_findings_attributed_to_a_criterion_are_counted_with_the_duty_assessed(
    criteria: Criteria,
) -> None:
    active = await criteria.activate(criterion(await criteria.create_profile()))
    finding = pb.IngestAuditFindingEventRequest(
        event_id=str(uuid.uuid4()),
        source_service="audit-referral",
        occur_time=timestamp(at(10)),
        finding=events_pb2.AuditFinding(
            audit_case="auditCases/c-9",
            importer_id="IMP-42",
            criteria=[active.name],
            outcome=events_pb2.AUDIT_OUTCOME_DUTY_ASSESSED,
            discrepancy_found=True,
            unpaid_duty_assessed=money_pb2.Money(currency_code="KRW", units=9000),
            finding_time=timestamp(at(10)),
        ),
    )
    for _ in range(2):
        await criteria.call("IngestAuditFindingEvent", finding, AUDIT_REFERRAL)

    performance = await _performance(criteria, active.name)

    assert performance.audit_findings == 1
    assert performance.audit_duty_assessed == money_pb2.Money(currency_code="KRW", units=9000)


async def test_the_performance_list_shows_each_criterion_applied_in_the_period_by_name(
    criteria: Criteria,
) -> None:
    profile = await criteria.create_profile()
    first = await criteria.activate(criterion(profile))
    second = await criteria.activate(criterion(profile, title="Cigars"))
    await criteria.create(criterion(profile, title="Never approved"))
    now = datetime.now(UTC)
    request = pb.ListCriterionPerformanceRequest(
        start_time=timestamp(now - timedelta(days=1)),
        end_time=timestamp(now + timedelta(days=1)),
        page_size=1,
    )

    page = await criteria.call("ListCriterionPerformance", request, RMC)
    request.page_token = page.next_page_token
    last = await criteria.call("ListCriterionPerformance", request, RMC)

    names = [p.criterion for p in [*page.criterion_performances, *last.criterion_performances]]
    assert names == sorted([first.name, second.name])
    assert last.next_page_token == ""


async def test_an_unknown_criterion_has_no_performance(criteria: Criteria) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _performance(criteria, "criteria/nothing-here")

    assert refused.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_performance_request_without_a_period_names_the_missing_field(
    criteria: Criteria,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.call(
            "GetCriterionPerformance",
            pb.GetCriterionPerformanceRequest(
                criterion="criteria/cigarettes", end_time=timestamp(END)
            ),
            ANALYST,
        )
    with pytest.raises(grpc.aio.AioRpcError) as bad_office:
        await criteria.call(
            "ListCriterionPerformance",
            pb.ListCriterionPerformanceRequest(
                start_time=timestamp(START), end_time=timestamp(END), office_code="port 1"
            ),
            ANALYST,
        )

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(refused.value) == ["start_time"]
    assert violated_fields(bad_office.value) == ["office_code"]


async def test_performance_is_not_for_auditors(criteria: Criteria) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.call(
            "GetCriterionPerformance",
            pb.GetCriterionPerformanceRequest(
                criterion="criteria/cigarettes",
                start_time=timestamp(START),
                end_time=timestamp(END),
            ),
            AUDITOR,
        )

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
