"""Use cases of the cargo examination report: drafts, submission, review, reading."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import structlog

from customs_kit.anchoring import HistoryAnchor
from customs_kit.db import Database, utcnow
from customs_kit.errors import Aborted, NotFound
from customs_kit.pagination import clamp_page_size
from customs_kit.telemetry import continued_trace
from customs_kit.uow import UnitOfWork
from exam_reports.adapters.attachments import Attachments
from exam_reports.adapters.events import (
    DECLARATION_OUTCOME_FEED,
    declaration_outcome_payload,
    outcome_events,
)
from exam_reports.adapters.overrides import Overrides
from exam_reports.adapters.repositories import DuplicateReport, Examinations, ExamReports, Officers
from exam_reports.domain.attachments import AttachmentParent
from exam_reports.domain.decision_log import DecisionKind
from exam_reports.domain.declaration_outcomes import declaration_outcome
from exam_reports.domain.exam_reports import (
    ExamReport,
    ExamReportFilter,
    ExamReportForm,
    approved_report,
    check_attachments_uploaded,
    check_inspecting_officer,
    check_matches_examination,
    check_national_currency,
    check_override_approved_before_examination,
    check_reviewable,
    check_same_examination,
    check_submission,
    draft_report,
    require_author,
    resent_submission,
    returned_report,
    submitted_report,
)
from exam_reports.domain.officers import require_active_officer
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
from exam_reports.service_layer.decision_log import record_decision
from exam_reports.service_layer.examinations import calling_officer

_log = structlog.get_logger(__name__)


async def submit_exam_report(
    database: Database,
    caller: Caller,
    exam_report_id: str,
    form: ExamReportForm,
    sign_time: datetime,
    fingerprint: str,
    *,
    national_currency: str,
) -> ExamReport:
    """Submits and signs a report, exactly once per ``exam_report_id`` and content.

    ``fingerprint`` identifies the submission's content: a tablet resending the
    same submission after losing the connection gets the stored report (in
    whatever state the review has brought it to) and nothing changes. The
    report is committed before this returns, so an acknowledged report
    survives a crash of the service. INVALID_ARGUMENT for a revenue in another
    currency than ``national_currency``.
    """
    check_submission(form, sign_time, utcnow())
    check_national_currency(form, national_currency)
    try:
        return await _submit(database, caller, exam_report_id, form, sign_time, fingerprint)
    except DuplicateReport:
        # A concurrent copy of the same submission committed first; this copy
        # now finds it and answers as a resend.
        return await _submit(database, caller, exam_report_id, form, sign_time, fingerprint)


async def _submit(
    database: Database,
    caller: Caller,
    exam_report_id: str,
    form: ExamReportForm,
    sign_time: datetime,
    fingerprint: str,
) -> ExamReport:
    async with database.unit_of_work() as uow:
        officers = Officers(uow.session)
        signer = require_active_officer(await officers.by_subject(caller.subject), caller.subject)
        reports = ExamReports(uow.session)
        existing = await reports.get(exam_report_id, for_update=True)
        resent = resent_submission(existing, fingerprint)
        if resent is not None:
            return resent
        if existing is not None:
            require_author(existing, signer.id)
            check_same_examination(existing, form)
        examinations = Examinations(uow.session)
        examination = await examinations.get(form.examination_id, for_update=True)
        if examination is None:
            raise NotFound("examination", f"examinations/{form.examination_id}")
        examination.check_reportable(exam_report_id)
        examination.require_assigned_to(signer.id)
        check_matches_examination(form, examination)
        override = await Overrides(uow.session).get(form.override_id) if form.override_id else None
        check_override_approved_before_examination(form, override)
        check_inspecting_officer(form, await officers.get(form.inspecting_officer_id))
        check_attachments_uploaded(form, await _uploaded(uow, exam_report_id))
        now = utcnow()
        report = submitted_report(
            existing, exam_report_id, form, signer, sign_time, fingerprint, now
        )
        if existing is None:
            await reports.add(report)
        else:
            await reports.update(report)
        await examinations.update(examination.reported(report.id, form.examination_time, now))
        await uow.commit()
    # Logged in the declaration's trace, linked to the officer's request.
    with continued_trace(examination.trace_parent, "exam_report submitted"):
        _log.info(
            "exam_report_submitted",
            exam_report=exam_report_id,
            examination=examination.id,
            declaration=examination.declaration_number,
            officer=signer.id,
            discrepancy_found=form.discrepancy_found,
            submission=report.submission_count,
        )
    return report


async def get_exam_report(database: Database, caller: Caller, exam_report_id: str) -> ExamReport:
    """The report; NOT_FOUND if it does not exist or the calling officer did not write it."""
    async with database.unit_of_work() as uow:
        report = await ExamReports(uow.session).get(exam_report_id)
        if report is not None and not caller.sees_all:
            officer = await Officers(uow.session).by_subject(caller.subject)
            if officer is None or report.author_officer_id != officer.id:
                report = None
    if report is None:
        raise NotFound("exam report", f"examReports/{exam_report_id}")
    return report


async def _uploaded(uow: UnitOfWork, exam_report_id: str) -> frozenset[str]:
    ids = await Attachments(uow.session).ids_of(AttachmentParent.EXAM_REPORT, exam_report_id)
    return frozenset(f"examReports/{exam_report_id}/attachments/{each}" for each in ids)


async def save_exam_report_draft(
    database: Database,
    caller: Caller,
    exam_report_id: str,
    form: ExamReportForm,
    etag: str,
    *,
    national_currency: str,
) -> ExamReport:
    """Creates or replaces the draft of a report, complete or not.

    NOT_FOUND for an unknown examination; PERMISSION_DENIED unless the caller
    holds the examination (and wrote the report); FAILED_PRECONDITION
    ``REPORT_NOT_EDITABLE`` once SUBMITTED or APPROVED, or when the examination
    is closed or answered by another report; ABORTED when ``etag`` is given and
    stale. The form's mandatory boxes are not checked: a draft is whatever the
    officer has typed so far; a revenue in another currency than
    ``national_currency`` is INVALID_ARGUMENT, as on submission.
    """
    check_national_currency(form, national_currency)
    try:
        return await _save_draft(database, caller, exam_report_id, form, etag)
    except DuplicateReport:
        # Two devices created the same draft at once; this save now replaces the first.
        return await _save_draft(database, caller, exam_report_id, form, etag)


async def _save_draft(
    database: Database, caller: Caller, exam_report_id: str, form: ExamReportForm, etag: str
) -> ExamReport:
    async with database.unit_of_work() as uow:
        author = await calling_officer(uow, caller)
        reports = ExamReports(uow.session)
        existing = await reports.get(exam_report_id, for_update=True)
        examination = await Examinations(uow.session).get(form.examination_id)
        if examination is None:
            raise NotFound("examination", f"examinations/{form.examination_id}")
        examination.require_assigned_to(author.id)
        examination.check_reportable(exam_report_id)
        draft = draft_report(existing, exam_report_id, form, author, utcnow())
        if etag:
            if existing is None:
                raise Aborted(
                    "ETAG_MISMATCH", f"examReports/{exam_report_id} has no saved draft yet"
                )
            check_etag(etag, existing.version)
        if existing is None:
            await reports.add(draft)
        else:
            await reports.update(draft)
        await uow.commit()
    _log.info(
        "exam_report_draft_saved",
        exam_report=exam_report_id,
        examination=form.examination_id,
        officer=author.id,
        state=draft.state.value,
    )
    return draft


async def approve_exam_report(
    uow: UnitOfWork,
    caller: Caller,
    exam_report_id: str,
    etag: str,
    *,
    anchor: HistoryAnchor | None = None,
) -> ExamReport:
    """The report signed off by the calling supervisor, and its outcome on its way out.

    Runs inside the request's idempotent unit of work: the approval, the
    completed examination, the events for criteria, compliance and (when
    the finding calls for it) audit referral, and the declaration's outcome
    for the declaration system's watch stream are committed together, so an
    approved report's outcome is always published and never twice.
    """
    supervisor = require_supervisor(await calling_officer(uow, caller))
    reports = ExamReports(uow.session)
    report = await reports.get(exam_report_id, for_update=True)
    if report is None:
        raise NotFound("exam report", f"examReports/{exam_report_id}")
    check_reviewable(report, supervisor)
    check_etag(etag, report.version)
    now = utcnow()
    approved = approved_report(report, supervisor, now)
    examinations = Examinations(uow.session)
    examination = await examinations.get(report.form.examination_id, for_update=True)
    if examination is None:
        raise RuntimeError(f"examReports/{exam_report_id} answers a missing examination")
    await reports.update(approved)
    await examinations.update(examination.completed(now))
    await record_decision(
        uow,
        anchor,
        resource=f"examReports/{exam_report_id}",
        kind=DecisionKind.REPORT_APPROVED,
        actor=supervisor.id,
        decide_time=now,
        detail={
            "officer": report.author_officer_id,
            "examination": examination.id,
            "declaration": examination.declaration_number,
            "discrepancy_found": str(report.form.discrepancy_found).lower(),
        },
    )
    outcome = declaration_outcome(approved, examination)
    # The outcome continues the declaration's trace (the outbox stores the
    # active context with each event); the supervisor's request is linked.
    with continued_trace(examination.trace_parent, "exam_report approved"):
        events = outcome_events(approved, examination)
        for event in events:
            uow.outbox.add(event.destination, event.method, event.payload, event.event_id)
        revision = await uow.changes.append(
            DECLARATION_OUTCOME_FEED,
            examination.declaration_number,
            declaration_outcome_payload(outcome),
        )
        _log.info(
            "exam_report_approved",
            exam_report=exam_report_id,
            examination=examination.id,
            declaration=examination.declaration_number,
            supervisor=supervisor.id,
            officer=report.author_officer_id,
            discrepancy_found=report.form.discrepancy_found,
            release_decision=outcome.release_decision.value,
            outcome_revision=revision,
            events=[event.destination for event in events],
        )
    return approved


async def return_exam_report(
    uow: UnitOfWork,
    caller: Caller,
    exam_report_id: str,
    *,
    etag: str,
    reason: str,
    fields: tuple[str, ...],
) -> ExamReport:
    """The report sent back by the calling supervisor for correction of ``fields``.

    Runs inside the request's idempotent unit of work. The return (who, when,
    why, which fields) is appended to the report's history and the task goes
    back to the officer's tablet.
    """
    supervisor = require_supervisor(await calling_officer(uow, caller))
    reports = ExamReports(uow.session)
    report = await reports.get(exam_report_id, for_update=True)
    if report is None:
        raise NotFound("exam report", f"examReports/{exam_report_id}")
    check_reviewable(report, supervisor)
    check_etag(etag, report.version)
    now = utcnow()
    returned = returned_report(report, supervisor, reason, fields, now)
    examinations = Examinations(uow.session)
    examination = await examinations.get(report.form.examination_id, for_update=True)
    if examination is None:
        raise RuntimeError(f"examReports/{exam_report_id} answers a missing examination")
    await reports.update(returned)
    await examinations.update(examination.returned_for_correction(now))
    _log.info(
        "exam_report_returned",
        exam_report=exam_report_id,
        examination=examination.id,
        supervisor=supervisor.id,
        officer=report.author_officer_id,
        reason=reason,
        fields=list(fields),
    )
    return returned


async def list_exam_reports(
    database: Database,
    pager: Pager,
    caller: Caller,
    where: ExamReportFilter,
    *,
    page_size: int,
    page_token: str,
) -> Page[ExamReport]:
    """Reports matching ``where``, last changed first; an officer sees only their own.

    PERMISSION_DENIED ``NOT_AN_OFFICER`` for an officer who is not registered.
    """
    if not caller.sees_all:
        async with database.unit_of_work() as uow:
            officer = await calling_officer(uow, caller)
        where = replace(where, author_officer_id=officer.id)
    limit = clamp_page_size(page_size)
    query = {
        "list": "exam_reports",
        "office": where.office_id,
        "states": sorted(state.value for state in where.states),
        "inspecting_officer": where.inspecting_officer_id,
        "examination": where.examination_id,
        "discrepancy_found": where.discrepancy_found,
        "author": where.author_officer_id,
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
        reports = await ExamReports(uow.session).page(where, after=after, limit=limit + 1)
    return page_of(
        reports,
        limit,
        pager,
        query,
        lambda report: {"time": encode_time(report.update_time), "id": report.id},
    )
