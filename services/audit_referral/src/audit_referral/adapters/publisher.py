"""Events this service sends through its outbox when an audit report is issued.

The report's findings go to ``compliance`` (compliance measurement, and an
intervention for each finding that calls for one) and to ``criteria`` (the
performance of the criteria whose selections led to the audit). Each event is
the receiver's own ingest request, added in the transaction that issues the
report, so the findings leave if and only if the report was issued.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

from customs.common.v1 import money_pb2
from customs.compliance.v1 import compliance_service_pb2
from customs.compliance.v1 import events_pb2 as compliance_events_pb2
from customs.criteria.v1 import criteria_service_pb2
from customs.criteria.v1 import events_pb2 as criteria_events_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from audit_referral.domain.audit_cases import AuditCase, AuditReport
from audit_referral.domain.common import Money, unique_in_order
from audit_referral.domain.findings import AuditFinding, AuditFindingAction
from audit_referral.domain.referrals import Referral
from customs_kit.uow import UnitOfWork

SOURCE_SERVICE = "audit-referral"
COMPLIANCE = "compliance"
CRITERIA = "criteria"
COMPLIANCE_METHOD = "/customs.compliance.v1.ComplianceService/IngestAuditFindingEvent"
CRITERIA_METHOD = "/customs.criteria.v1.CriteriaService/IngestAuditFindingEvent"

_MAX_SUMMARY_DESCRIPTION = 10_000
#: criteria names its criteria more narrowly than the evidence pattern allows.
_CRITERION_NAME = re.compile(r"^criteria/[a-z0-9][a-z0-9-]{0,62}$")
_MAX_CRITERIA = 200
_MAX_DECLARATIONS_PER_CRITERIA_EVENT = 1000

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
    """Adds the issued report of ``case`` to the outbox, for compliance and for criteria."""
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
