"""Informed-compliance interventions (appendix 6).

When a trader's errors are repetitive and look unintentional, customs meets
the company to agree on a corrective plan and follows it up. A post-clearance
audit finding whose corrective action is a compliance intervention opens one
automatically, so that no such finding is left without a specialist in charge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from compliance.domain.outcomes import (
    AuditFinding,
    AuditFindingAction,
    AuditOutcome,
    ComplianceArea,
)
from compliance.domain.traders import TraderRole

INTERVENTION_NAME_PREFIX = "complianceInterventions/"


class InterventionTrigger(StrEnum):
    """What led to an intervention."""

    COMPLIANCE_MEASUREMENT = "COMPLIANCE_MEASUREMENT"
    EXAMINATION_FINDINGS = "EXAMINATION_FINDINGS"
    AUDIT_FINDING = "AUDIT_FINDING"
    MANUAL = "MANUAL"


class InterventionState(StrEnum):
    """Where an intervention is."""

    PLANNED = "PLANNED"
    FOLLOW_UP = "FOLLOW_UP"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class ComplianceIntervention:
    """An informed-compliance intervention with one trader."""

    intervention_id: str
    trader_id: str
    trader_role: TraderRole
    trigger: InterventionTrigger
    areas: frozenset[ComplianceArea]
    error_pattern: str
    evidence: tuple[str, ...]
    planned_meeting_time: datetime | None
    state: InterventionState
    owner: str
    create_time: datetime
    update_time: datetime
    version: int
    #: The audit finding (``auditCases/{case}/findings/{finding}``) that opened it, if any.
    source_finding: str | None = None

    @property
    def name(self) -> str:
        """The resource name ``complianceInterventions/{intervention}``."""
        return f"{INTERVENTION_NAME_PREFIX}{self.intervention_id}"

    @property
    def etag(self) -> str:
        """The opaque version a client sends back to change the intervention."""
        return f"{self.version}"


def findings_needing_intervention(audit: AuditOutcome) -> list[AuditFinding]:
    """The findings of ``audit`` whose corrective action is a compliance intervention."""
    return [f for f in audit.findings if f.action is AuditFindingAction.COMPLIANCE_INTERVENTION]


#: The role an audited trader is counselled in, when it plays several.
_ROLE_PREFERENCE = (
    TraderRole.IMPORTER,
    TraderRole.BROKER,
    TraderRole.EXPORTER,
    TraderRole.CARRIER,
)


def audited_role(roles: frozenset[TraderRole]) -> TraderRole:
    """The role in which an audited trader made its errors.

    Audits examine the records of importers first and brokers second (appendix
    7); the audit report does not say which role it looked at.
    """
    return next((role for role in _ROLE_PREFERENCE if role in roles), TraderRole.IMPORTER)


def intervention_for_finding(
    intervention_id: str,
    audit: AuditOutcome,
    finding: AuditFinding,
    trader_role: TraderRole,
    owner: str,
    now: datetime,
) -> ComplianceIntervention:
    """A PLANNED intervention opened from an audit finding."""
    return ComplianceIntervention(
        intervention_id=intervention_id,
        trader_id=audit.trader.number,
        trader_role=trader_role,
        trigger=InterventionTrigger.AUDIT_FINDING,
        areas=finding.areas,
        error_pattern=finding.description,
        evidence=(audit.audit_case, finding.finding),
        planned_meeting_time=None,
        state=InterventionState.PLANNED,
        owner=owner,
        create_time=now,
        update_time=now,
        version=1,
        source_finding=finding.finding,
    )
