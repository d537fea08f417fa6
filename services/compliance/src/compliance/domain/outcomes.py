"""What examinations and post-clearance audits found, in compliance terms.

Examination reports (exam_reports) and audit reports (audit_referral) name
discrepancies by type; compliance measures by area (appendix 6: documentary,
procedural, revenue, transport). Only random verifications are a sample from
which a compliance rate may be estimated; targeted ones are kept for the
declaration's record but never counted in a rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from compliance.domain.values import Amount, Party


class ComplianceArea(StrEnum):
    """An area of compliance measured separately."""

    DOCUMENTARY = "DOCUMENTARY"
    PROCEDURAL = "PROCEDURAL"
    REVENUE = "REVENUE"
    TRANSPORT = "TRANSPORT"


ALL_AREAS = frozenset(ComplianceArea)


class DiscrepancyType(StrEnum):
    """The kind of a discrepancy found by an examination or an audit."""

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


#: Appendix 6: documentary is classification, valuation and origin; transport is the
#: quantities, descriptions and conveyance of the goods; procedural is the
#: requirements of the procedure (licences, permits, documents, IPR border rules).
AREA_OF_DISCREPANCY: Mapping[DiscrepancyType, ComplianceArea] = {
    DiscrepancyType.VALUE: ComplianceArea.DOCUMENTARY,
    DiscrepancyType.CLASSIFICATION: ComplianceArea.DOCUMENTARY,
    DiscrepancyType.ORIGIN: ComplianceArea.DOCUMENTARY,
    DiscrepancyType.QUANTITY: ComplianceArea.TRANSPORT,
    DiscrepancyType.DESCRIPTION: ComplianceArea.TRANSPORT,
    DiscrepancyType.UNDECLARED_GOODS: ComplianceArea.TRANSPORT,
    DiscrepancyType.CONCEALMENT: ComplianceArea.TRANSPORT,
    DiscrepancyType.PROHIBITED_OR_RESTRICTED_GOODS: ComplianceArea.PROCEDURAL,
    DiscrepancyType.INTELLECTUAL_PROPERTY: ComplianceArea.PROCEDURAL,
    DiscrepancyType.DOCUMENTS: ComplianceArea.PROCEDURAL,
}


def areas_of(types: Sequence[DiscrepancyType]) -> frozenset[ComplianceArea]:
    """The compliance areas of discrepancies of ``types``."""
    return frozenset(AREA_OF_DISCREPANCY[kind] for kind in types)


@dataclass(frozen=True)
class ExaminationDiscrepancy:
    """One structured discrepancy of an examination report."""

    type: DiscrepancyType
    #: The item concerned; ``None`` when the discrepancy is not about one item.
    item_number: int | None
    found_hs_code: str
    found_origin_country: str


@dataclass(frozen=True)
class ExaminationOutcome:
    """An examination whose report a supervisor approved."""

    exam_report_id: str
    examination_id: str
    assessment_id: str | None
    declaration_number: str
    declaration_version: int
    office_id: str
    importer: Party
    broker: Party | None
    carrier: Party | None
    channel: str
    examination_level: str | None
    random_selection: bool
    discrepancy_found: bool
    discrepancies: tuple[ExaminationDiscrepancy, ...]
    penalty_recommended: bool
    merchandise_seized: bool
    approve_time: datetime
    #: When the officer examined the goods (the report's own time, not its arrival).
    examine_time: datetime

    @property
    def noncompliant_areas(self) -> frozenset[ComplianceArea]:
        """The areas in which the examination found the declaration non-compliant.

        A report that answers "discrepancy found" without saying what kind
        counts against every area: the observation is certainly not compliant,
        and guessing one area would flatter the others.
        """
        if self.discrepancies:
            return areas_of([d.type for d in self.discrepancies])
        return ALL_AREAS if self.discrepancy_found else frozenset()


class AuditSelectionBasis(StrEnum):
    """Why a trader was selected for audit; only RANDOM audits are a sample."""

    SPECIFIC_DECLARATION = "SPECIFIC_DECLARATION"
    CLASS_OF_TRANSACTIONS = "CLASS_OF_TRANSACTIONS"
    INDUSTRY_WIDE = "INDUSTRY_WIDE"
    RANDOM = "RANDOM"


class AuditFindingAction(StrEnum):
    """The corrective action an audit finding calls for."""

    NONE = "NONE"
    COMPLIANCE_INTERVENTION = "COMPLIANCE_INTERVENTION"
    ADMINISTRATIVE_PENALTY = "ADMINISTRATIVE_PENALTY"
    CRIMINAL_INVESTIGATION = "CRIMINAL_INVESTIGATION"


@dataclass(frozen=True)
class AuditFinding:
    """One finding of an issued audit report."""

    finding: str
    discrepancy_types: tuple[DiscrepancyType, ...]
    #: The declarations concerned; empty when the finding is about the trader's procedures.
    declaration_numbers: tuple[str, ...]
    description: str
    unpaid_duty: Amount | None
    action: AuditFindingAction

    @property
    def areas(self) -> frozenset[ComplianceArea]:
        """The areas of the finding; unpaid duties are a revenue error too."""
        found = areas_of(self.discrepancy_types)
        if self.unpaid_duty is not None and self.unpaid_duty.value > Decimal(0):
            found |= {ComplianceArea.REVENUE}
        return found

    def concerns(self, declaration_number: str) -> bool:
        """Whether the finding applies to ``declaration_number``."""
        return not self.declaration_numbers or declaration_number in self.declaration_numbers


@dataclass(frozen=True)
class AuditOutcome:
    """The issued report of a post-clearance audit."""

    audit_case: str
    trader: Party
    selection_basis: AuditSelectionBasis
    audited_declaration_numbers: tuple[str, ...]
    compliant: bool
    findings: tuple[AuditFinding, ...]
    total_unpaid_duty: Amount | None
    report_time: datetime

    def noncompliant_areas_of(self, declaration_number: str) -> frozenset[ComplianceArea]:
        """The areas in which the audit found ``declaration_number`` non-compliant."""
        areas: frozenset[ComplianceArea] = frozenset()
        for finding in self.findings:
            if finding.concerns(declaration_number):
                areas |= finding.areas
        return areas
