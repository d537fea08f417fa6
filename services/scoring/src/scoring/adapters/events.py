"""The events an assessment causes, as the receiving services' ingest requests.

Written to the outbox in the same transaction as the assessment and relayed
by the chassis:

* every assessment → compliance ``IngestAssessmentEvent`` (trade statistics);
* RED or YELLOW → exam_reports ``IngestDecisionEvent`` (an examination task),
  also when a capacity policy downgraded the selection: the criteria downgraded
  to the decision's channel are named as the ones that selected it, and the
  downgrades travel with the decision;
* BLUE, or a selected treatment that also refers to audit → audit_referral
  ``IngestBlueDecisionEvent`` (a referral).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from customs.audit_referral.v1 import audit_referral_service_pb2
from customs.audit_referral.v1 import events_pb2 as audit_events_pb2
from customs.common.v1 import selectivity_pb2
from customs.compliance.v1 import compliance_service_pb2
from customs.compliance.v1 import events_pb2 as compliance_events_pb2
from customs.exam_reports.v1 import events_pb2 as exam_events_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2, examination_pb2

from scoring.adapters.codec import (
    channel_to_proto,
    datetime_to_timestamp,
    level_to_proto,
    money_to_proto,
)
from scoring.domain.assessment import Assessment, CriterionHit, ExaminerInstruction
from scoring.domain.capacity import CapacityDowngrade, examined_hits
from scoring.domain.declaration import Declaration, DeclarationItem, Money, Party
from scoring.domain.rules import Channel

_SOURCE = "scoring"
_EXAM_REPORTS_METHOD = "/customs.exam_reports.v1.ExamReportsService/IngestDecisionEvent"
_COMPLIANCE_METHOD = "/customs.compliance.v1.ComplianceService/IngestAssessmentEvent"
_AUDIT_REFERRAL_METHOD = "/customs.audit_referral.v1.AuditReferralService/IngestBlueDecisionEvent"
# Limits of the receivers' contracts.
_MAX_INSTRUCTIONS = 50
_MAX_INSTRUCTION_LENGTH = 2_000
_MAX_MATCHED_CRITERIA = 100
_MAX_SELECTED_CRITERIA = 1_000
_MAX_DOWNGRADES = 100


@dataclass(frozen=True)
class OutboundEvent:
    """One event for the outbox: the peer, its ingest method and the serialized request."""

    destination: str
    method: str
    event_id: str
    payload: bytes


def _new_event_id() -> str:
    return str(uuid.uuid4())


def assessment_events(
    assessment: Assessment, new_event_id: Callable[[], str] = _new_event_id
) -> list[OutboundEvent]:
    """The events ``assessment`` causes, each with a fresh event id."""
    decision = assessment.decision
    events = [_compliance_event(assessment, new_event_id())]
    if decision.channel in (Channel.RED, Channel.YELLOW):
        events.append(_exam_reports_event(assessment, new_event_id()))
    if decision.refer_to_audit:
        events.append(_audit_referral_event(assessment, new_event_id()))
    return events


def _office(declaration: Declaration) -> str:
    return f"offices/{declaration.office_code}"


def _selected_criteria(hits: Iterable[CriterionHit]) -> list[str]:
    """Criterion names in priority order (hits are), each once, within the receivers' limit."""
    names: list[str] = []
    for hit in hits:
        if hit.criterion not in names:
            names.append(hit.criterion)
    return names[:_MAX_MATCHED_CRITERIA]


def _criterion_hits(hits: Iterable[CriterionHit]) -> list[exam_events_pb2.SelectedCriterion]:
    """Each hit (criterion, revision, item) once, in priority order, within the receiver's limit.

    exam_reports reports the examination outcome back to criteria per hit, so
    the item a criterion hit matters, not only its name.
    """
    seen: set[tuple[str, int, int]] = set()
    selected: list[exam_events_pb2.SelectedCriterion] = []
    for hit in hits:
        key = (hit.criterion, hit.criterion_revision, hit.item_number)
        if key in seen:
            continue
        seen.add(key)
        selected.append(
            exam_events_pb2.SelectedCriterion(
                criterion=hit.criterion,
                criterion_revision=hit.criterion_revision,
                item_number=hit.item_number,
            )
        )
    return selected[:_MAX_SELECTED_CRITERIA]


