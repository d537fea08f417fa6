"""Proto messages <-> domain objects. No rules here beyond what a format demands.

Requests reach these functions already validated against the contract's
protovalidate rules, so patterns and required fields hold; what the rules
cannot express (a calendar date that does not exist) is refused here with
``InvalidArgument`` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, TypeVar

from customs.audit_referral.v1 import (
    audit_case_pb2,
    audit_finding_pb2,
    events_pb2,
    history_checkpoint_pb2,
    referral_pb2,
)
from customs.common.v1 import money_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from audit_referral.domain.audit_cases import (
    AuditCase,
    AuditCasePlan,
    AuditCaseState,
    AuditReport,
    AuditSelectionBasis,
    ConferenceRecord,
    PreAuditAnswer,
    PreAuditQuestion,
    PreAuditSection,
    ReportDraft,
    StageTransition,
)
from audit_referral.domain.common import DeclarationRef, Money, PartyRef, etag_of
from audit_referral.domain.findings import (
    AuditFinding,
    AuditFindingAction,
    DiscrepancyType,
    FindingContent,
    FindingIntent,
)
from audit_referral.domain.referrals import (
    BlueDecision,
    ExaminationDiscrepancy,
    ExaminationFinding,
    NewReferral,
    Referral,
    ReferralPriority,
    ReferralSource,
    ReferralState,
)
from customs_kit.checkpoints import Checkpoint
from customs_kit.errors import FieldViolation, InvalidArgument

E = TypeVar("E", bound=Enum)

_SOURCE = "REFERRAL_SOURCE_"
_STATE = "REFERRAL_STATE_"
_PRIORITY = "REFERRAL_PRIORITY_"
_BASIS = "AUDIT_SELECTION_BASIS_"
_CASE_STATE = "AUDIT_CASE_STATE_"
_SECTION = "PRE_AUDIT_SECTION_"
_DISCREPANCY = "DISCREPANCY_TYPE_"
_ACTION = "AUDIT_FINDING_ACTION_"
_INTENT = "FINDING_INTENT_"


# --- Names --------------------------------------------------------------------------


_ID = r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}"
_CASE_NAME = re.compile(rf"^auditCases/({_ID})$")
_FINDING_NAME = re.compile(rf"^auditCases/({_ID})/findings/({_ID})$")


def resource_id(name: str) -> str:
    """The id in ``collection/{id}`` (the pattern was checked by validation)."""
    return name.split("/", 1)[1]


def audit_case_id(name: str, field: str) -> str:
    """The id of ``auditCases/{case}`` in a field that validation does not check."""
    match = _CASE_NAME.match(name)
    if match is None:
        raise InvalidArgument([FieldViolation(field, "must be auditCases/{audit_case}")])
    return match.group(1)


def finding_ids(name: str, field: str) -> tuple[str, str]:
    """(case id, finding id) of ``auditCases/{case}/findings/{finding}`` at ``field``."""
    match = _FINDING_NAME.match(name)
    if match is None:
        raise InvalidArgument(
            [FieldViolation(field, "must be auditCases/{audit_case}/findings/{finding}")]
        )
    return match.group(1), match.group(2)


def optional_enum(enum_type: type[E], proto_enum: Any, prefix: str, value: int) -> E | None:
    """The domain member of a proto enum value, None for the unspecified zero."""
    return None if value == 0 else enum_type[proto_enum.Name(value).removeprefix(prefix)]


def referral_source(value: int) -> ReferralSource | None:
    """A ReferralSource filter value (None: unset)."""
    return optional_enum(ReferralSource, referral_pb2.ReferralSource, _SOURCE, value)


def referral_states(values: Iterable[int]) -> frozenset[ReferralState]:
    """A states filter."""
    return frozenset(_enum(ReferralState, referral_pb2.ReferralState, _STATE, v) for v in values)


def case_states(values: Iterable[int]) -> frozenset[AuditCaseState]:
    """A case states filter."""
    return frozenset(
        _enum(AuditCaseState, audit_case_pb2.AuditCaseState, _CASE_STATE, v) for v in values
    )


def selection_basis(value: int) -> AuditSelectionBasis | None:
    """A selection basis filter value (None: unset)."""
    return optional_enum(AuditSelectionBasis, audit_case_pb2.AuditSelectionBasis, _BASIS, value)


def finding_action(value: int) -> AuditFindingAction | None:
    """A finding action filter value (None: unset)."""
    return optional_enum(AuditFindingAction, audit_finding_pb2.AuditFindingAction, _ACTION, value)


def discrepancy_type(value: int) -> DiscrepancyType | None:
    """A discrepancy type filter value (None: unset)."""
    return optional_enum(DiscrepancyType, audit_finding_pb2.DiscrepancyType, _DISCREPANCY, value)


# --- Requests -> domain -------------------------------------------------------------


def new_referral(message: referral_pb2.Referral) -> NewReferral:
    """What a CreateReferral request asks for (output-only fields ignored)."""
    return NewReferral(
        source=_enum(ReferralSource, referral_pb2.ReferralSource, _SOURCE, message.source),
        trader=PartyRef(resource_id(message.trader), message.trader_display_name),
        declarations=tuple(declaration(d) for d in message.declarations),
        reason=message.reason,
        evidence=tuple(message.evidence),
        priority=_enum(
            ReferralPriority, referral_pb2.ReferralPriority, _PRIORITY, message.priority
        ),
        revenue_at_risk=(
            money(message.revenue_at_risk) if message.HasField("revenue_at_risk") else None
        ),
    )


def blue_decision(message: events_pb2.BlueDecision) -> BlueDecision:
    """The BLUE decision of an ingest request."""
    return BlueDecision(
        assessment=message.assessment,
        declaration=DeclarationRef(
            message.declaration_number, message.declaration_version, resource_id(message.office)
        ),
        importer=_party(message.importer),
        broker=_party(message.broker) if message.HasField("broker") else None,
        lodgement_time=timestamp(message.lodgement_time),
        matched_criteria=tuple(message.matched_criteria),
        random_selection=message.random_selection,
        audit_instructions=tuple(message.audit_instructions),
        total_customs_value=_optional_money(message, "total_customs_value"),
        total_duties=_optional_money(message, "total_duties"),
        decide_time=timestamp(message.decide_time),
    )


def examination_finding(message: events_pb2.ExaminationFinding) -> ExaminationFinding:
    """The examination finding of an ingest request."""
    return ExaminationFinding(
        examination=message.examination,
        exam_report=message.exam_report,
        declaration=DeclarationRef(
            message.declaration_number, message.declaration_version, resource_id(message.office)
        ),
        importer=_party(message.importer),
        broker=_party(message.broker) if message.HasField("broker") else None,
        discrepancy_detail=message.discrepancy_detail,
        discrepancies=tuple(
            ExaminationDiscrepancy(
                type=_enum(
                    DiscrepancyType, audit_finding_pb2.DiscrepancyType, _DISCREPANCY, d.type
                ),
                item_number=d.item_number,
                description=d.description,
                declared_value=_optional_money(d, "declared_value"),
                found_value=_optional_money(d, "found_value"),
            )
            for d in message.discrepancies
        ),
        penalty_recommended=message.penalty_recommended,
        merchandise_seized=message.merchandise_seized,
        seizure_case_number=message.seizure_case_number,
        post_clearance_audit_recommended=message.post_clearance_audit_recommended,
        matched_criteria=tuple(message.matched_criteria),
        random_selection=message.random_selection,
        approve_time=timestamp(message.approve_time),
    )


def audit_case_plan(message: audit_case_pb2.AuditCase, field: str) -> AuditCasePlan:
    """The planning fields of an AuditCase in a request (at ``field``)."""
    return AuditCasePlan(
        trader=PartyRef(resource_id(message.trader), message.trader_display_name),
        selection_basis=_enum(
            AuditSelectionBasis,
            audit_case_pb2.AuditSelectionBasis,
            _BASIS,
            message.selection_basis,
        ),
        campaign=message.campaign,
        scope=message.scope,
        declarations=tuple(declaration(d) for d in message.declarations),
        audit_period_start_date=calendar_date(
            message.audit_period_start_date, f"{field}.audit_period_start_date"
        ),
        audit_period_end_date=calendar_date(
            message.audit_period_end_date, f"{field}.audit_period_end_date"
        ),
        announced=message.announced,
        notice_time=timestamp(message.notice_time) if message.HasField("notice_time") else None,
        planned_start_date=calendar_date(message.planned_start_date, f"{field}.planned_start_date"),
        lead_auditor=message.lead_auditor,
        team=tuple(message.team),
    )


def pre_audit_question(message: audit_case_pb2.PreAuditQuestion) -> PreAuditQuestion:
    """One survey question."""
    return PreAuditQuestion(
        question_id=message.question_id,
        section=_enum(PreAuditSection, audit_case_pb2.PreAuditSection, _SECTION, message.section),
        text=message.text,
    )


def pre_audit_answer(message: audit_case_pb2.PreAuditAnswer) -> PreAuditAnswer:
    """One answer of the trader."""
    return PreAuditAnswer(
        question_id=message.question_id,
        text=message.text,
        document_references=tuple(message.document_references),
        receive_time=timestamp(message.receive_time),
    )


def conference_record(message: audit_case_pb2.ConferenceRecord) -> ConferenceRecord:
    """An opening or exit conference."""
    return ConferenceRecord(
        conference_time=timestamp(message.conference_time),
        attendees=tuple(message.attendees),
        summary=message.summary,
        disputed_issues=tuple(message.disputed_issues),
    )


def report_draft(message: audit_case_pb2.AuditReport) -> ReportDraft:
    """What the auditor wrote in the report (output-only fields ignored)."""
    return ReportDraft(
        summary=message.summary,
        compliant=message.compliant,
        document_reference=message.document_reference,
    )


def finding_content(message: audit_finding_pb2.AuditFinding) -> FindingContent:
    """The content of a finding in a request (output-only fields ignored)."""
    return FindingContent(
        discrepancy_types=tuple(
            _enum(DiscrepancyType, audit_finding_pb2.DiscrepancyType, _DISCREPANCY, kind)
            for kind in message.discrepancy_types
        ),
        description=message.description,
        declarations=tuple(declaration(d) for d in message.declarations),
        unpaid_duty=money(message.unpaid_duty),
        intent=_enum(FindingIntent, audit_finding_pb2.FindingIntent, _INTENT, message.intent),
        trader_commits_to_correct=message.trader_commits_to_correct,
        action=_enum(
            AuditFindingAction, audit_finding_pb2.AuditFindingAction, _ACTION, message.action
        ),
        penalty_amount=_optional_money(message, "penalty_amount"),
    )


def declaration(message: referral_pb2.DeclarationReference) -> DeclarationRef:
    """A declaration reference."""
    return DeclarationRef(
        message.declaration_number, message.declaration_version, resource_id(message.office)
    )


def money(message: money_pb2.Money) -> Money:
    """An amount."""
    return Money(message.currency_code, message.units, message.nanos)


def timestamp(message: Timestamp) -> datetime:
    """A timezone-aware UTC datetime."""
    return message.ToDatetime(tzinfo=UTC)


def calendar_date(text: str, field: str) -> date:
    """A ``YYYY-MM-DD`` date that exists; raises ``InvalidArgument`` on ``field``."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(
            [FieldViolation(field, f"{text!r} is not a date of the calendar")]
        ) from None


