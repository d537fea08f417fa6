"""Who gets a new task, when shifts clash, and how an office's daily capacity is counted."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from customs_kit.errors import FailedPrecondition, InvalidArgument
from exam_reports.domain.officers import (
    AssignmentCandidate,
    OfficerRole,
    Shift,
    check_deletable,
    check_no_overlap,
    choose_assignee,
)
from exam_reports.domain.offices import (
    DateRange,
    ExaminationCapacity,
    ExaminationFacility,
    Office,
    OpenedExamination,
    check_time_zone,
    office_capacity,
)
from exam_reports.domain.selectivity import Channel, ExaminationLevel, ExaminationType

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
INSPECTOR, SUPERVISOR = OfficerRole.INSPECTOR, OfficerRole.SUPERVISOR


def test_nobody_on_shift_means_no_assignee() -> None:
    assert choose_assignee([]) is None


def test_the_inspector_with_the_fewest_open_tasks_gets_the_task() -> None:
    candidates = [
        AssignmentCandidate("anna", INSPECTOR, 3),
        AssignmentCandidate("ben", INSPECTOR, 1),
        AssignmentCandidate("chief", SUPERVISOR, 0),
    ]

    assert choose_assignee(candidates) == "ben"


def test_ties_go_to_the_lowest_officer_id() -> None:
    candidates = [
        AssignmentCandidate("zed", INSPECTOR, 1),
        AssignmentCandidate("amy", INSPECTOR, 1),
    ]

    assert choose_assignee(candidates) == "amy"


def test_a_supervisor_examines_only_when_no_inspector_is_on_shift() -> None:
    assert choose_assignee([AssignmentCandidate("chief", SUPERVISOR, 9)]) == "chief"


def shift(shift_id: str, start_hour: int, end_hour: int) -> Shift:
    day = datetime(2026, 5, 4, tzinfo=UTC)
    return Shift(
        shift_id,
        "anna",
        "PORT1",
        day + timedelta(hours=start_hour),
        day + timedelta(hours=end_hour),
        NOW,
    )


def test_back_to_back_shifts_do_not_overlap() -> None:
    check_no_overlap(shift("late", 14, 22), [shift("early", 6, 14)])


def test_overlapping_shifts_are_refused_naming_the_clash() -> None:
    with pytest.raises(FailedPrecondition) as raised:
        check_no_overlap(shift("long", 10, 20), [shift("early", 6, 14), shift("night", 22, 24)])

    assert raised.value.reason == "SHIFT_OVERLAPS"
    assert [v.subject for v in raised.value.violations] == ["officers/anna/shifts/early"]


def test_a_shift_covers_its_start_but_not_its_end() -> None:
    early = shift("early", 6, 14)

    assert early.covers(early.start_time)
    assert not early.covers(early.end_time)


def test_a_started_shift_cannot_be_deleted() -> None:
    check_deletable(shift("later", 13, 20), NOW)
    with pytest.raises(FailedPrecondition):
        check_deletable(shift("running", 6, 14), NOW)


def test_an_unknown_time_zone_is_refused() -> None:
    check_time_zone("Africa/Nairobi", "office.time_zone")
    with pytest.raises(InvalidArgument):
        check_time_zone("Atlantis/Capital", "office.time_zone")


RED = ExaminationType(Channel.RED, ExaminationLevel.ENFORCEMENT)
YELLOW = ExaminationType(Channel.YELLOW, ExaminationLevel.NONE)
OFFICE = Office("PORT1", "Port", "Asia/Tokyo", "", True, NOW, NOW)


def facility(
    facility_id: str, active: bool, *capacities: ExaminationCapacity
) -> ExaminationFacility:
    return ExaminationFacility(
        "PORT1", facility_id, facility_id, "", (), capacities, active, NOW, NOW
    )


def test_a_red_type_needs_a_level_and_a_yellow_one_none() -> None:
    with pytest.raises(ValueError, match="level"):
        ExaminationType(Channel.RED, ExaminationLevel.NONE)
    with pytest.raises(ValueError, match="level"):
        ExaminationType(Channel.YELLOW, ExaminationLevel.FULL)
    with pytest.raises(ValueError, match="not an examination channel"):
        ExaminationType(Channel.GREEN, ExaminationLevel.NONE)


def test_capacity_is_the_sum_of_the_active_facilities_against_tasks_opened_that_day() -> None:
    facilities = [
        facility("a", True, ExaminationCapacity(RED, 4), ExaminationCapacity(YELLOW, 10)),
        facility("b", True, ExaminationCapacity(RED, 2)),
        facility("closed", False, ExaminationCapacity(RED, 50)),
    ]
    # 23:30 UTC on the 3rd is already the 4th in Tokyo (UTC+9).
    opened = [
        OpenedExamination(datetime(2026, 5, 3, 23, 30, tzinfo=UTC), RED, completed=True),
        OpenedExamination(datetime(2026, 5, 4, 1, 0, tzinfo=UTC), RED, completed=False),
        OpenedExamination(datetime(2026, 5, 3, 10, 0, tzinfo=UTC), RED, completed=False),
    ]

    result = office_capacity(
        OFFICE, facilities, opened, DateRange(date(2026, 5, 4), date(2026, 5, 4))
    )

    (day,) = result.days
    assert day.date == date(2026, 5, 4)
    usage = {u.type: u for u in day.usages}
    assert (usage[RED].capacity, usage[RED].opened, usage[RED].completed) == (6, 2, 1)
    assert usage[RED].remaining == 4
    assert (usage[YELLOW].capacity, usage[YELLOW].opened) == (10, 0)
    assert [u.type for u in day.usages] == [YELLOW, RED]


def test_examinations_without_capacity_show_as_over_capacity() -> None:
    opened = [OpenedExamination(datetime(2026, 5, 4, 3, 0, tzinfo=UTC), YELLOW, completed=False)]

    result = office_capacity(OFFICE, [], opened, DateRange(date(2026, 5, 4), date(2026, 5, 5)))

    assert [(u.type, u.remaining) for u in result.days[0].usages] == [(YELLOW, -1)]
    assert result.days[1].usages == ()


def test_a_date_range_is_parsed_and_limited() -> None:
    days = DateRange.parse("2026-02-27", "2026-03-01", max_days=92)

    assert days.days == [date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1)]
    with pytest.raises(InvalidArgument) as not_a_date:
        DateRange.parse("2026-02-30", "2026-03-01", max_days=92)
    assert [v.field for v in not_a_date.value.field_violations] == ["start_date"]
    with pytest.raises(InvalidArgument) as too_long:
        DateRange.parse("2026-01-01", "2026-04-03", max_days=92)
    assert [v.field for v in too_long.value.field_violations] == ["end_date"]
