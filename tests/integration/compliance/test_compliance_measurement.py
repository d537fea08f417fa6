"""Examination and audit outcomes, and compliance measured from the random ones."""

from __future__ import annotations

import uuid

import grpc
import pytest
from compliance_support import (
    Client,
    assessment_event,
    errors,
    examination_event,
    party,
    stamp,
)
from customs.compliance.v1 import compliance_intervention_pb2 as intervention_pb2
from customs.compliance.v1 import compliance_service_pb2 as service_pb2
from customs.compliance.v1 import events_pb2, measurement_pb2

from customs_kit.auth import Role

VALUE_ERROR = events_pb2.ExaminationDiscrepancy(
    type=events_pb2.DISCREPANCY_TYPE_VALUE, item_number=1
)


async def deliver_examination(
    client: Client, event: service_pb2.IngestExaminationOutcomeEventRequest
) -> bool:
    response = await client.stub.IngestExaminationOutcomeEvent(
        event, metadata=client.auth(Role.SERVICE, "exam-reports")
    )
    return bool(response.duplicate)


async def measure(client: Client, **fields: object) -> measurement_pb2.ComplianceMeasurement:
    scope = {
        "title": "Importers, March 2025",
        "dimension": measurement_pb2.COMPLIANCE_DIMENSION_IMPORTER,
        "start_date": "2025-03-01",
        "end_date": "2025-03-31",
        "tolerance_level": 0.9,
        "min_sample_size": 1,
        **fields,
    }
    response = await client.stub.CreateComplianceMeasurement(
        service_pb2.CreateComplianceMeasurementRequest(
            request_id=str(uuid.uuid4()),
            compliance_measurement=measurement_pb2.ComplianceMeasurement(**scope),
        ),
        metadata=client.auth(Role.ANALYST, "ana"),
    )
    return response.compliance_measurement


@pytest.fixture
async def examined(client: Client) -> None:
    """Four randomly examined declarations (one with a value error) and one targeted one."""
    for number, importer in (("D1", "IMP1"), ("D2", "IMP1"), ("D3", "IMP1"), ("D4", "IMP2")):
        await client.ingest(
            assessment_event(f"A-{number}", declaration=number, importer=party(importer, importer))
        )
    await client.ingest(assessment_event("A-D5", declaration="D5", importer=party("IMP2")))
    await deliver_examination(client, examination_event("R1", "D1"))
    await deliver_examination(client, examination_event("R2", "D2", discrepancies=[VALUE_ERROR]))
    await deliver_examination(client, examination_event("R3", "D3"))
    await deliver_examination(client, examination_event("R4", "D4", importer="IMP2"))
    await deliver_examination(
        client,
        examination_event(
            "R5", "D5", importer="IMP2", random_selection=False, discrepancies=[VALUE_ERROR]
        ),
    )


async def test_an_examination_outcome_delivered_twice_is_stored_once(client: Client) -> None:
    await client.ingest(assessment_event("A1", declaration="D1"))
    event = examination_event("R1", "D1", discrepancies=[VALUE_ERROR])

    assert await deliver_examination(client, event) is False
    assert await deliver_examination(client, event) is True


@pytest.mark.usefixtures("examined")
async def test_compliance_is_measured_from_random_examinations_only(client: Client) -> None:
    created = await measure(client)

    assert created.state == measurement_pb2.COMPLIANCE_MEASUREMENT_STATE_DRAFT
    assert created.creator == "ana"
    assert (created.overall.sample_size, created.overall.compliant) == (4, 3)
    assert created.overall.lower_bound == pytest.approx(0.3006, abs=1e-4)
    assert created.overall.upper_bound == pytest.approx(0.9544, abs=1e-4)
    assert created.strata_count == 2
    rates = await client.stub.ListComplianceRates(
        service_pb2.ListComplianceRatesRequest(parent=created.name),
        metadata=client.auth(Role.AUDITOR),
    )
    assert [(r.stratum, r.sample_size, r.compliant) for r in rates.compliance_rates] == [
        ("traders/IMP2", 1, 1),
        ("traders/IMP1", 3, 2),
    ]
    imp1 = rates.compliance_rates[1]
    assert imp1.stratum_display_name == "IMP1"
    assert imp1.rate == pytest.approx(2 / 3)
    assert (imp1.lower_bound, imp1.upper_bound) == pytest.approx((0.2077, 0.9385), abs=1e-4)
    assert imp1.assessment == measurement_pb2.TOLERANCE_ASSESSMENT_INCONCLUSIVE


@pytest.mark.usefixtures("examined")
async def test_a_measurement_of_other_areas_ignores_a_valuation_error(client: Client) -> None:
    created = await measure(
        client,
        dimension=measurement_pb2.COMPLIANCE_DIMENSION_OVERALL,
        areas=[measurement_pb2.COMPLIANCE_AREA_TRANSPORT],
    )

    assert (created.overall.sample_size, created.overall.compliant) == (4, 4)


@pytest.mark.usefixtures("examined")
async def test_measurements_are_read_back_and_listed_newest_first(client: Client) -> None:
    first = await measure(client, title="First")
    second = await measure(client, title="Second")

    fetched = await client.stub.GetComplianceMeasurement(
        service_pb2.GetComplianceMeasurementRequest(name=first.name),
        metadata=client.auth(Role.RMC),
    )
    listed = await client.stub.ListComplianceMeasurements(
        service_pb2.ListComplianceMeasurementsRequest(), metadata=client.auth(Role.RMC)
    )

    assert fetched.compliance_measurement == first
    assert [m.title for m in listed.compliance_measurements] == ["Second", "First"]
    assert second.confidence_level == pytest.approx(0.95)


