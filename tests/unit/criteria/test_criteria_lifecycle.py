"""The lifecycle of a criterion and the four-eyes rule, without a database."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from criteria_builders import (
    ANA,
    MAX_ANALYSIS_AGE,
    NOW,
    OMAR,
    RITA,
    SAM,
    active,
    analysis,
    approval,
    approve,
    content,
    later,
    new,
    submitted,
)

from criteria.domain import lifecycle
from criteria.domain.history import ChangeKind, FieldChange
from criteria.domain.impact import CapacityExceedance
from criteria.domain.lifecycle import Publication
from criteria.domain.model import Actor, AmendmentState, CriterionState
from customs_kit.errors import Aborted, FailedPrecondition, PermissionDenied


def _reason_of(error: pytest.ExceptionInfo[Exception]) -> str:
    return getattr(error.value, "reason", "")


def test_a_new_criterion_is_a_draft_at_revision_one_written_by_its_author() -> None:
    criterion = new(ANA)

    assert criterion.state is CriterionState.DRAFT
    assert criterion.amendment_state is AmendmentState.NONE
    assert (criterion.revision, criterion.active_revision, criterion.version) == (1, 0, 1)
    assert criterion.author == criterion.latest.author == "ana"


def test_submitting_a_draft_makes_it_await_approval() -> None:
    transition = lifecycle.submit(new(), later(1), "please review")

    assert transition.criterion.state is CriterionState.SUBMITTED
    assert transition.kind is ChangeKind.SUBMITTED
    assert transition.reason == "please review"
    assert transition.publication is Publication.NONE


def test_there_is_nothing_to_submit_twice() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        lifecycle.submit(submitted(), NOW, "")

    assert _reason_of(refused) == "NOTHING_TO_SUBMIT"


def test_an_approval_by_someone_else_of_the_committee_applies_the_revision() -> None:
    transition = approval(submitted(ANA), RITA, later(5))

    approved = transition.criterion
    assert approved.state is CriterionState.ACTIVE
    assert approved.active == approved.latest
    assert (approved.approver, approved.approve_time) == ("rita", later(5))
    assert transition.publication is Publication.PUBLISH
    assert transition.notes == (
        FieldChange("impact_analysis", "", '"criteria/cigarettes/impactAnalyses/a1"'),
    )


@pytest.mark.parametrize("approver", [Actor("ana", ("rmc",)), Actor("ana", ("supervisor",))])
def test_the_author_never_approves_their_own_criterion(approver: Actor) -> None:
    with pytest.raises(PermissionDenied) as refused:
        approve(submitted(ANA), approver)

    assert _reason_of(refused) == "SELF_APPROVAL"


def test_the_author_of_the_revision_never_approves_it() -> None:
    amended = lifecycle.update(
        active(), content(), "RISK_AREA_REVENUE", Actor("rob", ("analyst", "rmc")), NOW, ""
    ).criterion
    pending = lifecycle.submit(amended, NOW, "").criterion

    with pytest.raises(PermissionDenied) as refused:
        approve(pending, Actor("rob", ("analyst", "rmc")))

    assert _reason_of(refused) == "SELF_APPROVAL"
    assert approve(pending, SAM).active_revision == 2


def test_an_analyst_is_not_an_approver() -> None:
    with pytest.raises(PermissionDenied) as refused:
        approve(submitted(ANA), OMAR)

    assert _reason_of(refused) == "APPROVER_ROLE_REQUIRED"


def test_only_what_was_submitted_can_be_approved() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        approve(new(ANA))

    assert _reason_of(refused) == "NOT_SUBMITTED"


def test_the_approver_must_approve_the_revision_they_reviewed() -> None:
    pending = submitted()
    with pytest.raises(FailedPrecondition) as refused:
        lifecycle.approve(
            pending,
            RITA,
            revision=2,
            impact_analysis="criteria/cigarettes/impactAnalyses/a1",
            analysis=analysis(pending),
            analysis_max_age=MAX_ANALYSIS_AGE,
            capacity_justification="",
            comment="",
            now=NOW,
        )

    assert _reason_of(refused) == "REVISION_MISMATCH"


def test_an_approval_citing_no_stored_analysis_is_refused() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        lifecycle.approve(
            submitted(),
            RITA,
            revision=1,
            impact_analysis="criteria/cigarettes/impactAnalyses/never-made",
            analysis=None,
            analysis_max_age=MAX_ANALYSIS_AGE,
            capacity_justification="",
            comment="",
            now=NOW,
        )

    assert _reason_of(refused) == "IMPACT_ANALYSIS_REQUIRED"
    assert [v.subject for v in refused.value.violations] == [
        "criteria/cigarettes/impactAnalyses/never-made"
    ]


def test_an_analysis_of_another_revision_does_not_approve_this_one() -> None:
    amended = lifecycle.update(
        submitted(), content(), "RISK_AREA_REVENUE", ANA, later(1), "wider"
    ).criterion
    pending = lifecycle.submit(amended, later(2), "").criterion

    with pytest.raises(FailedPrecondition) as refused:
        approval(pending, cited=analysis(pending, revision=1))

    assert _reason_of(refused) == "IMPACT_ANALYSIS_REQUIRED"
    [violation] = refused.value.violations
    assert violation.type == "IMPACT_ANALYSIS"
    assert "revision 1" in violation.description


def test_an_analysis_older_than_the_maximum_age_is_stale() -> None:
    old = analysis(submitted(), made=NOW - MAX_ANALYSIS_AGE - timedelta(minutes=1))

    with pytest.raises(FailedPrecondition) as refused:
        approval(submitted(), cited=old)

    assert _reason_of(refused) == "IMPACT_ANALYSIS_STALE"
    just_in_time = analysis(submitted(), made=NOW - MAX_ANALYSIS_AGE)
    assert approval(submitted(), cited=just_in_time).criterion.state is CriterionState.ACTIVE


def test_an_analysis_over_capacity_needs_a_justification_naming_each_office() -> None:
    over = analysis(
        submitted(),
        exceeded=(
            CapacityExceedance("30", 3, "2026-02-20", 150.0),
            CapacityExceedance("40", 1, "2026-02-21", math.inf),
        ),
    )

    with pytest.raises(FailedPrecondition) as refused:
        approval(submitted(), cited=over, justification="   ")
    justified = approval(submitted(), cited=over, justification=" extra staff in March ")

    assert _reason_of(refused) == "CAPACITY_EXCEEDED"
    violations = refused.value.violations
    assert [(v.type, v.subject) for v in violations] == [
        ("CAPACITY", "offices/30"),
        ("CAPACITY", "offices/40"),
    ]
    assert "3 day(s)" in violations[0].description
    assert "150 %" in violations[0].description
    assert "without capacity" in violations[1].description
    assert justified.criterion.state is CriterionState.ACTIVE
    notes = {note.path: note.new_value for note in justified.notes}
    assert notes["capacity_justification"] == '"extra staff in March"'
    assert notes["capacity_exceeded_offices"] == '["30", "40"]'


def test_a_criterion_whose_window_has_ended_cannot_be_approved() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        approve(submitted(end=later(10)), RITA, when=later(10))

    assert _reason_of(refused) == "VALIDITY_ENDED"


def test_a_rejection_returns_the_criterion_to_draft() -> None:
    transition = lifecycle.reject(submitted(), SAM, "instructions disclose the rule", NOW)

    assert transition.criterion.state is CriterionState.DRAFT
    assert transition.kind is ChangeKind.REJECTED


def test_editing_an_active_criterion_leaves_the_applied_revision_in_force() -> None:
    applied = active()

    transition = lifecycle.update(applied, content(), "RISK_AREA_REVENUE", OMAR, later(1), "10 %")

    amended = transition.criterion
    assert amended.state is CriterionState.ACTIVE
    assert amended.amendment_state is AmendmentState.DRAFT
    assert (amended.revision, amended.active_revision) == (2, 1)
    assert amended.active == applied.active
    assert amended.latest.author == "omar"
    assert transition.new_revision == amended.latest
    assert transition.publication is Publication.NONE


def test_a_rejected_amendment_goes_back_to_draft_and_the_criterion_stays_active() -> None:
    amended = lifecycle.update(active(), content(), "RISK_AREA_REVENUE", OMAR, NOW, "").criterion
    pending = lifecycle.submit(amended, NOW, "").criterion

    rejected = lifecycle.reject(pending, RITA, "not convinced", NOW).criterion

    assert rejected.state is CriterionState.ACTIVE
    assert rejected.amendment_state is AmendmentState.DRAFT


def test_editing_a_submitted_criterion_withdraws_the_submission() -> None:
    edited = lifecycle.update(submitted(), content(), "RISK_AREA_REVENUE", ANA, NOW, "").criterion

    assert edited.state is CriterionState.DRAFT


def test_suspension_withdraws_and_reactivation_republishes() -> None:
    suspension = lifecycle.suspend(active(), "exams pile up", NOW)
    reactivation = lifecycle.reactivate(suspension.criterion, SAM, "capacity is back", later(1))

    assert suspension.criterion.state is CriterionState.SUSPENDED
    assert suspension.publication is Publication.WITHDRAW
    assert reactivation.criterion.state is CriterionState.ACTIVE
    assert reactivation.publication is Publication.PUBLISH


def test_only_an_active_criterion_can_be_suspended() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        lifecycle.suspend(new(), "", NOW)

    assert _reason_of(refused) == "NOT_ACTIVE"


def test_the_author_of_the_applied_revision_cannot_reactivate_it() -> None:
    suspended = lifecycle.suspend(active(), "", NOW).criterion

    with pytest.raises(PermissionDenied) as refused:
        lifecycle.reactivate(suspended, Actor("ana", ("supervisor",)), "", NOW)

    assert _reason_of(refused) == "SELF_APPROVAL"


def test_a_criterion_whose_window_has_ended_is_not_reactivated() -> None:
    suspended = lifecycle.suspend(active(end=later(10)), "", NOW).criterion

    with pytest.raises(FailedPrecondition) as refused:
        lifecycle.reactivate(suspended, RITA, "", later(11))

    assert _reason_of(refused) == "VALIDITY_ENDED"


def test_retiring_an_active_criterion_withdraws_it_and_drops_a_pending_amendment() -> None:
    amended = lifecycle.update(active(), content(), "RISK_AREA_REVENUE", OMAR, NOW, "").criterion

    transition = lifecycle.retire(amended, "no results", NOW)

    assert transition.criterion.state is CriterionState.RETIRED
    assert transition.criterion.amendment_state is AmendmentState.NONE
    assert transition.publication is Publication.WITHDRAW


def test_retiring_a_draft_tells_scoring_nothing() -> None:
    assert lifecycle.retire(new(), "duplicate", NOW).publication is Publication.NONE


def test_a_retired_criterion_is_neither_edited_nor_retired_again() -> None:
    retired = lifecycle.retire(new(), "duplicate", NOW).criterion

    with pytest.raises(FailedPrecondition) as edit:
        lifecycle.update(retired, content(), "RISK_AREA_REVENUE", ANA, NOW, "")
    with pytest.raises(FailedPrecondition) as again:
        lifecycle.retire(retired, "", NOW)

    assert _reason_of(edit) == _reason_of(again) == "CRITERION_RETIRED"


def test_an_active_criterion_expires_at_the_end_of_its_window_and_is_withdrawn() -> None:
    criterion = active(end=later(10))

    assert lifecycle.expire(criterion, later(9)) is None
    transition = lifecycle.expire(criterion, later(10))

    assert transition is not None
    assert transition.criterion.state is CriterionState.EXPIRED
    assert transition.kind is ChangeKind.EXPIRED
    assert transition.publication is Publication.WITHDRAW


def test_a_suspended_criterion_expires_without_a_second_withdrawal() -> None:
    suspended = lifecycle.suspend(active(end=later(10)), "", NOW).criterion

    transition = lifecycle.expire(suspended, later(20))

    assert transition is not None
    assert transition.criterion.state is CriterionState.EXPIRED
    assert transition.publication is Publication.NONE


def test_a_draft_never_expires_by_itself() -> None:
    assert lifecycle.expire(new(end=later(1)), later(2)) is None


def test_an_approved_amendment_with_a_new_window_revives_an_expired_criterion() -> None:
    expired = lifecycle.expire(active(end=later(10)), later(10))
    assert expired is not None
    amended = lifecycle.update(
        expired.criterion, content(end=later(600)), "RISK_AREA_REVENUE", OMAR, later(11), ""
    ).criterion

    revived = approve(lifecycle.submit(amended, later(12), "").criterion, RITA, later(13))

    assert revived.state is CriterionState.ACTIVE
    assert revived.active_revision == 2


def test_every_change_gives_a_new_etag_and_a_stale_one_is_refused() -> None:
    draft = new()
    after = lifecycle.submit(draft, NOW, "").criterion

    assert after.etag != draft.etag
    lifecycle.check_etag(after.etag, after.etag)
    with pytest.raises(Aborted):
        lifecycle.check_etag(after.etag, draft.etag)
