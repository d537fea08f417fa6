"""Referrals: requests to audit a trader's records after release, and their triage.

A referral comes from scoring's BLUE channel, an approved examination report
that recommends an audit or a penalty, criteria monitoring, the compliance
specialist or an auditor. An auditor triages each OPEN referral once: accepted
into an audit case, or declined with a reason. Both outcomes are final, so a
referral's history never has to be reconstructed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from audit_referral.domain.common import (
    DeclarationRef,
    Money,
    PartyRef,
    check_etag,
    unique_in_order,
)
from audit_referral.domain.findings import DiscrepancyType
from customs_kit.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PreconditionViolation,
)

#: The contract's limits on a referral's free text and evidence.
MAX_REASON_LENGTH = 10_000
MAX_EVIDENCE = 100
_TRUNCATION_MARK = " […]"


class ReferralSource(Enum):
    """Where a referral comes from."""

    BLUE_DECISION = "BLUE_DECISION"
    CRITERIA_MONITORING = "CRITERIA_MONITORING"
    COMPLIANCE = "COMPLIANCE"
    EXAMINATION_FINDING = "EXAMINATION_FINDING"
    MANUAL = "MANUAL"


#: Sources that only arrive as events from other services, never from a person.
INGESTED_SOURCES = frozenset({ReferralSource.BLUE_DECISION, ReferralSource.EXAMINATION_FINDING})


class ReferralState(Enum):
    """Where a referral is in its triage; ACCEPTED and DECLINED are final."""

    OPEN = "OPEN"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"


class ReferralPriority(Enum):
    """How urgently to triage; the value is the rank (higher first)."""

    LOW = 1
    NORMAL = 2
    HIGH = 3


@dataclass(frozen=True)
class NewReferral:
    """What a referrer says when asking for an audit."""

    source: ReferralSource
    trader: PartyRef
    declarations: tuple[DeclarationRef, ...]
    reason: str
    evidence: tuple[str, ...]
    priority: ReferralPriority
    revenue_at_risk: Money | None


@dataclass(frozen=True)
class Referral:
    """A referral and its triage. ``version`` grows with every change (the etag)."""

    id: str
    source: ReferralSource
    trader: PartyRef
    declarations: tuple[DeclarationRef, ...]
    reason: str
    evidence: tuple[str, ...]
    priority: ReferralPriority
    revenue_at_risk: Money | None
    state: ReferralState
    audit_case_id: str | None
    decision_reason: str
    decided_by: str
    decide_time: datetime | None
    created_by: str
    create_time: datetime
    update_time: datetime
    version: int
    #: The W3C ``traceparent`` of the event that opened the referral ("" when
    #: entered by hand): the audit's report continues the declaration's trace.
    trace_parent: str = ""

    @property
    def resource_name(self) -> str:
        """``referrals/{id}``."""
        return f"referrals/{self.id}"

    def check_etag(self, etag: str) -> None:
        """Raises ``Aborted`` if the caller did not read the current version."""
        check_etag(self.resource_name, self.version, etag)

    def require_open(self) -> None:
        """Raises ``FailedPrecondition`` (``REFERRAL_NOT_OPEN``) unless the referral is OPEN."""
        if self.state is not ReferralState.OPEN:
            raise FailedPrecondition(
                "REFERRAL_NOT_OPEN",
                f"{self.resource_name} is {self.state.value}; only an OPEN referral is triaged",
                [
                    PreconditionViolation(
                        "REFERRAL_STATE",
                        self.resource_name,
                        f"state is {self.state.value}, must be OPEN",
                    )
                ],
            )

    def accept(self, audit_case_id: str, *, actor: str, note: str, now: datetime) -> Referral:
        """The referral attached to audit case ``audit_case_id``."""
        self.require_open()
        return replace(
            self,
            state=ReferralState.ACCEPTED,
            audit_case_id=audit_case_id,
            decision_reason=note,
            decided_by=actor,
            decide_time=now,
            update_time=now,
            version=self.version + 1,
        )

    def decline(self, *, actor: str, reason: str, now: datetime) -> Referral:
        """The referral not taken up, for ``reason``."""
        self.require_open()
        return replace(
            self,
            state=ReferralState.DECLINED,
            decision_reason=reason,
            decided_by=actor,
            decide_time=now,
            update_time=now,
            version=self.version + 1,
        )


def open_referral(
    new: NewReferral, *, referral_id: str, created_by: str, now: datetime
) -> Referral:
    """A referral entered by a person (criteria monitoring, compliance, manual).

    BLUE decisions and examination findings are refused: they only arrive as
    events, so that each is backed by the decision or report it names.
    """
    if new.source in INGESTED_SOURCES:
        raise InvalidArgument(
            [
                FieldViolation(
                    "referral.source",
                    f"{new.source.value} referrals arrive as events; "
                    "use CRITERIA_MONITORING, COMPLIANCE or MANUAL",
                )
            ]
        )
    return _new_referral(new, referral_id=referral_id, created_by=created_by, now=now)


def _new_referral(
    new: NewReferral, *, referral_id: str, created_by: str, now: datetime
) -> Referral:
    return Referral(
        id=referral_id,
        source=new.source,
        trader=new.trader,
        declarations=new.declarations,
        reason=new.reason,
        evidence=new.evidence,
        priority=new.priority,
        revenue_at_risk=new.revenue_at_risk,
        state=ReferralState.OPEN,
        audit_case_id=None,
        decision_reason="",
        decided_by="",
        decide_time=None,
        created_by=created_by,
        create_time=now,
        update_time=now,
        version=1,
    )


@dataclass(frozen=True)
class BlueDecision:
    """A declaration scoring released on the BLUE channel (release now, audit later)."""

    assessment: str
    declaration: DeclarationRef
    importer: PartyRef
    broker: PartyRef | None
    lodgement_time: datetime
    matched_criteria: tuple[str, ...]
    random_selection: bool
    audit_instructions: tuple[str, ...]
    total_customs_value: Money | None
    total_duties: Money | None
    decide_time: datetime


def referral_from_blue_decision(
    decision: BlueDecision, *, referral_id: str, source_service: str, now: datetime
) -> Referral:
    """The referral a BLUE decision opens: the importer's records, for that declaration.

    The criteria's audit instructions become the reason, so the auditor sees
    what the analyst wanted verified; the assessment and the criteria are the
    evidence. Priority is NORMAL: BLUE means nothing was found yet, only that
    the records deserve a look.
    """
    declaration = decision.declaration
    selected_by = _selected_by(decision.matched_criteria, decision.random_selection)
    lines = [
        f"Declaration {declaration.number} (version {declaration.version}, office "
        f"{declaration.office}, lodged {decision.lodgement_time:%Y-%m-%d}) was released on "
        f"the BLUE channel {selected_by}: audit the importer's records after release.",
    ]
    if decision.audit_instructions:
        lines.append("Audit instructions:")
        lines.extend(f"- {instruction}" for instruction in decision.audit_instructions)
    lines.extend(_broker_line(decision.broker))
    if decision.total_customs_value is not None:
        lines.append(f"Declared customs value: {decision.total_customs_value}.")
    if decision.total_duties is not None:
        lines.append(f"Duties and taxes assessed: {decision.total_duties}.")
    return _new_referral(
        NewReferral(
            source=ReferralSource.BLUE_DECISION,
            trader=decision.importer,
            declarations=(declaration,),
            reason=_bounded("\n".join(lines)),
            evidence=_evidence([decision.assessment], decision.matched_criteria),
            priority=ReferralPriority.NORMAL,
            revenue_at_risk=None,
        ),
        referral_id=referral_id,
        created_by=source_service,
        now=now,
    )


@dataclass(frozen=True)
class ExaminationDiscrepancy:
    """One structured discrepancy of an examination report."""

    type: DiscrepancyType
    item_number: int
    description: str
    declared_value: Money | None
    found_value: Money | None


@dataclass(frozen=True)
class ExaminationFinding:
    """An approved examination report that calls for an audit or a penalty case."""

    examination: str
    exam_report: str
    declaration: DeclarationRef
    importer: PartyRef
    broker: PartyRef | None
    discrepancy_detail: str
    discrepancies: tuple[ExaminationDiscrepancy, ...]
    penalty_recommended: bool
    merchandise_seized: bool
    seizure_case_number: str
    post_clearance_audit_recommended: bool
    matched_criteria: tuple[str, ...]
    random_selection: bool
    approve_time: datetime


def referral_from_examination_finding(
    finding: ExaminationFinding, *, referral_id: str, source_service: str, now: datetime
) -> Referral:
    """The referral an examination finding opens: HIGH priority when goods were seized.

    The officer's own words on the discrepancy lead the reason; the report and
    the examination are the evidence, followed by the criteria that chose it.
    """
    declaration = finding.declaration
    lines = [
        f"Examination of declaration {declaration.number} (version {declaration.version}, "
        f"office {declaration.office}) found a discrepancy "
        f"{_selected_by(finding.matched_criteria, finding.random_selection)}:",
        finding.discrepancy_detail,
    ]
    for discrepancy in finding.discrepancies:
        item = f"item {discrepancy.item_number}" if discrepancy.item_number else "declaration"
        text = f"- {discrepancy.type.value} ({item})"
        if discrepancy.description:
            text += f": {discrepancy.description}"
        if discrepancy.declared_value is not None and discrepancy.found_value is not None:
            text += f" (declared {discrepancy.declared_value}, found {discrepancy.found_value})"
        lines.append(text)
    recommendations = []
    if finding.post_clearance_audit_recommended:
        recommendations.append("post-clearance audit recommended")
    if finding.penalty_recommended:
        recommendations.append("penalty recommended")
    if finding.merchandise_seized:
        case = f" (case {finding.seizure_case_number})" if finding.seizure_case_number else ""
        recommendations.append(f"merchandise seized{case}")
    if recommendations:
        lines.append("Report: " + "; ".join(recommendations) + ".")
    lines.extend(_broker_line(finding.broker))
    return _new_referral(
        NewReferral(
            source=ReferralSource.EXAMINATION_FINDING,
            trader=finding.importer,
            declarations=(declaration,),
            reason=_bounded("\n".join(lines)),
            evidence=_evidence(
                [finding.exam_report, finding.examination], finding.matched_criteria
            ),
            priority=(
                ReferralPriority.HIGH if finding.merchandise_seized else ReferralPriority.NORMAL
            ),
            revenue_at_risk=None,
        ),
        referral_id=referral_id,
        created_by=source_service,
        now=now,
    )


def _selected_by(matched_criteria: Sequence[str], random_selection: bool) -> str:
    reasons = []
    if matched_criteria:
        reasons.append("by " + ", ".join(matched_criteria))
    if random_selection:
        reasons.append("by random selection")
    return " and ".join(reasons) if reasons else "by the selectivity system"


def _broker_line(broker: PartyRef | None) -> list[str]:
    if broker is None:
        return []
    name = f" ({broker.display_name})" if broker.display_name else ""
    return [f"Declarant (broker): traders/{broker.number}{name}."]


def _evidence(records: Sequence[str], criteria: Sequence[str]) -> tuple[str, ...]:
    return unique_in_order([*records, *criteria])[:MAX_EVIDENCE]


def _bounded(reason: str) -> str:
    # Fifty instructions of 2,000 characters can exceed what a referral holds;
    # the evidence still names the criteria that carry them in full.
    if len(reason) <= MAX_REASON_LENGTH:
        return reason
    return reason[: MAX_REASON_LENGTH - len(_TRUNCATION_MARK)] + _TRUNCATION_MARK
