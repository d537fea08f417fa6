"""Use cases of the cargo examination report: submission from the tablet, reading."""

from __future__ import annotations

from datetime import datetime

import structlog

from customs_kit.db import Database, utcnow
from customs_kit.errors import NotFound, PermissionDenied
from exam_reports.adapters.repositories import DuplicateReport, Examinations, ExamReports, Officers
from exam_reports.domain.exam_reports import (
    ExamReport,
    ExamReportForm,
    check_attachments_uploaded,
    check_inspecting_officer,
    check_matches_examination,
    check_override_approved_before_examination,
    check_submission,
    resent_submission,
    submitted_report,
)
from exam_reports.domain.officers import require_active_officer
from exam_reports.service_layer.common import Caller

_log = structlog.get_logger(__name__)


async def submit_exam_report(
    database: Database,
    caller: Caller,
    exam_report_id: str,
    form: ExamReportForm,
    sign_time: datetime,
    fingerprint: str,
) -> ExamReport:
    """Submits and signs a report, exactly once per ``exam_report_id`` and content.

    ``fingerprint`` identifies the submission's content: a tablet resending the
    same submission after losing the connection gets the stored report (in
    whatever state the review has brought it to) and nothing changes. The
    report is committed before this returns, so an acknowledged report
    survives a crash of the service.
    """
    check_submission(form, sign_time, utcnow())
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
        if existing is not None and existing.author_officer_id != signer.id:
            raise PermissionDenied(
                "NOT_REPORT_AUTHOR",
                f"examReports/{exam_report_id} was written by another officer",
            )
        examinations = Examinations(uow.session)
        examination = await examinations.get(form.examination_id, for_update=True)
        if examination is None:
            raise NotFound("examination", f"examinations/{form.examination_id}")
        examination.check_reportable(exam_report_id)
        examination.require_assigned_to(signer.id)
        check_matches_examination(form, examination)
        check_override_approved_before_examination(form)
        check_inspecting_officer(form, await officers.get(form.inspecting_officer_id))
        # Attachments are not served yet, so no file can have been uploaded to a report.
        check_attachments_uploaded(form, frozenset())
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
    _log.info(
        "exam_report_submitted",
        exam_report=exam_report_id,
        examination=examination.id,
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
