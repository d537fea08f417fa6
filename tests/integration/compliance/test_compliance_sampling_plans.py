"""Sampling plans through the real server: strata from the base period, Neyman allocation."""

from __future__ import annotations

import math
import uuid
from typing import Any

import grpc
import pytest
from compliance_support import (
    Client,
    assessment_event,
    errors,
    examination_event,
    item,
    party,
)
from customs.compliance.v1 import compliance_service_pb2 as service_pb2
from customs.compliance.v1 import events_pb2, measurement_pb2

from customs_kit.auth import Role

Plan = measurement_pb2.SamplingPlan
IMPORTER = measurement_pb2.COMPLIANCE_DIMENSION_IMPORTER


async def declarations(client: Client, importer: str, count: int, lodged: str) -> None:
    for index in range(count):
        number = f"{importer}-{lodged[:10]}-{index}"
        await client.ingest(
            assessment_event(
                f"A-{number}", declaration=number, importer=party(importer), lodged=lodged
            )
        )


def plan(**fields: Any) -> Plan:
    values: dict[str, Any] = {
        "title": "Importers, Q2 2025",
        "dimension": IMPORTER,
        "base_start_date": "2025-03-01",
        "base_end_date": "2025-03-31",
        **fields,
    }
    if "margin_of_error" not in values and "total_sample_size" not in values:
        values["total_sample_size"] = 4
    return Plan(**values)


async def create(
    client: Client, wanted: Plan, role: Role = Role.ANALYST, request_id: str | None = None
) -> Plan:
    response = await client.stub.CreateSamplingPlan(
        service_pb2.CreateSamplingPlanRequest(
            request_id=request_id or str(uuid.uuid4()), sampling_plan=wanted
        ),
        metadata=client.auth(role, "ana"),
    )
    return response.sampling_plan


def allocation(created: Plan) -> list[tuple[str, int, int]]:
    return [(s.stratum, s.population_size, s.sample_size) for s in created.strata]


async def test_a_budget_is_allocated_over_the_importers_of_the_base_period(client: Client) -> None:
    await declarations(client, "IMP1", 6, "2025-03-10T09:00:00")
    await declarations(client, "IMP2", 2, "2025-03-20T09:00:00")
    await declarations(client, "IMP3", 5, "2025-04-02T09:00:00")  # after the base period

    created = await create(client, plan(total_sample_size=4))

    # No history: both at the 0.9 prior, so the budget follows the sizes, 6:2.
    assert allocation(created) == [("traders/IMP1", 6, 3), ("traders/IMP2", 2, 1)]
    assert created.planned_sample_size == 4
    assert [s.sampling_rate for s in created.strata] == [0.5, 0.5]
    assert [s.expected_compliance_rate for s in created.strata] == [0.9, 0.9]
    assert created.strata[0].standard_deviation == pytest.approx(0.3)
    # V = Σ W_h² S_h² (1/n_h - 1/N_h) = (0.75² x 0.09 x (1/3 - 1/6)) + (0.25² x 0.09 x 1/2)
    variance = 0.75**2 * 0.09 * (1 / 3 - 1 / 6) + 0.25**2 * 0.09 * (1 / 2)
    assert created.expected_margin_of_error == pytest.approx(1.959964 * math.sqrt(variance))
    assert (created.confidence_level, created.prior_compliance_rate) == (0.95, 0.9)
    assert created.total_sample_size == 4
    assert created.creator == "ana"
    assert created.name.startswith("samplingPlans/")


async def test_a_margin_finer_than_a_small_stratum_allows_plans_a_census(
    client: Client,
) -> None:
    await declarations(client, "IMP1", 3, "2025-03-10T09:00:00")

    created = await create(
        client, plan(margin_of_error=0.05, prior_compliance_rate=0.5, confidence_level=0.95)
    )

    # A stratum of three is smaller than any sample that reaches ±5 points: a census.
    assert allocation(created) == [("traders/IMP1", 3, 3)]
    assert created.expected_margin_of_error == 0.0
    assert created.margin_of_error == 0.05


