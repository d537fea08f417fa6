"""The gRPC face of the service: decode the request, call a use case, encode the answer.

Each implemented RPC declares its roles (as the contract's comments state)
with ``allow``; the call guard has authenticated the caller and validated the
request against the contract's rules before any method here runs. RPCs not
overridden here answer UNIMPLEMENTED.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from customs.exam_reports.v1 import exam_reports_service_pb2 as pb2
from customs.exam_reports.v1 import exam_reports_service_pb2_grpc as pb2_grpc

from customs_kit.anchoring import HistoryAnchor
from customs_kit.auth import Role, allow, current_principal
from customs_kit.changefeed import (
    FeedEvent,
    FeedStreams,
    SnapshotEnded,
    SnapshotEntry,
    SnapshotStarted,
)
from customs_kit.db import Database, utcnow
from customs_kit.errors import FieldViolation, InvalidArgument
from customs_kit.idempotency import fingerprint, run_idempotent
from customs_kit.uow import UnitOfWork
from exam_reports.adapters.capacity_feed import decode_capacity_limit
from exam_reports.domain.attachments import ContentReceiver
from exam_reports.domain.examinations import ExaminationFilter
from exam_reports.entrypoints import mappers, review_mappers
from exam_reports.service_layer import (
    attachments,
    exam_reports,
    examinations,
    integrity,
    intelligence,
    overrides,
    reference_data,
)
from exam_reports.service_layer.capacity_feed import OfficeCapacityWatch
from exam_reports.service_layer.common import Caller, Pager
from exam_reports.service_layer.decision_log import verify_decision_log

_SERVICE = "/customs.exam_reports.v1.ExamReportsService/"

#: Roles that see every task and report; any other caller (an officer) sees only their own.
_OVERSEERS = frozenset({Role.SUPERVISOR, Role.ANALYST, Role.RMC, Role.SERVICE})

_READERS = (Role.OFFICER, Role.SUPERVISOR, Role.ANALYST, Role.RMC, Role.OPERATOR, Role.SERVICE)
_CAPACITY_READERS = (Role.SUPERVISOR, Role.ANALYST, Role.RMC, Role.OPERATOR, Role.SERVICE)
_TABLET = (Role.OFFICER, Role.SUPERVISOR)
#: Who reads reports, overrides, notes and files (officers only their own).
_REVIEW_READERS = (Role.OFFICER, Role.SUPERVISOR, Role.ANALYST, Role.RMC)


def _capacity_watch_message(event: FeedEvent) -> pb2.WatchOfficeCapacityResponse:
    """One message of the WatchOfficeCapacity stream (offices are never removed)."""
    message = pb2.WatchOfficeCapacityResponse
    if isinstance(event, SnapshotStarted):
        return message(revision=event.revision, snapshot_start=message.SnapshotStart())
    if isinstance(event, SnapshotEnded):
        return message(revision=event.revision, snapshot_end=message.SnapshotEnd())
    change = event.change if isinstance(event, SnapshotEntry) else event
    if change.payload is None:
        raise ValueError(f"office {change.key} has no capacity limit: offices are never removed")
    return message(
        revision=event.revision, office_capacity_limit=decode_capacity_limit(change.payload)
    )


def _caller() -> Caller:
    principal = current_principal()
    return Caller(subject=principal.subject, sees_all=principal.has_any(_OVERSEERS))


class ExamReportsServicer(pb2_grpc.ExamReportsServiceServicer):
    """``customs.exam_reports.v1.ExamReportsService``."""

    def __init__(
        self,
        database: Database,
        pager: Pager,
        capacity_watch: OfficeCapacityWatch,
        *,
        outcomes: FeedStreams,
        national_currency: str,
        history_anchor: HistoryAnchor | None = None,
    ) -> None:
        self._database = database
        self._pager = pager
        self._capacity_watch = capacity_watch
        self._outcomes = outcomes
        self._national_currency = national_currency
        # Signs checkpoints of the decision log's head and fetches the latest one kept.
        self._anchor = history_anchor

    # --- offices -------------------------------------------------------------------------

    @allow(*_READERS)
    async def GetOffice(self, request: pb2.GetOfficeRequest, context: Any) -> pb2.GetOfficeResponse:
        office = await reference_data.get_office(
            self._database, mappers.id_of(request.name, "offices")
        )
        return pb2.GetOfficeResponse(office=mappers.office_to_proto(office))

    @allow(*_READERS)
    async def ListOffices(
        self, request: pb2.ListOfficesRequest, context: Any
    ) -> pb2.ListOfficesResponse:
        page = await reference_data.list_offices(
            self._database,
            self._pager,
            page_size=request.page_size,
            page_token=request.page_token,
            show_inactive=request.show_inactive,
        )
        return pb2.ListOfficesResponse(
            offices=[mappers.office_to_proto(office) for office in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(Role.OPERATOR)
    async def CreateOffice(
        self, request: pb2.CreateOfficeRequest, context: Any
    ) -> pb2.CreateOfficeResponse:
        async def work(uow: UnitOfWork) -> pb2.CreateOfficeResponse:
            office = await reference_data.create_office(
                uow,
                office_id=request.office_id,
                display_name=request.office.display_name,
                time_zone=request.office.time_zone,
                address=request.office.address,
                active=request.office.active,
            )
            return pb2.CreateOfficeResponse(office=mappers.office_to_proto(office))

        return await run_idempotent(
            self._database, _SERVICE + "CreateOffice", request, work, pb2.CreateOfficeResponse
        )

    @allow(Role.OPERATOR)
    async def UpdateOffice(
        self, request: pb2.UpdateOfficeRequest, context: Any
    ) -> pb2.UpdateOfficeResponse:
        office = await reference_data.update_office(
            self._database,
            mappers.id_of(request.office.name, "offices"),
            request.office.etag,
            mappers.office_changes(request.office, request.update_mask.paths),
        )
        return pb2.UpdateOfficeResponse(office=mappers.office_to_proto(office))

    # --- facilities ----------------------------------------------------------------------

    @allow(*_READERS)
    async def GetExaminationFacility(
        self, request: pb2.GetExaminationFacilityRequest, context: Any
    ) -> pb2.GetExaminationFacilityResponse:
        facility = await reference_data.get_facility(
            self._database, *mappers.facility_ids(request.name)
        )
        return pb2.GetExaminationFacilityResponse(
            examination_facility=mappers.facility_to_proto(facility)
        )

    @allow(*_READERS)
    async def ListExaminationFacilities(
        self, request: pb2.ListExaminationFacilitiesRequest, context: Any
    ) -> pb2.ListExaminationFacilitiesResponse:
        office = mappers.id_of(request.parent, "offices")
        page = await reference_data.list_facilities(
            self._database,
            self._pager,
            office_id=None if office == "-" else office,
            page_size=request.page_size,
            page_token=request.page_token,
            capability=mappers.capability_from_proto(request.capability),
            show_inactive=request.show_inactive,
        )
        return pb2.ListExaminationFacilitiesResponse(
            examination_facilities=[mappers.facility_to_proto(f) for f in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(Role.OPERATOR, Role.SUPERVISOR)
    async def CreateExaminationFacility(
        self, request: pb2.CreateExaminationFacilityRequest, context: Any
    ) -> pb2.CreateExaminationFacilityResponse:
        facility = request.examination_facility

        async def work(uow: UnitOfWork) -> pb2.CreateExaminationFacilityResponse:
            created = await reference_data.create_facility(
                uow,
                office_id=mappers.id_of(request.parent, "offices"),
                facility_id=request.examination_facility_id,
                display_name=facility.display_name,
                address=facility.address,
                capabilities=mappers.capabilities_from_proto(facility.capabilities),
                daily_capacities=mappers.capacities_from_proto(facility.daily_capacities),
                active=facility.active,
            )
            return pb2.CreateExaminationFacilityResponse(
                examination_facility=mappers.facility_to_proto(created)
            )

        return await run_idempotent(
            self._database,
            _SERVICE + "CreateExaminationFacility",
            request,
            work,
            pb2.CreateExaminationFacilityResponse,
        )

    @allow(Role.OPERATOR, Role.SUPERVISOR)
    async def UpdateExaminationFacility(
        self, request: pb2.UpdateExaminationFacilityRequest, context: Any
    ) -> pb2.UpdateExaminationFacilityResponse:
        facility = request.examination_facility
        updated = await reference_data.update_facility(
            self._database,
            *mappers.facility_ids(facility.name),
            facility.etag,
            mappers.facility_changes(facility, request.update_mask.paths),
        )
        return pb2.UpdateExaminationFacilityResponse(
            examination_facility=mappers.facility_to_proto(updated)
        )

    # --- capacity ------------------------------------------------------------------------

    @allow(*_CAPACITY_READERS)
    async def GetOfficeCapacity(
        self, request: pb2.GetOfficeCapacityRequest, context: Any
    ) -> pb2.GetOfficeCapacityResponse:
        capacity = await reference_data.get_office_capacity(
            self._database,
            mappers.id_of(request.office, "offices"),
            request.start_date,
            request.end_date,
        )
        return pb2.GetOfficeCapacityResponse(
            office_capacity=mappers.office_capacity_to_proto(capacity)
        )

    @allow(*_CAPACITY_READERS)
    async def ListOfficeCapacities(
        self, request: pb2.ListOfficeCapacitiesRequest, context: Any
    ) -> pb2.ListOfficeCapacitiesResponse:
        page = await reference_data.list_office_capacities(
            self._database,
            self._pager,
            start_date=request.start_date,
            end_date=request.end_date,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb2.ListOfficeCapacitiesResponse(
            office_capacities=[mappers.office_capacity_to_proto(c) for c in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(Role.SERVICE)
    async def WatchOfficeCapacity(
        self, request: pb2.WatchOfficeCapacityRequest, context: Any
    ) -> AsyncIterator[pb2.WatchOfficeCapacityResponse]:
        async for event in self._capacity_watch.stream(request.since_revision):
            yield _capacity_watch_message(event)

    # --- officers and shifts -------------------------------------------------------------

    @allow(Role.OFFICER, Role.SUPERVISOR, Role.ANALYST, Role.RMC, Role.OPERATOR)
    async def GetOfficer(
        self, request: pb2.GetOfficerRequest, context: Any
    ) -> pb2.GetOfficerResponse:
        officer = await reference_data.get_officer(
            self._database, mappers.id_of(request.name, "officers")
        )
        return pb2.GetOfficerResponse(officer=mappers.officer_to_proto(officer))

    @allow(Role.SUPERVISOR, Role.RMC, Role.OPERATOR)
    async def ListOfficers(
        self, request: pb2.ListOfficersRequest, context: Any
    ) -> pb2.ListOfficersResponse:
        page = await reference_data.list_officers(
            self._database,
            self._pager,
            page_size=request.page_size,
            page_token=request.page_token,
            office_id=mappers.optional_id(request.office, "offices"),
            role=mappers.role_from_proto(request.role),
            show_inactive=request.show_inactive,
        )
        return pb2.ListOfficersResponse(
            officers=[mappers.officer_to_proto(officer) for officer in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(Role.OPERATOR)
    async def CreateOfficer(
        self, request: pb2.CreateOfficerRequest, context: Any
    ) -> pb2.CreateOfficerResponse:
        officer = request.officer
        role = mappers.role_from_proto(officer.role)
        if role is None:
            raise ValueError("the contract requires officer.role")

        async def work(uow: UnitOfWork) -> pb2.CreateOfficerResponse:
            created = await reference_data.create_officer(
                uow,
                officer_id=request.officer_id,
                display_name=officer.display_name,
                badge_number=officer.badge_number,
                office_id=mappers.id_of(officer.office, "offices"),
                role=role,
                subject=officer.subject,
                active=officer.active,
            )
            return pb2.CreateOfficerResponse(officer=mappers.officer_to_proto(created))

        return await run_idempotent(
            self._database, _SERVICE + "CreateOfficer", request, work, pb2.CreateOfficerResponse
        )

    @allow(Role.OPERATOR)
    async def UpdateOfficer(
        self, request: pb2.UpdateOfficerRequest, context: Any
    ) -> pb2.UpdateOfficerResponse:
        officer = await reference_data.update_officer(
            self._database,
            mappers.id_of(request.officer.name, "officers"),
            request.officer.etag,
            mappers.officer_changes(request.officer, request.update_mask.paths),
        )
        return pb2.UpdateOfficerResponse(officer=mappers.officer_to_proto(officer))

    @allow(Role.OFFICER, Role.SUPERVISOR, Role.RMC, Role.OPERATOR)
    async def ListShifts(
        self, request: pb2.ListShiftsRequest, context: Any
    ) -> pb2.ListShiftsResponse:
        officer = mappers.id_of(request.parent, "officers")
        page = await reference_data.list_shifts(
            self._database,
            self._pager,
            officer_id=None if officer == "-" else officer,
            office_id=mappers.optional_id(request.office, "offices"),
            window_start=mappers.optional_datetime(request, "start_time"),
            window_end=mappers.optional_datetime(request, "end_time"),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb2.ListShiftsResponse(
            shifts=[mappers.shift_to_proto(shift) for shift in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(Role.SUPERVISOR, Role.OPERATOR)
    async def CreateShift(
        self, request: pb2.CreateShiftRequest, context: Any
    ) -> pb2.CreateShiftResponse:
        async def work(uow: UnitOfWork) -> pb2.CreateShiftResponse:
            shift = await reference_data.create_shift(
                uow,
                officer_id=mappers.id_of(request.parent, "officers"),
                office_id=mappers.optional_id(request.shift.office, "offices"),
                start_time=mappers.to_datetime(request.shift.start_time),
                end_time=mappers.to_datetime(request.shift.end_time),
            )
            return pb2.CreateShiftResponse(shift=mappers.shift_to_proto(shift))

        return await run_idempotent(
            self._database, _SERVICE + "CreateShift", request, work, pb2.CreateShiftResponse
        )

    @allow(Role.SUPERVISOR, Role.OPERATOR)
    async def DeleteShift(
        self, request: pb2.DeleteShiftRequest, context: Any
    ) -> pb2.DeleteShiftResponse:
        await reference_data.delete_shift(self._database, *mappers.shift_ids(request.name))
        return pb2.DeleteShiftResponse()

    # --- examinations --------------------------------------------------------------------

    @allow(Role.SERVICE)
    async def IngestDecisionEvent(
        self, request: pb2.IngestDecisionEventRequest, context: Any
    ) -> pb2.IngestDecisionEventResponse:
        outcome = await examinations.ingest_decision(
            self._database, request.event_id, mappers.decision_from_proto(request.decision)
        )
        return pb2.IngestDecisionEventResponse(
            duplicate=outcome.duplicate,
            examination=(
                f"examinations/{outcome.examination_id}" if outcome.examination_id else ""
            ),
        )

    @allow(Role.OFFICER, Role.SUPERVISOR, Role.ANALYST, Role.RMC, Role.SERVICE)
    async def GetExamination(
        self, request: pb2.GetExaminationRequest, context: Any
    ) -> pb2.GetExaminationResponse:
        examination = await examinations.get_examination(
            self._database, _caller(), mappers.id_of(request.name, "examinations")
        )
        return pb2.GetExaminationResponse(examination=mappers.examination_to_proto(examination))

    @allow(Role.SUPERVISOR, Role.ANALYST, Role.RMC, Role.SERVICE)
    async def ListExaminations(
        self, request: pb2.ListExaminationsRequest, context: Any
    ) -> pb2.ListExaminationsResponse:
        where = ExaminationFilter(
            office_id=mappers.optional_id(request.office, "offices"),
            states=mappers.examination_states(request.states),
            assigned_officer_id=mappers.optional_id(request.assigned_officer, "officers"),
            declaration_number=request.declaration_number or None,
            reason=mappers.reason_from_proto(request.reason),
        )
        page = await examinations.list_examinations(
            self._database,
            self._pager,
            where,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb2.ListExaminationsResponse(
            examinations=[mappers.examination_to_proto(task) for task in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(*_TABLET)
    async def ListMyExaminations(
        self, request: pb2.ListMyExaminationsRequest, context: Any
    ) -> pb2.ListMyExaminationsResponse:
        page = await examinations.list_my_examinations(
            self._database,
            self._pager,
            _caller(),
            mappers.examination_states(request.states),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb2.ListMyExaminationsResponse(
            examinations=[mappers.examination_to_proto(task) for task in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(*_TABLET)
    async def StartExamination(
        self, request: pb2.StartExaminationRequest, context: Any
    ) -> pb2.StartExaminationResponse:
        examination = await examinations.start_examination(
            self._database,
            _caller(),
            mappers.id_of(request.name, "examinations"),
            request.etag,
        )
        return pb2.StartExaminationResponse(examination=mappers.examination_to_proto(examination))

    # --- exam reports --------------------------------------------------------------------

    @allow(*_TABLET)
    async def SubmitExamReport(
        self, request: pb2.SubmitExamReportRequest, context: Any
    ) -> pb2.SubmitExamReportResponse:
        report = await exam_reports.submit_exam_report(
            self._database,
            _caller(),
            request.exam_report_id,
            mappers.exam_report_form_from_proto(request.exam_report),
            mappers.to_datetime(request.sign_time),
            fingerprint(request),
            national_currency=self._national_currency,
        )
        return pb2.SubmitExamReportResponse(exam_report=mappers.exam_report_to_proto(report))

    @allow(Role.OFFICER, Role.SUPERVISOR, Role.ANALYST, Role.RMC, Role.SERVICE)
    async def GetExamReport(
        self, request: pb2.GetExamReportRequest, context: Any
    ) -> pb2.GetExamReportResponse:
        report = await exam_reports.get_exam_report(
            self._database, _caller(), mappers.id_of(request.name, "examReports")
        )
        return pb2.GetExamReportResponse(exam_report=mappers.exam_report_to_proto(report))

    @allow(*_REVIEW_READERS)
    async def ListExamReports(
        self, request: pb2.ListExamReportsRequest, context: Any
    ) -> pb2.ListExamReportsResponse:
        page = await exam_reports.list_exam_reports(
            self._database,
            self._pager,
            _caller(),
            review_mappers.exam_report_filter(request),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb2.ListExamReportsResponse(
            exam_reports=[mappers.exam_report_to_proto(report) for report in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(*_TABLET)
    async def SaveExamReportDraft(
        self, request: pb2.SaveExamReportDraftRequest, context: Any
    ) -> pb2.SaveExamReportDraftResponse:
        report = await exam_reports.save_exam_report_draft(
            self._database,
            _caller(),
            request.exam_report_id,
            mappers.exam_report_form_from_proto(request.exam_report),
            request.etag,
            national_currency=self._national_currency,
        )
        return pb2.SaveExamReportDraftResponse(exam_report=mappers.exam_report_to_proto(report))

    @allow(Role.SUPERVISOR)
    async def ApproveExamReport(
        self, request: pb2.ApproveExamReportRequest, context: Any
    ) -> pb2.ApproveExamReportResponse:
        caller = _caller()

        async def work(uow: UnitOfWork) -> pb2.ApproveExamReportResponse:
            report = await exam_reports.approve_exam_report(
                uow,
                caller,
                mappers.id_of(request.name, "examReports"),
                request.etag,
                anchor=self._anchor,
            )
            return pb2.ApproveExamReportResponse(exam_report=mappers.exam_report_to_proto(report))

        return await run_idempotent(
            self._database,
            _SERVICE + "ApproveExamReport",
            request,
            work,
            pb2.ApproveExamReportResponse,
        )

    @allow(Role.SUPERVISOR)
    async def ReturnExamReport(
        self, request: pb2.ReturnExamReportRequest, context: Any
    ) -> pb2.ReturnExamReportResponse:
        caller = _caller()
        fields = review_mappers.correction_fields(request.fields)

        async def work(uow: UnitOfWork) -> pb2.ReturnExamReportResponse:
            report = await exam_reports.return_exam_report(
                uow,
                caller,
                mappers.id_of(request.name, "examReports"),
                etag=request.etag,
                reason=request.reason,
                fields=fields,
            )
            return pb2.ReturnExamReportResponse(exam_report=mappers.exam_report_to_proto(report))

        return await run_idempotent(
            self._database,
            _SERVICE + "ReturnExamReport",
            request,
            work,
            pb2.ReturnExamReportResponse,
        )

    @allow(Role.SUPERVISOR)
    async def ReassignExamination(
        self, request: pb2.ReassignExaminationRequest, context: Any
    ) -> pb2.ReassignExaminationResponse:
        caller = _caller()

        async def work(uow: UnitOfWork) -> pb2.ReassignExaminationResponse:
            examination = await examinations.reassign_examination(
                uow,
                caller,
                mappers.id_of(request.name, "examinations"),
                etag=request.etag,
                officer_id=mappers.id_of(request.officer, "officers"),
                facility=mappers.facility_ids(request.facility) if request.facility else None,
                reason=request.reason,
            )
            return pb2.ReassignExaminationResponse(
                examination=mappers.examination_to_proto(examination)
            )

        return await run_idempotent(
            self._database,
            _SERVICE + "ReassignExamination",
            request,
            work,
            pb2.ReassignExaminationResponse,
        )

    # --- attachments ---------------------------------------------------------------------

    @allow(*_TABLET)
    async def UploadAttachment(
        self, request_iterator: AsyncIterator[pb2.UploadAttachmentRequest], context: Any
    ) -> pb2.UploadAttachmentResponse:
        caller = _caller()
        header = None
        receiver = None
        async for message in request_iterator:
            is_header = message.WhichOneof("content") == "header"
            if receiver is None:
                if not is_header:
                    raise InvalidArgument(
                        [FieldViolation("header", "the first message must be the header")]
                    )
                header = review_mappers.upload_header(message.header)
                # Refused before the content travels when the parent would refuse it.
                await attachments.check_upload(self._database, caller, header)
                receiver = ContentReceiver(header)
            elif is_header:
                raise InvalidArgument(
                    [FieldViolation("header", "only the first message may be a header")]
                )
            else:
                receiver.add(message.chunk)
        if header is None or receiver is None:
            raise InvalidArgument([FieldViolation("header", "the stream sent no header")])
        stored = await attachments.store_upload(self._database, caller, header, receiver.content())
        return pb2.UploadAttachmentResponse(attachment=review_mappers.attachment_to_proto(stored))

    @allow(*_REVIEW_READERS)
    async def GetAttachment(
        self, request: pb2.GetAttachmentRequest, context: Any
    ) -> pb2.GetAttachmentResponse:
        attachment = await attachments.get_attachment(
            self._database, _caller(), *review_mappers.attachment_ids(request.name)
        )
        return pb2.GetAttachmentResponse(attachment=review_mappers.attachment_to_proto(attachment))

    @allow(*_REVIEW_READERS)
    async def DownloadAttachment(
        self, request: pb2.DownloadAttachmentRequest, context: Any
    ) -> AsyncIterator[pb2.DownloadAttachmentResponse]:
        attachment = await attachments.get_attachment(
            self._database, _caller(), *review_mappers.attachment_ids(request.name)
        )
        yield pb2.DownloadAttachmentResponse(
            attachment=review_mappers.attachment_to_proto(attachment)
        )
        async for chunk in attachments.attachment_content(self._database, attachment):
            yield pb2.DownloadAttachmentResponse(chunk=chunk)

    # --- overrides -----------------------------------------------------------------------

    @allow(*_TABLET)
    async def RequestOverride(
        self, request: pb2.RequestOverrideRequest, context: Any
    ) -> pb2.RequestOverrideResponse:
        caller = _caller()
        asked = review_mappers.override_request(request.override)

        async def work(uow: UnitOfWork) -> pb2.RequestOverrideResponse:
            override = await overrides.request_override(uow, caller, asked)
            return pb2.RequestOverrideResponse(override=review_mappers.override_to_proto(override))

        return await run_idempotent(
            self._database, _SERVICE + "RequestOverride", request, work, pb2.RequestOverrideResponse
        )

    @allow(Role.SUPERVISOR)
    async def ApproveOverride(
        self, request: pb2.ApproveOverrideRequest, context: Any
    ) -> pb2.ApproveOverrideResponse:
        caller = _caller()

        async def work(uow: UnitOfWork) -> pb2.ApproveOverrideResponse:
            override = await overrides.approve_override(
                uow,
                caller,
                mappers.id_of(request.name, "overrides"),
                etag=request.etag,
                comment=request.comment,
                anchor=self._anchor,
            )
            return pb2.ApproveOverrideResponse(override=review_mappers.override_to_proto(override))

        return await run_idempotent(
            self._database, _SERVICE + "ApproveOverride", request, work, pb2.ApproveOverrideResponse
        )

    @allow(Role.SUPERVISOR)
    async def RejectOverride(
        self, request: pb2.RejectOverrideRequest, context: Any
    ) -> pb2.RejectOverrideResponse:
        caller = _caller()

        async def work(uow: UnitOfWork) -> pb2.RejectOverrideResponse:
            override = await overrides.reject_override(
                uow,
                caller,
                mappers.id_of(request.name, "overrides"),
                etag=request.etag,
                comment=request.comment,
                anchor=self._anchor,
            )
            return pb2.RejectOverrideResponse(override=review_mappers.override_to_proto(override))

        return await run_idempotent(
            self._database, _SERVICE + "RejectOverride", request, work, pb2.RejectOverrideResponse
        )

    @allow(Role.SUPERVISOR, Role.RMC, Role.AUDITOR, Role.OPERATOR)
    async def VerifyDecisionLog(
        self, request: pb2.VerifyDecisionLogRequest, context: Any
    ) -> pb2.VerifyDecisionLogResponse:
        anchored = await verify_decision_log(self._database, self._anchor)
        return pb2.VerifyDecisionLogResponse(
            verification=review_mappers.decision_log_verification(anchored, utcnow())
        )

    @allow(*_REVIEW_READERS)
    async def GetOverride(
        self, request: pb2.GetOverrideRequest, context: Any
    ) -> pb2.GetOverrideResponse:
        override = await overrides.get_override(
            self._database, _caller(), mappers.id_of(request.name, "overrides")
        )
        return pb2.GetOverrideResponse(override=review_mappers.override_to_proto(override))

    @allow(*_REVIEW_READERS)
    async def ListOverrides(
        self, request: pb2.ListOverridesRequest, context: Any
    ) -> pb2.ListOverridesResponse:
        page = await overrides.list_overrides(
            self._database,
            self._pager,
            _caller(),
            review_mappers.override_filter(request),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb2.ListOverridesResponse(
            overrides=[review_mappers.override_to_proto(override) for override in page.items],
            next_page_token=page.next_page_token,
        )

    # --- intelligence notes --------------------------------------------------------------

    @allow(*_TABLET)
    async def FileIntelligenceNote(
        self, request: pb2.FileIntelligenceNoteRequest, context: Any
    ) -> pb2.FileIntelligenceNoteResponse:
        caller = _caller()
        note = request.intelligence_note
        topic = review_mappers.topic_from_proto(note.topic)
        if topic is None:
            raise ValueError("the contract requires intelligence_note.topic")

        async def work(uow: UnitOfWork) -> pb2.FileIntelligenceNoteResponse:
            filed = await intelligence.file_intelligence_note(
                uow,
                caller,
                office_id=mappers.id_of(note.office, "offices"),
                topic=topic,
                text=note.text,
                declaration_numbers=tuple(note.declaration_numbers),
                trader_numbers=tuple(note.trader_numbers),
                exam_report_id=mappers.optional_id(note.exam_report, "examReports"),
            )
            return pb2.FileIntelligenceNoteResponse(
                intelligence_note=review_mappers.intelligence_note_to_proto(filed)
            )

        return await run_idempotent(
            self._database,
            _SERVICE + "FileIntelligenceNote",
            request,
            work,
            pb2.FileIntelligenceNoteResponse,
        )

    @allow(*_REVIEW_READERS)
    async def GetIntelligenceNote(
        self, request: pb2.GetIntelligenceNoteRequest, context: Any
    ) -> pb2.GetIntelligenceNoteResponse:
        note = await intelligence.get_intelligence_note(
            self._database, _caller(), mappers.id_of(request.name, "intelligenceNotes")
        )
        return pb2.GetIntelligenceNoteResponse(
            intelligence_note=review_mappers.intelligence_note_to_proto(note)
        )

    @allow(Role.SUPERVISOR, Role.ANALYST, Role.RMC)
    async def ListIntelligenceNotes(
        self, request: pb2.ListIntelligenceNotesRequest, context: Any
    ) -> pb2.ListIntelligenceNotesResponse:
        page = await intelligence.list_intelligence_notes(
            self._database,
            self._pager,
            review_mappers.intelligence_note_filter(request),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb2.ListIntelligenceNotesResponse(
            intelligence_notes=[
                review_mappers.intelligence_note_to_proto(note) for note in page.items
            ],
            next_page_token=page.next_page_token,
        )

    # --- integrity -----------------------------------------------------------------------

    @allow(Role.SUPERVISOR, Role.RMC)
    async def GetOfficerIntegrityReport(
        self, request: pb2.GetOfficerIntegrityReportRequest, context: Any
    ) -> pb2.GetOfficerIntegrityReportResponse:
        report = await integrity.officer_integrity_report(
            self._database,
            mappers.id_of(request.office, "offices"),
            request.start_date,
            request.end_date,
            significance_level=request.significance_level,
            min_examinations=request.min_examinations,
        )
        return pb2.GetOfficerIntegrityReportResponse(
            officer_integrity_report=review_mappers.integrity_report_to_proto(report)
        )

    # --- the declaration system ----------------------------------------------------------

    @allow(Role.DECLARATION_SYSTEM, Role.SERVICE)
    async def WatchDeclarationOutcomes(
        self, request: pb2.WatchDeclarationOutcomesRequest, context: Any
    ) -> AsyncIterator[pb2.WatchDeclarationOutcomesResponse]:
        async for event in self._outcomes.follow(request.since_revision):
            yield review_mappers.declaration_outcome_watch_message(event)
