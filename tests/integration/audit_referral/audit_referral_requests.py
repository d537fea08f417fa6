"""Requests and error details shared by the audit_referral integration tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
from customs.audit_referral.v1 import (
    audit_case_pb2,
    events_pb2,
    referral_pb2,
)
from customs.audit_referral.v1 import (
    audit_referral_service_pb2 as pb,
)
from customs.common.v1 import money_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys


@dataclass
class PeerSink:
    """A real gRPC server standing in for compliance, criteria and scoring: records events."""

    port: int = 0
    received: dict[str, list[bytes]] = field(default_factory=dict)
    #: The ``traceparent`` each delivery carried, by method, in the order received.
    traceparents: dict[str, list[str]] = field(default_factory=dict)

    def handler(self, method: str) -> Callable[[bytes, Any], Any]:
        async def ingest(request: bytes, context: Any) -> bytes:
            metadata = dict(context.invocation_metadata())
            self.traceparents.setdefault(method, []).append(metadata.get("traceparent", ""))
            self.received.setdefault(method, []).append(request)
            return b""

        return ingest


@dataclass(frozen=True)
class Callers:
    """Call metadata for each kind of caller."""

    keys: SigningKeys

    def __call__(self, role: Role, subject: str = "user") -> tuple[tuple[str, str]]:
        return self.keys.metadata(role, subject=subject)

    @property
    def scoring(self) -> tuple[tuple[str, str]]:
        return self.keys.metadata(Role.SERVICE, subject="scoring")

    @property
    def auditor(self) -> tuple[tuple[str, str]]:
        return self.keys.metadata(Role.AUDITOR, subject="aud-1")

    @property
    def analyst(self) -> tuple[tuple[str, str]]:
        return self.keys.metadata(Role.ANALYST, subject="ana")


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def money(amount: str, currency: str = "EUR") -> money_pb2.Money:
    units, _, fraction = amount.partition(".")
    return money_pb2.Money(
        currency_code=currency, units=int(units), nanos=int(fraction.ljust(9, "0"))
    )


def blue_decision_event(
    *, event_id: str | None = None, importer: str = "IMP-001", declaration: str = "DECL-1"
) -> pb.IngestBlueDecisionEventRequest:
    now = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)
    return pb.IngestBlueDecisionEventRequest(
        event_id=event_id or str(uuid.uuid4()),
        source_service="scoring",
        occur_time=timestamp(now),
        blue_decision=events_pb2.BlueDecision(
            assessment="assessments/a-1",
            declaration_number=declaration,
            declaration_version=2,
            office="offices/CTN01",
            importer=events_pb2.PartyReference(number=importer, display_name="Textiles Ltd"),
            broker=events_pb2.PartyReference(number="BRK-9", display_name="Fast Brokers"),
            lodgement_time=timestamp(now),
            matched_criteria=["criteria/t-shirts-undervalued"],
            audit_instructions=["Verify the invoice against the payment records."],
            total_customs_value=money("12000.00"),
            total_duties=money("1440.50"),
            decide_time=timestamp(now),
        ),
    )


def examination_finding_event(*, seized: bool) -> pb.IngestExaminationFindingEventRequest:
    now = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)
    return pb.IngestExaminationFindingEventRequest(
        event_id=str(uuid.uuid4()),
        source_service="exam-reports",
        occur_time=timestamp(now),
        examination_finding=events_pb2.ExaminationFinding(
            examination="examinations/e-7",
            exam_report="examReports/r-7",
            declaration_number="DECL-7",
            declaration_version=1,
            office="offices/CTN01",
            importer=events_pb2.PartyReference(number="IMP-007", display_name="Poultry Co"),
            discrepancy_detail="Declared 5,000 kg frozen chicken parts, found 6,000 kg.",
            discrepancies=[
                events_pb2.ExaminationDiscrepancy(
                    type="DISCREPANCY_TYPE_QUANTITY", item_number=1, description="1,000 kg over"
                )
            ],
            penalty_recommended=True,
            merchandise_seized=seized,
            seizure_case_number="SZ-2025-17" if seized else "",
            post_clearance_audit_recommended=True,
            approve_time=timestamp(now),
        ),
    )


def manual_referral(
    *,
    trader: str = "IMP-001",
    priority: str = "REFERRAL_PRIORITY_NORMAL",
    reason: str = "Royalties paid to the licensor are not in the declared value.",
) -> referral_pb2.Referral:
    return referral_pb2.Referral(
        source="REFERRAL_SOURCE_MANUAL",
        trader=f"traders/{trader}",
        trader_display_name="Textiles Ltd",
        declarations=[
            referral_pb2.DeclarationReference(
                declaration_number="DECL-1", declaration_version=1, office="offices/CTN01"
            )
        ],
        reason=reason,
        evidence=["criteria/royalties"],
        priority=priority,
        revenue_at_risk=money("2500.00"),
    )


def new_case(trader: str = "IMP-001") -> audit_case_pb2.AuditCase:
    return audit_case_pb2.AuditCase(
        trader=f"traders/{trader}",
        trader_display_name="Textiles Ltd",
        selection_basis="AUDIT_SELECTION_BASIS_SPECIFIC_DECLARATION",
        scope="Valuation of the 2024 imports from the licensor, royalties included.",
        audit_period_start_date="2024-01-01",
        audit_period_end_date="2024-12-31",
        announced=True,
        notice_time=timestamp(datetime(2025, 3, 10, tzinfo=UTC)),
        planned_start_date="2025-04-01",
        lead_auditor="aud-1",
        team=["aud-2"],
    )


def error_details(error: grpc.aio.AioRpcError) -> dict[str, Any]:
    """The google.rpc details of a failed call, by type name."""
    status = rpc_status.from_call(error)
    assert status is not None, "the error carries no google.rpc.Status"
    found: dict[str, Any] = {}
    for packed in status.details:
        for detail_type in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.PreconditionFailure,
            error_details_pb2.ResourceInfo,
        ):
            if packed.Is(detail_type.DESCRIPTOR):
                detail = detail_type()
                packed.Unpack(detail)
                found[detail_type.__name__] = detail
    return found
