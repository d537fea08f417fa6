"""Events this service sends through its outbox when an audit report is issued.

The report's findings go to ``compliance`` (compliance measurement, and an
intervention for each finding that calls for one), to ``criteria`` (the
performance of the criteria whose selections led to the audit) and to
``scoring`` (the outcome of each audited declaration, which the risk model
learns from: an infringement for the declarations a finding names, none for
the audited declarations no finding names). Each event is
the receiver's own ingest request, added in the transaction that issues the
report, so the findings leave if and only if the report was issued.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence

from customs.common.v1 import money_pb2
from customs.compliance.v1 import compliance_service_pb2
from customs.compliance.v1 import events_pb2 as compliance_events_pb2
from customs.criteria.v1 import criteria_service_pb2
from customs.criteria.v1 import events_pb2 as criteria_events_pb2
from customs.scoring.v1 import events_pb2 as scoring_events_pb2
from customs.scoring.v1 import scoring_service_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from audit_referral.domain.audit_cases import AuditCase, AuditReport
from audit_referral.domain.common import Money, unique_in_order
from audit_referral.domain.findings import AuditFinding, AuditFindingAction
from audit_referral.domain.referrals import Referral
from customs_kit.uow import UnitOfWork

SOURCE_SERVICE = "audit-referral"
COMPLIANCE = "compliance"
CRITERIA = "criteria"
SCORING = "scoring"
COMPLIANCE_METHOD = "/customs.compliance.v1.ComplianceService/IngestAuditFindingEvent"
CRITERIA_METHOD = "/customs.criteria.v1.CriteriaService/IngestAuditFindingEvent"
SCORING_METHOD = "/customs.scoring.v1.ScoringService/IngestAuditFindingEvent"

_MAX_SUMMARY_DESCRIPTION = 10_000
#: criteria names its criteria more narrowly than the evidence pattern allows.
_CRITERION_NAME = re.compile(r"^criteria/[a-z0-9][a-z0-9-]{0,62}$")
_MAX_CRITERIA = 200
_MAX_DECLARATIONS_PER_CRITERIA_EVENT = 1000
_MAX_DECLARATIONS_PER_SCORING_EVENT = 10_000
#: Actions that mean a penalty was imposed or an investigation opened.
_PENALISING = frozenset(
    {AuditFindingAction.ADMINISTRATIVE_PENALTY, AuditFindingAction.CRIMINAL_INVESTIGATION}
)

#: The most severe action of a case's findings decides its single outcome for criteria.
_OUTCOME_BY_ACTION = {
    AuditFindingAction.CRIMINAL_INVESTIGATION: "AUDIT_OUTCOME_INVESTIGATION",
    AuditFindingAction.ADMINISTRATIVE_PENALTY: "AUDIT_OUTCOME_PENALTY",
    AuditFindingAction.COMPLIANCE_INTERVENTION: "AUDIT_OUTCOME_COMPLIANCE_INTERVENTION",
}


def publish_audit_report(
    uow: UnitOfWork,
    case: AuditCase,
    findings: Sequence[AuditFinding],
    referrals: Sequence[Referral],
) -> None:
    """Adds the issued report of ``case`` to the outbox, for compliance, criteria and scoring."""
    report = case.report
    if report is None:
        raise ValueError(f"{case.resource_name} has no issued report")
    issue_time = _timestamp(report)
    compliance_event = compliance_service_pb2.IngestAuditFindingEventRequest(
        event_id=str(uuid.uuid4()),
        source_service=SOURCE_SERVICE,
        occur_time=issue_time,
        audit_outcome=_audit_outcome(case, report, findings, issue_time),
    )
    uow.outbox.add(
        destination=COMPLIANCE,
        method=COMPLIANCE_METHOD,
        payload=compliance_event.SerializeToString(),
        event_id=compliance_event.event_id,
    )
    criteria_event = criteria_service_pb2.IngestAuditFindingEventRequest(
        event_id=str(uuid.uuid4()),
        source_service=SOURCE_SERVICE,
        occur_time=issue_time,
        finding=_criteria_finding(case, report, findings, referrals, issue_time),
    )
    uow.outbox.add(
        destination=CRITERIA,
        method=CRITERIA_METHOD,
        payload=criteria_event.SerializeToString(),
        event_id=criteria_event.event_id,
    )
    for outcome in _scoring_outcomes(case, findings, referrals, issue_time):
        scoring_event = scoring_service_pb2.IngestAuditFindingEventRequest(
            event_id=str(uuid.uuid4()),
            source_service=SOURCE_SERVICE,
            occur_time=issue_time,
            finding=outcome,
        )
        uow.outbox.add(
            destination=SCORING,
            method=SCORING_METHOD,
            payload=scoring_event.SerializeToString(),
            event_id=scoring_event.event_id,
        )


def _audit_outcome(
    case: AuditCase,
    report: AuditReport,
    findings: Sequence[AuditFinding],
    issue_time: Timestamp,
) -> compliance_events_pb2.AuditOutcome:
    outcome = compliance_events_pb2.AuditOutcome(
        audit_case=case.resource_name,
        trader=compliance_events_pb2.PartyReference(
            number=case.plan.trader.number, display_name=case.plan.trader.display_name
        ),
        selection_basis=f"AUDIT_SELECTION_BASIS_{case.plan.selection_basis.value}",
        audited_declaration_numbers=unique_in_order(d.number for d in case.plan.declarations),
        compliant=report.compliant,
        report_time=issue_time,
    )
    if report.total_unpaid_duty is not None:
        outcome.total_unpaid_duty.CopyFrom(_money(report.total_unpaid_duty))
    for finding in findings:
        content = finding.content
        summary = outcome.findings.add(
            finding=finding.resource_name,
            discrepancy_types=[
                f"DISCREPANCY_TYPE_{kind.value}" for kind in content.discrepancy_types
            ],
            declaration_numbers=unique_in_order(d.number for d in content.declarations),
            description=content.description[:_MAX_SUMMARY_DESCRIPTION],
            action=f"AUDIT_FINDING_ACTION_{content.action.value}",
        )
        summary.unpaid_duty.CopyFrom(_money(content.unpaid_duty))
    return outcome


def _criteria_finding(
    case: AuditCase,
    report: AuditReport,
    findings: Sequence[AuditFinding],
    referrals: Sequence[Referral],
    issue_time: Timestamp,
) -> criteria_events_pb2.AuditFinding:
    criteria = unique_in_order(
        name for referral in referrals for name in referral.evidence if _CRITERION_NAME.match(name)
    )[:_MAX_CRITERIA]
    declarations = unique_in_order(
        [
            *(d.number for d in case.plan.declarations),
            *(d.number for finding in findings for d in finding.content.declarations),
        ]
    )[:_MAX_DECLARATIONS_PER_CRITERIA_EVENT]
    finding = criteria_events_pb2.AuditFinding(
        audit_case=case.resource_name,
        importer_id=case.plan.trader.number,
        declaration_numbers=declarations,
        criteria=criteria,
        outcome=_outcome(report, findings),
        discrepancy_found=not report.compliant,
        finding_time=issue_time,
    )
    if report.total_unpaid_duty is not None and not report.total_unpaid_duty.is_zero:
        finding.unpaid_duty_assessed.CopyFrom(_money(report.total_unpaid_duty))
    if report.total_penalties is not None:
        finding.penalty_amount.CopyFrom(_money(report.total_penalties))
    return finding


def _scoring_outcomes(
    case: AuditCase,
    findings: Sequence[AuditFinding],
    referrals: Sequence[Referral],
    issue_time: Timestamp,
) -> list[scoring_events_pb2.AuditFinding]:
    """One outcome per finding for the declarations it names, one for the audited rest.

    The audited declarations are the plan's and those of the referrals that
    opened the case. A finding that names no declaration concerns the audited
    ones as a whole.
    Its unpaid duty is recorded against each declaration it names (scoring
    adds up what each declaration's sources found).
    """
    audited = _scoring_declarations(
        [
            *(d.number for d in case.plan.declarations),
            *(d.number for referral in referrals for d in referral.declarations),
        ]
    )
    named: set[str] = set()
    outcomes = []
    for finding in findings:
        content = finding.content
        numbers = _scoring_declarations(d.number for d in content.declarations) or audited
        named.update(numbers)
        if not numbers:
            continue
        outcome = scoring_events_pb2.AuditFinding(
            audit_case=case.resource_name,
            declaration_numbers=numbers,
            discrepancy_found=True,
            penalty_imposed=content.action in _PENALISING,
            finding_time=issue_time,
        )
        if not content.unpaid_duty.is_zero:
            outcome.unpaid_duty_assessed.CopyFrom(_money(content.unpaid_duty))
        outcomes.append(outcome)
    compliant = [number for number in audited if number not in named]
    if compliant:
        outcomes.append(
            scoring_events_pb2.AuditFinding(
                audit_case=case.resource_name,
                declaration_numbers=compliant,
                discrepancy_found=False,
                finding_time=issue_time,
            )
        )
    return outcomes


def _scoring_declarations(numbers: Iterable[str]) -> list[str]:
    return list(unique_in_order(numbers)[:_MAX_DECLARATIONS_PER_SCORING_EVENT])


def _outcome(report: AuditReport, findings: Sequence[AuditFinding]) -> str:
    actions = {finding.content.action for finding in findings}
    for action, outcome in _OUTCOME_BY_ACTION.items():
        if action in actions:
            return outcome
    if report.total_unpaid_duty is not None and not report.total_unpaid_duty.is_zero:
        return "AUDIT_OUTCOME_DUTY_ASSESSED"
    return "AUDIT_OUTCOME_NO_DISCREPANCY"


def _money(amount: Money) -> money_pb2.Money:
    return money_pb2.Money(
        currency_code=amount.currency_code, units=amount.units, nanos=amount.nanos
    )


def _timestamp(report: AuditReport) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(report.issue_time)
    return stamp
