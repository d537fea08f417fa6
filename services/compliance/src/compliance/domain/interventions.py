"""Informed-compliance interventions (appendix 6).

When a trader's errors are repetitive and look unintentional, customs meets
the company to agree on a corrective plan and follows it up. A post-clearance
audit finding whose corrective action is a compliance intervention opens one
automatically, so that no such finding is left without a specialist in charge.

- PLANNED → FOLLOW_UP (the meeting and its corrective plan are recorded) →
  CLOSED (with an outcome);
- PLANNED → CANCELLED (before the meeting).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import Enum, StrEnum
from types import MappingProxyType

from compliance.domain.outcomes import (
    AuditFinding,
    AuditFindingAction,
    AuditOutcome,
    ComplianceArea,
)
from compliance.domain.traders import TraderRole
from customs_kit.errors import (
    Aborted,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PreconditionViolation,
)

INTERVENTION_NAME_PREFIX = "complianceInterventions/"
#: How far ahead of the server's clock a client may put a meeting that took place.
MEETING_TIME_SKEW = timedelta(minutes=5)


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


class InterventionOutcome(StrEnum):
    """How an intervention ended."""

    RESOLVED = "RESOLVED"
    NOT_RESOLVED = "NOT_RESOLVED"


class InterventionAction(Enum):
    """Everything that can be done to an intervention, each allowed only from one state."""

    RECORD_MEETING = "RECORD_MEETING"
    CLOSE = "CLOSE"
    CANCEL = "CANCEL"


#: The state each action starts from; anything else is refused (INVALID_INTERVENTION_STATE).
ALLOWED_FROM: MappingProxyType[InterventionAction, InterventionState] = MappingProxyType(
    {
        InterventionAction.RECORD_MEETING: InterventionState.PLANNED,
        InterventionAction.CLOSE: InterventionState.FOLLOW_UP,
        # Once the company has been met, the intervention ends with an outcome instead.
        InterventionAction.CANCEL: InterventionState.PLANNED,
    }
)


def intervention_name(intervention_id: str) -> str:
    """The resource name ``complianceInterventions/{intervention_id}``."""
    return f"{INTERVENTION_NAME_PREFIX}{intervention_id}"


@dataclass(frozen=True)
class InterventionMeeting:
    """The meeting with the trader and the corrective plan agreed there."""

    meeting_time: datetime
    attendees: tuple[str, ...]
    summary: str
    corrective_plan: str
    follow_up_date: date


def checked_meeting(meeting: InterventionMeeting, now: datetime) -> InterventionMeeting:
    """``meeting`` if it can be recorded ``now``; raises ``InvalidArgument`` otherwise.

    A meeting is recorded after it took place, and its plan is followed up on
    or after the day of the meeting.
    """
    violations = []
    if meeting.meeting_time > now + MEETING_TIME_SKEW:
        violations.append(FieldViolation("meeting.meeting_time", "must not be in the future"))
    if meeting.follow_up_date < meeting.meeting_time.date():
        violations.append(
            FieldViolation("meeting.follow_up_date", "must not be before the day of the meeting")
        )
    if violations:
        raise InvalidArgument(violations)
    return meeting


@dataclass(frozen=True)
class InterventionRequest:
    """What a specialist (or a service on an analyst's decision) opens an intervention with."""

    trader_id: str
    trader_role: TraderRole
    trigger: InterventionTrigger
    areas: frozenset[ComplianceArea]
    error_pattern: str
    #: Resource names of the records that show the errors, in the order given.
    evidence: tuple[str, ...]
    planned_meeting_time: datetime | None


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
    meeting: InterventionMeeting | None = None
    outcome: InterventionOutcome | None = None
    #: Why it was closed or cancelled.
    closing_note: str = ""

    @property
    def name(self) -> str:
        """The resource name ``complianceInterventions/{intervention}``."""
        return intervention_name(self.intervention_id)

    @property
    def etag(self) -> str:
        """The opaque version a client sends back to change the intervention."""
        return f"{self.version}"

    def check_etag(self, etag: str) -> None:
        """Raises ``Aborted`` unless ``etag`` is the intervention's current etag."""
        if etag != self.etag:
            raise Aborted(
                "ETAG_MISMATCH",
                f"{self.name} changed since it was read (etag {etag!r}, now {self.etag!r})",
            )

    def require(self, action: InterventionAction) -> None:
        """Raises ``FailedPrecondition`` (``INVALID_INTERVENTION_STATE``) unless allowed."""
        allowed = ALLOWED_FROM[action]
        if self.state is allowed:
            return
        raise FailedPrecondition(
            "INVALID_INTERVENTION_STATE",
            f"{self.name} is {self.state.value}; {action.value} needs {allowed.value}",
            [
                PreconditionViolation(
                    "INTERVENTION_STATE",
                    self.name,
                    f"state is {self.state.value}, must be {allowed.value}",
                )
            ],
            metadata={"state": self.state.value, "action": action.value},
        )

    def record_meeting(self, meeting: InterventionMeeting, now: datetime) -> ComplianceIntervention:
        """The intervention after its meeting: FOLLOW_UP until the plan is checked."""
        self.require(InterventionAction.RECORD_MEETING)
        return self._moved(replace(self, meeting=meeting), InterventionState.FOLLOW_UP, now)

    def close(
        self, outcome: InterventionOutcome, closing_note: str, now: datetime
    ) -> ComplianceIntervention:
        """The intervention finished with how it ended."""
        self.require(InterventionAction.CLOSE)
        closed = replace(self, outcome=outcome, closing_note=closing_note)
        return self._moved(closed, InterventionState.CLOSED, now)

    def cancel(self, reason: str, now: datetime) -> ComplianceIntervention:
        """The intervention called off before the meeting."""
        self.require(InterventionAction.CANCEL)
        return self._moved(replace(self, closing_note=reason), InterventionState.CANCELLED, now)

    def _moved(
        self, changed: ComplianceIntervention, state: InterventionState, now: datetime
    ) -> ComplianceIntervention:
        return replace(changed, state=state, update_time=now, version=self.version + 1)


def open_intervention(
    intervention_id: str, request: InterventionRequest, owner: str, now: datetime
) -> ComplianceIntervention:
    """A new PLANNED intervention in the hands of ``owner``."""
    return ComplianceIntervention(
        intervention_id=intervention_id,
        trader_id=request.trader_id,
        trader_role=request.trader_role,
        trigger=request.trigger,
        areas=request.areas,
        error_pattern=request.error_pattern,
        evidence=request.evidence,
        planned_meeting_time=request.planned_meeting_time,
        state=InterventionState.PLANNED,
        owner=owner,
        create_time=now,
        update_time=now,
        version=1,
    )


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
