"""All SQL of the service: referrals, audit cases and findings in and out of their tables.

Writes are optimistic: an update names the version it was computed from and
fails with ``Aborted`` if another transaction changed the row in between, so
two auditors triaging the same referral cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from audit_referral.adapters.orm import (
    AuditCaseRow,
    AuditFindingRow,
    FindingDiscrepancyRow,
    HistoryCheckpointRow,
    ReferralRow,
)
from audit_referral.domain.audit_cases import (
    AuditCase,
    AuditCasePlan,
    AuditCaseState,
    AuditReport,
    AuditSelectionBasis,
    ConferenceRecord,
    PreAuditAnswer,
    PreAuditQuestion,
    PreAuditSection,
    StageTransition,
)
from audit_referral.domain.common import DeclarationRef, Money, PartyRef
from audit_referral.domain.findings import (
    AuditFinding,
    AuditFindingAction,
    DiscrepancyType,
    FindingContent,
    FindingIntent,
)
from audit_referral.domain.referrals import (
    Referral,
    ReferralPriority,
    ReferralSource,
    ReferralState,
)
from customs_kit.checkpoints import Checkpoint
from customs_kit.db import is_unique_violation
from customs_kit.errors import Aborted, NotFound

# --- Keyset positions and filters of the list queries -------------------------------


@dataclass(frozen=True)
class ReferralPosition:
    """Where a page of referrals ended: the sort key of its last referral."""

    priority: int
    create_time: datetime
    id: str


@dataclass(frozen=True)
class ReferralFilter:
    """ListReferrals' filters; empty or None matches everything."""

    states: frozenset[ReferralState] = frozenset()
    source: ReferralSource | None = None
    trader: str | None = None


@dataclass(frozen=True)
class TimePosition:
    """Where a page ordered by creation time ended."""

    create_time: datetime
    id: str


@dataclass(frozen=True)
class AuditCaseFilter:
    """ListAuditCases' filters; empty or None matches everything."""

    states: frozenset[AuditCaseState] = frozenset()
    trader: str | None = None
    lead_auditor: str | None = None
    selection_basis: AuditSelectionBasis | None = None
    campaign: str | None = None


@dataclass(frozen=True)
class FindingFilter:
    """ListAuditFindings' filters; ``audit_case_id`` None means every case."""

    audit_case_id: str | None = None
    action: AuditFindingAction | None = None
    discrepancy_type: DiscrepancyType | None = None


# --- Referrals ----------------------------------------------------------------------


