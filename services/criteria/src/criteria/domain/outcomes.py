"""Results that come back from the field: examination outcomes and audit findings.

They are the raw material of step 20 (monitoring the criteria): stored as
received, once per event, for the performance figures and recommendations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Amount:
    """An exact amount: ``units + nanos / 1e9`` of ``currency_code``."""

    currency_code: str
    units: int
    nanos: int


@dataclass(frozen=True)
class CriterionHit:
    """A criterion (at a revision, on an item; 0 for the header) that designated an exam."""

    criterion: str
    revision: int
    item_number: int
    discrepancy_found: bool


@dataclass(frozen=True)
class ExaminationOutcome:
    """The result of one completed examination, from a signed-off report.

    ``channel`` and ``examination_level`` are the contract's enum names.
    """

    examination_report: str
    assessment: str
    declaration_number: str
    declaration_version: int
    office_code: str
    importer_id: str
    declarant_id: str
    examine_time: datetime
    channel: str
    examination_level: str
    randomly_selected: bool
    officer_initiated: bool
    discrepancy_found: bool
    criterion_hits: tuple[CriterionHit, ...]
    revenue_found: Amount | None
    penalty_recommended: bool
    seized: bool


@dataclass(frozen=True)
class ExaminedDeclaration:
    """A declaration as it was examined: its number, version and office of lodgement."""

    number: str
    version: int
    office_code: str


@dataclass(frozen=True)
class AuditFinding:
    """The result of a post-clearance audit case (``outcome`` is an AUDIT_OUTCOME_ name)."""

    audit_case: str
    importer_id: str
    declaration_numbers: tuple[str, ...]
    criteria: tuple[str, ...]
    outcome: str
    discrepancy_found: bool
    unpaid_duty_assessed: Amount | None
    penalty_amount: Amount | None
    finding_time: datetime


@dataclass(frozen=True)
class ReceivedEvent:
    """Where and when an event came from: its id (the idempotency key) and source."""

    event_id: str
    source_service: str
    occur_time: datetime
