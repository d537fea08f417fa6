"""Use cases of the audit_referral service.

Handlers that take a unit of work run inside the caller's transaction (the
servicer's ``run_idempotent``, which stores the response with the effect and
commits); the others open and commit their own. Ingest handlers apply each
event exactly once with the kit's inbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Generic, TypeVar

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit_referral.adapters.publisher import publish_audit_report
from audit_referral.adapters.repositories import (
    AuditCaseFilter,
    AuditCaseRepository,
    CheckpointRepository,
    FindingFilter,
    FindingRepository,
    ReferralFilter,
    ReferralPosition,
    ReferralRepository,
    TimePosition,
    referral_position,
)
from audit_referral.domain.audit_cases import (
    AuditCase,
    AuditCasePlan,
    CaseAction,
    ConferenceRecord,
    PreAuditAnswer,
    PreAuditQuestion,
    ReportDraft,
    open_audit_case,
)
from audit_referral.domain.common import Money
from audit_referral.domain.findings import AuditFinding, FindingContent, new_finding
from audit_referral.domain.referrals import (
    BlueDecision,
    ExaminationFinding,
    NewReferral,
    Referral,
    open_referral,
    referral_from_blue_decision,
    referral_from_examination_finding,
)
from customs_kit.checkpoints import Checkpoint, signature_valid
from customs_kit.db import Database, utcnow
from customs_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from customs_kit.inbox import apply_once
from customs_kit.telemetry import continued_trace, current_traceparent
from customs_kit.uow import UnitOfWork

_log = structlog.get_logger(__name__)

T = TypeVar("T")
P = TypeVar("P")


def new_id() -> str:
    """A server-assigned resource id."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Page(Generic[T, P]):
    """One page of a list and the position after its last item (None: last page)."""

    items: list[T]
    next_position: P | None


def _page(found: list[T], page_size: int, position: Callable[[T], P]) -> Page[T, P]:
    items = found[:page_size]
    return Page(items, position(items[-1]) if len(found) > page_size else None)


# --- Ingest -------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestOutcome:
    """The referral an event opened, and whether this delivery was a redelivery."""

    duplicate: bool
    referral: Referral


async def ingest_blue_decision(
    database: Database, *, event_id: str, source_service: str, decision: BlueDecision
) -> IngestOutcome:
    """Opens the referral of a BLUE decision, once per event."""

    def make(referral_id: str, now: datetime) -> Referral:
        return referral_from_blue_decision(
            decision, referral_id=referral_id, source_service=source_service, now=now
        )

    return await _ingest(
        database,
        event_id,
        source_service,
        make,
        event="blue_decision",
        assessment=decision.assessment,
        declaration=decision.declaration.number,
    )


async def ingest_examination_finding(
    database: Database, *, event_id: str, source_service: str, finding: ExaminationFinding
) -> IngestOutcome:
    """Opens the referral of an examination finding, once per event."""

    def make(referral_id: str, now: datetime) -> Referral:
        return referral_from_examination_finding(
            finding, referral_id=referral_id, source_service=source_service, now=now
        )

    return await _ingest(
        database,
        event_id,
        source_service,
        make,
        event="examination_finding",
        exam_report=finding.exam_report,
        declaration=finding.declaration.number,
    )


async def _ingest(
    database: Database,
    event_id: str,
    source_service: str,
    make: Callable[[str, datetime], Referral],
    *,
    event: str,
    **resources: str,
) -> IngestOutcome:
    """Opens the referral ``make`` builds, once per event, and logs the ingest.

    ``event`` names the kind of event in the log line and ``resources`` the
    resources it concerns, so that the line (with the trace id the event
    carries) ties the referral to the declaration's trace.
    """
    opened: list[Referral] = []

    async def apply(uow: UnitOfWork) -> None:
        # The delivery runs in the trace of the decision that caused the event.
        referral = replace(make(new_id(), utcnow()), trace_parent=current_traceparent())
        await ReferralRepository(uow.session).add(referral, source_event_id=event_id)
        opened.append(referral)

    if await apply_once(database, event_id, source_service, apply):
        _log.info(
            f"{event}_ingested",
            event_id=event_id,
            referral=opened[0].resource_name,
            **resources,
        )
        return IngestOutcome(duplicate=False, referral=opened[0])
    async with database.unit_of_work() as uow:
        existing = await ReferralRepository(uow.session).find_by_source_event(event_id)
    if existing is None:
        # The inbox record and the referral are written in one transaction, so
        # an applied event without its referral means the data was edited by hand.
        raise RuntimeError(f"event {event_id} was applied but opened no referral")
    _log.info(
        f"{event}_event_duplicate",
        event_id=event_id,
        referral=existing.resource_name,
        **resources,
    )
    return IngestOutcome(duplicate=True, referral=existing)


# --- Referrals ----------------------------------------------------------------------