class ReferralRepository:
    """Referrals in one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, referral: Referral, *, source_event_id: str | None = None) -> None:
        """Stores a new referral (``source_event_id``: the event that opened it)."""
        self._session.add(
            ReferralRow(source_event_id=source_event_id, **_referral_columns(referral))
        )
        await self._session.flush()

    async def get(self, referral_id: str) -> Referral:
        """The referral; raises ``NotFound``."""
        row = await self._session.get(ReferralRow, referral_id)
        if row is None:
            raise NotFound("referral", f"referrals/{referral_id}")
        return _referral(row)

    async def get_many(self, referral_ids: Sequence[str]) -> list[Referral]:
        """The referrals in the order asked; raises ``NotFound`` for the first missing one."""
        rows = (
            await self._session.scalars(select(ReferralRow).where(ReferralRow.id.in_(referral_ids)))
        ).all()
        found = {row.id: _referral(row) for row in rows}
        for referral_id in referral_ids:
            if referral_id not in found:
                raise NotFound("referral", f"referrals/{referral_id}")
        return [found[referral_id] for referral_id in referral_ids]

    async def find_by_source_event(self, event_id: str) -> Referral | None:
        """The referral opened by event ``event_id``, if any."""
        row = await self._session.scalar(
            select(ReferralRow).where(ReferralRow.source_event_id == event_id)
        )
        return None if row is None else _referral(row)

    async def update(self, referral: Referral) -> None:
        """Stores ``referral`` over the version it was changed from."""
        values = _referral_columns(referral)
        del values["id"]
        await _update_versioned(self._session, ReferralRow, referral.id, referral.version, values)

    async def list(
        self, filters: ReferralFilter, after: ReferralPosition | None, limit: int
    ) -> list[Referral]:
        """Up to ``limit`` referrals after ``after``: priority desc, create time, id."""
        query = select(ReferralRow)
        if filters.states:
            query = query.where(ReferralRow.state.in_([state.value for state in filters.states]))
        if filters.source is not None:
            query = query.where(ReferralRow.source == filters.source.value)
        if filters.trader is not None:
            query = query.where(ReferralRow.trader == filters.trader)
        if after is not None:
            query = query.where(
                or_(
                    ReferralRow.priority < after.priority,
                    and_(
                        ReferralRow.priority == after.priority,
                        _after_ascending(ReferralRow.create_time, ReferralRow.id, after),
                    ),
                )
            )
        query = query.order_by(
            ReferralRow.priority.desc(), ReferralRow.create_time, ReferralRow.id
        ).limit(limit)
        return [_referral(row) for row in await self._session.scalars(query)]


def referral_position(referral: Referral) -> ReferralPosition:
    """The keyset position just after ``referral``."""
    return ReferralPosition(referral.priority.value, referral.create_time, referral.id)


def _referral_columns(referral: Referral) -> dict[str, Any]:
    money = referral.revenue_at_risk
    return {
        "id": referral.id,
        "source": referral.source.value,
        "trader": referral.trader.number,
        "trader_display_name": referral.trader.display_name,
        "declarations": _declarations_json(referral.declarations),
        "reason": referral.reason,
        "evidence": list(referral.evidence),
        "priority": referral.priority.value,
        "revenue_at_risk_currency": money.currency_code if money else None,
        "revenue_at_risk_units": money.units if money else None,
        "revenue_at_risk_nanos": money.nanos if money else None,
        "state": referral.state.value,
        "audit_case_id": referral.audit_case_id,
        "decision_reason": referral.decision_reason,
        "decided_by": referral.decided_by,
        "decide_time": referral.decide_time,
        "created_by": referral.created_by,
        "create_time": referral.create_time,
        "update_time": referral.update_time,
        "version": referral.version,
        "traceparent": referral.trace_parent or None,
    }


def _referral(row: ReferralRow) -> Referral:
    money = None
    if row.revenue_at_risk_currency is not None:
        money = Money(
            row.revenue_at_risk_currency,
            row.revenue_at_risk_units or 0,
            row.revenue_at_risk_nanos or 0,
        )
    return Referral(
        id=row.id,
        source=ReferralSource(row.source),
        trader=PartyRef(row.trader, row.trader_display_name),
        declarations=_declarations(row.declarations),
        reason=row.reason,
        evidence=tuple(row.evidence),
        priority=ReferralPriority(row.priority),
        revenue_at_risk=money,
        state=ReferralState(row.state),
        audit_case_id=row.audit_case_id,
        decision_reason=row.decision_reason,
        decided_by=row.decided_by,
        decide_time=row.decide_time,
        created_by=row.created_by,
        create_time=row.create_time,
        update_time=row.update_time,
        version=row.version,
        trace_parent=row.traceparent or "",
    )


# --- Audit cases --------------------------------------------------------------------


class AuditCaseRepository:
    """Audit cases in one unit of work; a case's referrals are read from the referrals."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, case: AuditCase) -> None:
        """Stores a new case (its referrals are stored on the referrals)."""
        self._session.add(AuditCaseRow(**_case_columns(case)))
        await self._session.flush()

    async def get(self, case_id: str, *, lock: bool = False) -> AuditCase:
        """The case with its referrals; raises ``NotFound``.

        ``lock`` holds the row until the transaction ends (PostgreSQL; SQLite
        already runs one writer at a time), for changes that depend on the
        case's state without changing the case itself, such as its findings.
        """
        query = select(AuditCaseRow).where(AuditCaseRow.id == case_id)
        if lock:
            query = query.with_for_update()
        row = await self._session.scalar(query)
        if row is None:
            raise NotFound("audit case", f"auditCases/{case_id}")
        referrals = await self._referral_ids([case_id])
        return _case(row, referrals.get(case_id, ()))

    async def update(self, case: AuditCase) -> None:
        """Stores ``case`` over the version it was changed from."""
        values = _case_columns(case)
        del values["id"]
        await _update_versioned(self._session, AuditCaseRow, case.id, case.version, values)

    async def list(
        self, filters: AuditCaseFilter, after: TimePosition | None, limit: int
    ) -> list[AuditCase]:
        """Up to ``limit`` cases after ``after``: newest first, id descending."""
        query = select(AuditCaseRow)
        if filters.states:
            query = query.where(AuditCaseRow.state.in_([state.value for state in filters.states]))
        if filters.trader is not None:
            query = query.where(AuditCaseRow.trader == filters.trader)
        if filters.lead_auditor is not None:
            query = query.where(AuditCaseRow.lead_auditor == filters.lead_auditor)
        if filters.selection_basis is not None:
            query = query.where(AuditCaseRow.selection_basis == filters.selection_basis.value)
        if filters.campaign is not None:
            query = query.where(AuditCaseRow.campaign == filters.campaign)
        if after is not None:
            query = query.where(
                or_(
                    AuditCaseRow.create_time < after.create_time,
                    and_(AuditCaseRow.create_time == after.create_time, AuditCaseRow.id < after.id),
                )
            )
        query = query.order_by(AuditCaseRow.create_time.desc(), AuditCaseRow.id.desc()).limit(limit)
        rows = list(await self._session.scalars(query))
        referrals = await self._referral_ids([row.id for row in rows])
        return [_case(row, referrals.get(row.id, ())) for row in rows]

    async def _referral_ids(self, case_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        if not case_ids:
            return {}
        rows = await self._session.execute(
            select(ReferralRow.audit_case_id, ReferralRow.id)
            .where(ReferralRow.audit_case_id.in_(case_ids))
            .order_by(ReferralRow.decide_time, ReferralRow.id)
        )
        found: dict[str, list[str]] = {}
        for case_id, referral_id in rows:
            found.setdefault(case_id, []).append(referral_id)
        return {case_id: tuple(ids) for case_id, ids in found.items()}


def _case_columns(case: AuditCase) -> dict[str, Any]:
    plan = case.plan
    return {
        "id": case.id,
        "trader": plan.trader.number,
        "trader_display_name": plan.trader.display_name,
        "selection_basis": plan.selection_basis.value,
        "campaign": plan.campaign,
        "scope": plan.scope,
        "declarations": _declarations_json(plan.declarations),
        "audit_period_start_date": plan.audit_period_start_date,
        "audit_period_end_date": plan.audit_period_end_date,
        "announced": plan.announced,
        "notice_time": plan.notice_time,
        "planned_start_date": plan.planned_start_date,
        "lead_auditor": plan.lead_auditor,
        "team": list(plan.team),
        "state": case.state.value,
        "stage_history": [
            {
                "from_state": t.from_state.value if t.from_state else None,
                "to_state": t.to_state.value,
                "actor": t.actor,
                "transition_time": t.transition_time.isoformat(),
                "note": t.note,
            }
            for t in case.stage_history
        ],
        "pre_audit_questions": [
            {"question_id": q.question_id, "section": q.section.value, "text": q.text}
            for q in case.pre_audit_questions
        ],
        "pre_audit_response_due_date": case.pre_audit_response_due_date,
        "pre_audit_answers": [
            {
                "question_id": a.question_id,
                "text": a.text,
                "document_references": list(a.document_references),
                "receive_time": a.receive_time.isoformat(),
            }
            for a in case.pre_audit_answers
        ],
        "opening_conference": _conference_json(case.opening_conference),
        "premises_tour_notes": case.premises_tour_notes,
        "exit_conference": _conference_json(case.exit_conference),
        "report": _report_json(case.report),
        "corrective_action_plan": case.corrective_action_plan,
        "duties_collected": _money_json(case.duties_collected),
        "closing_note": case.closing_note,
        "create_time": case.create_time,
        "update_time": case.update_time,
        "version": case.version,
    }


def _case(row: AuditCaseRow, referral_ids: tuple[str, ...]) -> AuditCase:
    return AuditCase(
        id=row.id,
        plan=AuditCasePlan(
            trader=PartyRef(row.trader, row.trader_display_name),
            selection_basis=AuditSelectionBasis(row.selection_basis),
            campaign=row.campaign,
            scope=row.scope,
            declarations=_declarations(row.declarations),
            audit_period_start_date=row.audit_period_start_date,
            audit_period_end_date=row.audit_period_end_date,
            announced=row.announced,
            notice_time=row.notice_time,
            planned_start_date=row.planned_start_date,
            lead_auditor=row.lead_auditor,
            team=tuple(row.team),
        ),
        referral_ids=referral_ids,
        state=AuditCaseState(row.state),
        stage_history=tuple(
            StageTransition(
                from_state=AuditCaseState(t["from_state"]) if t["from_state"] else None,
                to_state=AuditCaseState(t["to_state"]),
                actor=t["actor"],
                transition_time=datetime.fromisoformat(t["transition_time"]),
                note=t["note"],
            )
            for t in row.stage_history
        ),
        pre_audit_questions=tuple(
            PreAuditQuestion(q["question_id"], PreAuditSection(q["section"]), q["text"])
            for q in row.pre_audit_questions
        ),
        pre_audit_response_due_date=row.pre_audit_response_due_date,
        pre_audit_answers=tuple(
            PreAuditAnswer(
                question_id=a["question_id"],
                text=a["text"],
                document_references=tuple(a["document_references"]),
                receive_time=datetime.fromisoformat(a["receive_time"]),
            )
            for a in row.pre_audit_answers
        ),
        opening_conference=_conference(row.opening_conference),
        premises_tour_notes=row.premises_tour_notes,
        exit_conference=_conference(row.exit_conference),
        report=_report(row.report),
        corrective_action_plan=row.corrective_action_plan,
        duties_collected=_money(row.duties_collected),
        closing_note=row.closing_note,
        create_time=row.create_time,
        update_time=row.update_time,
        version=row.version,
    )


# --- Findings -----------------------------------------------------------------------


class FindingRepository:
    """Audit findings in one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, finding: AuditFinding) -> None:
        """Stores a new finding."""
        self._session.add(AuditFindingRow(**_finding_columns(finding)))
        await self._session.flush()
        await self._write_types(finding)

    async def get(self, case_id: str, finding_id: str) -> AuditFinding:
        """The finding of case ``case_id``; raises ``NotFound``."""
        row = await self._session.get(AuditFindingRow, finding_id)
        if row is None or row.audit_case_id != case_id:
            raise NotFound("audit finding", f"auditCases/{case_id}/findings/{finding_id}")
        types = await self._types([finding_id])
        return _finding(row, types.get(finding_id, ()))

    async def update(self, finding: AuditFinding) -> None:
        """Stores ``finding`` over the version it was changed from."""
        values = _finding_columns(finding)
        del values["id"]
        await _update_versioned(self._session, AuditFindingRow, finding.id, finding.version, values)
        await self._session.execute(
            delete(FindingDiscrepancyRow).where(FindingDiscrepancyRow.finding_id == finding.id)
        )
        await self._write_types(finding)

    async def remove(self, finding: AuditFinding) -> None:
        """Deletes ``finding`` if it is still at the version read."""
        await self._session.execute(
            delete(FindingDiscrepancyRow).where(FindingDiscrepancyRow.finding_id == finding.id)
        )
        result = await self._session.execute(
            delete(AuditFindingRow).where(
                AuditFindingRow.id == finding.id, AuditFindingRow.version == finding.version
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Aborted("ETAG_MISMATCH", f"{finding.resource_name} changed concurrently")

    async def of_case(self, case_id: str) -> list[AuditFinding]:
        """Every finding of a case, oldest first."""
        return await self.list(FindingFilter(audit_case_id=case_id), None, None)

    async def list(
        self, filters: FindingFilter, after: TimePosition | None, limit: int | None
    ) -> list[AuditFinding]:
        """Up to ``limit`` findings after ``after``: oldest first, id ascending."""
        query = select(AuditFindingRow)
        if filters.audit_case_id is not None:
            query = query.where(AuditFindingRow.audit_case_id == filters.audit_case_id)
        if filters.action is not None:
            query = query.where(AuditFindingRow.action == filters.action.value)
        if filters.discrepancy_type is not None:
            query = query.where(
                select(FindingDiscrepancyRow.finding_id)
                .where(
                    FindingDiscrepancyRow.finding_id == AuditFindingRow.id,
                    FindingDiscrepancyRow.discrepancy_type == filters.discrepancy_type.value,
                )
                .exists()
            )
        if after is not None:
            query = query.where(
                _after_ascending(AuditFindingRow.create_time, AuditFindingRow.id, after)
            )
        query = query.order_by(AuditFindingRow.create_time, AuditFindingRow.id)
        if limit is not None:
            query = query.limit(limit)
        rows = list(await self._session.scalars(query))
        types = await self._types([row.id for row in rows])
        return [_finding(row, types.get(row.id, ())) for row in rows]

    async def _write_types(self, finding: AuditFinding) -> None:
        self._session.add_all(
            FindingDiscrepancyRow(
                finding_id=finding.id, discrepancy_type=kind.value, position=position
            )
            for position, kind in enumerate(finding.content.discrepancy_types)
        )
        await self._session.flush()

    async def _types(self, finding_ids: Sequence[str]) -> dict[str, tuple[DiscrepancyType, ...]]:
        if not finding_ids:
            return {}
        rows = await self._session.execute(
            select(FindingDiscrepancyRow.finding_id, FindingDiscrepancyRow.discrepancy_type)
            .where(FindingDiscrepancyRow.finding_id.in_(finding_ids))
            .order_by(FindingDiscrepancyRow.finding_id, FindingDiscrepancyRow.position)
        )
        found: dict[str, list[DiscrepancyType]] = {}
        for finding_id, kind in rows:
            found.setdefault(finding_id, []).append(DiscrepancyType(kind))
        return {finding_id: tuple(kinds) for finding_id, kinds in found.items()}


def _finding_columns(finding: AuditFinding) -> dict[str, Any]:
    content = finding.content
    penalty = content.penalty_amount
    return {
        "id": finding.id,
        "audit_case_id": finding.audit_case_id,
        "description": content.description,
        "declarations": _declarations_json(content.declarations),
        "unpaid_duty_currency": content.unpaid_duty.currency_code,
        "unpaid_duty_units": content.unpaid_duty.units,
        "unpaid_duty_nanos": content.unpaid_duty.nanos,
        "intent": content.intent.value,
        "trader_commits_to_correct": content.trader_commits_to_correct,
        "action": content.action.value,
        "penalty_currency": penalty.currency_code if penalty else None,
        "penalty_units": penalty.units if penalty else None,
        "penalty_nanos": penalty.nanos if penalty else None,
        "recorded_by": finding.recorded_by,
        "create_time": finding.create_time,
        "update_time": finding.update_time,
        "version": finding.version,
    }


def _finding(row: AuditFindingRow, types: tuple[DiscrepancyType, ...]) -> AuditFinding:
    penalty = None
    if row.penalty_currency is not None:
        penalty = Money(row.penalty_currency, row.penalty_units or 0, row.penalty_nanos or 0)
    return AuditFinding(
        id=row.id,
        audit_case_id=row.audit_case_id,
        content=FindingContent(
            discrepancy_types=types,
            description=row.description,
            declarations=_declarations(row.declarations),
            unpaid_duty=Money(
                row.unpaid_duty_currency, row.unpaid_duty_units, row.unpaid_duty_nanos
            ),
            intent=FindingIntent(row.intent),
            trader_commits_to_correct=row.trader_commits_to_correct,
            action=AuditFindingAction(row.action),
            penalty_amount=penalty,
        ),
        recorded_by=row.recorded_by,
        create_time=row.create_time,
        update_time=row.update_time,
        version=row.version,
    )


# --- Shared by the repositories -----------------------------------------------------


async def _update_versioned(
    session: AsyncSession,
    table: type[ReferralRow | AuditCaseRow | AuditFindingRow],
    row_id: str,
    new_version: int,
    values: Mapping[str, Any],
) -> None:
    result = await session.execute(
        update(table).where(table.id == row_id, table.version == new_version - 1).values(**values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Aborted("ETAG_MISMATCH", f"{row_id} was changed by someone else; read it again")


def _after_ascending(
    create_time: Any, row_id: Any, after: ReferralPosition | TimePosition
) -> ColumnElement[bool]:
    return or_(
        create_time > after.create_time,
        and_(create_time == after.create_time, row_id > after.id),
    )


def _declarations_json(declarations: Iterable[DeclarationRef]) -> list[dict[str, Any]]:
    return [{"number": d.number, "version": d.version, "office": d.office} for d in declarations]


def _declarations(values: Iterable[Mapping[str, Any]]) -> tuple[DeclarationRef, ...]:
    return tuple(DeclarationRef(v["number"], v["version"], v["office"]) for v in values)


def _money_json(money: Money | None) -> dict[str, Any] | None:
    if money is None:
        return None
    return {"currency_code": money.currency_code, "units": money.units, "nanos": money.nanos}


def _money(value: Mapping[str, Any] | None) -> Money | None:
    if value is None:
        return None
    return Money(value["currency_code"], value["units"], value["nanos"])


def _conference_json(record: ConferenceRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "conference_time": record.conference_time.isoformat(),
        "attendees": list(record.attendees),
        "summary": record.summary,
        "disputed_issues": list(record.disputed_issues),
    }


def _conference(value: Mapping[str, Any] | None) -> ConferenceRecord | None:
    if value is None:
        return None
    return ConferenceRecord(
        conference_time=datetime.fromisoformat(value["conference_time"]),
        attendees=tuple(value["attendees"]),
        summary=value["summary"],
        disputed_issues=tuple(value["disputed_issues"]),
    )


def _report_json(report: AuditReport | None) -> dict[str, Any] | None:
    if report is None:
        return None
    return {
        "summary": report.summary,
        "compliant": report.compliant,
        "document_reference": report.document_reference,
        "total_unpaid_duty": _money_json(report.total_unpaid_duty),
        "total_penalties": _money_json(report.total_penalties),
        "issued_by": report.issued_by,
        "issue_time": report.issue_time.isoformat(),
    }


def _report(value: Mapping[str, Any] | None) -> AuditReport | None:
    if value is None:
        return None
    return AuditReport(
        summary=value["summary"],
        compliant=value["compliant"],
        document_reference=value["document_reference"],
        total_unpaid_duty=_money(value["total_unpaid_duty"]),
        total_penalties=_money(value["total_penalties"]),
        issued_by=value["issued_by"],
        issue_time=datetime.fromisoformat(value["issue_time"]),
    )


# --- History checkpoints --------------------------------------------------------------


class CheckpointRepository:
    """The signed checkpoints of other services' histories: added and read, never changed."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, source: str, sequence: int) -> tuple[Checkpoint, datetime] | None:
        """The checkpoint of ``source`` at ``sequence``, if kept, with its record time."""
        row = await self._session.get(HistoryCheckpointRow, (source, sequence))
        return None if row is None else (_checkpoint(row), row.record_time)

    async def latest(self, source: str) -> tuple[Checkpoint, datetime] | None:
        """The checkpoint of ``source`` with the highest sequence, with its record time."""
        row = await self._session.scalar(
            select(HistoryCheckpointRow)
            .where(HistoryCheckpointRow.source == source)
            .order_by(HistoryCheckpointRow.sequence.desc())
            .limit(1)
        )
        return None if row is None else (_checkpoint(row), row.record_time)

    async def add(self, checkpoint: Checkpoint, record_time: datetime) -> bool:
        """Keeps ``checkpoint``; False if one of its (source, sequence) was kept meanwhile."""
        try:
            async with self._session.begin_nested():
                self._session.add(
                    HistoryCheckpointRow(
                        source=checkpoint.source,
                        sequence=checkpoint.sequence,
                        head_hash=checkpoint.head_hash,
                        sign_time=checkpoint.sign_time,
                        signature=checkpoint.signature,
                        record_time=record_time,
                    )
                )
                await self._session.flush()
        except IntegrityError as error:
            if is_unique_violation(error, "pk_history_checkpoints"):
                return False
            raise
        return True


def _checkpoint(row: HistoryCheckpointRow) -> Checkpoint:
    return Checkpoint(
        source=row.source,
        sequence=row.sequence,
        head_hash=row.head_hash,
        sign_time=row.sign_time,
        signature=row.signature,
    )