# --- Domain -> responses ------------------------------------------------------------


def referral_message(referral: Referral) -> referral_pb2.Referral:
    """The Referral resource."""
    message = referral_pb2.Referral(
        name=referral.resource_name,
        source=_SOURCE + referral.source.name,
        trader=f"traders/{referral.trader.number}",
        trader_display_name=referral.trader.display_name,
        declarations=[_declaration_message(d) for d in referral.declarations],
        reason=referral.reason,
        evidence=list(referral.evidence),
        priority=_PRIORITY + referral.priority.name,
        state=_STATE + referral.state.name,
        audit_case=f"auditCases/{referral.audit_case_id}" if referral.audit_case_id else "",
        decision_reason=referral.decision_reason,
        decided_by=referral.decided_by,
        created_by=referral.created_by,
        create_time=_timestamp(referral.create_time),
        update_time=_timestamp(referral.update_time),
        etag=etag_of(referral.version),
    )
    if referral.revenue_at_risk is not None:
        message.revenue_at_risk.CopyFrom(_money_message(referral.revenue_at_risk))
    if referral.decide_time is not None:
        message.decide_time.CopyFrom(_timestamp(referral.decide_time))
    return message


def audit_case_message(case: AuditCase) -> audit_case_pb2.AuditCase:
    """The AuditCase resource."""
    plan = case.plan
    message = audit_case_pb2.AuditCase(
        name=case.resource_name,
        trader=f"traders/{plan.trader.number}",
        trader_display_name=plan.trader.display_name,
        selection_basis=_BASIS + plan.selection_basis.name,
        campaign=plan.campaign,
        scope=plan.scope,
        declarations=[_declaration_message(d) for d in plan.declarations],
        audit_period_start_date=plan.audit_period_start_date.isoformat(),
        audit_period_end_date=plan.audit_period_end_date.isoformat(),
        announced=plan.announced,
        planned_start_date=plan.planned_start_date.isoformat(),
        lead_auditor=plan.lead_auditor,
        team=list(plan.team),
        referrals=[f"referrals/{referral_id}" for referral_id in case.referral_ids],
        state=_case_state(case.state),
        stage_history=[_transition_message(t) for t in case.stage_history],
        pre_audit_questions=[
            audit_case_pb2.PreAuditQuestion(
                question_id=q.question_id,
                section=_SECTION + q.section.name,
                text=q.text,
            )
            for q in case.pre_audit_questions
        ],
        pre_audit_response_due_date=(
            case.pre_audit_response_due_date.isoformat() if case.pre_audit_response_due_date else ""
        ),
        pre_audit_answers=[
            audit_case_pb2.PreAuditAnswer(
                question_id=a.question_id,
                text=a.text,
                document_references=list(a.document_references),
                receive_time=_timestamp(a.receive_time),
            )
            for a in case.pre_audit_answers
        ],
        premises_tour_notes=case.premises_tour_notes,
        corrective_action_plan=case.corrective_action_plan,
        closing_note=case.closing_note,
        create_time=_timestamp(case.create_time),
        update_time=_timestamp(case.update_time),
        etag=etag_of(case.version),
    )
    if plan.notice_time is not None:
        message.notice_time.CopyFrom(_timestamp(plan.notice_time))
    if case.opening_conference is not None:
        message.opening_conference.CopyFrom(_conference_message(case.opening_conference))
    if case.exit_conference is not None:
        message.exit_conference.CopyFrom(_conference_message(case.exit_conference))
    if case.report is not None:
        message.report.CopyFrom(_report_message(case.report))
    if case.duties_collected is not None:
        message.duties_collected.CopyFrom(_money_message(case.duties_collected))
    return message


