"""Use cases of override requests: asking, deciding (four eyes), reading.

Requests and decisions run inside the request's idempotent unit of work (the
servicer wraps them), so they take the unit of work and do not commit.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

import structlog

from customs_kit.anchoring import HistoryAnchor
from customs_kit.db import Database, utcnow
from customs_kit.errors import FailedPrecondition, NotFound, PreconditionViolation
from customs_kit.pagination import clamp_page_size
from customs_kit.uow import UnitOfWork
from exam_reports.adapters.overrides import Overrides
from exam_reports.adapters.repositories import Examinations, Officers, Offices
from exam_reports.domain.decision_log import DecisionKind
from exam_reports.domain.examinations import Examination, open_override_examination
from exam_reports.domain.officers import Officer
from exam_reports.domain.overrides import (
    Override,
    OverrideFilter,
    OverrideKind,
    OverrideRequest,
    check_declaration_undesignated,
    check_no_pending_override,
    new_override,
    require_supervisor,
)
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
from exam_reports.service_layer.decision_log import record_decision
from exam_reports.service_layer.examinations import calling_officer

_log = structlog.get_logger(__name__)


async def request_override(uow: UnitOfWork, caller: Caller, request: OverrideRequest) -> Override:
    """A PENDING override asked by the calling officer.

    NOT_FOUND for an unknown examination; FAILED_PRECONDITION when it is
    reported or closed, when an undesignated declaration is in fact designated
    or its office unknown, or when another request about the declaration is
    pending; PERMISSION_DENIED when the caller does not hold the examination.
    """
    requester = await calling_officer(uow, caller)
    examinations = Examinations(uow.session)
    examination: Examination | None = None
    if request.examination_id is not None:
        examination = await examinations.get(request.examination_id, for_update=True)
        if examination is None:
            raise NotFound("examination", f"examinations/{request.examination_id}")
        declaration_number = examination.declaration_number
    else:
        if await Offices(uow.session).get(request.office_id) is None:
            raise FailedPrecondition(
                "UNKNOWN_OFFICE",
                f"offices/{request.office_id} is not a known office",
                [
                    PreconditionViolation(
                        "UNKNOWN_OFFICE", f"offices/{request.office_id}", "does not exist"
                    )
                ],
            )
        declaration_number = request.declaration_number
        check_declaration_undesignated(await examinations.open_of_declaration(declaration_number))
    overrides = Overrides(uow.session)
    check_no_pending_override(await overrides.pending_for_declaration(declaration_number))
    override = new_override(str(uuid.uuid4()), request, examination, requester, utcnow())
    await overrides.add(override)
    _log.info(
        "override_requested",
        override=override.id,
        kind=override.kind.value,
        examination=override.examination_id,
        declaration=override.declaration_number,
        officer=requester.id,
        reason=override.reason,
    )
    return override


async def _decidable(
    uow: UnitOfWork, caller: Caller, override_id: str, etag: str
) -> tuple[Override, Overrides, Officer]:
    """The PENDING override, locked, and the calling supervisor (never its requester)."""
    supervisor = require_supervisor(await calling_officer(uow, caller))
    overrides = Overrides(uow.session)
    override = await overrides.get(override_id, for_update=True)
    if override is None:
        raise NotFound("override", f"overrides/{override_id}")
    override.check_decidable_by(supervisor)
    check_etag(etag, override.version)
    return override, overrides, supervisor


async def approve_override(
    uow: UnitOfWork,
    caller: Caller,
    override_id: str,
    *,
    etag: str,
    comment: str,
    anchor: HistoryAnchor | None = None,
) -> Override:
    """The override approved by the calling supervisor, and the examination it authorises.

    An undesignated declaration gets a new task assigned to the requester; a
    changed examination is re-designated; a release closes the task. Each
    happens in the same transaction as the approval.
    """
    override, overrides, supervisor = await _decidable(uow, caller, override_id, etag)
    now = utcnow()
    examinations = Examinations(uow.session)
    if override.kind is OverrideKind.EXAMINE_UNDESIGNATED:
        check_declaration_undesignated(
            await examinations.open_of_declaration(override.declaration_number)
        )
        examination = open_override_examination(
            str(uuid.uuid4()),
            override_id=override.id,
            declaration_number=override.declaration_number,
            declaration_version=override.declaration_version,
            office_id=override.office_id,
            importer=override.importer,
            channel=override.requested_channel,
            level=override.requested_level,
            officer_id=override.requester_id,
            supervisor_id=supervisor.id,
            now=now,
        )
        await examinations.add(examination)
    else:
        target = (
            None
            if override.examination_id is None
            else await examinations.get(override.examination_id, for_update=True)
        )
        if target is None:
            raise RuntimeError(f"overrides/{override.id} names a missing examination")
        if override.kind is OverrideKind.RELEASE_WITHOUT_EXAMINATION:
            examination = target.released_without_examination(override.id, now)
        else:
            examination = target.redesignated(
                override.requested_channel, override.requested_level, override.id, now
            )
        await examinations.update(examination)
    approved = override.approved(supervisor, comment, examination.id, now)
    await overrides.update(approved)
    await record_decision(
        uow,
        anchor,
        resource=f"overrides/{override.id}",
        kind=DecisionKind.OVERRIDE_APPROVED,
        actor=supervisor.id,
        decide_time=now,
        detail={
            "kind": override.kind.value,
            "requester": override.requester_id,
            "examination": examination.id,
            "comment": comment,
        },
    )
    _log.info(
        "override_approved",
        override=override.id,
        kind=override.kind.value,
        examination=examination.id,
        supervisor=supervisor.id,
        requester=override.requester_id,
        comment=comment,
    )
    return approved


async def reject_override(
    uow: UnitOfWork,
    caller: Caller,
    override_id: str,
    *,
    etag: str,
    comment: str,
    anchor: HistoryAnchor | None = None,
) -> Override:
    """The override rejected by the calling supervisor with ``comment``; the designation stands."""
    override, overrides, supervisor = await _decidable(uow, caller, override_id, etag)
    now = utcnow()
    rejected = override.rejected(supervisor, comment, now)
    await overrides.update(rejected)
    await record_decision(
        uow,
        anchor,
        resource=f"overrides/{override.id}",
        kind=DecisionKind.OVERRIDE_REJECTED,
        actor=supervisor.id,
        decide_time=now,
        detail={
            "kind": override.kind.value,
            "requester": override.requester_id,
            "comment": comment,
        },
    )
    _log.info(
        "override_rejected",
        override=override.id,
        supervisor=supervisor.id,
        requester=override.requester_id,
        comment=comment,
    )
    return rejected


async def get_override(database: Database, caller: Caller, override_id: str) -> Override:
    """The override; NOT_FOUND if it does not exist or the calling officer did not ask it."""
    async with database.unit_of_work() as uow:
        override = await Overrides(uow.session).get(override_id)
        if override is not None and not caller.sees_all:
            officer = await Officers(uow.session).by_subject(caller.subject)
            if officer is None or override.requester_id != officer.id:
                override = None
    if override is None:
        raise NotFound("override", f"overrides/{override_id}")
    return override


async def list_overrides(
    database: Database,
    pager: Pager,
    caller: Caller,
    where: OverrideFilter,
    *,
    page_size: int,
    page_token: str,
) -> Page[Override]:
    """Overrides matching ``where``, newest first; an officer sees only their own requests."""
    if not caller.sees_all:
        async with database.unit_of_work() as uow:
            officer = await calling_officer(uow, caller)
        where = replace(where, requester_id=officer.id)
    limit = clamp_page_size(page_size)
    query = {
        "list": "overrides",
        "office": where.office_id,
        "states": sorted(state.value for state in where.states),
        "requester": where.requester_id,
        "kind": None if where.kind is None else where.kind.value,
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
        overrides = await Overrides(uow.session).page(where, after=after, limit=limit + 1)
    return page_of(
        overrides,
        limit,
        pager,
        query,
        lambda override: {"time": encode_time(override.create_time), "id": override.id},
    )