async def create_referral(uow: UnitOfWork, new: NewReferral, *, actor: str) -> Referral:
    """Opens a referral entered by ``actor``."""
    referral = open_referral(new, referral_id=new_id(), created_by=actor, now=utcnow())
    await ReferralRepository(uow.session).add(referral)
    return referral


async def get_referral(database: Database, referral_id: str) -> Referral:
    """One referral; raises ``NotFound``."""
    async with database.unit_of_work(read_only=True) as uow:
        return await ReferralRepository(uow.session).get(referral_id)


async def list_referrals(
    database: Database,
    filters: ReferralFilter,
    after: ReferralPosition | None,
    page_size: int,
) -> Page[Referral, ReferralPosition]:
    """One page of the referral queue."""
    async with database.unit_of_work(read_only=True) as uow:
        found = await ReferralRepository(uow.session).list(filters, after, page_size + 1)
    return _page(found, page_size, referral_position)


async def accept_referral(
    uow: UnitOfWork,
    referral_id: str,
    *,
    etag: str,
    target: str | AuditCasePlan,
    note: str,
    actor: str,
) -> tuple[Referral, AuditCase]:
    """Attaches an OPEN referral to case ``target`` (an id) or to a new case (a plan)."""
    referrals = ReferralRepository(uow.session)
    cases = AuditCaseRepository(uow.session)
    now = utcnow()
    referral = await referrals.get(referral_id)
    referral.check_etag(etag)
    referral.require_open()
    if isinstance(target, str):
        case = (await cases.get(target)).attach_referral(referral, now=now)
        await cases.update(case)
    else:
        case = open_audit_case(
            target, case_id=new_id(), actor=actor, now=now, note=note, referrals=[referral]
        )
        await cases.add(case)
    accepted = referral.accept(case.id, actor=actor, note=note, now=now)
    await referrals.update(accepted)
    return accepted, case


async def decline_referral(
    uow: UnitOfWork, referral_id: str, *, etag: str, reason: str, actor: str
) -> Referral:
    """Declines an OPEN referral."""
    referrals = ReferralRepository(uow.session)
    referral = await referrals.get(referral_id)
    referral.check_etag(etag)
    declined = referral.decline(actor=actor, reason=reason, now=utcnow())
    await referrals.update(declined)
    return declined


# --- Audit cases --------------------------------------------------------------------


async def create_audit_case(
    uow: UnitOfWork, plan: AuditCasePlan, referral_ids: Sequence[str], *, actor: str
) -> AuditCase:
    """Opens a case, accepting the OPEN referrals of its trader named in ``referral_ids``."""
    referrals = ReferralRepository(uow.session)
    now = utcnow()
    attached = await referrals.get_many(referral_ids)
    case = open_audit_case(plan, case_id=new_id(), actor=actor, now=now, referrals=attached)
    cases = AuditCaseRepository(uow.session)
    await cases.add(case)
    for referral in attached:
        await referrals.update(referral.accept(case.id, actor=actor, note="", now=now))
    # Read back so the referrals come in the order every later read gives them.
    return await cases.get(case.id)


async def get_audit_case(database: Database, case_id: str) -> AuditCase:
    """One case; raises ``NotFound``."""
    async with database.unit_of_work(read_only=True) as uow:
        return await AuditCaseRepository(uow.session).get(case_id)


async def list_audit_cases(
    database: Database,
    filters: AuditCaseFilter,
    after: TimePosition | None,
    page_size: int,
) -> Page[AuditCase, TimePosition]:
    """One page of cases, newest first."""
    async with database.unit_of_work(read_only=True) as uow:
        found = await AuditCaseRepository(uow.session).list(filters, after, page_size + 1)
    return _page(found, page_size, lambda case: TimePosition(case.create_time, case.id))


async def update_audit_case(
    database: Database,
    case_id: str,
    *,
    etag: str,
    changes: AuditCasePlan,
    fields: Collection[str],
) -> AuditCase:
    """Changes the planning ``fields`` of a case that is not closed or cancelled."""
    async with database.unit_of_work() as uow:
        now = utcnow()
        case = await _change_case(
            uow, case_id, etag, lambda case: case.update_plan(changes, fields, now=now)
        )
        await uow.commit()
    return case


async def start_pre_audit_survey(
    uow: UnitOfWork,
    case_id: str,
    *,
    etag: str,
    questions: Sequence[PreAuditQuestion],
    response_due_date: date,
    note: str,
    actor: str,
) -> AuditCase:
    """Sends the pre-audit survey questionnaire."""
    now = utcnow()
    return await _change_case(
        uow,
        case_id,
        etag,
        lambda case: case.start_pre_audit_survey(
            questions, response_due_date, actor=actor, note=note, now=now
        ),
    )


