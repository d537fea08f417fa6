"""The events an approved report causes: the receiving services' ingest requests, and
the declaration system's outcome record.

Written to the outbox in the same transaction as the approval and relayed by
the chassis:

* every approved report → criteria ``IngestExaminationOutcomeEvent`` (the
  performance of the criteria that designated the examination);
* every approved report → compliance ``IngestExaminationOutcomeEvent`` (random
  examinations are flagged: only they count in compliance measurement);
* a finding that calls for a penalty or a post-clearance audit → audit_referral
  ``IngestExaminationFindingEvent`` (a referral);
* every approved report of a known declaration version → scoring
  ``IngestExaminationOutcomeEvent`` (the label the risk model trains on).

Each request is built from the receiver's own generated messages, within the
limits of the receiver's contract, so that no event is refused on arrival.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from customs.audit_referral.v1 import audit_referral_service_pb2
from customs.audit_referral.v1 import events_pb2 as audit_events_pb2
from customs.common.v1 import money_pb2
from customs.compliance.v1 import compliance_service_pb2
from customs.compliance.v1 import events_pb2 as compliance_events_pb2
from customs.criteria.v1 import criteria_service_pb2
from customs.criteria.v1 import events_pb2 as criteria_events_pb2
from customs.exam_reports.v1 import declaration_outcome_pb2
from customs.scoring.v1 import events_pb2 as scoring_events_pb2
from customs.scoring.v1 import scoring_service_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from exam_reports.domain.declaration_outcomes import DeclarationOutcome
from exam_reports.domain.exam_reports import (
    Discrepancy,
    ExamReport,
    Money,
    calls_for_audit_referral,
    discrepancy_found_on,
)
from exam_reports.domain.examinations import Examination, ExaminationReason, TraderReference
from exam_reports.domain.selectivity import Channel, ExaminationLevel

SOURCE = "exam-reports"
CRITERIA = "criteria"
COMPLIANCE = "compliance"
AUDIT_REFERRAL = "audit-referral"
SCORING = "scoring"
#: The peers that receive this service's events (the outbox destinations).
EVENT_DESTINATIONS = (CRITERIA, COMPLIANCE, AUDIT_REFERRAL, SCORING)
_SCORING_METHOD = "/customs.scoring.v1.ScoringService/IngestExaminationOutcomeEvent"

_CRITERIA_METHOD = "/customs.criteria.v1.CriteriaService/IngestExaminationOutcomeEvent"
_COMPLIANCE_METHOD = "/customs.compliance.v1.ComplianceService/IngestExaminationOutcomeEvent"
# criteria's contract limit; scoring lists the highest-priority hits first.
_MAX_CRITERION_OUTCOMES = 200
_AUDIT_REFERRAL_METHOD = (
    "/customs.audit_referral.v1.AuditReferralService/IngestExaminationFindingEvent"
)


@dataclass(frozen=True)
class OutboundEvent:
    """One event for the outbox: the peer, its ingest method and the serialized request."""

    destination: str
    method: str
    event_id: str
    payload: bytes


def _new_event_id() -> str:
    return str(uuid.uuid4())


def _timestamp(moment: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


def _channel(channel: Channel) -> str:
    return f"CHANNEL_{channel.value}"


def _level(level: ExaminationLevel) -> str:
    # A document review has no level: the receivers' zero value.
    suffix = "UNSPECIFIED" if level is ExaminationLevel.NONE else level.value
    return f"EXAMINATION_LEVEL_{suffix}"


def _money(money: Money | None) -> money_pb2.Money | None:
    if money is None:
        return None
    return money_pb2.Money(currency_code=money.currency_code, units=money.units, nanos=money.nanos)


def _discrepancy_type(discrepancy: Discrepancy) -> str:
    """The type's name, which every receiver shares with this service."""
    if discrepancy.type is None:
        raise ValueError("a submitted discrepancy always has a type")
    return f"DISCREPANCY_TYPE_{discrepancy.type.value}"


def outcome_events(
    report: ExamReport,
    examination: Examination,
    new_event_id: Callable[[], str] = _new_event_id,
) -> list[OutboundEvent]:
    """The events the approval of ``report`` (on ``examination``) causes, each with a fresh id.

    Criteria's contract wants a declaration version of 1 or more, so an
    examination opened by an override on a declaration of unknown version
    (0) is not sent there; compliance and audit referral accept it.
    """
    if report.supervisor_signature is None:
        raise ValueError(f"examReports/{report.id} is not approved")
    approve_time = report.supervisor_signature.sign_time
    events = []
    if examination.declaration_version >= 1:
        events.append(_criteria_event(report, examination, approve_time, new_event_id()))
        events.append(_scoring_event(report, examination, approve_time, new_event_id()))
    events.append(_compliance_event(report, examination, approve_time, new_event_id()))
    if calls_for_audit_referral(report.form):
        events.append(_audit_referral_event(report, examination, approve_time, new_event_id()))
    return events


