"""Setting a criterion revision's replay against the offices' capacity, without peers."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from criteria.domain.impact import (
    CapacityExceedance,
    ExaminationType,
    Replay,
    ReplayedLoad,
    ReplayedOfficeDay,
    analyse,
    capacity_ranges,
    lookback_window,
)
from criteria.entrypoints.options import CriteriaOptions
from customs_kit.settings import SettingsError

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ENFORCEMENT = ExaminationType("CHANNEL_RED", "EXAMINATION_LEVEL_ENFORCEMENT")
DOCUMENTS = ExaminationType("CHANNEL_YELLOW", "EXAMINATION_LEVEL_UNSPECIFIED")


def day(office: str, when: str, *loads: ReplayedLoad) -> ReplayedOfficeDay:
    return ReplayedOfficeDay(office, when, 1, 1, 0, 0, loads)


def replay(*days: ReplayedOfficeDay) -> Replay:
    return Replay(10, 4, 3, days, (), 7)


def test_each_load_is_compared_with_the_capacity_of_its_office_day_and_type() -> None:
    result = analyse(
        analysis_id="a1",
        criterion_id="cigarettes",
        criterion_revision=2,
        window=lookback_window(NOW, 7),
        replay=replay(
            day("30", "2026-03-09", ReplayedLoad(ENFORCEMENT, 3, 3), ReplayedLoad(DOCUMENTS, 0, 1)),
            day("40", "2026-03-09", ReplayedLoad(ENFORCEMENT, 1, 1)),
        ),
        capacities={("30", "2026-03-09", ENFORCEMENT): 2, ("30", "2026-03-09", DOCUMENTS): 5},
        requested_by="ana",
        now=NOW,
    )

    port, inland = result.office_days
    assert [(load.capacity, load.exceeds_capacity) for load in port.examinations] == [
        (2, True),
        (5, False),
    ]
    assert port.exceeds_capacity
    assert [load.capacity for load in inland.examinations] == [None]
    assert not inland.exceeds_capacity
    assert result.capacity_exceedances == (CapacityExceedance("30", 1, "2026-03-09", 150.0),)
    assert (result.start_time, result.end_time) == (NOW - timedelta(days=7), NOW)
    assert result.name == "criteria/cigarettes/impactAnalyses/a1"


def test_an_office_already_over_capacity_is_not_blamed_on_a_revision_that_adds_nothing() -> None:
    result = analyse(
        analysis_id="a1",
        criterion_id="cigarettes",
        criterion_revision=2,
        window=lookback_window(NOW, 7),
        replay=replay(day("30", "2026-03-09", ReplayedLoad(ENFORCEMENT, 0, 4))),
        capacities={("30", "2026-03-09", ENFORCEMENT): 2},
        requested_by="ana",
        now=NOW,
    )

    assert result.office_days[0].exceeds_capacity
    assert result.capacity_exceedances == ()


def test_the_worst_day_is_the_highest_utilisation_and_no_capacity_is_the_worst_of_all() -> None:
    days = [
        day("30", "2026-03-07", ReplayedLoad(ENFORCEMENT, 1, 3)),
        day("30", "2026-03-08", ReplayedLoad(ENFORCEMENT, 1, 4)),
        day("30", "2026-03-09", ReplayedLoad(ENFORCEMENT, 1, 4)),
        day("40", "2026-03-09", ReplayedLoad(DOCUMENTS, 2, 2)),
    ]
    capacities = {("30", d, ENFORCEMENT): 2 for d in ("2026-03-07", "2026-03-08", "2026-03-09")}
    capacities[("40", "2026-03-09", DOCUMENTS)] = 0

    result = analyse(
        analysis_id="a1",
        criterion_id="cigarettes",
        criterion_revision=2,
        window=lookback_window(NOW, 7),
        replay=replay(*days),
        capacities=capacities,
        requested_by="ana",
        now=NOW,
    )

    port, inland = result.capacity_exceedances
    assert (port.days_exceeded, port.worst_day, port.worst_utilisation_percent) == (
        3,
        "2026-03-08",
        200.0,
    )
    assert inland.worst_utilisation_percent == math.inf


def test_capacity_is_read_in_ranges_exam_reports_accepts_covering_only_replayed_days() -> None:
    days = ["2026-01-01", "2026-06-02", "2026-06-03", "2026-12-31", "2026-01-05"]

    ranges = capacity_ranges(days)

    assert ranges == [
        (date(2026, 1, 1), date(2026, 1, 5)),
        (date(2026, 6, 2), date(2026, 6, 3)),
        (date(2026, 12, 31), date(2026, 12, 31)),
    ]
    year = [(date(2026, 1, 1) + timedelta(days=n)).isoformat() for n in range(366)]
    spans = capacity_ranges(year)
    assert all((last - first).days < 92 for first, last in spans)
    assert sum((last - first).days + 1 for first, last in spans) == 366
    assert capacity_ranges([]) == []


def test_the_maximum_age_of_an_analysis_is_configurable_and_checked() -> None:
    assert CriteriaOptions.from_env({}).impact_analysis_max_age == timedelta(days=30)
    configured = CriteriaOptions.from_env({"IMPACT_ANALYSIS_MAX_AGE_DAYS": "7"})
    assert configured.impact_analysis_max_age == timedelta(days=7)
    for wrong in ("0", "-3", "soon", "nan", "100000"):
        with pytest.raises(SettingsError, match="IMPACT_ANALYSIS_MAX_AGE_DAYS"):
            CriteriaOptions.from_env({"IMPACT_ANALYSIS_MAX_AGE_DAYS": wrong})
