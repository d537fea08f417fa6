"""Use cases of examination tasks: opening them from decisions, reading, starting them."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

import structlog

from customs_kit.db import Database, utcnow
from customs_kit.errors import FailedPrecondition, NotFound, PreconditionViolation
from customs_kit.inbox import apply_once
from customs_kit.pagination import clamp_page_size
from customs_kit.telemetry import current_traceparent
from customs_kit.uow import UnitOfWork
from exam_reports.adapters.repositories import Examinations, Facilities, Officers, Offices
from exam_reports.domain.examinations import (
    WORK_STATES,
    Examination,
    ExaminationFilter,
    ExaminationState,
    SelectivityDecision,
    effect_of_decision,
    open_examination,
)
from exam_reports.domain.officers import Officer, choose_assignee, require_active_officer
from exam_reports.domain.overrides import require_supervisor
from exam_reports.service_layer.common import (
    Caller,
    Page,
    Pager,
    check_etag,
    decode_time,
    encode_time,
    page_of,
    position_field,
)

_log = structlog.get_logger(__name__)

#: The only service whose decisions open examinations.
DECISION_SOURCE = "scoring"


@dataclass(frozen=True)
class IngestOutcome:
    """What a decision event did: ``examination_id`` is None when it was ignored."""

    duplicate: bool
    examination_id: str | None


async def ingest_decision(
    database: Database, event_id: str, decision: SelectivityDecision
) -> IngestOutcome:
    """Opens the examination task of a relayed decision, exactly once per ``event_id``.

    A redelivered event changes nothing and answers with the task the first
    delivery opened. An unknown office is refused with FAILED_PRECONDITION
    ``UNKNOWN_OFFICE`` and nothing is recorded: scoring keeps the event as a
    dead letter, which an operator retries once the office exists.
    """
    opened: list[Examination] = []

    async def apply(uow: UnitOfWork) -> None:
        examination = await _apply_decision(uow, event_id, decision)
        if examination is not None:
            opened.append(examination)

    if await apply_once(database, event_id, DECISION_SOURCE, apply):
        return IngestOutcome(False, opened[0].id if opened else None)
    async with database.unit_of_work() as uow:
        earlier = await Examinations(uow.session).opened_by_event(event_id)
    _log.info(
        "decision_event_duplicate",
        event_id=event_id,
        assessment=decision.assessment,
        declaration=decision.declaration_number,
        examination=None if earlier is None else earlier.id,
    )
    return IngestOutcome(True, None if earlier is None else earlier.id)


async def _apply_decision(
    uow: UnitOfWork, event_id: str, decision: SelectivityDecision
) -> Examination | None:
    office = await Offices(uow.session).get(decision.office_id)
    if office is None:
        raise FailedPrecondition(
            "UNKNOWN_OFFICE",
            f"offices/{decision.office_id} is not a known office",
            [
                PreconditionViolation(
                    "UNKNOWN_OFFICE", f"offices/{decision.office_id}", "does not exist"
                )
            ],
        )
    examinations = Examinations(uow.session)
    now = utcnow()
    effect = effect_of_decision(
        decision, await examinations.of_declaration(decision.declaration_number)
    )
    for older in effect.superseded:
        await examinations.update(older.superseded(now))
        _log.info(
            "examination_superseded",
            examination=older.id,
            declaration=decision.declaration_number,
            version=older.declaration_version,
        )
    if not effect.opens_task:
        _log.info(
            "decision_ignored",
            declaration=decision.declaration_number,
            version=decision.declaration_version,
            why="a task exists for the same or a newer declaration version",
        )
        return None
    examination = replace(
        open_examination(str(uuid.uuid4()), event_id, decision, now),
        trace_parent=current_traceparent(),
    )
    if office.active:
        assignee = choose_assignee(
            await Officers(uow.session).assignment_candidates(office.id, now)
        )
        if assignee is not None:
            examination = examination.assigned_to(assignee, now)
    await examinations.add(examination)
    _log.info(
        "examination_opened",
        event_id=event_id,
        examination=examination.id,
        assessment=decision.assessment,
        declaration=decision.declaration_number,
        version=decision.declaration_version,
        office=decision.office_id,
        channel=decision.channel.value,
        officer=examination.assigned_officer_id,
    )
    return examination


async def assign_waiting_examinations(uow: UnitOfWork, office_id: str, now: datetime) -> int:
    """Gives the office's unassigned tasks, oldest decision first, to officers on shift.

    Each task goes to the officer with the fewest open tasks at that moment, so
    a backlog is spread over everyone on duty. Returns how many were assigned.
    """
    office = await Offices(uow.session).get(office_id)
    if office is None or not office.active:
        return 0
    examinations = Examinations(uow.session)
    officers = Officers(uow.session)
    waiting = await examinations.page(
        ExaminationFilter(office_id=office_id, states=frozenset({ExaminationState.UNASSIGNED})),
        after=None,
        limit=500,
        newest_first=False,
    )
    assigned = 0
    for task in waiting:
        assignee = choose_assignee(await officers.assignment_candidates(office_id, now))
        if assignee is None:
            break
        locked = await examinations.get(task.id, for_update=True)
        if locked is None or locked.state is not ExaminationState.UNASSIGNED:
            continue
        await examinations.update(locked.assigned_to(assignee, now))
        _log.info("examination_assigned", examination=task.id, officer=assignee)
        assigned += 1
    return assigned


async def assign_waiting_everywhere(database: Database) -> int:
    """Assigns the unassigned tasks of every office whose officers came on shift."""
    total = 0
    async with database.unit_of_work() as uow:
        office_ids = await Examinations(uow.session).offices_with_unassigned()
    for office_id in office_ids:
        async with database.unit_of_work() as uow:
            total += await assign_waiting_examinations(uow, office_id, utcnow())
            await uow.commit()
    return total


async def get_examination(database: Database, caller: Caller, examination_id: str) -> Examination:
    """The task; NOT_FOUND if it does not exist or the calling officer does not hold it."""
    async with database.unit_of_work() as uow:
        examination = await Examinations(uow.session).get(examination_id)
        if examination is not None and not caller.sees_all:
            officer = await Officers(uow.session).by_subject(caller.subject)
            if officer is None or examination.assigned_officer_id != officer.id:
                examination = None
    if examination is None:
        raise NotFound("examination", f"examinations/{examination_id}")
    return examination


async def list_examinations(
    database: Database,
    pager: Pager,
    where: ExaminationFilter,
    *,
    page_size: int,
    page_token: str,
) -> Page[Examination]:
    """Tasks matching ``where``, newest decision first."""
    return await _list(database, pager, where, page_size, page_token, newest_first=True)


async def list_my_examinations(
    database: Database,
    pager: Pager,
    caller: Caller,
    states: frozenset[ExaminationState],
    *,
    page_size: int,
    page_token: str,
) -> Page[Examination]:
    """The calling officer's tasks, oldest decision first; by default those needing work.

    PERMISSION_DENIED ``NOT_AN_OFFICER`` if the caller is not an active officer.
    """
    async with database.unit_of_work() as uow:
        officer = await calling_officer(uow, caller)
    where = ExaminationFilter(assigned_officer_id=officer.id, states=states or WORK_STATES)
    return await _list(database, pager, where, page_size, page_token, newest_first=False)


async def _list(
    database: Database,
    pager: Pager,
    where: ExaminationFilter,
    page_size: int,
    page_token: str,
    *,
    newest_first: bool,
) -> Page[Examination]:
    limit = clamp_page_size(page_size)
    query = {
        "list": "examinations" if newest_first else "my_examinations",
        "office": where.office_id,
        "states": sorted(state.value for state in where.states),
        "officer": where.assigned_officer_id,
        "declaration": where.declaration_number,
        "reason": None if where.reason is None else where.reason.value,
    }
    position = pager.position(page_token, query)
    after = (
        None
        if position is None
        else (
            decode_time(position_field(position, "time", int)),
            position_field(position, "id", str),
        )
    )
    async with database.unit_of_work() as uow:
        examinations = await Examinations(uow.session).page(
            where, after=after, limit=limit + 1, newest_first=newest_first
        )
    return page_of(
        examinations,
        limit,
        pager,
        query,
        lambda task: {"time": encode_time(task.decide_time), "id": task.id},
    )


async def start_examination(
    database: Database, caller: Caller, examination_id: str, etag: str
) -> Examination:
    """The task IN_PROGRESS once its assigned officer began examining.

    NOT_FOUND, PERMISSION_DENIED (not the caller's task), FAILED_PRECONDITION
    (not ASSIGNED or RETURNED), ABORTED (stale etag, when one is given).
    """
    async with database.unit_of_work() as uow:
        officer = await calling_officer(uow, caller)
        examinations = Examinations(uow.session)
        examination = await examinations.get(examination_id, for_update=True)
        if examination is None:
            raise NotFound("examination", f"examinations/{examination_id}")
        if etag:
            check_etag(etag, examination.version)
        started = examination.started_by(officer.id, utcnow())
        if started is not examination:
            await examinations.update(started)
            await uow.commit()
            _log.info("examination_started", examination=examination_id, officer=officer.id)
    return started


async def calling_officer(uow: UnitOfWork, caller: Caller) -> Officer:
    """The caller's officer record; PERMISSION_DENIED ``NOT_AN_OFFICER`` without an active one."""
    return require_active_officer(
        await Officers(uow.session).by_subject(caller.subject), caller.subject
    )


def _precondition(reason: str, subject: str, description: str) -> FailedPrecondition:
    return FailedPrecondition(
        reason, f"{subject} {description}", [PreconditionViolation(reason, subject, description)]
    )


async def reassign_examination(
    uow: UnitOfWork,
    caller: Caller,
    examination_id: str,
    *,
    etag: str,
    officer_id: str,
    facility: tuple[str, str] | None,
    reason: str,
) -> Examination:
    """The open task given by the calling supervisor to another officer (and facility).

    Runs inside the request's idempotent unit of work. NOT_FOUND for an unknown
    task or facility; FAILED_PRECONDITION when the task is not open, the
    officer is inactive or of another office, or the facility is inactive or
    of another office; ABORTED on a stale etag. The reassignment and its reason
    stay in the task's history.
    """
    supervisor = require_supervisor(await calling_officer(uow, caller))
    examinations = Examinations(uow.session)
    examination = await examinations.get(examination_id, for_update=True)
    if examination is None:
        raise NotFound("examination", f"examinations/{examination_id}")
    examination.require_unreported()
    officer = await Officers(uow.session).get(officer_id)
    if officer is None or not officer.active:
        raise _precondition(
            "OFFICER_INACTIVE", f"officers/{officer_id}", "is not an active officer"
        )
    if officer.office_id != examination.office_id:
        raise _precondition(
            "OFFICER_OF_ANOTHER_OFFICE",
            f"officers/{officer_id}",
            f"belongs to offices/{officer.office_id}, not offices/{examination.office_id}",
        )
    facility_name = None
    if facility is not None:
        office_id, facility_id = facility
        facility_name = f"offices/{office_id}/examinationFacilities/{facility_id}"
        if office_id != examination.office_id:
            raise _precondition(
                "FACILITY_OF_ANOTHER_OFFICE",
                facility_name,
                f"is not a facility of offices/{examination.office_id}",
            )
        found = await Facilities(uow.session).get(office_id, facility_id)
        if found is None:
            raise NotFound("examination facility", facility_name)
        if not found.active:
            raise _precondition("FACILITY_INACTIVE", facility_name, "is closed")
    check_etag(etag, examination.version)
    reassigned = examination.reassigned(officer_id, facility_name, supervisor.id, reason, utcnow())
    await examinations.update(reassigned)
    _log.info(
        "examination_reassigned",
        examination=examination_id,
        officer=officer_id,
        previous_officer=examination.assigned_officer_id,
        supervisor=supervisor.id,
        facility=reassigned.facility,
    )
    return reassigned


class WaitingTaskAssigner:
    """Background work: hands unassigned tasks to officers whose shift has begun.

    A task opened while nobody was on duty waits UNASSIGNED; when the next
    shift starts it must reach that officer's tablet without a supervisor's
    intervention. Shifts start at arbitrary times, so the offices are checked
    every ``interval`` seconds.
    """

    def __init__(self, database: Database, *, interval: float = 30.0) -> None:
        self._database = database
        self._interval = interval
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Starts the periodic check."""
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="waiting-task-assigner")

    async def stop(self) -> None:
        """Stops after the check in progress, if any."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                assigned = await assign_waiting_everywhere(self._database)
                if assigned:
                    _log.info("waiting_examinations_assigned", count=assigned)
            except Exception:
                # A failed round (database briefly unreachable) is retried on the next one.
                _log.exception("waiting_examinations_assignment_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)