def examine_time_of(report: ExamReport, approve_time: datetime) -> datetime:
    """When the officer examined the goods, as the tablet recorded it on the form.

    Performance and compliance count an examination at this time, not when its
    report reached the server: a tablet that synced on 2 February a report of
    an examination on 31 January counts in January. A report always has it
    once submitted; the approval time is only the fallback of the type.
    """
    return report.form.examination_time or approve_time


def _criteria_event(
    report: ExamReport, examination: Examination, approve_time: datetime, event_id: str
) -> OutboundEvent:
    """The outcome for the criteria's performance.

    ``criterion_outcomes`` has one entry per criterion hit that scoring
    reported with its decision, so criteria can credit the revision that hit;
    ``revenue_found`` is the report's, so each of those criteria is credited
    with the duties and taxes the examination assessed.
    """
    form = report.form
    request = criteria_service_pb2.IngestExaminationOutcomeEventRequest(
        event_id=event_id,
        source_service=SOURCE,
        occur_time=_timestamp(approve_time),
        outcome=criteria_events_pb2.ExaminationOutcome(
            examination_report=f"examReports/{report.id}",
            assessment=examination.assessment,
            declaration_number=examination.declaration_number,
            declaration_version=examination.declaration_version,
            office_code=examination.office_id,
            importer_id=examination.importer.number,
            declarant_id=examination.broker.number if examination.broker else "",
            examine_time=_timestamp(examine_time_of(report, approve_time)),
            channel=_channel(examination.channel),
            examination_level=_level(examination.examination_level),
            randomly_selected=examination.random_selection,
            officer_initiated=examination.reason is ExaminationReason.OTHER,
            discrepancy_found=bool(form.discrepancy_found),
            criterion_outcomes=[
                criteria_events_pb2.CriterionOutcome(
                    criterion=hit.criterion,
                    criterion_revision=hit.revision,
                    item_number=hit.item_number,
                    discrepancy_found=discrepancy_found_on(form, hit.item_number),
                )
                for hit in examination.selected_criteria[:_MAX_CRITERION_OUTCOMES]
            ],
            revenue_found=_money(form.revenue_found),
            penalty_recommended=bool(form.penalty_recommended),
            seized=bool(form.merchandise_seized),
        ),
    )
    return OutboundEvent(CRITERIA, _CRITERIA_METHOD, event_id, request.SerializeToString())


def _scoring_event(
    report: ExamReport, examination: Examination, approve_time: datetime, event_id: str
) -> OutboundEvent:
    """The outcome as scoring records it against the assessed declaration (its label)."""
    form = report.form
    request = scoring_service_pb2.IngestExaminationOutcomeEventRequest(
        event_id=event_id,
        source_service=SOURCE,
        occur_time=_timestamp(approve_time),
        outcome=scoring_events_pb2.ExaminationOutcome(
            examination_report=f"examReports/{report.id}",
            assessment=examination.assessment,
            declaration_number=examination.declaration_number,
            declaration_version=examination.declaration_version,
            examine_time=_timestamp(examine_time_of(report, approve_time)),
            randomly_selected=examination.random_selection,
            discrepancy_found=bool(form.discrepancy_found),
            penalty_recommended=bool(form.penalty_recommended),
            seized=bool(form.merchandise_seized),
        ),
    )
    return OutboundEvent(SCORING, _SCORING_METHOD, event_id, request.SerializeToString())


def _compliance_party(
    trader: TraderReference | None,
) -> compliance_events_pb2.PartyReference | None:
    if trader is None:
        return None
    return compliance_events_pb2.PartyReference(
        number=trader.number, display_name=trader.display_name
    )


