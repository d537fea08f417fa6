"""Results from the field arrive as relayed events and are stored exactly once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import grpc
import pytest
from criteria_support import ANALYST, Criteria, timestamp, violated_fields
from customs.common.v1 import money_pb2, selectivity_pb2
from customs.criteria.v1 import criteria_service_pb2 as pb
from customs.criteria.v1 import events_pb2
from sqlalchemy import func, select

from criteria.adapters.orm import (
    AuditFindingCriterionRow,
    AuditFindingRow,
    ExaminationCriterionHitRow,
    ExaminationOutcomeRow,
)
from customs_kit.auth import Role
from customs_kit.db import Database

EXAM_REPORTS = (Role.SERVICE, "exam-reports")
AUDIT_REFERRAL = (Role.SERVICE, "audit-referral")


def _outcome_event(event_id: str) -> pb.IngestExaminationOutcomeEventRequest:
    when = timestamp(datetime(2026, 3, 2, 14, 30, tzinfo=UTC))
    return pb.IngestExaminationOutcomeEventRequest(
        event_id=event_id,
        source_service="exam-reports",
        occur_time=when,
        outcome=events_pb2.ExaminationOutcome(
            examination_report="examReports/r-1",
            assessment="assessments/a-1",
            declaration_number="2026-IM-000123",
            declaration_version=1,
            office_code="PORT-1",
            importer_id="IMP-42",
            examine_time=when,
            channel=selectivity_pb2.CHANNEL_RED,
            examination_level=selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT,
            discrepancy_found=True,
            criterion_outcomes=[
                events_pb2.CriterionOutcome(
                    criterion="criteria/cigarettes", criterion_revision=2, discrepancy_found=True
                ),
                events_pb2.CriterionOutcome(
                    criterion="criteria/paper-products", criterion_revision=1, item_number=3
                ),
            ],
            revenue_found=money_pb2.Money(currency_code="USD", units=1250, nanos=500_000_000),
            seized=True,
        ),
    )


def _finding_event(event_id: str) -> pb.IngestAuditFindingEventRequest:
    return pb.IngestAuditFindingEventRequest(
        event_id=event_id,
        source_service="audit-referral",
        occur_time=timestamp(datetime(2026, 4, 1, tzinfo=UTC)),
        finding=events_pb2.AuditFinding(
            audit_case="auditCases/c-9",
            importer_id="IMP-42",
            declaration_numbers=["2026-IM-000123", "2026-IM-000124"],
            criteria=["criteria/cigarettes"],
            outcome=events_pb2.AUDIT_OUTCOME_DUTY_ASSESSED,
            discrepancy_found=True,
            unpaid_duty_assessed=money_pb2.Money(currency_code="USD", units=9000),
            finding_time=timestamp(datetime(2026, 3, 30, tzinfo=UTC)),
        ),
    )


async def _count(database_url: str, table: type) -> int:
    database = Database(database_url)
    try:
        async with database.session_factory() as session:
            return int(await session.scalar(select(func.count()).select_from(table)) or 0)
    finally:
        await database.dispose()


async def test_an_examination_outcome_delivered_twice_is_stored_once(
    criteria: Criteria, database_url: str
) -> None:
    event = _outcome_event(str(uuid.uuid4()))

    first = await criteria.call("IngestExaminationOutcomeEvent", event, EXAM_REPORTS)
    again = await criteria.call("IngestExaminationOutcomeEvent", event, EXAM_REPORTS)

    assert (first.duplicate, again.duplicate) == (False, True)
    assert await _count(database_url, ExaminationOutcomeRow) == 1
    assert await _count(database_url, ExaminationCriterionHitRow) == 2


async def test_an_audit_finding_delivered_twice_is_stored_once(
    criteria: Criteria, database_url: str
) -> None:
    event = _finding_event(str(uuid.uuid4()))

    first = await criteria.call("IngestAuditFindingEvent", event, AUDIT_REFERRAL)
    again = await criteria.call("IngestAuditFindingEvent", event, AUDIT_REFERRAL)

    assert (first.duplicate, again.duplicate) == (False, True)
    assert await _count(database_url, AuditFindingRow) == 1
    assert await _count(database_url, AuditFindingCriterionRow) == 1


async def test_distinct_events_are_all_stored(criteria: Criteria, database_url: str) -> None:
    for _ in range(3):
        await criteria.call(
            "IngestExaminationOutcomeEvent", _outcome_event(str(uuid.uuid4())), EXAM_REPORTS
        )

    assert await _count(database_url, ExaminationOutcomeRow) == 3


async def test_only_services_deliver_events(criteria: Criteria) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.call(
            "IngestExaminationOutcomeEvent", _outcome_event(str(uuid.uuid4())), ANALYST
        )

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_an_event_from_an_unexpected_source_is_refused(criteria: Criteria) -> None:
    event = _outcome_event(str(uuid.uuid4()))
    event.source_service = "compliance"

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.call("IngestExaminationOutcomeEvent", event, EXAM_REPORTS)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(refused.value) == ["source_service"]