async def record_pre_audit_answers(
    uow: UnitOfWork, case_id: str, *, etag: str, answers: Sequence[PreAuditAnswer]
) -> AuditCase:
    """Records the trader's answers to the survey."""
    now = utcnow()
    return await _change_case(
        uow, case_id, etag, lambda case: case.record_pre_audit_answers(answers, now=now)
    )


async def record_opening_conference(
    uow: UnitOfWork, case_id: str, *, etag: str, record: ConferenceRecord, actor: str
) -> AuditCase:
    """Records the opening conference."""
    now = utcnow()
    return await _change_case(
        uow,
        case_id,
        etag,
        lambda case: case.record_opening_conference(record, actor=actor, now=now),
    )


async def start_fieldwork(
    uow: UnitOfWork, case_id: str, *, etag: str, premises_tour_notes: str, actor: str
) -> AuditCase:
    """Records the tour of premises and starts the audit of records."""
    now = utcnow()
    return await _change_case(
        uow,
        case_id,
        etag,
        lambda case: case.start_fieldwork(premises_tour_notes, actor=actor, now=now),
    )


async def record_exit_conference(
    uow: UnitOfWork, case_id: str, *, etag: str, record: ConferenceRecord, actor: str
) -> AuditCase:
    """Records the exit conference."""
    now = utcnow()
    return await _change_case(
        uow,
        case_id,
        etag,
        lambda case: case.record_exit_conference(record, actor=actor, now=now),
    )


async def issue_audit_report(
    uow: UnitOfWork, case_id: str, *, etag: str, draft: ReportDraft, actor: str
) -> AuditCase:
    """Issues the report: its findings become final and go to compliance and criteria."""
    cases = AuditCaseRepository(uow.session)
    # Locked so that no finding is recorded between reading them and issuing.
    case = await cases.get(case_id, lock=True)
    case.check_etag(etag)
    findings = await FindingRepository(uow.session).of_case(case_id)
    issued = case.issue_report(
        draft, [finding.content for finding in findings], actor=actor, now=utcnow()
    )
    await cases.update(issued)
    referrals = await ReferralRepository(uow.session).get_many(issued.referral_ids)
    # The findings are what became of the declaration whose decision or
    # examination opened the case: they continue that trace (the first
    # referral's, when several declarations' referrals were merged into one
    # case), with the auditor's request linked to it.
    traced = next((r.trace_parent for r in referrals if r.trace_parent), "")
    with continued_trace(traced, "audit_report issued"):
        publish_audit_report(uow, issued, findings, referrals)
        _log.info(
            "audit_report_issued",
            audit_case=issued.resource_name,
            referrals=[referral.resource_name for referral in referrals],
            findings=len(findings),
        )
    return issued


async def start_corrective_action(
    uow: UnitOfWork, case_id: str, *, etag: str, plan: str, actor: str
) -> AuditCase:
    """Records the corrective action plan."""
    now = utcnow()
    return await _change_case(
        uow,
        case_id,
        etag,
        lambda case: case.start_corrective_action(plan, actor=actor, now=now),
    )


async def close_audit_case(
    uow: UnitOfWork,
    case_id: str,
    *,
    etag: str,
    duties_collected: Money,
    closing_note: str,
    actor: str,
) -> AuditCase:
    """Closes a case whose assessed duties were collected."""
    now = utcnow()
    return await _change_case(
        uow,
        case_id,
        etag,
        lambda case: case.close(duties_collected, closing_note, actor=actor, now=now),
    )


async def cancel_audit_case(
    uow: UnitOfWork, case_id: str, *, etag: str, reason: str, actor: str
) -> AuditCase:
    """Abandons a case before its report."""
    now = utcnow()
    return await _change_case(
        uow, case_id, etag, lambda case: case.cancel(reason, actor=actor, now=now)
    )


async def _change_case(
    uow: UnitOfWork, case_id: str, etag: str, change: Callable[[AuditCase], AuditCase]
) -> AuditCase:
    cases = AuditCaseRepository(uow.session)
    case = await cases.get(case_id)
    case.check_etag(etag)
    changed = change(case)
    await cases.update(changed)
    return changed


# --- Findings -----------------------------------------------------------------------


async def create_audit_finding(
    uow: UnitOfWork, case_id: str, content: FindingContent, *, actor: str
) -> AuditFinding:
    """Records a finding on a case in fieldwork or after the exit conference."""
    case = await AuditCaseRepository(uow.session).get(case_id, lock=True)
    case.require(CaseAction.EDIT_FINDINGS)
    finding = new_finding(
        content, finding_id=new_id(), audit_case_id=case.id, actor=actor, now=utcnow()
    )
    await FindingRepository(uow.session).add(finding)
    return finding


async def get_audit_finding(database: Database, case_id: str, finding_id: str) -> AuditFinding:
    """One finding; raises ``NotFound``."""
    async with database.unit_of_work(read_only=True) as uow:
        return await FindingRepository(uow.session).get(case_id, finding_id)