def _compliance_event(
    report: ExamReport, examination: Examination, approve_time: datetime, event_id: str
) -> OutboundEvent:
    """The outcome for compliance: random examinations flagged, structured discrepancies."""
    form = report.form
    carrier = (
        TraderReference(form.carrier.carrier_number, form.carrier.display_name)
        if form.carrier.carrier_number
        else None
    )
    request = compliance_service_pb2.IngestExaminationOutcomeEventRequest(
        event_id=event_id,
        source_service=SOURCE,
        occur_time=_timestamp(approve_time),
        examination_outcome=compliance_events_pb2.ExaminationOutcome(
            examination=f"examinations/{examination.id}",
            exam_report=f"examReports/{report.id}",
            assessment=examination.assessment,
            declaration_number=examination.declaration_number,
            declaration_version=examination.declaration_version,
            office=f"offices/{examination.office_id}",
            importer=_compliance_party(examination.importer),
            broker=_compliance_party(examination.broker),
            carrier=_compliance_party(carrier),
            channel=_channel(examination.channel),
            examination_level=_level(examination.examination_level),
            random_selection=examination.random_selection,
            discrepancy_found=bool(form.discrepancy_found),
            discrepancies=[
                compliance_events_pb2.ExaminationDiscrepancy(
                    type=_discrepancy_type(entry),
                    item_number=entry.item_number,
                    declared_value=_money(entry.declared_value),
                    found_value=_money(entry.found_value),
                    found_hs_code=entry.found_hs_code,
                    found_origin_country=entry.found_origin_country,
                )
                for entry in form.discrepancies
            ],
            penalty_recommended=bool(form.penalty_recommended),
            merchandise_seized=bool(form.merchandise_seized),
            approve_time=_timestamp(approve_time),
            revenue_found=_money(form.revenue_found),
            examine_time=_timestamp(examine_time_of(report, approve_time)),
        ),
    )
    return OutboundEvent(COMPLIANCE, _COMPLIANCE_METHOD, event_id, request.SerializeToString())


def _audit_party(trader: TraderReference | None) -> audit_events_pb2.PartyReference | None:
    if trader is None:
        return None
    return audit_events_pb2.PartyReference(number=trader.number, display_name=trader.display_name)


def _audit_referral_event(
    report: ExamReport, examination: Examination, approve_time: datetime, event_id: str
) -> OutboundEvent:
    """The finding for audit referral, with the report's own words as evidence."""
    form = report.form
    request = audit_referral_service_pb2.IngestExaminationFindingEventRequest(
        event_id=event_id,
        source_service=SOURCE,
        occur_time=_timestamp(approve_time),
        examination_finding=audit_events_pb2.ExaminationFinding(
            examination=f"examinations/{examination.id}",
            exam_report=f"examReports/{report.id}",
            declaration_number=examination.declaration_number,
            declaration_version=examination.declaration_version,
            office=f"offices/{examination.office_id}",
            importer=_audit_party(examination.importer),
            broker=_audit_party(examination.broker),
            discrepancy_detail=form.discrepancy_detail,
            discrepancies=[
                audit_events_pb2.ExaminationDiscrepancy(
                    type=_discrepancy_type(entry),
                    item_number=entry.item_number,
                    description=entry.description,
                    declared_value=_money(entry.declared_value),
                    found_value=_money(entry.found_value),
                )
                for entry in form.discrepancies
            ],
            penalty_recommended=bool(form.penalty_recommended),
            merchandise_seized=bool(form.merchandise_seized),
            seizure_case_number=form.seizure_case_number,
            post_clearance_audit_recommended=form.post_clearance_audit_recommended,
            matched_criteria=list(examination.matched_criteria),
            random_selection=examination.random_selection,
            approve_time=_timestamp(approve_time),
        ),
    )
    return OutboundEvent(
        AUDIT_REFERRAL, _AUDIT_REFERRAL_METHOD, event_id, request.SerializeToString()
    )


#: The change-feed kind of the declaration outcomes (WatchDeclarationOutcomes), keyed
#: by declaration number: a snapshot holds each declaration's latest outcome.
DECLARATION_OUTCOME_FEED = "declaration_outcome"


def declaration_outcome_payload(outcome: DeclarationOutcome) -> bytes:
    """The serialized ``DeclarationOutcome`` message recorded in the change feed."""
    return declaration_outcome_pb2.DeclarationOutcome(
        declaration_number=outcome.declaration_number,
        declaration_version=outcome.declaration_version,
        office=f"offices/{outcome.office_id}",
        assessment=outcome.assessment,
        examination=f"examinations/{outcome.examination_id}",
        exam_report=f"examReports/{outcome.exam_report_id}",
        channel=_channel(outcome.channel),
        examination_level=_level(outcome.examination_level),
        release_decision=f"RELEASE_DECISION_{outcome.release_decision.value}",
        discrepancy_found=outcome.discrepancy_found,
        amended_duties=_money(outcome.amended_duties),
        penalty_recommended=outcome.penalty_recommended,
        seizure_case_number=outcome.seizure_case_number,
        decide_time=_timestamp(outcome.decide_time),
    ).SerializeToString()
