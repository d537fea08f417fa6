"""How decisions open, supersede and ignore tasks, and how a task moves through its states."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from customs_kit.errors import FailedPrecondition, PermissionDenied
from exam_reports.domain.examinations import (
    Examination,
    ExaminationReason,
    ExaminationState,
    SelectedCriterion,
    SelectivityDecision,
    TraderReference,
    effect_of_decision,
    open_examination,
)
from exam_reports.domain.selectivity import Channel, ExaminationLevel, ExaminationType

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def decision(
    version: int = 1, *, criteria: tuple[str, ...] = ("criteria/c-1",)
) -> SelectivityDecision:
    return SelectivityDecision(
        assessment="assessments/a-1",
        declaration_number="DCL-1",
        declaration_version=version,
        office_id="PORT1",
        importer=TraderReference("IMP-77", "Acme Imports"),
        broker=None,
        carrier=None,
        channel=Channel.RED,
        examination_level=ExaminationLevel.ENFORCEMENT,
        documents_to_check=(),
        examiner_instructions=("Unload and probe the pallets.",),
        random_selection=not criteria,
        matched_criteria=criteria,
        selected_criteria=tuple(SelectedCriterion(name, 1, 0) for name in criteria),
        decide_time=NOW,
    )


def task(version: int, state: ExaminationState) -> Examination:
    return replace(
        open_examination(f"e-{version}", f"ev-{version}", decision(version), NOW), state=state
    )


def test_a_new_task_waits_unassigned_with_the_decisions_instructions() -> None:
    opened = open_examination("e-1", "ev-1", decision(), NOW)

    assert opened.state is ExaminationState.UNASSIGNED
    assert opened.assigned_officer_id is None
    assert opened.examiner_instructions == ("Unload and probe the pallets.",)
    assert opened.type == ExaminationType(Channel.RED, ExaminationLevel.ENFORCEMENT)


def test_the_reason_is_criteria_when_any_criterion_matched_else_random() -> None:
    assert decision().reason is ExaminationReason.CRITERIA
    assert decision(criteria=()).reason is ExaminationReason.RANDOM


def test_a_first_decision_opens_a_task() -> None:
    effect = effect_of_decision(decision(1), [])

    assert effect.opens_task
    assert effect.superseded == ()


def test_a_newer_version_supersedes_only_the_unreported_tasks() -> None:
    unassigned = task(1, ExaminationState.UNASSIGNED)
    in_progress = task(2, ExaminationState.IN_PROGRESS)
    reported = task(3, ExaminationState.AWAITING_REVIEW)

    effect = effect_of_decision(decision(4), [unassigned, in_progress, reported])

    assert effect.opens_task
    assert effect.superseded == (unassigned, in_progress)


@pytest.mark.parametrize("version", [1, 2])
def test_a_decision_on_the_same_or_an_older_version_is_ignored(version: int) -> None:
    effect = effect_of_decision(decision(version), [task(2, ExaminationState.ASSIGNED)])

    assert not effect.opens_task
    assert effect.superseded == ()


def test_a_superseded_task_is_closed() -> None:
    closed = task(1, ExaminationState.ASSIGNED).superseded(NOW)

    assert closed.state is ExaminationState.SUPERSEDED
    assert closed.complete_time == NOW


def test_only_the_assigned_officer_starts_a_task_and_starting_twice_changes_nothing() -> None:
    assigned = open_examination("e-1", "ev-1", decision(), NOW).assigned_to("anna", NOW)

    with pytest.raises(PermissionDenied):
        assigned.started_by("ben", NOW)
    started = assigned.started_by("anna", NOW + timedelta(minutes=5))
    assert started.state is ExaminationState.IN_PROGRESS
    assert started.start_time == NOW + timedelta(minutes=5)
    assert started.started_by("anna", NOW + timedelta(hours=1)) is started


def test_a_task_awaiting_review_cannot_be_started() -> None:
    waiting = replace(
        open_examination("e-1", "ev-1", decision(), NOW).assigned_to("anna", NOW),
        state=ExaminationState.AWAITING_REVIEW,
    )

    with pytest.raises(FailedPrecondition):
        waiting.started_by("anna", NOW)


@pytest.mark.parametrize(
    "state",
    [
        ExaminationState.COMPLETED,
        ExaminationState.RELEASED_WITHOUT_EXAMINATION,
        ExaminationState.SUPERSEDED,
    ],
)
def test_a_closed_task_takes_no_report(state: ExaminationState) -> None:
    with pytest.raises(FailedPrecondition) as raised:
        task(1, state).check_reportable("r-1")

    assert raised.value.reason == "EXAMINATION_CLOSED"


def test_a_task_takes_one_report() -> None:
    reported = open_examination("e-1", "ev-1", decision(), NOW).reported("r-1", NOW, NOW)

    reported.check_reportable("r-1")
    with pytest.raises(FailedPrecondition) as raised:
        reported.check_reportable("r-2")

    assert raised.value.reason == "EXAMINATION_ALREADY_REPORTED"
    assert reported.state is ExaminationState.AWAITING_REVIEW
