"""Protobuf messages to domain objects and back.

Resource names (``offices/30``) live only in messages; the domain works with
IDs. Enum values map by name (``CHANNEL_RED`` ↔ ``Channel.RED``), never by
number.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

from customs.common.v1 import money_pb2, selectivity_pb2
from customs.exam_reports.v1 import (
    events_pb2,
    exam_report_pb2,
    examination_pb2,
    office_pb2,
    officer_pb2,
)
from google.protobuf.timestamp_pb2 import Timestamp

from exam_reports.domain.exam_reports import (
    CarrierData,
    CorrectionRequest,
    Discrepancy,
    DiscrepancyType,
    DriverData,
    ExamReport,
    ExamReportForm,
    IdentityDocument,
    IdentityDocumentType,
    Money,
    Quantity,
    Signature,
)
from exam_reports.domain.examinations import (
    Examination,
    ExaminationReason,
    ExaminationState,
    RequiredDocument,
    SelectedCriterion,
    SelectivityDecision,
    TraderReference,
)
from exam_reports.domain.officers import Officer, OfficerRole, Shift
from exam_reports.domain.offices import (
    CapacityUsage,
    ExaminationCapacity,
    ExaminationFacility,
    FacilityCapability,
    Office,
    OfficeCapacity,
)
from exam_reports.domain.selectivity import (
    CapacityDowngrade,
    Channel,
    ExaminationLevel,
    ExaminationType,
)
from exam_reports.service_layer.common import etag_of

E = TypeVar("E", bound=Enum)

# --- names, times, enums -----------------------------------------------------------------


def id_of(name: str, collection: str) -> str:
    """The last segment of ``{collection}/{id}`` (the request's pattern was validated)."""
    return name.removeprefix(f"{collection}/")


def optional_id(name: str, collection: str) -> str | None:
    """:func:`id_of`, or None for an empty name (an unset filter)."""
    return id_of(name, collection) if name else None


def facility_ids(name: str) -> tuple[str, str]:
    """(office ID, facility ID) of ``offices/{o}/examinationFacilities/{f}``."""
    _, office_id, _, facility_id = name.split("/")
    return office_id, facility_id


def shift_ids(name: str) -> tuple[str, str]:
    """(officer ID, shift ID) of ``officers/{o}/shifts/{s}``."""
    _, officer_id, _, shift_id = name.split("/")
    return officer_id, shift_id


def to_datetime(timestamp: Timestamp) -> datetime:
    """A timezone-aware UTC datetime."""
    return timestamp.ToDatetime(tzinfo=UTC)


def optional_datetime(message: Any, field: str) -> datetime | None:
    """The timestamp ``field`` of ``message``, or None when unset."""
    return to_datetime(getattr(message, field)) if message.HasField(field) else None


def timestamp_of(moment: datetime | None) -> Timestamp | None:
    """A protobuf timestamp, or None (an unset field) for None."""
    if moment is None:
        return None
    timestamp = Timestamp()
    timestamp.FromDatetime(moment)
    return timestamp


def enum_from_proto(wrapper: Any, prefix: str, value: int, domain: type[E]) -> E | None:
    """The domain member named like the proto value without ``prefix``; None when unspecified."""
    if value == 0:
        return None
    return domain(wrapper.Name(value).removeprefix(prefix))


def enum_to_proto(prefix: str, value: Enum | None) -> str:
    """The proto value's name for a domain member (``<PREFIX>UNSPECIFIED`` for None)."""
    # Messages accept enum values by name; every zero value is <PREFIX>UNSPECIFIED.
    return prefix + ("UNSPECIFIED" if value is None else value.value)


def channel_from_proto(value: int) -> Channel:
    """The domain channel (requests validated it is not unspecified)."""
    channel = enum_from_proto(selectivity_pb2.Channel, "CHANNEL_", value, Channel)
    if channel is None:
        raise ValueError("channel is unspecified")
    return channel


def level_from_proto(value: int) -> ExaminationLevel:
    """The domain level; unspecified means no physical examination."""
    level = enum_from_proto(
        selectivity_pb2.ExaminationLevel, "EXAMINATION_LEVEL_", value, ExaminationLevel
    )
    return ExaminationLevel.NONE if level is None else level


def level_to_proto(level: ExaminationLevel) -> str:
    """The proto name of a level (unspecified for a document review)."""
    return enum_to_proto("EXAMINATION_LEVEL_", None if level is ExaminationLevel.NONE else level)


def channel_to_proto(channel: Channel) -> str:
    """The proto name of a channel."""
    return enum_to_proto("CHANNEL_", channel)


def state_from_proto(value: int) -> ExaminationState:
    """The domain state (filters reject unspecified)."""
    state = enum_from_proto(
        examination_pb2.ExaminationState, "EXAMINATION_STATE_", value, ExaminationState
    )
    if state is None:
        raise ValueError("state is unspecified")
    return state


def reason_from_proto(value: int) -> ExaminationReason | None:
    """The domain reason, or None when unspecified."""
    return enum_from_proto(
        examination_pb2.ExaminationReason, "EXAMINATION_REASON_", value, ExaminationReason
    )


def capability_from_proto(value: int) -> FacilityCapability | None:
    """The domain capability, or None when unspecified."""
    return enum_from_proto(
        office_pb2.FacilityCapability, "FACILITY_CAPABILITY_", value, FacilityCapability
    )


def role_from_proto(value: int) -> OfficerRole | None:
    """The domain officer role, or None when unspecified."""
    return enum_from_proto(officer_pb2.OfficerRole, "OFFICER_ROLE_", value, OfficerRole)


# --- offices and facilities --------------------------------------------------------------


def office_to_proto(office: Office) -> office_pb2.Office:
    """The ``Office`` message."""
    return office_pb2.Office(
        name=f"offices/{office.id}",
        display_name=office.display_name,
        time_zone=office.time_zone,
        address=office.address,
        active=office.active,
        create_time=timestamp_of(office.create_time),
        update_time=timestamp_of(office.update_time),
        etag=etag_of(office.version),
    )


_OFFICE_PATHS = {"display_name", "time_zone", "address", "active"}


def office_changes(office: office_pb2.Office, paths: Iterable[str]) -> dict[str, Any]:
    """The domain attributes an UpdateOffice request changes."""
    return {path: getattr(office, path) for path in paths if path in _OFFICE_PATHS}


def capacities_from_proto(
    entries: Iterable[office_pb2.ExaminationCapacity],
) -> tuple[ExaminationCapacity, ...]:
    """The domain capacities of a facility message."""
    return tuple(
        ExaminationCapacity(
            ExaminationType(
                channel_from_proto(entry.channel), level_from_proto(entry.examination_level)
            ),
            entry.examinations_per_day,
        )
        for entry in entries
    )


def capabilities_from_proto(values: Iterable[int]) -> tuple[FacilityCapability, ...]:
    """The domain capabilities (requests validated none is unspecified)."""
    return tuple(
        capability
        for capability in (capability_from_proto(value) for value in values)
        if capability is not None
    )


def facility_to_proto(facility: ExaminationFacility) -> office_pb2.ExaminationFacility:
    """The ``ExaminationFacility`` message."""
    return office_pb2.ExaminationFacility(
        name=f"offices/{facility.office_id}/examinationFacilities/{facility.id}",
        display_name=facility.display_name,
        address=facility.address,
        capabilities=[
            enum_to_proto("FACILITY_CAPABILITY_", capability)
            for capability in facility.capabilities
        ],
        daily_capacities=[
            office_pb2.ExaminationCapacity(
                channel=channel_to_proto(entry.type.channel),
                examination_level=level_to_proto(entry.type.level),
                examinations_per_day=entry.examinations_per_day,
            )
            for entry in facility.daily_capacities
        ],
        active=facility.active,
        create_time=timestamp_of(facility.create_time),
        update_time=timestamp_of(facility.update_time),
        etag=etag_of(facility.version),
    )


def facility_changes(
    facility: office_pb2.ExaminationFacility, paths: Iterable[str]
) -> dict[str, Any]:
    """The domain attributes an UpdateExaminationFacility request changes."""
    changes: dict[str, Any] = {}
    for path in paths:
        if path == "capabilities":
            changes[path] = capabilities_from_proto(facility.capabilities)
        elif path == "daily_capacities":
            changes[path] = capacities_from_proto(facility.daily_capacities)
        elif path in ("display_name", "address", "active"):
            changes[path] = getattr(facility, path)
    return changes


def _usage_to_proto(usage: CapacityUsage) -> office_pb2.CapacityUsage:
    return office_pb2.CapacityUsage(
        channel=channel_to_proto(usage.type.channel),
        examination_level=level_to_proto(usage.type.level),
        capacity=usage.capacity,
        opened=usage.opened,
        completed=usage.completed,
        remaining=usage.remaining,
    )


def office_capacity_to_proto(capacity: OfficeCapacity) -> office_pb2.OfficeCapacity:
    """The ``OfficeCapacity`` message."""
    return office_pb2.OfficeCapacity(
        office=f"offices/{capacity.office_id}",
        days=[
            office_pb2.DailyCapacity(
                date=day.date.isoformat(), usages=[_usage_to_proto(u) for u in day.usages]
            )
            for day in capacity.days
        ],
    )


# --- officers and shifts -----------------------------------------------------------------


def officer_to_proto(officer: Officer) -> officer_pb2.Officer:
    """The ``Officer`` message."""
    return officer_pb2.Officer(
        name=f"officers/{officer.id}",
        display_name=officer.display_name,
        badge_number=officer.badge_number,
        office=f"offices/{officer.office_id}",
        role=enum_to_proto("OFFICER_ROLE_", officer.role),
        subject=officer.subject,
        active=officer.active,
        create_time=timestamp_of(officer.create_time),
        update_time=timestamp_of(officer.update_time),
        etag=etag_of(officer.version),
    )


def officer_changes(officer: officer_pb2.Officer, paths: Iterable[str]) -> dict[str, Any]:
    """The domain attributes an UpdateOfficer request changes."""
    changes: dict[str, Any] = {}
    for path in paths:
        if path == "office":
            changes["office_id"] = id_of(officer.office, "offices")
        elif path == "role":
            changes["role"] = role_from_proto(officer.role)
        elif path in ("display_name", "badge_number", "subject", "active"):
            changes[path] = getattr(officer, path)
    return changes


def shift_to_proto(shift: Shift) -> officer_pb2.Shift:
    """The ``Shift`` message."""
    return officer_pb2.Shift(
        name=f"officers/{shift.officer_id}/shifts/{shift.id}",
        office=f"offices/{shift.office_id}",
        start_time=timestamp_of(shift.start_time),
        end_time=timestamp_of(shift.end_time),
        create_time=timestamp_of(shift.create_time),
    )


# --- examinations ------------------------------------------------------------------------


def _trader_from_proto(message: Any, field: str) -> TraderReference | None:
    if not message.HasField(field):
        return None
    trader = getattr(message, field)
    return TraderReference(trader.number, trader.display_name)


def decision_from_proto(decision: events_pb2.SelectivityDecision) -> SelectivityDecision:
    """The domain decision of a (validated) ``SelectivityDecision``."""
    return SelectivityDecision(
        assessment=decision.assessment,
        declaration_number=decision.declaration_number,
        declaration_version=decision.declaration_version,
        office_id=id_of(decision.office, "offices"),
        importer=TraderReference(decision.importer.number, decision.importer.display_name),
        broker=_trader_from_proto(decision, "broker"),
        carrier=_trader_from_proto(decision, "carrier"),
        channel=channel_from_proto(decision.channel),
        examination_level=level_from_proto(decision.examination_level),
        documents_to_check=tuple(
            RequiredDocument(document.code, document.description)
            for document in decision.documents_to_check
        ),
        examiner_instructions=tuple(decision.examiner_instructions),
        random_selection=decision.random_selection,
        matched_criteria=tuple(decision.matched_criteria),
        selected_criteria=tuple(
            SelectedCriterion(hit.criterion, hit.criterion_revision, hit.item_number)
            for hit in decision.selected_criteria
        ),
        decide_time=to_datetime(decision.decide_time),
        capacity_downgrades=tuple(
            CapacityDowngrade(
                criterion=downgrade.criterion,
                item_number=downgrade.item_number,
                random_selection=downgrade.random_selection,
                from_channel=channel_from_proto(downgrade.from_channel),
                from_examination_level=level_from_proto(downgrade.from_examination_level),
                to_channel=channel_from_proto(downgrade.to_channel),
                capacity_policy=downgrade.capacity_policy,
                utilisation_percent=downgrade.utilisation_percent,
            )
            for downgrade in decision.capacity_downgrades
        ),
    )


def capacity_downgrade_to_proto(downgrade: CapacityDowngrade) -> selectivity_pb2.CapacityDowngrade:
    """The ``CapacityDowngrade`` message a task shows."""
    return selectivity_pb2.CapacityDowngrade(
        criterion=downgrade.criterion,
        item_number=downgrade.item_number,
        random_selection=downgrade.random_selection,
        from_channel=channel_to_proto(downgrade.from_channel),
        from_examination_level=level_to_proto(downgrade.from_examination_level),
        to_channel=channel_to_proto(downgrade.to_channel),
        capacity_policy=downgrade.capacity_policy,
        utilisation_percent=downgrade.utilisation_percent,
    )


def trader_to_proto(trader: TraderReference | None) -> examination_pb2.TraderReference | None:
    """The ``TraderReference`` message, or None."""
    if trader is None:
        return None
    return examination_pb2.TraderReference(number=trader.number, display_name=trader.display_name)


def examination_to_proto(examination: Examination) -> examination_pb2.Examination:
    """The ``Examination`` message: instructions and criterion names, never criteria logic."""
    return examination_pb2.Examination(
        name=f"examinations/{examination.id}",
        declaration_number=examination.declaration_number,
        declaration_version=examination.declaration_version,
        office=f"offices/{examination.office_id}",
        assessment=examination.assessment,
        importer=trader_to_proto(examination.importer),
        broker=trader_to_proto(examination.broker),
        carrier=trader_to_proto(examination.carrier),
        channel=channel_to_proto(examination.channel),
        examination_level=level_to_proto(examination.examination_level),
        documents_to_check=[
            examination_pb2.RequiredDocument(code=document.code, description=document.description)
            for document in examination.documents_to_check
        ],
        examiner_instructions=list(examination.examiner_instructions),
        reason=enum_to_proto("EXAMINATION_REASON_", examination.reason),
        matched_criteria=list(examination.matched_criteria),
        random_selection=examination.random_selection,
        override=f"overrides/{examination.override}" if examination.override else "",
        state=enum_to_proto("EXAMINATION_STATE_", examination.state),
        assigned_officer=(
            f"officers/{examination.assigned_officer_id}" if examination.assigned_officer_id else ""
        ),
        facility=examination.facility,
        assignments=[
            examination_pb2.Assignment(
                officer=f"officers/{entry.officer_id}",
                assign_time=timestamp_of(entry.assign_time),
                assigned_by=f"officers/{entry.assigned_by}" if entry.assigned_by else "",
                reason=entry.reason,
            )
            for entry in examination.assignments
        ],
        exam_report=(
            f"examReports/{examination.exam_report_id}" if examination.exam_report_id else ""
        ),
        decide_time=timestamp_of(examination.decide_time),
        start_time=timestamp_of(examination.start_time),
        complete_time=timestamp_of(examination.complete_time),
        create_time=timestamp_of(examination.create_time),
        update_time=timestamp_of(examination.update_time),
        etag=etag_of(examination.version),
        capacity_downgrades=[
            capacity_downgrade_to_proto(downgrade) for downgrade in examination.capacity_downgrades
        ],
    )


# --- exam reports ------------------------------------------------------------------------


def _optional_bool(message: Any, field: str) -> bool | None:
    return bool(getattr(message, field)) if message.HasField(field) else None


def _quantity(message: Any, field: str) -> Quantity | None:
    if not message.HasField(field):
        return None
    quantity = getattr(message, field)
    return Quantity(quantity.value, quantity.unit)


def _money(message: Any, field: str) -> Money | None:
    if not message.HasField(field):
        return None
    money = getattr(message, field)
    return Money(money.currency_code, money.units, money.nanos)


def _discrepancy_from_proto(entry: exam_report_pb2.Discrepancy) -> Discrepancy:
    return Discrepancy(
        type=enum_from_proto(
            exam_report_pb2.DiscrepancyType, "DISCREPANCY_TYPE_", entry.type, DiscrepancyType
        ),
        item_number=entry.item_number,
        description=entry.description,
        declared_quantity=_quantity(entry, "declared_quantity"),
        found_quantity=_quantity(entry, "found_quantity"),
        declared_value=_money(entry, "declared_value"),
        found_value=_money(entry, "found_value"),
        declared_hs_code=entry.declared_hs_code,
        found_hs_code=entry.found_hs_code,
        declared_origin_country=entry.declared_origin_country,
        found_origin_country=entry.found_origin_country,
    )


def exam_report_form_from_proto(report: exam_report_pb2.ExamReport) -> ExamReportForm:
    """The form the officer filled in; output-only fields of the message are ignored."""
    document = report.driver.identity_document
    return ExamReportForm(
        examination_id=id_of(report.examination, "examinations"),
        declaration_number=report.declaration_number,
        customs_office_id=id_of(report.customs_office, "offices") if report.customs_office else "",
        importer_name=report.importer_name,
        importer_number=report.importer_number,
        broker_name=report.broker_name,
        broker_number=report.broker_number,
        inspecting_officer_id=(
            id_of(report.inspecting_officer, "officers") if report.inspecting_officer else ""
        ),
        reason=reason_from_proto(report.reason),
        other_reason=report.other_reason,
        override_id=id_of(report.override, "overrides") if report.override else "",
        examination_time=optional_datetime(report, "examination_time"),
        discrepancy_found=_optional_bool(report, "discrepancy_found"),
        discrepancy_detail=report.discrepancy_detail,
        discrepancies=tuple(_discrepancy_from_proto(entry) for entry in report.discrepancies),
        penalty_recommended=_optional_bool(report, "penalty_recommended"),
        merchandise_seized=_optional_bool(report, "merchandise_seized"),
        seizure_case_number=report.seizure_case_number,
        carrier=CarrierData(
            display_name=report.carrier.display_name,
            address=report.carrier.address,
            carrier_number=report.carrier.carrier_number,
            vehicle_registration=report.carrier.vehicle_registration,
        ),
        driver=DriverData(
            full_name=report.driver.full_name,
            date_of_birth=report.driver.date_of_birth,
            nationality=report.driver.nationality,
            identity_document=IdentityDocument(
                type=enum_from_proto(
                    exam_report_pb2.IdentityDocumentType,
                    "IDENTITY_DOCUMENT_TYPE_",
                    document.type,
                    IdentityDocumentType,
                ),
                number=document.number,
                issuing_country=document.issuing_country,
            ),
        ),
        intelligence_information=report.intelligence_information,
        attachments=tuple(report.attachments),
        post_clearance_audit_recommended=report.post_clearance_audit_recommended,
        revenue_found=_money(report, "revenue_found"),
    )


def _quantity_to_proto(quantity: Quantity | None) -> exam_report_pb2.Quantity | None:
    return (
        None
        if quantity is None
        else exam_report_pb2.Quantity(value=quantity.value, unit=quantity.unit)
    )


def _money_to_proto(money: Money | None) -> money_pb2.Money | None:
    if money is None:
        return None
    return money_pb2.Money(currency_code=money.currency_code, units=money.units, nanos=money.nanos)


def _discrepancy_to_proto(entry: Discrepancy) -> exam_report_pb2.Discrepancy:
    return exam_report_pb2.Discrepancy(
        type=enum_to_proto("DISCREPANCY_TYPE_", entry.type),
        item_number=entry.item_number,
        description=entry.description,
        declared_quantity=_quantity_to_proto(entry.declared_quantity),
        found_quantity=_quantity_to_proto(entry.found_quantity),
        declared_value=_money_to_proto(entry.declared_value),
        found_value=_money_to_proto(entry.found_value),
        declared_hs_code=entry.declared_hs_code,
        found_hs_code=entry.found_hs_code,
        declared_origin_country=entry.declared_origin_country,
        found_origin_country=entry.found_origin_country,
    )


def _signature_to_proto(signature: Signature | None) -> exam_report_pb2.Signature | None:
    if signature is None:
        return None
    return exam_report_pb2.Signature(
        officer=f"officers/{signature.officer_id}",
        display_name=signature.display_name,
        badge_number=signature.badge_number,
        sign_time=timestamp_of(signature.sign_time),
    )


def _correction_to_proto(entry: CorrectionRequest) -> exam_report_pb2.CorrectionRequest:
    return exam_report_pb2.CorrectionRequest(
        returned_by=f"officers/{entry.returned_by}",
        return_time=timestamp_of(entry.return_time),
        reason=entry.reason,
        fields=list(entry.fields),
    )


def exam_report_to_proto(report: ExamReport) -> exam_report_pb2.ExamReport:
    """The ``ExamReport`` message."""
    form = report.form
    document = form.driver.identity_document
    return exam_report_pb2.ExamReport(
        name=f"examReports/{report.id}",
        examination=f"examinations/{form.examination_id}",
        state=enum_to_proto("EXAM_REPORT_STATE_", report.state),
        declaration_number=form.declaration_number,
        customs_office=f"offices/{form.customs_office_id}" if form.customs_office_id else "",
        importer_name=form.importer_name,
        importer_number=form.importer_number,
        broker_name=form.broker_name,
        broker_number=form.broker_number,
        inspecting_officer=(
            f"officers/{form.inspecting_officer_id}" if form.inspecting_officer_id else ""
        ),
        reason=enum_to_proto("EXAMINATION_REASON_", form.reason),
        other_reason=form.other_reason,
        override=f"overrides/{form.override_id}" if form.override_id else "",
        examination_time=timestamp_of(form.examination_time),
        discrepancy_found=form.discrepancy_found,
        discrepancy_detail=form.discrepancy_detail,
        discrepancies=[_discrepancy_to_proto(entry) for entry in form.discrepancies],
        penalty_recommended=form.penalty_recommended,
        merchandise_seized=form.merchandise_seized,
        seizure_case_number=form.seizure_case_number,
        carrier=exam_report_pb2.CarrierData(
            display_name=form.carrier.display_name,
            address=form.carrier.address,
            carrier_number=form.carrier.carrier_number,
            vehicle_registration=form.carrier.vehicle_registration,
        ),
        driver=exam_report_pb2.DriverData(
            full_name=form.driver.full_name,
            date_of_birth=form.driver.date_of_birth,
            nationality=form.driver.nationality,
            identity_document=exam_report_pb2.IdentityDocument(
                type=enum_to_proto("IDENTITY_DOCUMENT_TYPE_", document.type),
                number=document.number,
                issuing_country=document.issuing_country,
            ),
        ),
        intelligence_information=form.intelligence_information,
        attachments=list(form.attachments),
        post_clearance_audit_recommended=form.post_clearance_audit_recommended,
        revenue_found=_money_to_proto(form.revenue_found),
        officer_signature=_signature_to_proto(report.officer_signature),
        supervisor_signature=_signature_to_proto(report.supervisor_signature),
        corrections=[_correction_to_proto(entry) for entry in report.corrections],
        submission_count=report.submission_count,
        submit_time=timestamp_of(report.submit_time),
        create_time=timestamp_of(report.create_time),
        update_time=timestamp_of(report.update_time),
        etag=etag_of(report.version),
    )


def examination_states(values: Iterable[int]) -> frozenset[ExaminationState]:
    """The domain states of a filter (requests validated none is unspecified)."""
    return frozenset(state_from_proto(value) for value in values)
