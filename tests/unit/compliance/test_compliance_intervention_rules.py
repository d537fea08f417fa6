"""The informed-compliance intervention's life: planned, met, followed up, closed or cancelled."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from compliance.domain.interventions import (
    ComplianceIntervention,
    InterventionMeeting,
    InterventionOutcome,
    InterventionRequest,
    InterventionState,
    InterventionTrigger,
    checked_meeting,
    open_intervention,
)
from compliance.domain.outcomes import ComplianceArea
from compliance.domain.traders import TraderRole
from customs_kit.errors import Aborted, FailedPrecondition, InvalidArgument

NOW = datetime(2025, 5, 6, 10, tzinfo=UTC)
NOTE = "Classification errors stopped after the broker's training."


def planned() -> ComplianceIntervention:
    request = InterventionRequest(
        trader_id="IMP1",
        trader_role=TraderRole.IMPORTER,
        trigger=InterventionTrigger.EXAMINATION_FINDINGS,
        areas=frozenset({ComplianceArea.DOCUMENTARY}),
        error_pattern="Knitted shirts repeatedly declared as woven.",
        evidence=("criteria/C1", "recommendations/R1"),
        planned_meeting_time=None,
    )
    return open_intervention("I1", request, "carla", NOW)


def meeting(held: datetime = NOW, follow_up: date = date(2025, 8, 1)) -> InterventionMeeting:
    return InterventionMeeting(
        meeting_time=held,
        attendees=("Carla (customs)", "J. Peeters (Acme, customs manager)"),
        summary="Walked through the chapter 61 and 62 notes.",
        corrective_plan="Classification checklist for every shirt shipment.",
        follow_up_date=follow_up,
    )


def followed_up() -> ComplianceIntervention:
    return planned().record_meeting(meeting(), NOW)


def test_an_intervention_opens_planned_with_its_owner_and_evidence() -> None:
    opened = planned()

    assert opened.state is InterventionState.PLANNED
    assert (opened.owner, opened.etag) == ("carla", "1")
    assert opened.evidence == ("criteria/C1", "recommendations/R1")
    assert opened.name == "complianceInterventions/I1"


def test_the_meeting_moves_it_to_follow_up_and_is_kept() -> None:
    after = followed_up()

    assert after.state is InterventionState.FOLLOW_UP
    assert after.meeting == meeting()
    assert after.etag == "2"


def test_closing_a_followed_up_intervention_records_its_outcome() -> None:
    later = NOW + timedelta(days=90)

    closed = followed_up().close(InterventionOutcome.RESOLVED, NOTE, later)

    assert closed.state is InterventionState.CLOSED
    assert (closed.outcome, closed.closing_note) == (InterventionOutcome.RESOLVED, NOTE)
    assert closed.update_time == later


def test_cancelling_before_the_meeting_keeps_the_reason() -> None:
    cancelled = planned().cancel("The company ceased trading in May.", NOW)

    assert cancelled.state is InterventionState.CANCELLED
    assert cancelled.closing_note == "The company ceased trading in May."
    assert cancelled.outcome is None


@pytest.mark.parametrize(
    ("intervention", "action"),
    [
        (planned, lambda i: i.close(InterventionOutcome.RESOLVED, NOTE, NOW)),
        (followed_up, lambda i: i.record_meeting(meeting(), NOW)),
        (followed_up, lambda i: i.cancel("too late to cancel", NOW)),
        (
            lambda: followed_up().close(InterventionOutcome.NOT_RESOLVED, NOTE, NOW),
            lambda i: i.close(InterventionOutcome.RESOLVED, NOTE, NOW),
        ),
        (lambda: planned().cancel("cancelled once", NOW), lambda i: i.cancel("again", NOW)),
    ],
    ids=[
        "close-planned",
        "meet-twice",
        "cancel-after-meeting",
        "close-closed",
        "cancel-cancelled",
    ],
)
def test_a_transition_from_the_wrong_state_is_refused(
    intervention: Callable[[], ComplianceIntervention],
    action: Callable[[ComplianceIntervention], ComplianceIntervention],
) -> None:
    start = intervention()

    with pytest.raises(FailedPrecondition) as raised:
        action(start)

    assert raised.value.reason == "INVALID_INTERVENTION_STATE"
    assert raised.value.metadata["state"] == start.state.value


def test_a_stale_etag_is_aborted() -> None:
    with pytest.raises(Aborted):
        followed_up().check_etag("1")


def test_a_meeting_cannot_be_recorded_before_it_takes_place() -> None:
    with pytest.raises(InvalidArgument) as raised:
        checked_meeting(meeting(held=NOW + timedelta(days=1)), NOW)

    assert [v.field for v in raised.value.field_violations] == ["meeting.meeting_time"]


def test_the_follow_up_cannot_come_before_the_meeting() -> None:
    with pytest.raises(InvalidArgument) as raised:
        checked_meeting(meeting(follow_up=date(2025, 5, 5)), NOW)

    assert [v.field for v in raised.value.field_violations] == ["meeting.follow_up_date"]