async def test_strata_with_a_measured_rate_are_planned_at_that_rate(client: Client) -> None:
    await declarations(client, "IMP1", 2, "2025-03-10T09:00:00")
    await declarations(client, "IMP2", 1, "2025-03-10T09:00:00")
    for index, found in enumerate(([], [events_pb2.DiscrepancyType.DISCREPANCY_TYPE_VALUE])):
        await client.stub.IngestExaminationOutcomeEvent(
            examination_event(
                f"R{index}",
                f"IMP1-2025-03-10-{index}",
                discrepancies=[events_pb2.ExaminationDiscrepancy(type=t) for t in found],
            ),
            metadata=client.auth(Role.SERVICE, "exam-reports"),
        )
    await client.stub.CreateComplianceMeasurement(
        service_pb2.CreateComplianceMeasurementRequest(
            request_id=str(uuid.uuid4()),
            compliance_measurement=measurement_pb2.ComplianceMeasurement(
                title="Importers, March",
                dimension=IMPORTER,
                start_date="2025-03-01",
                end_date="2025-03-31",
                tolerance_level=0.9,
            ),
        ),
        metadata=client.auth(Role.ANALYST, "ana"),
    )

    created = await create(client, plan(total_sample_size=2, prior_compliance_rate=0.8))

    rates = {s.stratum: s.expected_compliance_rate for s in created.strata}
    assert rates == {"traders/IMP1": 0.5, "traders/IMP2": 0.8}


async def test_a_declaration_counts_once_in_each_hs_chapter_of_its_goods(client: Client) -> None:
    mixed = [item("610910", number=1), item("620520", number=2), item("610462", number=3)]
    await client.ingest(assessment_event("A1", items=mixed))
    await client.ingest(assessment_event("A2", items=[item("610910")]))

    created = await create(
        client,
        plan(dimension=measurement_pb2.COMPLIANCE_DIMENSION_HS_CHAPTER, total_sample_size=10),
    )

    assert allocation(created) == [("61", 2, 2), ("62", 1, 1)]


async def test_a_base_period_without_declarations_is_refused(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await create(client, plan())

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert errors(raised.value)["ErrorInfo"].reason == "EMPTY_POPULATION"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"dimension": measurement_pb2.COMPLIANCE_DIMENSION_OVERALL}, "sampling_plan.dimension"),
        ({"margin_of_error": 0.3}, "sampling_plan.margin_of_error"),
        ({"base_start_date": "2025-02-30"}, "sampling_plan.base_start_date"),
        ({"prior_compliance_rate": 1.0}, "sampling_plan.prior_compliance_rate"),
    ],
)
async def test_a_malformed_plan_is_rejected_naming_the_field(
    client: Client, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await create(client, plan(**fields))

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in errors(raised.value)["BadRequest"].field_violations] == [field]


async def test_plans_are_read_back_and_listed_newest_first_page_by_page(client: Client) -> None:
    await declarations(client, "IMP1", 2, "2025-03-10T09:00:00")
    request_id = str(uuid.uuid4())
    first = await create(client, plan(title="First"), request_id=request_id)
    again = await create(client, plan(title="First"), request_id=request_id)
    await create(client, plan(title="Second"), role=Role.COMPLIANCE)
    await create(client, plan(title="Third"))
    reader = client.auth(Role.RMC)

    fetched = await client.stub.GetSamplingPlan(
        service_pb2.GetSamplingPlanRequest(name=first.name), metadata=reader
    )
    page = await client.stub.ListSamplingPlans(
        service_pb2.ListSamplingPlansRequest(page_size=2), metadata=reader
    )
    rest = await client.stub.ListSamplingPlans(
        service_pb2.ListSamplingPlansRequest(page_size=2, page_token=page.next_page_token),
        metadata=reader,
    )

    assert again == first
    assert fetched.sampling_plan == first
    assert [p.title for p in page.sampling_plans] == ["Third", "Second"]
    assert [p.title for p in rest.sampling_plans] == ["First"]
    assert rest.next_page_token == ""


async def test_an_unknown_plan_is_not_found(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.GetSamplingPlan(
            service_pb2.GetSamplingPlanRequest(name="samplingPlans/nope"),
            metadata=client.auth(Role.ANALYST),
        )

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_the_committee_reads_plans_but_does_not_make_them(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as creating:
        await create(client, plan(), role=Role.RMC)
    with pytest.raises(grpc.aio.AioRpcError) as auditing:
        await client.stub.ListSamplingPlans(
            service_pb2.ListSamplingPlansRequest(), metadata=client.auth(Role.AUDITOR)
        )

    assert creating.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert auditing.value.code() == grpc.StatusCode.PERMISSION_DENIED