def audit_finding_message(finding: AuditFinding) -> audit_finding_pb2.AuditFinding:
    """The AuditFinding resource."""
    content = finding.content
    message = audit_finding_pb2.AuditFinding(
        name=finding.resource_name,
        discrepancy_types=[_DISCREPANCY + kind.name for kind in content.discrepancy_types],
        description=content.description,
        declarations=[_declaration_message(d) for d in content.declarations],
        unpaid_duty=_money_message(content.unpaid_duty),
        intent=_INTENT + content.intent.name,
        trader_commits_to_correct=content.trader_commits_to_correct,
        action=_ACTION + content.action.name,
        recorded_by=finding.recorded_by,
        create_time=_timestamp(finding.create_time),
        update_time=_timestamp(finding.update_time),
        etag=etag_of(finding.version),
    )
    if content.penalty_amount is not None:
        message.penalty_amount.CopyFrom(_money_message(content.penalty_amount))
    return message


# --- Conversions of value objects ---------------------------------------------------


def _enum(enum_type: type[E], proto_enum: Any, prefix: str, value: int) -> E:
    return enum_type[proto_enum.Name(value).removeprefix(prefix)]


def _party(message: events_pb2.PartyReference) -> PartyRef:
    return PartyRef(message.number, message.display_name)


def _optional_money(message: Any, field: str) -> Money | None:
    return money(getattr(message, field)) if message.HasField(field) else None


