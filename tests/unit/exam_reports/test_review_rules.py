"""Drafts, and the supervisor's review before release, as the domain decides them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from review_builders import ANNA, CLEAN, FINDING, NOW, SAM, officer, submitted

from customs_kit.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from exam_reports.domain.exam_reports import (
    ExamReport,
    ExamReportState,
    approved_report,
    calls_for_audit_referral,
    draft_report,
    returned_report,
)


def test_a_draft_is_unsigned_and_replaced_whole_by_the_next_save() -> None:
    first = draft_report(None, "r-1", replace(CLEAN, broker_name=""), ANNA, NOW)
    second = draft_report(first, "r-1", CLEAN, ANNA, NOW)

    assert first.state is ExamReportState.DRAFT
    assert first.officer_signature is None
    assert first.submission_count == 0
    assert second.form == CLEAN
    assert second.version == first.version + 1


def test_a_submitted_report_is_no_longer_editable_and_only_its_author_edits() -> None:
    report = submitted()
    draft = replace(report, state=ExamReportState.DRAFT)

    with pytest.raises(FailedPrecondition) as not_editable:
        draft_report(report, "r-1", CLEAN, ANNA, NOW)
    with pytest.raises(PermissionDenied) as not_author:
        draft_report(draft, "r-1", CLEAN, officer("ben"), NOW)

    assert not_editable.value.reason == "REPORT_NOT_EDITABLE"
    assert not_author.value.reason == "NOT_REPORT_AUTHOR"


def test_a_returned_report_stays_returned_while_its_draft_is_corrected() -> None:
    returned = returned_report(submitted(), SAM, "Fix the date of birth.", ("driver",), NOW)

    corrected = draft_report(returned, "r-1", FINDING, ANNA, NOW)

    assert corrected.state is ExamReportState.RETURNED
    assert corrected.corrections == returned.corrections


def test_a_draft_stays_with_its_examination() -> None:
    first = draft_report(None, "r-1", CLEAN, ANNA, NOW)

    with pytest.raises(InvalidArgument) as raised:
        draft_report(first, "r-1", replace(CLEAN, examination_id="e-2"), ANNA, NOW)

    assert [v.field for v in raised.value.field_violations] == ["exam_report.examination"]


def test_an_approval_is_the_supervisors_signature() -> None:
    approved = approved_report(submitted(), SAM, NOW)

    assert approved.state is ExamReportState.APPROVED
    assert approved.supervisor_signature is not None
    assert (approved.supervisor_signature.officer_id, approved.supervisor_signature.sign_time) == (
        "sam",
        NOW,
    )


@pytest.mark.parametrize(
    "report",
    [
        submitted(author=officer("sam")),
        submitted(replace(CLEAN, inspecting_officer_id="sam")),
    ],
)
def test_nobody_reviews_an_examination_they_made_or_signed(report: ExamReport) -> None:
    with pytest.raises(PermissionDenied) as raised:
        approved_report(report, SAM, NOW)

    assert raised.value.reason == "SELF_REVIEW_FORBIDDEN"


def test_only_a_submitted_report_is_approved_or_returned() -> None:
    draft = draft_report(None, "r-1", CLEAN, ANNA, NOW)
    approved = approved_report(submitted(), SAM, NOW)

    for report in (draft, approved):
        with pytest.raises(FailedPrecondition) as raised:
            returned_report(report, SAM, "Fix it please.", ("broker_name",), NOW)
        assert raised.value.reason == "REPORT_NOT_SUBMITTED"


def test_every_return_is_kept_with_who_when_why_and_what() -> None:
    why = "Broker name is the importer's."
    once = returned_report(submitted(), SAM, why, ("broker_name",), NOW)
    again = returned_report(
        replace(once, state=ExamReportState.SUBMITTED), SAM, "Still wrong.", ("broker_name",), NOW
    )

    assert [(c.returned_by, c.reason, c.fields) for c in again.corrections] == [
        ("sam", why, ("broker_name",)),
        ("sam", "Still wrong.", ("broker_name",)),
    ]
    assert again.state is ExamReportState.RETURNED


def test_only_a_finding_with_a_penalty_or_an_audit_recommended_is_referred() -> None:
    assert calls_for_audit_referral(FINDING)
    assert calls_for_audit_referral(
        replace(FINDING, penalty_recommended=False, post_clearance_audit_recommended=True)
    )
    assert not calls_for_audit_referral(replace(FINDING, penalty_recommended=False))
    assert not calls_for_audit_referral(replace(CLEAN, post_clearance_audit_recommended=True))
