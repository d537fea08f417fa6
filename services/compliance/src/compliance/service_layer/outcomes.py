"""What verification found: approved examination reports and issued audit reports.

Both arrive through the senders' outboxes and are applied exactly once. Random
verifications become the observations of compliance measurement; an audit
finding that calls for a compliance intervention opens one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import structlog

from compliance.adapters.repositories import InterventionRepository, OutcomeRepository
from compliance.domain.interventions import (
    audited_role,
    findings_needing_intervention,
    intervention_for_finding,
)
from compliance.domain.outcomes import AuditOutcome, ExaminationOutcome
from compliance.domain.traders import TraderRole
from compliance.service_layer.traders import known_trader
from customs_kit.db import Database
from customs_kit.inbox import apply_once
from customs_kit.uow import UnitOfWork

_log = structlog.get_logger(__name__)

EXAM_REPORTS = "exam-reports"
AUDIT_REFERRAL = "audit-referral"
AUDIT_CASE_PREFIX = "auditCases/"


async def ingest_examination_outcome(
    database: Database, event_id: str, outcome: ExaminationOutcome, now: datetime
) -> bool:
    """Stores an approved examination outcome exactly once; ``False`` for a duplicate."""

    async def apply(uow: UnitOfWork) -> None:
        outcomes = OutcomeRepository(uow.session)
        if await outcomes.has_examination(outcome.exam_report_id):
            _log.info("examination_outcome_already_recorded", exam_report=outcome.exam_report_id)
            return
        await outcomes.add_examination(outcome, now)

    applied = await apply_once(database, event_id, EXAM_REPORTS, apply)
    _log.info(
        "examination_outcome_ingested" if applied else "examination_outcome_event_duplicate",
        exam_report=outcome.exam_report_id,
        random_selection=outcome.random_selection,
        event_id=event_id,
    )
    return applied


@dataclass(frozen=True)
class AuditIngested:
    """Whether an audit report was applied now, and the interventions it opened (ever)."""

    applied: bool
    interventions: list[str]


async def ingest_audit_outcome(
    database: Database, event_id: str, audit: AuditOutcome, owner: str, now: datetime
) -> AuditIngested:
    """Stores an issued audit report exactly once and opens the interventions it calls for.

    Returns whether it was applied now (``False`` for a duplicate) and the
    resource names of the interventions opened from the report's findings, on
    the first delivery and on every redelivery alike. ``owner``
    is the caller that relayed the report (interventions opened automatically
    have no specialist yet).
    """
    audit_case_id = audit.audit_case.removeprefix(AUDIT_CASE_PREFIX)

    async def apply(uow: UnitOfWork) -> None:
        outcomes = OutcomeRepository(uow.session)
        if await outcomes.has_audit(audit_case_id):
            _log.info("audit_outcome_already_recorded", audit_case=audit.audit_case)
            return
        await outcomes.add_audit(audit_case_id, audit, now)
        findings = findings_needing_intervention(audit)
        if not findings:
            return
        trader = await known_trader(uow, audit.trader, TraderRole.IMPORTER, now)
        interventions = InterventionRepository(uow.session)
        for finding in findings:
            intervention = intervention_for_finding(
                uuid.uuid4().hex, audit, finding, audited_role(trader.roles), owner, now
            )
            await interventions.add(intervention, audit_case_id)

    applied = await apply_once(database, event_id, AUDIT_REFERRAL, apply)
    async with database.unit_of_work() as uow:
        opened = await InterventionRepository(uow.session).opened_from_audit(audit_case_id)
    _log.info(
        "audit_outcome_ingested" if applied else "audit_outcome_event_duplicate",
        audit_case=audit.audit_case,
        interventions=len(opened),
        event_id=event_id,
    )
    return AuditIngested(applied, [intervention.name for intervention in opened])