def _declaration_message(declaration: DeclarationRef) -> referral_pb2.DeclarationReference:
    return referral_pb2.DeclarationReference(
        declaration_number=declaration.number,
        declaration_version=declaration.version,
        office=f"offices/{declaration.office}",
    )


def _money_message(amount: Money) -> money_pb2.Money:
    return money_pb2.Money(
        currency_code=amount.currency_code, units=amount.units, nanos=amount.nanos
    )


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _case_state(state: AuditCaseState | None) -> str:
    return _CASE_STATE + (state.name if state is not None else "UNSPECIFIED")


def _transition_message(transition: StageTransition) -> audit_case_pb2.StageTransition:
    return audit_case_pb2.StageTransition(
        from_state=_case_state(transition.from_state),
        to_state=_case_state(transition.to_state),
        actor=transition.actor,
        transition_time=_timestamp(transition.transition_time),
        note=transition.note,
    )


def _conference_message(record: ConferenceRecord) -> audit_case_pb2.ConferenceRecord:
    return audit_case_pb2.ConferenceRecord(
        conference_time=_timestamp(record.conference_time),
        attendees=list(record.attendees),
        summary=record.summary,
        disputed_issues=list(record.disputed_issues),
    )


def _report_message(report: AuditReport) -> audit_case_pb2.AuditReport:
    message = audit_case_pb2.AuditReport(
        summary=report.summary,
        compliant=report.compliant,
        document_reference=report.document_reference,
        issued_by=report.issued_by,
        issue_time=_timestamp(report.issue_time),
    )
    if report.total_unpaid_duty is not None:
        message.total_unpaid_duty.CopyFrom(_money_message(report.total_unpaid_duty))
    if report.total_penalties is not None:
        message.total_penalties.CopyFrom(_money_message(report.total_penalties))
    return message


def checkpoint(message: history_checkpoint_pb2.HistoryCheckpoint) -> Checkpoint:
    """A source's signed checkpoint from its message (already validated)."""
    return Checkpoint(
        source=message.source,
        sequence=message.sequence,
        head_hash=message.head_hash,
        sign_time=timestamp(message.sign_time),
        signature=message.signature,
    )


def checkpoint_message(
    checkpoint: Checkpoint, record_time: datetime
) -> history_checkpoint_pb2.HistoryCheckpoint:
    """The message of a kept checkpoint."""
    return history_checkpoint_pb2.HistoryCheckpoint(
        source=checkpoint.source,
        sequence=checkpoint.sequence,
        head_hash=checkpoint.head_hash,
        sign_time=_timestamp(checkpoint.sign_time),
        signature=checkpoint.signature,
        record_time=_timestamp(record_time),
    )
