"""Helpers of the exam-reports integration tests: a client with tokens, requests, errors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from customs.audit_referral.v1 import audit_referral_service_pb2, audit_referral_service_pb2_grpc
from customs.common.v1 import selectivity_pb2
from customs.compliance.v1 import compliance_service_pb2, compliance_service_pb2_grpc
from customs.criteria.v1 import criteria_service_pb2, criteria_service_pb2_grpc
from customs.exam_reports.v1 import (
    events_pb2,
    exam_report_pb2,
    examination_pb2,
    office_pb2,
    officer_pb2,
)
from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from customs.exam_reports.v1 import exam_reports_service_pb2_grpc as pb2_grpc
from customs.scoring.v1 import scoring_service_pb2, scoring_service_pb2_grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from customs_kit.auth import Role
from customs_kit.testing.services import RunningService, SigningKeys


class Client:
    """A stub with tokens: ``await client.as_(Role.OPERATOR).CreateOffice(...)``."""

    def __init__(self, service: RunningService | grpc.aio.Channel, keys: SigningKeys) -> None:
        channel = service.channel if isinstance(service, RunningService) else service
        self.stub = pb2_grpc.ExamReportsServiceStub(channel)
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
    hits: tuple[tuple[str, int, int], ...] = (),
    random_selection: bool = False,
    decide_time: datetime | None = None,
    event_id: str | None = None,
) -> pb2.IngestDecisionEventRequest:
    """An IngestDecisionEvent request as scoring's outbox relay sends it.

    ``hits`` are the selecting hits as (criterion, revision, item number).
    """
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
            selected_criteria=[
                events_pb2.SelectedCriterion(
                    criterion=criterion, criterion_revision=revision, item_number=item_number
                )
                for criterion, revision, item_number in hits
            ],
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


class EventReceivers:
    """Stand-ins for criteria, compliance, audit referral and scoring that record what they get.

    They serve the receivers' real generated service definitions on a real
    port, so the outbox relay delivers to them exactly as to the real services;
    each request is kept with the caller's metadata for the test to inspect.
    """

    def __init__(self) -> None:
        self.received: dict[str, list[Message]] = {
            "criteria": [],
            "compliance": [],
            "audit-referral": [],
            "scoring": [],
        }
        self.authorizations: list[str] = []
        self._arrived = asyncio.Condition()
        self._server = grpc.aio.server()
        self.address = ""

    async def _record(self, destination: str, request: Message, context: Any) -> None:
        self.authorizations.append(dict(context.invocation_metadata()).get("authorization", ""))
        async with self._arrived:
            self.received[destination].append(request)
            self._arrived.notify_all()

    async def start(self) -> None:
        receivers = self

        class Criteria(criteria_service_pb2_grpc.CriteriaServiceServicer):
            async def IngestExaminationOutcomeEvent(
                self, request: Message, context: Any
            ) -> Message:
                await receivers._record("criteria", request, context)
                return criteria_service_pb2.IngestExaminationOutcomeEventResponse()

        class Compliance(compliance_service_pb2_grpc.ComplianceServiceServicer):
            async def IngestExaminationOutcomeEvent(
                self, request: Message, context: Any
            ) -> Message:
                await receivers._record("compliance", request, context)
                return compliance_service_pb2.IngestExaminationOutcomeEventResponse()

        class AuditReferral(audit_referral_service_pb2_grpc.AuditReferralServiceServicer):
            async def IngestExaminationFindingEvent(
                self, request: Message, context: Any
            ) -> Message:
                await receivers._record("audit-referral", request, context)
                return audit_referral_service_pb2.IngestExaminationFindingEventResponse()

        class Scoring(scoring_service_pb2_grpc.ScoringServiceServicer):
            async def IngestExaminationOutcomeEvent(
                self, request: Message, context: Any
            ) -> Message:
                await receivers._record("scoring", request, context)
                return scoring_service_pb2.IngestExaminationOutcomeEventResponse()

        criteria_service_pb2_grpc.add_CriteriaServiceServicer_to_server(Criteria(), self._server)
        scoring_service_pb2_grpc.add_ScoringServiceServicer_to_server(Scoring(), self._server)
        compliance_service_pb2_grpc.add_ComplianceServiceServicer_to_server(
            Compliance(), self._server
        )
        audit_referral_service_pb2_grpc.add_AuditReferralServiceServicer_to_server(
            AuditReferral(), self._server
        )
        port = self._server.add_insecure_port("127.0.0.1:0")
        await self._server.start()
        self.address = f"127.0.0.1:{port}"

    async def stop(self) -> None:
        await self._server.stop(None)

    @property
    def peer_addresses(self) -> dict[str, str]:
        """The settings' peer addresses that point the service's relay here."""
        return {destination: self.address for destination in self.received}

    async def wait_for(self, destination: str, count: int) -> list[Message]:
        """The requests ``destination`` received once there are ``count``, waiting up to 5 s."""
        async with asyncio.timeout(5), self._arrived:
            await self._arrived.wait_for(lambda: len(self.received[destination]) >= count)
            return list(self.received[destination])


def clean_report(
    examination: str, *, officer: str = "anna", examined: datetime | None = None
) -> exam_report_pb2.ExamReport:
    """A complete report of an examination of DCL-0001 that found nothing."""
    return exam_report_pb2.ExamReport(
        examination=examination,
        declaration_number="DCL-0001",
        customs_office="offices/PORT1",
        importer_name="Acme Imports",
        importer_number="IMP-77",
        broker_name="Fast Brokers",
        inspecting_officer=f"officers/{officer}",
        reason=examination_pb2.EXAMINATION_REASON_CRITERIA,
        examination_time=timestamp(examined or now() - timedelta(minutes=30)),
        discrepancy_found=False,
        intelligence_information="none found",
    )


def discrepancy_report(
    examination: str, *, officer: str = "anna", examined: datetime | None = None
) -> exam_report_pb2.ExamReport:
    """A complete report of an examination that found 1,000 kg more than declared."""
    report = clean_report(examination, officer=officer, examined=examined)
    report.discrepancy_found = True
    report.discrepancy_detail = "Declared 5,000 kg frozen chicken parts, found 6,000 kg."
    report.discrepancies.append(
        exam_report_pb2.Discrepancy(
            type=exam_report_pb2.DISCREPANCY_TYPE_QUANTITY,
            item_number=1,
            description="6,000 kg of frozen chicken parts where 5,000 kg were declared",
            declared_quantity=exam_report_pb2.Quantity(value=5000, unit="KGM"),
            found_quantity=exam_report_pb2.Quantity(value=6000, unit="KGM"),
        )
    )
    report.penalty_recommended = True
    report.merchandise_seized = True
    report.seizure_case_number = "SZ-2026/114"
    report.carrier.CopyFrom(
        exam_report_pb2.CarrierData(display_name="Road Co Ltd", address="1 Depot Road, Mombasa")
    )
    report.driver.CopyFrom(
        exam_report_pb2.DriverData(
            full_name="John Kamau Otieno",
            date_of_birth="1980-04-02",
            nationality="KE",
            identity_document=exam_report_pb2.IdentityDocument(
                type=exam_report_pb2.IDENTITY_DOCUMENT_TYPE_PASSPORT, number="A1234567"
            ),
        )
    )
    return report


def submit_request(
    report: exam_report_pb2.ExamReport, report_id: str | None = None
) -> pb2.SubmitExamReportRequest:
    """A SubmitExamReport request signed a minute ago."""
    return pb2.SubmitExamReportRequest(
        exam_report_id=report_id or str(uuid.uuid4()),
        exam_report=report,
        sign_time=timestamp(now() - timedelta(minutes=1)),
    )


@dataclass
class Desk:
    """Office PORT1 at work: inspector anna on shift, supervisor sam, one task for anna."""

    client: Client
    anna: BoundStub
    sam: BoundStub
    examination: str

    async def submit(
        self, report: exam_report_pb2.ExamReport, report_id: str | None = None
    ) -> exam_report_pb2.ExamReport:
        """Anna submits ``report``; the submitted report."""
        response = await self.anna.SubmitExamReport(submit_request(report, report_id))
        return response.exam_report

    async def approve(self, report: exam_report_pb2.ExamReport) -> exam_report_pb2.ExamReport:
        """Sam approves ``report`` as it stands."""
        response = await self.sam.ApproveExamReport(
            pb2.ApproveExamReportRequest(
                name=report.name, request_id=str(uuid.uuid4()), etag=report.etag
            )
        )
        return response.exam_report

    async def examination_now(self, name: str | None = None) -> examination_pb2.Examination:
        """The examination as the supervisor reads it now."""
        response = await self.sam.GetExamination(
            pb2.GetExaminationRequest(name=name or self.examination)
        )
        return response.examination


async def open_desk(client: Client, **decision: Any) -> Desk:
    """Sets up :class:`Desk`; ``decision`` adjusts the decision that opens anna's task."""
    await create_office(client)
    await create_officer(client, "anna")
    await create_officer(client, "sam", role=officer_pb2.OFFICER_ROLE_SUPERVISOR)
    await put_on_shift(client, "anna")
    opened = await client.scoring.IngestDecisionEvent(decision_event(**decision))
    return Desk(
        client=client,
        anna=client.as_(Role.OFFICER, subject="anna"),
        sam=client.as_(Role.SUPERVISOR, subject="sam"),
        examination=opened.examination,
    )
