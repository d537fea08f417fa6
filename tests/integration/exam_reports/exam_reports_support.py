"""Helpers of the exam-reports integration tests: a client with tokens, requests, errors."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from customs.common.v1 import selectivity_pb2
from customs.exam_reports.v1 import (
    events_pb2,
    examination_pb2,
    office_pb2,
    officer_pb2,
)
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from customs.exam_reports.v1 import exam_reports_service_pb2_grpc as pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from customs_kit.auth import Role
from customs_kit.testing.services import RunningService, SigningKeys


class Client:
    """A stub with tokens: ``await client.as_(Role.OPERATOR).CreateOffice(...)``."""

    def __init__(self, service: RunningService, keys: SigningKeys) -> None:
        self.stub = pb2_grpc.ExamReportsServiceStub(service.channel)
        self.keys = keys

    def as_(self, *roles: Role, subject: str = "test-user") -> BoundStub:
        """Calls made with a token for ``subject`` carrying ``roles``."""
        return BoundStub(self.stub, self.keys.metadata(*roles, subject=subject))

    @property
    def scoring(self) -> BoundStub:
        """Calls made as the scoring service (role ``service``)."""
        return self.as_(Role.SERVICE, subject="scoring")

    @property
    def operator(self) -> BoundStub:
        """Calls made as a platform operator."""
        return self.as_(Role.OPERATOR, subject="operator")

    @property
    def supervisor(self) -> BoundStub:
        """Calls made as a supervisor who oversees every task."""
        return self.as_(Role.SUPERVISOR, subject="supervisor")


class BoundStub:
    """The service stub with one caller's token attached to every call."""

    def __init__(self, stub: pb2_grpc.ExamReportsServiceStub, metadata: Any) -> None:
        self._stub = stub
        self._metadata = metadata

    def __getattr__(self, method: str) -> Callable[..., Any]:
        call = getattr(self._stub, method)

        def invoke(request: Any) -> Any:
            return call(request, metadata=self._metadata)

        return invoke


def timestamp(moment: datetime) -> Timestamp:
    """A protobuf timestamp."""
    value = Timestamp()
    value.FromDatetime(moment)
    return value


def now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


def decision_event(
    *,
    office: str = "offices/PORT1",
    declaration_number: str = "DCL-0001",
    declaration_version: int = 1,
    channel: int = selectivity_pb2.CHANNEL_RED,
    level: int = selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT,
    instructions: tuple[str, ...] = ("Unload the container; check cartons for concealed tobacco.",),
    criteria: tuple[str, ...] = ("criteria/cigarettes-2402",),
    random_selection: bool = False,
    decide_time: datetime | None = None,
    event_id: str | None = None,
) -> pb2.IngestDecisionEventRequest:
    """An IngestDecisionEvent request as scoring's outbox relay sends it."""
    decided = decide_time or now()
    return pb2.IngestDecisionEventRequest(
        event_id=event_id or str(uuid.uuid4()),
        source_service="scoring",
        occur_time=timestamp(decided),
        decision=events_pb2.SelectivityDecision(
            assessment=f"assessments/{uuid.uuid4().hex[:12]}",
            declaration_number=declaration_number,
            declaration_version=declaration_version,
            office=office,
            importer=examination_pb2.TraderReference(number="IMP-77", display_name="Acme Imports"),
            broker=examination_pb2.TraderReference(number="BRK-5", display_name="Fast Brokers"),
            carrier=examination_pb2.TraderReference(number="CAR-9", display_name="Road Co"),
            channel=channel,
            examination_level=level,
            documents_to_check=[
                examination_pb2.RequiredDocument(
                    code="CERT-ORIGIN", description="Certificate of origin matches the invoice"
                )
            ],
            examiner_instructions=list(instructions),
            random_selection=random_selection,
            matched_criteria=list(criteria),
            decide_time=timestamp(decided),
        ),
    )


async def create_office(
    client: Client, office_id: str = "PORT1", *, time_zone: str = "Africa/Nairobi"
) -> office_pb2.Office:
    """Creates an active office as the operator."""
    response = await client.operator.CreateOffice(
        pb2.CreateOfficeRequest(
            request_id=str(uuid.uuid4()),
            office_id=office_id,
            office=office_pb2.Office(
                display_name=f"Office {office_id}", time_zone=time_zone, active=True
            ),
        )
    )
    return response.office


async def create_officer(
    client: Client,
    officer_id: str,
    *,
    office: str = "offices/PORT1",
    role: int = officer_pb2.OFFICER_ROLE_INSPECTOR,
) -> officer_pb2.Officer:
    """Creates an active officer whose token subject is ``officer_id``."""
    response = await client.operator.CreateOfficer(
        pb2.CreateOfficerRequest(
            request_id=str(uuid.uuid4()),
            officer_id=officer_id,
            officer=officer_pb2.Officer(
                display_name=f"Officer {officer_id}",
                badge_number=f"B-{officer_id}",
                office=office,
                role=role,
                subject=officer_id,
                active=True,
            ),
        )
    )
    return response.officer


async def put_on_shift(
    client: Client, officer_id: str, *, hours_before: float = 1, hours_after: float = 7
) -> officer_pb2.Shift:
    """Records a shift of the officer that is running now."""
    current = now()
    response = await client.supervisor.CreateShift(
        pb2.CreateShiftRequest(
            parent=f"officers/{officer_id}",
            request_id=str(uuid.uuid4()),
            shift=officer_pb2.Shift(
                start_time=timestamp(current - timedelta(hours=hours_before)),
                end_time=timestamp(current + timedelta(hours=hours_after)),
            ),
        )
    )
    return response.shift


def error_details(error: grpc.aio.AioRpcError) -> dict[str, Any]:
    """The standard details of a rich error, by type name."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
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


def violated_fields(error: grpc.aio.AioRpcError) -> list[str]:
    """The fields named by the BadRequest of an INVALID_ARGUMENT error."""
    return [v.field for v in error_details(error)["BadRequest"].field_violations]


def reason(error: grpc.aio.AioRpcError) -> str:
    """The ErrorInfo reason of a rich error."""
    info: error_details_pb2.ErrorInfo = error_details(error)["ErrorInfo"]
    return info.reason
