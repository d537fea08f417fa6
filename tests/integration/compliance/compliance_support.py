"""A client of the compliance service for tests, and builders of the events it ingests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import grpc
from customs.common.v1 import money_pb2
from customs.compliance.v1 import (
    compliance_service_pb2 as service_pb2,
)
from customs.compliance.v1 import (
    compliance_service_pb2_grpc,
    events_pb2,
    trader_pb2,
)
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from customs_kit.auth import Role
from customs_kit.testing.services import RunningService, SigningKeys


def stamp(text: str) -> Timestamp:
    """A timestamp from an ISO 8601 text (UTC when it has no offset)."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    result = Timestamp()
    result.FromDatetime(value)
    return result


def money(amount: str, currency: str = "EUR") -> money_pb2.Money:
    """``Money`` for a decimal text."""
    value = Decimal(amount)
    units = int(value)
    nanos = int((value - units) * 10**9)
    return money_pb2.Money(currency_code=currency, units=units, nanos=nanos)


def as_decimal(value: money_pb2.Money) -> Decimal:
    """The exact amount of a ``Money``."""
    return Decimal(value.units) + Decimal(value.nanos) / Decimal(10**9)


def item(
    hs_code: str = "610910",
    value: str = "1000",
    duties: str = "120",
    origin: str = "CN",
    tax_rate: float = 12.0,
    number: int = 1,
    currency: str = "EUR",
) -> events_pb2.AssessedItem:
    """One assessed item."""
    return events_pb2.AssessedItem(
        item_number=number,
        hs_code=hs_code,
        origin_country=origin,
        customs_value=money(value, currency),
        duties=money(duties, currency),
        tax_rate=tax_rate,
    )


def party(number: str, name: str = "") -> events_pb2.PartyReference:
    """A trader as a declaration names it."""
    return events_pb2.PartyReference(number=number, display_name=name)


def assessment_event(
    assessment: str,
    *,
    declaration: str | None = None,
    version: int = 1,
    office: str = "BEANR",
    lodged: str = "2025-03-10T09:00:00",
    importer: events_pb2.PartyReference | None = None,
    broker: events_pb2.PartyReference | None = None,
    carrier: events_pb2.PartyReference | None = None,
    items: list[events_pb2.AssessedItem] | None = None,
    channel: str = "CHANNEL_GREEN",
    random_selection: bool = False,
    decided: str | None = None,
    event_id: str | None = None,
) -> service_pb2.IngestAssessmentEventRequest:
    """An ``IngestAssessmentEventRequest`` as scoring's outbox sends it."""
    assessed = events_pb2.AssessedDeclaration(
        assessment=f"assessments/{assessment}",
        declaration_number=declaration or f"DEC-{assessment}",
        declaration_version=version,
        office=f"offices/{office}",
        lodgement_time=stamp(lodged),
        importer=importer or party("IMP1", "Importer One"),
        items=items or [item()],
        channel=channel,
        examination_level=(
            "EXAMINATION_LEVEL_COMMERCIAL_SAMPLE" if channel == "CHANNEL_RED" else None
        ),
        random_selection=random_selection,
        decide_time=stamp(decided or lodged),
    )
    if broker is not None:
        assessed.broker.CopyFrom(broker)
    if carrier is not None:
        assessed.carrier.CopyFrom(carrier)
    return service_pb2.IngestAssessmentEventRequest(
        event_id=event_id or str(uuid.uuid4()),
        source_service="scoring",
        occur_time=stamp(decided or lodged),
        assessed_declaration=assessed,
    )


def examination_event(
    report: str,
    declaration: str,
    *,
    random_selection: bool = True,
    discrepancies: list[events_pb2.ExaminationDiscrepancy] | None = None,
    importer: str = "IMP1",
    event_id: str | None = None,
) -> service_pb2.IngestExaminationOutcomeEventRequest:
    """An approved examination outcome as exam_reports' outbox sends it."""
    return service_pb2.IngestExaminationOutcomeEventRequest(
        event_id=event_id or str(uuid.uuid4()),
        source_service="exam-reports",
        occur_time=stamp("2025-03-12T10:00:00"),
        examination_outcome=events_pb2.ExaminationOutcome(
            examination=f"examinations/X-{report}",
            exam_report=f"examReports/{report}",
            declaration_number=declaration,
            declaration_version=1,
            office="offices/BEANR",
            importer=party(importer),
            channel="CHANNEL_RED",
            examination_level="EXAMINATION_LEVEL_COMMERCIAL_SAMPLE",
            random_selection=random_selection,
            discrepancy_found=bool(discrepancies),
            discrepancies=discrepancies or [],
            approve_time=stamp("2025-03-12T10:00:00"),
        ),
    )


def errors(error: grpc.aio.AioRpcError) -> dict[str, Any]:
    """The standard details of a rich error, by type name."""
    status = rpc_status.from_call(error)
    assert status is not None, "the error carries no google.rpc.Status"
    found: dict[str, Any] = {}
    for packed in status.details:
        for detail_type in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.ResourceInfo,
            error_details_pb2.PreconditionFailure,
        ):
            if packed.Is(detail_type.DESCRIPTOR):
                detail = detail_type()
                packed.Unpack(detail)
                found[detail_type.__name__] = detail
    return found


@dataclass
class Client:
    """The service's stub with tokens for each role."""

    service: RunningService
    keys: SigningKeys

    @property
    def stub(self) -> compliance_service_pb2_grpc.ComplianceServiceStub:
        """A stub on the service's channel."""
        return compliance_service_pb2_grpc.ComplianceServiceStub(self.service.channel)

    def auth(self, role: Role = Role.COMPLIANCE, subject: str = "carla") -> Any:
        """Call metadata for ``subject`` holding ``role``."""
        return self.keys.metadata(role, subject=subject)

    async def ingest(self, event: service_pb2.IngestAssessmentEventRequest) -> bool:
        """Delivers an assessment event as scoring's outbox relay would; returns ``duplicate``."""
        response = await self.stub.IngestAssessmentEvent(
            event, metadata=self.auth(Role.SERVICE, "scoring")
        )
        return bool(response.duplicate)

    async def create_trader(
        self,
        trader_id: str,
        name: str = "Acme Imports NV",
        roles: tuple[str, ...] = ("TRADER_ROLE_IMPORTER",),
        request_id: str | None = None,
        **fields: Any,
    ) -> trader_pb2.Trader:
        """Registers a trader as a compliance specialist."""
        response = await self.stub.CreateTrader(
            service_pb2.CreateTraderRequest(
                request_id=request_id or str(uuid.uuid4()),
                trader_id=trader_id,
                trader=trader_pb2.Trader(display_name=name, roles=list(roles), **fields),
            ),
            metadata=self.auth(),
        )
        return response.trader

    async def get_trader(self, trader_id: str) -> trader_pb2.Trader:
        """Reads a trader as a compliance specialist."""
        response = await self.stub.GetTrader(
            service_pb2.GetTraderRequest(name=f"traders/{trader_id}"), metadata=self.auth()
        )
        return response.trader