@pytest.mark.usefixtures("examined")
async def test_a_published_measurement_is_final(client: Client) -> None:
    draft = await measure(client)

    response = await client.stub.PublishComplianceMeasurement(
        service_pb2.PublishComplianceMeasurementRequest(
            name=draft.name, request_id=str(uuid.uuid4()), etag=draft.etag
        ),
        metadata=client.auth(Role.RMC),
    )
    published = response.compliance_measurement
    with pytest.raises(grpc.aio.AioRpcError) as twice:
        await client.stub.PublishComplianceMeasurement(
            service_pb2.PublishComplianceMeasurementRequest(
                name=draft.name, request_id=str(uuid.uuid4()), etag=published.etag
            ),
            metadata=client.auth(),
        )
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await client.stub.PublishComplianceMeasurement(
            service_pb2.PublishComplianceMeasurementRequest(
                name=draft.name, request_id=str(uuid.uuid4()), etag=draft.etag
            ),
            metadata=client.auth(),
        )

    assert published.state == measurement_pb2.COMPLIANCE_MEASUREMENT_STATE_PUBLISHED
    assert published.HasField("publish_time")
    assert published.overall == draft.overall
    assert twice.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert errors(twice.value)["ErrorInfo"].reason == "MEASUREMENT_ALREADY_PUBLISHED"
    assert stale.value.code() == grpc.StatusCode.ABORTED


async def test_an_analyst_may_not_publish_a_measurement(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.PublishComplianceMeasurement(
            service_pb2.PublishComplianceMeasurementRequest(
                name="complianceMeasurements/M1", request_id=str(uuid.uuid4()), etag="1"
            ),
            metadata=client.auth(Role.ANALYST),
        )

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_measurement_longer_than_three_years_is_rejected(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await measure(client, start_date="2020-01-01", end_date="2023-12-31")

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    field = errors(raised.value)["BadRequest"].field_violations[0].field
    assert field == "compliance_measurement.end_date"


async def test_an_audit_finding_calling_for_an_intervention_opens_one_exactly_once(
    client: Client,
) -> None:
    for number in ("D1", "D3"):
        await client.ingest(assessment_event(f"A-{number}", declaration=number))
    event = service_pb2.IngestAuditFindingEventRequest(
        event_id=str(uuid.uuid4()),
        source_service="audit-referral",
        occur_time=stamp("2025-06-01T12:00:00"),
        audit_outcome=events_pb2.AuditOutcome(
            audit_case="auditCases/C1",
            trader=party("IMP1", "Importer One"),
            selection_basis=events_pb2.AUDIT_SELECTION_BASIS_RANDOM,
            audited_declaration_numbers=["D1", "D3"],
            findings=[
                events_pb2.AuditFindingSummary(
                    finding="auditCases/C1/findings/F1",
                    discrepancy_types=[events_pb2.DISCREPANCY_TYPE_CLASSIFICATION],
                    declaration_numbers=["D3"],
                    description="Knitted shirts declared under the heading for woven shirts.",
                    action=events_pb2.AUDIT_FINDING_ACTION_COMPLIANCE_INTERVENTION,
                )
            ],
            report_time=stamp("2025-06-01T12:00:00"),
        ),
    )
    metadata = client.auth(Role.SERVICE, "audit-referral")

    first = await client.stub.IngestAuditFindingEvent(event, metadata=metadata)
    again = await client.stub.IngestAuditFindingEvent(event, metadata=metadata)

    assert first.duplicate is False
    assert again.duplicate is True
    assert len(first.compliance_interventions) == 1
    assert list(again.compliance_interventions) == list(first.compliance_interventions)
    opened = await client.stub.GetComplianceIntervention(
        service_pb2.GetComplianceInterventionRequest(name=first.compliance_interventions[0]),
        metadata=client.auth(),
    )
    intervention = opened.compliance_intervention
    assert intervention.trader == "traders/IMP1"
    assert intervention.trigger == intervention_pb2.INTERVENTION_TRIGGER_AUDIT_FINDING
    assert intervention.state == intervention_pb2.COMPLIANCE_INTERVENTION_STATE_PLANNED
    assert list(intervention.areas) == [measurement_pb2.COMPLIANCE_AREA_DOCUMENTARY]
    assert list(intervention.evidence) == ["auditCases/C1", "auditCases/C1/findings/F1"]
    listed = await client.stub.ListComplianceInterventions(
        service_pb2.ListComplianceInterventionsRequest(trader="traders/IMP1"),
        metadata=client.auth(Role.ANALYST),
    )
    assert [i.name for i in listed.compliance_interventions] == [intervention.name]
    audited = await measure(
        client,
        dimension=measurement_pb2.COMPLIANCE_DIMENSION_OVERALL,
        sources=[measurement_pb2.COMPLIANCE_EVIDENCE_SOURCE_RANDOM_AUDIT],
    )
    assert (audited.overall.sample_size, audited.overall.compliant) == (2, 1)
    record = await client.stub.GetDeclarationRecord(
        service_pb2.GetDeclarationRecordRequest(name="declarationRecords/A-D3"),
        metadata=client.auth(),
    )
    assert record.declaration_record.audited is True
    assert not record.declaration_record.HasField("discrepancy_found")