def _texts(instructions: Iterable[ExaminerInstruction], *, name_items: bool) -> list[str]:
    """Instructions as single texts within the receivers' limits, each text once."""
    texts: list[str] = []
    for instruction in instructions:
        text = instruction.text
        if name_items and instruction.item_number:
            text = f"Item {instruction.item_number}: {text}"
        text = text[:_MAX_INSTRUCTION_LENGTH]
        if text not in texts:
            texts.append(text)
    return texts[:_MAX_INSTRUCTIONS]


def _downgrade(downgrade: CapacityDowngrade) -> selectivity_pb2.CapacityDowngrade:
    return selectivity_pb2.CapacityDowngrade(
        criterion=downgrade.criterion,
        item_number=downgrade.item_number,
        random_selection=downgrade.random_kind is not None,
        from_channel=channel_to_proto(downgrade.from_channel),
        from_examination_level=level_to_proto(downgrade.from_examination_level),
        to_channel=channel_to_proto(downgrade.to_channel),
        capacity_policy=downgrade.capacity_policy,
        utilisation_percent=downgrade.utilisation_percent,
    )


def _downgrade_instruction(downgrade: CapacityDowngrade) -> ExaminerInstruction:
    """Tells the officer why a document review stands where an examination was asked for."""
    what = downgrade.criterion or "A random compliance draw"
    asked = downgrade.from_channel.name
    if downgrade.from_channel is Channel.RED:
        level = downgrade.from_examination_level.name.lower().replace("_", " ")
        asked = f"a {level} examination"
    return ExaminerInstruction(
        downgrade.item_number,
        f"{what} selected {asked}; {downgrade.capacity_policy} downgraded it to a document "
        f"review at {downgrade.utilisation_percent:g} % of the office's capacity: check the "
        "documents listed.",
    )


def _exam_reports_event(assessment: Assessment, event_id: str) -> OutboundEvent:
    declaration, decision = assessment.declaration, assessment.decision

    def trader(party: Party | None) -> examination_pb2.TraderReference | None:
        if party is None:
            return None
        return examination_pb2.TraderReference(number=party.id, display_name=party.name)

    documents = []
    for check in decision.documents_to_check:
        code = check.document.document_type_code
        description = check.document.description or f"Document {code}"
        if check.item_numbers:
            description += f" (items {', '.join(str(n) for n in check.item_numbers)})"
        documents.append(examination_pb2.RequiredDocument(code=code, description=description))
    # A criterion downgraded to this channel is examined too: its task names it.
    examined = examined_hits(decision)
    final = {
        (downgrade.criterion, downgrade.item_number, downgrade.random_kind): downgrade
        for downgrade in decision.capacity_downgrades
    }
    downgrade_instructions = [
        _downgrade_instruction(downgrade)
        for downgrade in final.values()
        if downgrade.to_channel is decision.channel
    ]
    request = exam_reports_service_pb2.IngestDecisionEventRequest(
        event_id=event_id,
        source_service=_SOURCE,
        occur_time=datetime_to_timestamp(assessment.create_time),
        decision=exam_events_pb2.SelectivityDecision(
            assessment=assessment.name,
            declaration_number=declaration.declaration_number,
            declaration_version=declaration.version,
            office=_office(declaration),
            importer=trader(declaration.importer),
            broker=trader(declaration.declarant),
            carrier=trader(declaration.carrier or declaration.courier),
            channel=channel_to_proto(decision.channel),
            examination_level=level_to_proto(decision.examination_level),
            documents_to_check=documents,
            examiner_instructions=_texts(
                (*decision.examiner_instructions, *downgrade_instructions), name_items=True
            ),
            random_selection=decision.randomly_selected,
            matched_criteria=_selected_criteria(examined),
            decide_time=datetime_to_timestamp(assessment.create_time),
            selected_criteria=_criterion_hits(examined),
            capacity_downgrades=[
                _downgrade(downgrade)
                for downgrade in decision.capacity_downgrades[:_MAX_DOWNGRADES]
            ],
        ),
    )
    return OutboundEvent(
        "exam-reports", _EXAM_REPORTS_METHOD, event_id, request.SerializeToString()
    )


