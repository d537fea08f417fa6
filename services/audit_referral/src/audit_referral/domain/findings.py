"""Audit findings: what was wrong, the unpaid duty assessed, and the action it calls for.

Appendix 7: a compliance intervention when the discrepancies are clearly
unintentional and the trader commits to correct its procedures; otherwise an
administrative penalty or a criminal investigation. Unpaid duties and taxes
are collected in every case. Findings may change during fieldwork and after
the exit conference (the trader may refute them); the report makes them final.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from audit_referral.domain.common import DeclarationRef, Money, check_etag
from customs_kit.errors import FieldViolation, InvalidArgument


class DiscrepancyType(Enum):
    """The kind of error found, as counted for examinations too."""

    QUANTITY = "QUANTITY"
    VALUE = "VALUE"
    CLASSIFICATION = "CLASSIFICATION"
    ORIGIN = "ORIGIN"
    DESCRIPTION = "DESCRIPTION"
    PROHIBITED_OR_RESTRICTED_GOODS = "PROHIBITED_OR_RESTRICTED_GOODS"
    INTELLECTUAL_PROPERTY = "INTELLECTUAL_PROPERTY"
    UNDECLARED_GOODS = "UNDECLARED_GOODS"
    CONCEALMENT = "CONCEALMENT"
    DOCUMENTS = "DOCUMENTS"


class AuditFindingAction(Enum):
    """The corrective action a finding calls for (beyond collecting unpaid duty)."""

    NONE = "NONE"
    COMPLIANCE_INTERVENTION = "COMPLIANCE_INTERVENTION"
    ADMINISTRATIVE_PENALTY = "ADMINISTRATIVE_PENALTY"
    CRIMINAL_INVESTIGATION = "CRIMINAL_INVESTIGATION"


class FindingIntent(Enum):
    """The auditor's judgement of intent, which decides intervention or sanction."""

    UNINTENTIONAL = "UNINTENTIONAL"
    INTENTIONAL = "INTENTIONAL"
    UNDETERMINED = "UNDETERMINED"


#: The fields an update may name (the contract's update_mask paths).
UPDATABLE_FINDING_FIELDS = frozenset(
    {
        "discrepancy_types",
        "description",
        "declarations",
        "unpaid_duty",
        "intent",
        "trader_commits_to_correct",
        "action",
        "penalty_amount",
    }
)


@dataclass(frozen=True)
class FindingContent:
    """What an auditor records about one finding."""

    discrepancy_types: tuple[DiscrepancyType, ...]
    description: str
    declarations: tuple[DeclarationRef, ...]
    unpaid_duty: Money
    intent: FindingIntent
    trader_commits_to_correct: bool
    action: AuditFindingAction
    penalty_amount: Money | None

    @property
    def calls_for_action(self) -> bool:
        """Whether the finding assesses unpaid duty or calls for a corrective action."""
        return not self.unpaid_duty.is_zero or self.action is not AuditFindingAction.NONE

    def validate(self, prefix: str) -> None:
        """Raises ``InvalidArgument`` (fields under ``prefix``) if the rules do not hold.

        A penalty needs its amount, and only a penalty has one; an intervention
        is only for clearly unintentional errors the trader commits to correct.
        """
        violations = []
        is_penalty = self.action is AuditFindingAction.ADMINISTRATIVE_PENALTY
        if is_penalty != (self.penalty_amount is not None):
            violations.append(
                FieldViolation(
                    f"{prefix}.penalty_amount",
                    "is required for an ADMINISTRATIVE_PENALTY action and must be unset otherwise",
                )
            )
        if self.action is AuditFindingAction.COMPLIANCE_INTERVENTION and not (
            self.intent is FindingIntent.UNINTENTIONAL and self.trader_commits_to_correct
        ):
            violations.append(
                FieldViolation(
                    f"{prefix}.action",
                    "a COMPLIANCE_INTERVENTION needs intent UNINTENTIONAL and the trader's "
                    "commitment to correct",
                )
            )
        if violations:
            raise InvalidArgument(violations)


@dataclass(frozen=True)
class AuditFinding:
    """One finding of one audit case."""

    id: str
    audit_case_id: str
    content: FindingContent
    recorded_by: str
    create_time: datetime
    update_time: datetime
    version: int

    @property
    def resource_name(self) -> str:
        """``auditCases/{case}/findings/{id}``."""
        return f"auditCases/{self.audit_case_id}/findings/{self.id}"

    def check_etag(self, etag: str) -> None:
        """Raises ``Aborted`` if the caller did not read the current version."""
        check_etag(self.resource_name, self.version, etag)

    def updated(
        self, changes: FindingContent, fields: Collection[str], *, now: datetime
    ) -> AuditFinding:
        """The finding with ``fields`` taken from ``changes``; the result must hold the rules.

        The caller checks that the case still allows changes to its findings.
        """
        unknown = set(fields) - UPDATABLE_FINDING_FIELDS
        if unknown:
            raise InvalidArgument(
                [FieldViolation("update_mask", f"cannot update {sorted(unknown)}")]
            )
        content = replace(
            self.content, **{field: getattr(changes, field) for field in sorted(fields)}
        )
        content.validate("audit_finding")
        return replace(self, content=content, update_time=now, version=self.version + 1)


def new_finding(
    content: FindingContent,
    *,
    finding_id: str,
    audit_case_id: str,
    actor: str,
    now: datetime,
) -> AuditFinding:
    """A finding as first recorded; the caller checks that the case accepts findings."""
    content.validate("audit_finding")
    return AuditFinding(
        id=finding_id,
        audit_case_id=audit_case_id,
        content=content,
        recorded_by=actor,
        create_time=now,
        update_time=now,
        version=1,
    )