async def list_audit_findings(
    database: Database,
    filters: FindingFilter,
    after: TimePosition | None,
    page_size: int,
) -> Page[AuditFinding, TimePosition]:
    """One page of findings, oldest first; NOT_FOUND if the named case does not exist."""
    async with database.unit_of_work(read_only=True) as uow:
        if filters.audit_case_id is not None:
            await AuditCaseRepository(uow.session).get(filters.audit_case_id)
        found = await FindingRepository(uow.session).list(filters, after, page_size + 1)
    return _page(found, page_size, lambda finding: TimePosition(finding.create_time, finding.id))


async def update_audit_finding(
    database: Database,
    case_id: str,
    finding_id: str,
    *,
    etag: str,
    changes: FindingContent,
    fields: Collection[str],
) -> AuditFinding:
    """Changes a finding while its case still allows it."""
    async with database.unit_of_work() as uow:
        findings = FindingRepository(uow.session)
        finding = await findings.get(case_id, finding_id)
        finding.check_etag(etag)
        case = await AuditCaseRepository(uow.session).get(case_id, lock=True)
        case.require(CaseAction.EDIT_FINDINGS)
        updated = finding.updated(changes, fields, now=utcnow())
        await findings.update(updated)
        await uow.commit()
    return updated


async def delete_audit_finding(
    database: Database, case_id: str, finding_id: str, *, etag: str
) -> None:
    """Removes a finding (e.g. refuted by the trader) while its case still allows it."""
    async with database.unit_of_work() as uow:
        findings = FindingRepository(uow.session)
        finding = await findings.get(case_id, finding_id)
        finding.check_etag(etag)
        case = await AuditCaseRepository(uow.session).get(case_id, lock=True)
        case.require(CaseAction.EDIT_FINDINGS)
        await findings.remove(finding)
        await uow.commit()


# --- History checkpoints ---------------------------------------------------------------


@dataclass(frozen=True)
class KeptCheckpoint:
    """A checkpoint as kept, when it was recorded, and whether this call was a repeat."""

    checkpoint: Checkpoint
    record_time: datetime
    duplicate: bool = False


async def record_history_checkpoint(
    database: Database, public_keys: Mapping[str, Ed25519PublicKey], checkpoint: Checkpoint
) -> KeptCheckpoint:
    """Keeps a source's signed checkpoint once its signature verifies with the source's key.

    Idempotent by (source, sequence); the same sequence with another head is
    refused, since a source never signs two heads for one entry unless its
    history was rewritten.
    """
    public_key = public_keys.get(checkpoint.source)
    if public_key is None:
        raise FailedPrecondition(
            "CHECKPOINT_SOURCE_UNKNOWN",
            f"no public key is configured for the history of {checkpoint.source!r}",
        )
    if not signature_valid(checkpoint, public_key):
        raise InvalidArgument(
            [
                FieldViolation(
                    "history_checkpoint.signature",
                    f"does not verify with the public key of {checkpoint.source!r}",
                )
            ],
            reason="CHECKPOINT_SIGNATURE_INVALID",
        )
    async with database.unit_of_work() as uow:
        checkpoints = CheckpointRepository(uow.session)
        now = utcnow()
        if await checkpoints.add(checkpoint, now):
            await uow.commit()
            _log.info(
                "history_checkpoint_recorded",
                source=checkpoint.source,
                sequence=checkpoint.sequence,
                head_hash=checkpoint.head_hash,
            )
            return KeptCheckpoint(checkpoint, now)
        kept = await checkpoints.get(checkpoint.source, checkpoint.sequence)
    if kept is None:
        # Only a concurrent insert of that key makes the add fail, and it is kept for good.
        raise RuntimeError("a checkpoint that could not be added is not kept either")
    if kept[0].head_hash != checkpoint.head_hash:
        _log.error(
            "history_checkpoint_conflict",
            source=checkpoint.source,
            sequence=checkpoint.sequence,
            kept_head_hash=kept[0].head_hash,
            head_hash=checkpoint.head_hash,
        )
        raise FailedPrecondition(
            "CHECKPOINT_CONFLICT",
            f"a checkpoint of {checkpoint.source!r} at sequence {checkpoint.sequence} "
            "with another head hash is kept: the history was rewritten",
        )
    return KeptCheckpoint(kept[0], kept[1], duplicate=True)


async def latest_history_checkpoint(database: Database, source: str) -> KeptCheckpoint:
    """The source's checkpoint with the highest sequence; raises ``NotFound``."""
    async with database.unit_of_work(read_only=True) as uow:
        found = await CheckpointRepository(uow.session).latest(source)
    if found is None:
        raise NotFound("history checkpoint", f"historyCheckpoints/{source}")
    return KeptCheckpoint(*found)
