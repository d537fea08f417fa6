"""What becomes of the goods once an examination report is approved.

The declaration system releases the goods; it needs to hear how the
examination ended: released as declared, held until the amended duties (or the
recommended penalty) are settled, or seized. The approved report decides it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from exam_reports.domain.exam_reports import ExamReport, Money
from exam_reports.domain.examinations import Examination
from exam_reports.domain.selectivity import Channel, ExaminationLevel


class ReleaseDecision(Enum):
    """What happens to the goods."""

    RELEASED = "RELEASED"
    HELD = "HELD"
    SEIZED = "SEIZED"


@dataclass(frozen=True)
class DeclarationOutcome:
    """The end of one declaration version's examination, for the declaration system."""

    declaration_number: str
    declaration_version: int
    office_id: str
    assessment: str
    examination_id: str
    exam_report_id: str
    channel: Channel
    examination_level: ExaminationLevel
    release_decision: ReleaseDecision
    discrepancy_found: bool
    amended_duties: Money | None
    penalty_recommended: bool
    seizure_case_number: str
    decide_time: datetime


def release_decision(report: ExamReport) -> ReleaseDecision:
    """SEIZED when goods were seized; HELD while duties were amended or a penalty is due.

    A discrepancy that changes neither the duties nor calls for a penalty (a
    document put right on the spot) does not keep the goods: the report's
    approval is the supervisor's review before release.
    """
    form = report.form
    if form.merchandise_seized:
        return ReleaseDecision.SEIZED
    revenue = form.revenue_found
    amended = revenue is not None and revenue.in_nanos > 0
    if form.discrepancy_found and (amended or form.penalty_recommended):
        return ReleaseDecision.HELD
    return ReleaseDecision.RELEASED


def declaration_outcome(report: ExamReport, examination: Examination) -> DeclarationOutcome:
    """The outcome of approved ``report`` on ``examination``."""
    if report.supervisor_signature is None:
        raise ValueError(f"examReports/{report.id} is not approved")
    form = report.form
    return DeclarationOutcome(
        declaration_number=examination.declaration_number,
        declaration_version=examination.declaration_version,
        office_id=examination.office_id,
        assessment=examination.assessment,
        examination_id=examination.id,
        exam_report_id=report.id,
        channel=examination.channel,
        examination_level=examination.examination_level,
        release_decision=release_decision(report),
        discrepancy_found=bool(form.discrepancy_found),
        amended_duties=form.revenue_found,
        penalty_recommended=bool(form.penalty_recommended),
        seizure_case_number=form.seizure_case_number if form.merchandise_seized else "",
        decide_time=report.supervisor_signature.sign_time,
    )
