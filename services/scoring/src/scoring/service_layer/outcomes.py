"""Outcomes of assessed declarations, from examination reports and audit findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import func, select

from customs_kit.db import Database
from customs_kit.inbox import apply_once
from customs_kit.uow import UnitOfWork
from scoring.adapters.history import OutcomeRepository
from scoring.adapters.orm import AssessmentRow
from scoring.domain.history import Outcome

_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RecordOutcome:
    """Record what ``source`` found for an assessment (or a declaration version)."""

    event_id: str
    source_service: str
    source: str
    assessment_id: str
    declaration_number: str
    declaration_version: int
    outcome: Outcome


async def _assessment_of(uow: UnitOfWork, command: RecordOutcome) -> str | None:
    if command.assessment_id:
        row = await uow.session.get(AssessmentRow, command.assessment_id)
        return None if row is None else row.id
    found: str | None = await uow.session.scalar(
        select(AssessmentRow.id).where(
            AssessmentRow.declaration_number == command.declaration_number,
            AssessmentRow.version == command.declaration_version,
        )
    )
    return found


async def record_examination_outcome(
    command: RecordOutcome, *, database: Database
) -> tuple[bool, bool]:
    """Records the outcome once per event; returns (duplicate, matched an assessment)."""
    matched: list[str] = []

    async def apply(uow: UnitOfWork) -> None:
        assessment_id = await _assessment_of(uow, command)
        if assessment_id is not None:
            await OutcomeRepository(uow.session).record(
                assessment_id, command.source, command.outcome
            )
            matched.append(assessment_id)

    applied = await apply_once(database, command.event_id, command.source_service, apply)
    # In the trace the event carries: the declaration's, from lodgement on.
    _log.info(
        "examination_outcome_ingested" if applied else "examination_outcome_event_duplicate",
        event_id=command.event_id,
        source=command.source,
        declaration=command.declaration_number,
        assessment=f"assessments/{matched[0]}" if matched else None,
    )
    return not applied, bool(matched)


@dataclass(frozen=True)
class RecordFinding:
    """Record an audit finding against the latest assessed version of each declaration."""

    event_id: str
    source_service: str
    audit_case: str
    declaration_numbers: Sequence[str]
    outcome: Outcome


async def record_audit_finding(command: RecordFinding, *, database: Database) -> tuple[bool, int]:
    """Records the finding once per event; returns (duplicate, assessments it was recorded on)."""
    recorded: list[str] = []

    async def apply(uow: UnitOfWork) -> None:
        if not command.declaration_numbers:
            return
        latest = (
            select(
                AssessmentRow.declaration_number,
                func.max(AssessmentRow.version).label("version"),
            )
            .where(AssessmentRow.declaration_number.in_(list(command.declaration_numbers)))
            .group_by(AssessmentRow.declaration_number)
            .subquery()
        )
        ids = await uow.session.scalars(
            select(AssessmentRow.id).join(
                latest,
                (AssessmentRow.declaration_number == latest.c.declaration_number)
                & (AssessmentRow.version == latest.c.version),
            )
        )
        outcomes = OutcomeRepository(uow.session)
        for assessment_id in ids:
            await outcomes.record(assessment_id, command.audit_case, command.outcome)
            recorded.append(assessment_id)

    applied = await apply_once(database, command.event_id, command.source_service, apply)
    _log.info(
        "audit_finding_ingested" if applied else "audit_finding_event_duplicate",
        event_id=command.event_id,
        audit_case=command.audit_case,
        declarations=len(command.declaration_numbers),
        assessments=len(recorded),
        infringement_found=command.outcome.infringement_found,
    )
    return not applied, len(recorded)