def _total(amounts: Iterable[Money]) -> Money | None:
    """The sum of amounts in one currency; None when there are none or currencies differ."""
    listed = list(amounts)
    currencies = {money.currency_code for money in listed}
    if len(currencies) != 1:
        return None
    return Money(currencies.pop(), sum((money.amount for money in listed), Decimal(0)))


def _audit_referral_event(assessment: Assessment, event_id: str) -> OutboundEvent:
    declaration, decision = assessment.declaration, assessment.decision

    def party(value: Party | None) -> audit_events_pb2.PartyReference | None:
        if value is None:
            return None
        return audit_events_pb2.PartyReference(number=value.id, display_name=value.name)

    referring = [
        (hit, instruction)
        for hit, instruction in zip(
            decision.selected_hits, decision.examiner_instructions, strict=True
        )
        if hit.treatment.refers_to_audit
    ]
    total_value = _total(item.customs_value for item in declaration.items)
    total_duties = _total(duty.amount for item in declaration.items for duty in item.duties)
    request = audit_referral_service_pb2.IngestBlueDecisionEventRequest(
        event_id=event_id,
        source_service=_SOURCE,
        occur_time=datetime_to_timestamp(assessment.create_time),
        blue_decision=audit_events_pb2.BlueDecision(
            assessment=assessment.name,
            declaration_number=declaration.declaration_number,
            declaration_version=declaration.version,
            office=_office(declaration),
            importer=party(declaration.importer),
            broker=party(declaration.declarant),
            lodgement_time=datetime_to_timestamp(declaration.lodgement_time),
            matched_criteria=_selected_criteria(hit for hit, _ in referring),
            random_selection=False,
            audit_instructions=_texts((text for _, text in referring), name_items=False),
            total_customs_value=money_to_proto(total_value) if total_value else None,
            total_duties=money_to_proto(total_duties) if total_duties else None,
            decide_time=datetime_to_timestamp(assessment.create_time),
        ),
    )
    return OutboundEvent(
        "audit-referral", _AUDIT_REFERRAL_METHOD, event_id, request.SerializeToString()
    )


def _statistical_item(item: DeclarationItem) -> compliance_events_pb2.AssessedItem:
    """An item for trade statistics, valued in national currency where the declaration says.

    The statistical value is the national-currency value when declared;
    otherwise the customs value stands in. Duties are added up in that same
    currency (they are assessed in national currency).
    """
    value = item.statistical_value or item.customs_value
    duties = sum(
        (
            duty.amount.amount
            for duty in item.duties
            if duty.amount.currency_code == value.currency_code
        ),
        Decimal(0),
    )
    return compliance_events_pb2.AssessedItem(
        item_number=item.item_number,
        hs_code=item.hs_code,
        origin_country=item.origin_country_code,
        customs_value=money_to_proto(value),
        duties=money_to_proto(Money(value.currency_code, duties)),
        tax_rate=item.tax_rate_percent,
    )


def _compliance_event(assessment: Assessment, event_id: str) -> OutboundEvent:
    declaration, decision = assessment.declaration, assessment.decision

    def party(value: Party | None) -> compliance_events_pb2.PartyReference | None:
        if value is None:
            return None
        return compliance_events_pb2.PartyReference(number=value.id, display_name=value.name)

    request = compliance_service_pb2.IngestAssessmentEventRequest(
        event_id=event_id,
        source_service=_SOURCE,
        occur_time=datetime_to_timestamp(assessment.create_time),
        assessed_declaration=compliance_events_pb2.AssessedDeclaration(
            assessment=assessment.name,
            declaration_number=declaration.declaration_number,
            declaration_version=declaration.version,
            office=_office(declaration),
            lodgement_time=datetime_to_timestamp(declaration.lodgement_time),
            importer=party(declaration.importer),
            exporter=party(declaration.seller),
            broker=party(declaration.declarant),
            carrier=party(declaration.carrier or declaration.courier),
            items=[_statistical_item(item) for item in declaration.items],
            channel=channel_to_proto(decision.channel),
            examination_level=level_to_proto(decision.examination_level),
            random_selection=decision.randomly_selected,
            decide_time=datetime_to_timestamp(assessment.create_time),
        ),
    )
    return OutboundEvent("compliance", _COMPLIANCE_METHOD, event_id, request.SerializeToString())
